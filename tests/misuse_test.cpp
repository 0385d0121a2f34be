// Misuse: calls made in the wrong state, on moved-from objects, twice, or
// in the wrong order. Each must give a clear error or do nothing, never
// undefined behaviour, and leave a healthy channel usable.
#include <membio/channel.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using membio::Channel;
using membio::ChannelBinding;
using membio::ClientCertificate;
using membio::CloseState;
using membio::Context;
using membio::KeyUpdate;
using membio::Role;
using membio::Status;
using membio::TlsVersion;
using membio::test::deliver;
using membio::test::Pair;
using membio::test::read_all;
namespace test = membio::test;

using Bytes = std::vector<unsigned char>;
using Call = std::function<void(std::error_code&)>;

TlsVersion any_version() {
  return GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
}

// Runs both handshakes to the end and reads what follows them.
void connect(Pair& pair) {
  membio::Loopback(pair.client, pair.server).handshake();
  CHECK(read_all(pair.client).empty());
}

// Checks that data still flows both ways between the two channels.
void check_data_flows(Pair& pair) {
  (void)membio::write_plaintext(pair.client, "ping");
  deliver(pair.client, pair.server);
  CHECK(read_all(pair.server) == "ping");

  (void)membio::write_plaintext(pair.server, "pong");
  deliver(pair.server, pair.client);
  CHECK(read_all(pair.client) == "pong");
}

// Runs `call` and checks that it reported `expected` with a message that
// starts with `operation`, on a channel that stays unfailed.
template <Role R>
void check_refused(const Channel<R>& channel, const std::string& operation,
                   const Call& call, std::error_code expected) {
  std::error_code code;
  call(code);

  INFO(operation << ": " << channel.last_error_message());
  CHECK(code == expected);
  CHECK_THAT(channel.last_error_message(), StartsWith(operation + ": "));
  CHECK_FALSE(channel.failure());
}

// Runs `call` and checks that it repeated the channel's failure.
template <Role R>
void check_repeats_failure(const Channel<R>& channel,
                           const std::string& operation, const Call& call) {
  std::error_code code;
  call(code);

  INFO(operation << ": " << channel.last_error_message());
  CHECK(code == channel.failure());
  CHECK_THAT(channel.last_error_message(),
             StartsWith(operation + ": channel failed earlier: "));
}

// Checks that a throwing call raised membio::error with `expected` and a
// message that starts with `operation`.
void check_throws(const std::string& operation,
                  const std::function<void()>& call, std::error_code expected) {
  try {
    call();
    FAIL(operation << " did not throw");
  } catch (const membio::error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == expected);
    CHECK_THAT(error.what(), StartsWith(operation + ": "));
  }
}

// Fails `pair.server` with a malformed first record, which it answers with
// a fatal alert.
void fail_server(Pair& pair) {
  const Bytes malformed{0x16, 0x03, 0x03, 0x00, 0x08, 0x0b, 0x00,
                        0x00, 0x04, 0xde, 0xad, 0xbe, 0xef};
  membio::feed(pair.server, malformed);
  std::error_code code;

  (void)membio::handshake(pair.server, code);
  REQUIRE(code);
  REQUIRE(pair.server.failure() == code);
}

// Ciphertext fed to the channel and not yet taken by OpenSSL.
template <Role R>
std::size_t buffered_input(const Channel<R>& channel) {
  return BIO_ctrl_pending(SSL_get_rbio(channel.native_handle()));
}

// Each operation that needs an established channel, called on a client.
std::vector<std::pair<std::string, Call>> established_calls(
    Channel<membio::client>& client) {
  return {
      {"key update",
       [&](std::error_code& code) {
         (void)membio::request_key_update(client, KeyUpdate::both_sides, code);
       }},
      {"renegotiate",
       [&](std::error_code& code) { (void)membio::renegotiate(client, code); }},
      {"export keying material",
       [&](std::error_code& code) {
         (void)membio::export_keying_material(client, "EXPERIMENTAL m", 16,
                                              code);
       }},
      {"channel binding", [&](std::error_code& code) {
         (void)membio::channel_binding(client, ChannelBinding::tls_exporter,
                                       code);
       }}};
}

// Each operation beyond io.hpp, called on a server channel.
std::vector<std::pair<std::string, Call>> server_calls(
    Channel<membio::server>& server) {
  return {{"request client certificate",
           [&](std::error_code& code) {
             (void)membio::request_client_certificate(
                 server, ClientCertificate::required, code);
           }},
          {"key update",
           [&](std::error_code& code) {
             (void)membio::request_key_update(server, KeyUpdate::this_side,
                                              code);
           }},
          {"export keying material", [&](std::error_code& code) {
             const Bytes context{1, 2, 3};
             (void)membio::export_keying_material(server, "EXPERIMENTAL m",
                                                  context, 16, code);
           }}};
}

// The call named `operation` in one of the lists above.
Call named(const std::vector<std::pair<std::string, Call>>& calls,
           const std::string& operation) {
  for (const auto& [name, call] : calls) {
    if (name == operation) return call;
  }
  FAIL("no call named " << operation);
  return {};
}

// Checks that every established-only call on both ends is refused with
// wrong_handshake_state and leaves both channels usable.
void check_refused_before_done(Pair& pair) {
  const auto not_done =
      membio::make_error_code(membio::errc::wrong_handshake_state);
  for (const auto& [operation, call] : established_calls(pair.client)) {
    check_refused(pair.client, operation, call, not_done);
    CHECK_THAT(pair.client.last_error_message(),
               ContainsSubstring("the handshake is not done"));
  }
  for (const auto& [operation, call] : server_calls(pair.server)) {
    check_refused(pair.server, operation, call, not_done);
  }

  std::error_code code;
  CHECK(membio::save_session(pair.client, code).empty());
  CHECK(code == membio::errc::no_session);
}

}  // namespace

TEST_CASE("writing after close is refused with errc::closed at every stage",
          "[misuse][close][write]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  const auto write = [&pair](std::error_code& code) {
    (void)membio::write_plaintext(pair.client, "too late", code);
  };
  const auto closed = membio::make_error_code(membio::errc::closed);

  SECTION("closed before the handshake, which still completes") {
    CHECK(membio::close(pair.client) == Status::send_output);
    check_refused(pair.client, "write", write, closed);
    CHECK(pair.client.last_error_message() ==
          "write: channel already sent close_notify");

    membio::Loopback(pair.client, pair.server).handshake();
    deliver(pair.client, pair.server);
    (void)membio::drain_all(pair.server);  // Tickets, or the read says so.
    std::string received;
    CHECK(membio::read_plaintext_into(pair.server, received) == Status::closed);
    CHECK(received.empty());
  }

  SECTION("after both sides closed, empty writes included") {
    connect(pair);
    membio::Loopback(pair.client, pair.server).close();
    check_refused(pair.client, "write", write, closed);
    check_refused(
        pair.server, "write",
        [&pair](std::error_code& code) {
          (void)membio::write_plaintext(pair.server, "", code);
        },
        closed);
    check_throws(
        "write", [&pair] { (void)membio::write_plaintext(pair.server, "x"); },
        closed);
  }
}

TEST_CASE("writing after the peer's close_notify still works (half close)",
          "[misuse][close][write]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  connect(pair);
  (void)membio::close(pair.server);
  deliver(pair.server, pair.client);
  std::string received;
  REQUIRE(membio::read_plaintext_into(pair.client, received) == Status::closed);

  CHECK(membio::write_plaintext(pair.client, "last words") ==
        Status::send_output);
  deliver(pair.client, pair.server);

  CHECK(read_all(pair.server) == "last words");
  CHECK(pair.client.close_state() == CloseState::close_received);
}

TEST_CASE("closing twice is harmless before the handshake and after both close",
          "[misuse][close]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  std::error_code code;

  (void)membio::close(pair.client, code);
  CHECK_FALSE(code);
  const std::size_t hello = membio::pending_ciphertext(pair.client);
  CHECK(membio::close(pair.client, code) == Status::send_output);
  CHECK_FALSE(code);
  CHECK(membio::pending_ciphertext(pair.client) == hello);

  membio::Loopback(pair.client, pair.server).handshake();
  deliver(pair.client, pair.server);
  deliver(pair.server, pair.client);  // Tickets, or the read says so.
  std::string received;
  CHECK(membio::read_plaintext_into(pair.server, received) == Status::closed);
  (void)membio::close(pair.server);
  deliver(pair.server, pair.client);
  CHECK(membio::read_plaintext_into(pair.client, received) == Status::closed);

  CHECK(membio::close(pair.client, code) == Status::closed);
  CHECK_FALSE(code);
  CHECK(membio::close(pair.server, code) == Status::closed);
  CHECK_FALSE(code);
  CHECK(membio::pending_ciphertext(pair.client) == 0);
  CHECK(membio::pending_ciphertext(pair.server) == 0);
  CHECK(pair.client.close_state() == CloseState::closed);
  CHECK(pair.server.close_state() == CloseState::closed);
}

TEST_CASE("closing a failed channel repeats its failure",
          "[misuse][close][errors]") {
  Pair pair;
  fail_server(pair);

  check_repeats_failure(pair.server, "close", [&pair](std::error_code& code) {
    (void)membio::close(pair.server, code);
  });
  check_throws(
      "close", [&pair] { (void)membio::close(pair.server); },
      pair.server.failure());
  CHECK(pair.server.close_state() == CloseState::failed);
}

TEST_CASE("feeding a failed channel repeats its failure and takes nothing",
          "[misuse][feed][errors]") {
  Pair pair;
  fail_server(pair);
  const std::size_t buffered = buffered_input(pair.server);

  check_repeats_failure(pair.server, "feed", [&pair](std::error_code& code) {
    membio::feed(pair.server, "more ciphertext", code);
  });
  check_repeats_failure(
      pair.server, "feed eof",
      [&pair](std::error_code& code) { membio::feed_eof(pair.server, code); });
  check_throws(
      "feed", [&pair] { membio::feed(pair.server, "more"); },
      pair.server.failure());
  CHECK(buffered_input(pair.server) == buffered);

  CHECK_FALSE(membio::drain_all(pair.server).empty());
  CHECK(membio::pending_ciphertext(pair.server) == 0);
  CHECK(pair.server.close_state() == CloseState::failed);
}

TEST_CASE("feed_eof twice is harmless and truncation is reported once",
          "[misuse][feed][truncation]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  connect(pair);
  std::error_code code;

  membio::feed_eof(pair.client, code);
  CHECK_FALSE(code);
  membio::feed_eof(pair.client, code);
  CHECK_FALSE(code);
  CHECK_FALSE(pair.client.failure());

  unsigned char buffer[64];
  (void)membio::read_plaintext(pair.client, buffer, code);
  CHECK(code == membio::errc::truncated);
  check_repeats_failure(pair.client, "feed eof",
                        [&pair](std::error_code& later) {
                          membio::feed_eof(pair.client, later);
                        });
  CHECK(pair.client.close_state() == CloseState::truncated);
}

TEST_CASE("feed_eof twice after the peer's close_notify still reads closed",
          "[misuse][feed][close]") {
  Pair pair;
  connect(pair);
  (void)membio::close(pair.server);
  deliver(pair.server, pair.client);
  std::error_code code;

  membio::feed_eof(pair.client, code);
  membio::feed_eof(pair.client, code);
  CHECK_FALSE(code);

  std::string received;
  CHECK(membio::read_plaintext_into(pair.client, received, code) ==
        Status::closed);
  CHECK_FALSE(code);
  CHECK(pair.client.close_state() == CloseState::close_received);
}

TEST_CASE("empty feeds change nothing at any stage", "[misuse][feed]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  std::error_code code;

  membio::feed(pair.server, membio::ConstBytes(), code);
  CHECK_FALSE(code);
  CHECK(membio::handshake(pair.server, code) == Status::need_input);
  connect(pair);
  membio::feed(pair.client, membio::ConstBytes(), code);
  CHECK_FALSE(code);

  CHECK(buffered_input(pair.client) == 0);
  check_data_flows(pair);
}

TEST_CASE("an empty write on a new client starts its handshake like any write",
          "[misuse][write][handshake]") {
  Pair pair;
  std::error_code code;

  const Status status = membio::write_plaintext(pair.client, "", code);

  CHECK_FALSE(code);
  CHECK(status == Status::send_output);
  CHECK(membio::pending_ciphertext(pair.client) > 0);
}

TEST_CASE("reads alone drive a whole handshake and hand out no data early",
          "[misuse][read][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  unsigned char buffer[64];

  for (int round = 0; round < 10; ++round) {
    const membio::ReadResult client =
        membio::read_plaintext(pair.client, buffer);
    const membio::ReadResult server =
        membio::read_plaintext(pair.server, buffer);
    CHECK(client.size == 0);
    CHECK(server.size == 0);
    CHECK(client.status != Status::closed);
    CHECK(server.status != Status::closed);
    if (deliver(pair.client, pair.server) + deliver(pair.server, pair.client) ==
        0) {
      break;
    }
  }

  CHECK(pair.client.handshake_done());
  CHECK(pair.server.handshake_done());
  check_data_flows(pair);
}

TEST_CASE("post-handshake operations before the handshake is done are refused",
          "[misuse][handshake][post_handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);

  SECTION("before it starts") { check_refused_before_done(pair); }

  SECTION("in the middle of it") {
    (void)membio::handshake(pair.client);
    deliver(pair.client, pair.server);
    (void)membio::handshake(pair.server);
    check_refused_before_done(pair);
    deliver(pair.server, pair.client);
  }

  connect(pair);
  check_data_flows(pair);
}

TEST_CASE("post-handshake operations after close report errc::closed",
          "[misuse][close][post_handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  connect(pair);
  (void)membio::close(pair.client);
  (void)membio::close(pair.server);
  const auto closed = membio::make_error_code(membio::errc::closed);

  const auto client_calls = established_calls(pair.client);
  check_refused(pair.client, "key update", named(client_calls, "key update"),
                closed);
  check_refused(pair.client, "renegotiate", named(client_calls, "renegotiate"),
                closed);
  check_refused(pair.server, "request client certificate",
                named(server_calls(pair.server), "request client certificate"),
                closed);

  std::error_code code;
  CHECK(membio::export_keying_material(pair.client, "EXPERIMENTAL m", 16, code)
            .size() == 16);
  CHECK_FALSE(code);
}

TEST_CASE("post-handshake operations on a failed channel repeat the failure",
          "[misuse][errors][post_handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  connect(pair);
  (void)membio::write_plaintext(pair.server, "tampered");
  Bytes record = membio::drain_all(pair.server);
  record[record.size() / 2] ^= 0x01;
  membio::feed(pair.client, record);
  std::string received;
  std::error_code code;
  (void)membio::read_plaintext_into(pair.client, received, code);
  REQUIRE(pair.client.failure());

  for (const auto& [operation, call] : established_calls(pair.client)) {
    check_repeats_failure(pair.client, operation, call);
  }
  check_repeats_failure(
      pair.client, "restore session", [&pair](std::error_code& later) {
        membio::restore_session(pair.client, Bytes{1, 2}, later);
      });
  check_repeats_failure(
      pair.client, "write early data", [&pair](std::error_code& later) {
        (void)membio::write_early_plaintext(pair.client, "early", later);
      });
}

TEST_CASE("a post-handshake operation of the other version is refused",
          "[misuse][post_handshake][versions]") {
  Pair tls12(TlsVersion::tls1_2);
  Pair tls13(TlsVersion::tls1_3);
  connect(tls12);
  connect(tls13);
  const auto wrong_version =
      membio::make_error_code(membio::errc::unsupported_by_version);

  check_refused(tls12.client, "key update",
                named(established_calls(tls12.client), "key update"),
                wrong_version);
  check_refused(tls12.server, "request client certificate",
                named(server_calls(tls12.server), "request client certificate"),
                wrong_version);
  check_refused(tls13.client, "renegotiate",
                named(established_calls(tls13.client), "renegotiate"),
                wrong_version);
  check_refused(
      tls13.client, "channel binding",
      [&tls13](std::error_code& code) {
        (void)membio::channel_binding(tls13.client, ChannelBinding::tls_unique,
                                      code);
      },
      wrong_version);

  check_data_flows(tls12);
  check_data_flows(tls13);
}

TEST_CASE("a second client certificate request while one is pending is refused",
          "[misuse][post_handshake][mutual-tls]") {
  Context<membio::client> client_context = test::client_context();
  const membio::Identity& identity = test::localhost_identity();
  client_context.use_identity_pem(identity.certificate_chain_pem,
                                  identity.private_key_pem);
  client_context.allow_post_handshake_auth();
  Context<membio::server> server_context = test::server_context();
  server_context.trust_pem(test::test_ca().certificate_pem());
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);
  membio::Loopback loopback(client, server);
  loopback.handshake();
  std::error_code code;

  (void)membio::request_client_certificate(server, ClientCertificate::required,
                                           code);
  REQUIRE_FALSE(code);
  (void)membio::request_client_certificate(server, ClientCertificate::required,
                                           code);
  INFO("server: " << server.last_error_message());
  CHECK(code);
  CHECK(server.last_error_message() ==
        "request client certificate: request sent (SSL routines)");
  CHECK_FALSE(server.failure());

  CHECK(loopback.send_to_server("answered") == "answered");
  CHECK(server.peer_certificate());
}

TEST_CASE("writing early data once the handshake started is refused harmlessly",
          "[misuse][session][early_data]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  std::error_code code;

  SECTION("after the handshake") { connect(pair); }
  SECTION("after the client's hello") { (void)membio::handshake(pair.client); }

  (void)membio::write_early_plaintext(pair.client, "early", code);
  INFO("client: " << pair.client.last_error_message());
  CHECK(code == membio::errc::wrong_handshake_state);
  CHECK_THAT(pair.client.last_error_message(),
             StartsWith("write early data: "));
  REQUIRE_FALSE(pair.client.failure());

  connect(pair);
  check_data_flows(pair);
}

TEST_CASE(
    "exporting no bytes, or more than TLS 1.3 can, is an invalid argument",
    "[misuse][exporter]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  connect(pair);
  std::vector<std::size_t> lengths{0};
  if (version == TlsVersion::tls1_3) lengths.push_back(1024 * 1024);

  for (const std::size_t length : lengths) {
    std::error_code code;
    (void)membio::export_keying_material(pair.client, "EXPERIMENTAL m", length,
                                         code);
    INFO("length " << length << ": " << pair.client.last_error_message());
    CHECK(code == membio::errc::invalid_argument);
    CHECK_THAT(pair.client.last_error_message(),
               StartsWith("export keying material: "));
    CHECK_FALSE(pair.client.failure());
  }
  check_data_flows(pair);
}

TEST_CASE("every operation beyond io.hpp on a moved-from channel is refused",
          "[misuse][move]") {
  Pair pair;
  Channel<membio::client> client = std::move(pair.client);
  Channel<membio::server> server = std::move(pair.server);
  const auto empty = membio::make_error_code(membio::errc::empty_object);

  for (auto& [operation, call] : established_calls(pair.client)) {
    std::error_code code;
    call(code);
    INFO(operation);
    CHECK(code == empty);
  }
  for (auto& [operation, call] : server_calls(pair.server)) {
    std::error_code code;
    call(code);
    INFO(operation);
    CHECK(code == empty);
  }

  check_throws(
      "key update",
      [&pair] {
        (void)membio::request_key_update(pair.client, KeyUpdate::this_side);
      },
      empty);
  check_throws(
      "renegotiate", [&pair] { (void)membio::renegotiate(pair.server); },
      empty);
  check_throws(
      "request client certificate",
      [&pair] {
        (void)membio::request_client_certificate(pair.server,
                                                 ClientCertificate::optional);
      },
      empty);
  check_throws(
      "export keying material",
      [&pair] {
        (void)membio::export_keying_material(pair.server, "EXPERIMENTAL", 8);
      },
      empty);
  check_throws(
      "channel binding",
      [&pair] {
        (void)membio::channel_binding(pair.client,
                                      ChannelBinding::tls_exporter);
      },
      empty);
}

TEST_CASE("every accessor of a moved-from channel gives an empty answer",
          "[misuse][move]") {
  Pair pair;
  connect(pair);
  const Channel<membio::client> moved = std::move(pair.client);
  Channel<membio::client>& empty = pair.client;

  CHECK_FALSE(empty);
  CHECK(empty.native_handle() == nullptr);
  CHECK_FALSE(empty.handshake_done());
  CHECK(empty.close_state() == CloseState::failed);
  CHECK(empty.failure() == membio::errc::empty_object);
  CHECK(empty.last_error_message().empty());
  CHECK(empty.protocol_version().empty());
  CHECK(empty.cipher_suite().empty());
  CHECK(empty.key_exchange_group().empty());
  CHECK(empty.server_name().empty());
  CHECK(empty.alpn_protocol().empty());
  CHECK_FALSE(empty.resumed());
  CHECK(empty.peer_signature_algorithm().empty());
  CHECK_FALSE(empty.last_alert());
  CHECK(empty.key_updates_received() == 0);
  CHECK(empty.early_data() == membio::EarlyData::not_sent);
  CHECK_FALSE(empty.peer_certificate());
  CHECK(empty.verified_chain().empty());
  CHECK(membio::pending_ciphertext(empty) == 0);

  CHECK(moved.handshake_done());
  CHECK(moved.protocol_version() == "TLSv1.3");
}

TEST_CASE("a moved-from context ignores every setter and gives defaults",
          "[misuse][move][context]") {
  Context<membio::client> client_source = test::client_context();
  Context<membio::server> server_source = test::server_context();
  const Context<membio::client> client_target = std::move(client_source);
  const Context<membio::server> server_target = std::move(server_source);
  Context<membio::client>& client = client_source;
  Context<membio::server>& server = server_source;

  client.on_verify([](const membio::VerifyStep&) { return true; });
  client.pin_public_keys({}, membio::PinMode::with_chain);
  client.insecure_skip_verification();
  client.allow_post_handshake_auth();
  client.enable_renegotiation();
  client.on_key_log([](std::string_view) {});
  client.set_limits(membio::Limits{1, 2, 3, 4});
  server.on_server_name(
      [](std::string_view) { return membio::ServerNameAnswer::accept(); });
  server.request_client_certificate(ClientCertificate::required);
  server.set_alpn_protocols({"h2"});
  server.set_ticket_count(4);
  server.use_session_cache(10);
  server.disable_resumption();
  server.enable_early_data(1024, [](std::string_view) { return true; });
  server.on_key_log({});

  std::error_code code;
  client.set_alpn_protocols({"h2"}, code);
  CHECK(code == membio::errc::empty_object);
  CHECK(client.native_handle() == nullptr);
  CHECK_FALSE(client.verifies_peer());
  CHECK_FALSE(client.needs_server_name());
  CHECK(client.limits().max_incoming_ciphertext ==
        membio::Limits{}.max_incoming_ciphertext);
  CHECK(server.limits().max_certificate_chain ==
        membio::Limits{}.max_certificate_chain);

  Channel<membio::client> channel(client_target, "localhost");
  Channel<membio::server> peer(server_target);
  membio::Loopback(channel, peer).handshake();
  CHECK(channel.handshake_done());
}

TEST_CASE("move assignment over a live channel frees the old connection",
          "[misuse][move]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair first(version);
  Pair second(version);
  connect(first);

  first.client = std::move(second.client);
  CHECK_FALSE(second.client);
  membio::Loopback(first.client, second.server).handshake();
  (void)membio::write_plaintext(first.client, "to the second server");
  deliver(first.client, second.server);
  CHECK(read_all(second.server) == "to the second server");

  Channel<membio::client>& alias = first.client;
  first.client = std::move(alias);
  CHECK(first.client);
  CHECK(first.client.handshake_done());
  std::string received;
  std::error_code code;
  (void)membio::read_plaintext_into(first.server, received, code);
  CHECK_FALSE(code);
  CHECK(received.empty());
}

TEST_CASE("move assignment over a live context leaves its channels working",
          "[misuse][move][context]") {
  Context<membio::client> client_context = test::client_context();
  Context<membio::server> server_context = test::server_context();
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);

  client_context = Context<membio::client>();
  server_context = test::server_context(TlsVersion::tls1_2);
  Context<membio::client>& alias = client_context;
  client_context = std::move(alias);

  membio::Loopback(client, server).handshake();
  CHECK(client.protocol_version() == "TLSv1.3");
  CHECK(client_context.native_handle() != nullptr);
  CHECK(client_context.verifies_peer());
}

TEST_CASE("a loopback over a moved-from channel reports empty_object",
          "[misuse][move][loopback]") {
  Pair pair;
  const Channel<membio::server> moved = std::move(pair.server);
  membio::Loopback loopback(pair.client, pair.server);
  std::error_code code;

  loopback.handshake(code);
  CHECK(code == membio::errc::empty_object);
  (void)loopback.send_to_server("x", code);
  CHECK(code == membio::errc::empty_object);
  CHECK_THROWS_AS(loopback.handshake(), membio::error);
}
