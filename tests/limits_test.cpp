// Tests of limits.hpp: the bounds a context gives its channels on
// ciphertext fed and not yet read, ciphertext not yet drained, plaintext
// queued during the handshake, and the size of the peer's certificate chain.
#include <membio/limits.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using membio::Channel;
using membio::ConstBytes;
using membio::Context;
using membio::Limits;
using membio::Role;
using membio::Status;
using membio::TlsVersion;
using membio::test::deliver;
using membio::test::pattern;
using membio::test::read_all;
namespace test = membio::test;

using Bytes = std::vector<unsigned char>;

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * 1024;

TlsVersion any_version() {
  return GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
}

// The default limits with one incoming, outgoing or queued bound changed.
Limits incoming_limit(std::size_t bytes) {
  Limits limits;
  limits.max_incoming_ciphertext = bytes;
  return limits;
}

Limits outgoing_limit(std::size_t bytes) {
  Limits limits;
  limits.max_outgoing_ciphertext = bytes;
  return limits;
}

Limits queued_limit(std::size_t bytes) {
  Limits limits;
  limits.max_queued_plaintext = bytes;
  return limits;
}

Limits chain_limit(std::size_t bytes) {
  Limits limits;
  limits.max_certificate_chain = bytes;
  return limits;
}

template <Role R>
Context<R> with_limits(Context<R> context, const Limits& limits) {
  context.set_limits(limits);
  return context;
}

// A client and a server channel for "localhost" whose contexts got their
// limits before the channels were made.
struct LimitedPair {
  LimitedPair(TlsVersion version, const Limits& client_limits,
              const Limits& server_limits)
      : client_context(
            with_limits(test::client_context(version), client_limits)),
        server_context(
            with_limits(test::server_context(version), server_limits)),
        client(client_context, "localhost"),
        server(server_context) {}

  Context<membio::client> client_context;
  Context<membio::server> server_context;
  Channel<membio::client> client;
  Channel<membio::server> server;
};

// Ciphertext fed to the channel and not yet taken by OpenSSL: what the
// incoming limit bounds.
template <Role R>
std::size_t buffered_input(const Channel<R>& channel) {
  return BIO_ctrl_pending(SSL_get_rbio(channel.native_handle()));
}

// Runs both handshakes to the end, moving whole flights, and reads what
// follows them (TLS 1.3 tickets), so that no input is left buffered.
template <class Ends>
void connect(Ends& ends) {
  for (int round = 0; round < 10; ++round) {
    (void)membio::handshake(ends.client);
    (void)membio::handshake(ends.server);

    const std::size_t moved =
        deliver(ends.client, ends.server) + deliver(ends.server, ends.client);
    if (moved == 0 && ends.client.handshake_done() &&
        ends.server.handshake_done()) {
      CHECK(read_all(ends.client).empty());
      return;
    }
  }
  FAIL("the handshake did not finish in 10 rounds");
}

// Feeds `stream` in pieces of `piece` bytes, reading after each, and
// returns all that was read.
template <Role R>
std::string feed_and_read(Channel<R>& channel, const Bytes& stream,
                          std::size_t piece) {
  std::string received;
  for (std::size_t offset = 0; offset < stream.size(); offset += piece) {
    const std::size_t size = std::min(piece, stream.size() - offset);
    membio::feed(channel, ConstBytes(stream.data() + offset, size));
    received += read_all(channel);
  }
  return received;
}

// Checks that a refusal left the channel as it was: not failed, open.
template <Role R>
void check_still_usable(const Channel<R>& channel) {
  CHECK_FALSE(channel.failure());
  CHECK(channel.close_state() == membio::CloseState::open);
}

void check_defaults(const Limits& limits) {
  CHECK(limits.max_incoming_ciphertext == 4 * mib);
  CHECK(limits.max_outgoing_ciphertext == 4 * mib);
  CHECK(limits.max_queued_plaintext == 256 * kib);
  CHECK(limits.max_certificate_chain == 100 * kib);
}

// A leaf for "localhost" below `depth` intermediates of the test CA; its
// chain holds the leaf and every intermediate.
membio::Identity deep_identity(int depth) {
  membio::CertificateAuthority issuer =
      test::test_ca().make_intermediate("membio intermediate 1");
  for (int level = 2; level <= depth; ++level) {
    issuer = issuer.make_intermediate("membio intermediate " +
                                      std::to_string(level));
  }
  return issuer.issue();
}

// Runs the handshake of two channels; returns the first side's error.
template <class Ends>
std::error_code handshake_error(Ends& ends) {
  std::error_code code;
  membio::Loopback(ends.client, ends.server).handshake(code);
  return code;
}

}  // namespace

TEST_CASE("a new context holds the limits documented in limits.hpp",
          "[limits][defaults]") {
  const Context<membio::client> client;
  const Context<membio::server> server;

  check_defaults(client.limits());
  check_defaults(server.limits());
  check_defaults(Limits{});

  CHECK(SSL_CTX_get_max_cert_list(client.native_handle()) == 100 * 1024);
  CHECK(SSL_CTX_get_max_cert_list(server.native_handle()) == 100 * 1024);
}

TEST_CASE("set_limits replaces the limits a context reports",
          "[limits][context]") {
  Context<membio::client> context;
  const Limits wanted{1000, 2000, 3000, 4000};

  context.set_limits(wanted);

  const Limits got = context.limits();
  CHECK(got.max_incoming_ciphertext == 1000);
  CHECK(got.max_outgoing_ciphertext == 2000);
  CHECK(got.max_queued_plaintext == 3000);
  CHECK(got.max_certificate_chain == 4000);
  CHECK(SSL_CTX_get_max_cert_list(context.native_handle()) == 4000);
}

TEST_CASE("feeding past the incoming limit is refused and takes nothing",
          "[limits][input]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, incoming_limit(4096), {});
  connect(pair);
  const std::string message = pattern(20000, 1);
  (void)membio::write_plaintext(pair.server, message);
  const Bytes stream = membio::drain_all(pair.server);
  std::error_code code;

  membio::feed(pair.client, ConstBytes(stream.data(), 1000), code);
  REQUIRE_FALSE(code);
  membio::feed(pair.client,
               ConstBytes(stream.data() + 1000, stream.size() - 1000), code);
  INFO("message: " << pair.client.last_error_message());
  CHECK(code == membio::errc::input_limit);
  CHECK(pair.client.last_error_message() ==
        "feed: input limit reached: read plaintext before feeding more");
  CHECK(buffered_input(pair.client) == 1000);
  check_still_usable(pair.client);

  membio::feed(pair.client, ConstBytes(stream.data() + 1000, 3096), code);
  CHECK_FALSE(code);
  membio::feed(pair.client, ConstBytes(stream.data() + 4096, 1), code);
  CHECK(code == membio::errc::input_limit);
  membio::feed(pair.client, ConstBytes(), code);
  CHECK_FALSE(code);
  CHECK(buffered_input(pair.client) == 4096);

  std::string received = read_all(pair.client);
  const Bytes rest(stream.begin() + 4096, stream.end());
  received += feed_and_read(pair.client, rest, 4096);
  CHECK(received.size() == message.size());
  CHECK((received == message));
  check_still_usable(pair.client);
}

TEST_CASE("a throwing feed past the incoming limit raises input_limit",
          "[limits][input][errors]") {
  LimitedPair pair(TlsVersion::tls1_3, {}, incoming_limit(1000));
  (void)membio::handshake(pair.client);
  const Bytes hello = membio::drain_all(pair.client);
  REQUIRE(hello.size() > 1);
  membio::feed(pair.server, ConstBytes(hello.data(), 1));
  const Bytes too_much(1000, 0x16);

  try {
    membio::feed(pair.server, too_much);
    FAIL("a feed past the limit was accepted");
  } catch (const membio::error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == membio::errc::input_limit);
    CHECK_THAT(error.what(), StartsWith("feed: input limit reached"));
  }

  check_still_usable(pair.server);
  CHECK(buffered_input(pair.server) == 1);
  membio::feed(pair.server, ConstBytes(hello.data() + 1, hello.size() - 1));
  connect(pair);
  CHECK(pair.server.handshake_done());
}

TEST_CASE("a peer sending one endless record cannot grow the input",
          "[limits][input][hostile]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, incoming_limit(4096), {});
  connect(pair);
  const Bytes header{0x17, 0x03, 0x03, 0x40, 0x00};  // 16 KiB announced
  const Bytes junk(1000, 0x5a);
  membio::feed(pair.client, header);
  std::error_code code;

  SECTION("a reader fails once the announced record is complete") {
    unsigned char buffer[256];
    std::size_t fed = header.size();
    while (!pair.client.failure() && fed < 64 * kib) {
      membio::feed(pair.client, junk, code);
      REQUIRE_FALSE(code);
      fed += junk.size();
      CHECK(buffered_input(pair.client) <= 4096);
      (void)membio::read_plaintext(pair.client, buffer, code);
    }
    INFO("message: " << pair.client.last_error_message());
    CHECK(fed < 18 * kib);
    CHECK_THAT(pair.client.last_error_message(),
               ContainsSubstring("bad record mac"));
  }

  SECTION("a caller that never reads is refused at the limit") {
    std::size_t accepted = header.size();
    for (int attempt = 0; attempt < 100; ++attempt) {
      membio::feed(pair.client, junk, code);
      if (!code) accepted += junk.size();
      CHECK(buffered_input(pair.client) <= 4096);
    }
    CHECK(code == membio::errc::input_limit);
    CHECK(accepted <= 4096);
    check_still_usable(pair.client);
  }
}

TEST_CASE("a peer sending endless junk after the handshake cannot grow input",
          "[limits][input][hostile]") {
  LimitedPair pair(TlsVersion::tls1_3, incoming_limit(4096), {});
  connect(pair);
  const std::string junk = pattern(1000, 7);
  std::error_code code;

  for (int attempt = 0; attempt < 100 && !code; ++attempt) {
    membio::feed(pair.client, junk, code);
    CHECK(buffered_input(pair.client) <= 4096);
  }
  CHECK(code == membio::errc::input_limit);

  unsigned char buffer[256];
  (void)membio::read_plaintext(pair.client, buffer, code);
  INFO("message: " << pair.client.last_error_message());
  CHECK_THAT(pair.client.last_error_message(),
             ContainsSubstring("wrong version number"));
  CHECK(pair.client.close_state() == membio::CloseState::failed);
}

TEST_CASE("a handshake completes through an input limit smaller than a flight",
          "[limits][input][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, incoming_limit(256), incoming_limit(256));
  const auto feed_piecewise = [](auto& from, auto& to) {
    const Bytes flight = membio::drain_all(from);
    (void)feed_and_read(to, flight, 256);
    return flight.size();
  };

  for (int round = 0; round < 10; ++round) {
    const std::size_t moved = feed_piecewise(pair.client, pair.server) +
                              feed_piecewise(pair.server, pair.client);
    if (moved == 0 && round > 0) break;
    (void)membio::handshake(pair.client);
  }

  CHECK(pair.client.handshake_done());
  CHECK(pair.server.handshake_done());
  const std::string message = pattern(1000, 3);
  (void)membio::write_plaintext(pair.client, message);
  CHECK((feed_and_read(pair.server, membio::drain_all(pair.client), 256) ==
         message));
}

TEST_CASE("a write past the outgoing limit is refused and later succeeds",
          "[limits][output]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, {}, outgoing_limit(4096));
  connect(pair);
  const std::string first = pattern(3000, 1);
  const std::string second = pattern(3000, 2);
  std::error_code code;

  CHECK(membio::write_plaintext(pair.server, first, code) ==
        Status::send_output);
  REQUIRE_FALSE(code);
  const std::size_t pending = membio::pending_ciphertext(pair.server);

  CHECK(membio::write_plaintext(pair.server, second, code) ==
        Status::send_output);
  INFO("message: " << pair.server.last_error_message());
  CHECK(code == membio::errc::output_limit);
  CHECK(pair.server.last_error_message() ==
        "write: output limit reached: drain before writing more");
  CHECK(membio::pending_ciphertext(pair.server) == pending);
  check_still_usable(pair.server);

  Bytes stream = membio::drain_all(pair.server);
  CHECK(membio::write_plaintext(pair.server, second, code) ==
        Status::send_output);
  CHECK_FALSE(code);
  const Bytes more = membio::drain_all(pair.server);
  stream.insert(stream.end(), more.begin(), more.end());

  membio::feed(pair.client, stream);
  CHECK((read_all(pair.client) == first + second));
}

TEST_CASE("a throwing write past the outgoing limit raises output_limit",
          "[limits][output][errors]") {
  LimitedPair pair(TlsVersion::tls1_2, outgoing_limit(4096), {});
  connect(pair);
  const std::string first = pattern(100, 3);
  const std::string too_big = pattern(5000, 4);
  (void)membio::write_plaintext(pair.client, first);
  const std::size_t pending = membio::pending_ciphertext(pair.client);

  try {
    (void)membio::write_plaintext(pair.client, too_big);
    FAIL("a write past the limit was accepted");
  } catch (const membio::error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == membio::errc::output_limit);
    CHECK_THAT(error.what(), StartsWith("write: output limit reached"));
  }

  CHECK(membio::pending_ciphertext(pair.client) == pending);
  check_still_usable(pair.client);
  (void)membio::write_plaintext(pair.client, too_big.substr(0, 3000));
  deliver(pair.client, pair.server);
  CHECK((read_all(pair.server) == first + too_big.substr(0, 3000)));
}

TEST_CASE("one write or feed larger than its limit is taken while none waits",
          "[limits][output][input]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, incoming_limit(4096), outgoing_limit(4096));
  connect(pair);
  const std::string message = pattern(100000, 6);
  std::error_code code;

  CHECK(membio::write_plaintext(pair.server, message, code) ==
        Status::send_output);
  CHECK_FALSE(code);
  const Bytes stream = membio::drain_all(pair.server);
  CHECK(stream.size() > message.size());

  membio::feed(pair.client, stream, code);
  CHECK_FALSE(code);
  CHECK((read_all(pair.client) == message));

  // With bytes waiting, the bounds hold again.
  (void)membio::write_plaintext(pair.server, "x", code);
  CHECK(membio::write_plaintext(pair.server, message, code) ==
        Status::send_output);
  CHECK(code == membio::errc::output_limit);
  check_still_usable(pair.server);
}

TEST_CASE("one write larger than the queue limit is held for the handshake",
          "[limits][queue]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, queued_limit(1000), {});
  const std::string early = pattern(3000, 7);
  std::error_code code;

  (void)membio::write_plaintext(pair.client, early, code);
  CHECK_FALSE(code);
  (void)membio::write_plaintext(pair.client, "x", code);
  CHECK(code == membio::errc::output_limit);

  connect(pair);
  CHECK((read_all(pair.server) == early));
}

TEST_CASE("pending output passes the outgoing limit by one record's overhead",
          "[limits][output]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, {}, outgoing_limit(4096));
  connect(pair);
  const std::string chunk = pattern(100, 5);
  std::string written;
  std::error_code code;

  while (!code) {
    (void)membio::write_plaintext(pair.server, chunk, code);
    if (!code) written += chunk;
  }

  CHECK(code == membio::errc::output_limit);
  CHECK(membio::pending_ciphertext(pair.server) <= 4096 + 64);
  CHECK(written.size() >= 2000);
  deliver(pair.server, pair.client);
  CHECK((read_all(pair.client) == written));
}

TEST_CASE("handshake messages and alerts are never held by the outgoing limit",
          "[limits][output][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, outgoing_limit(16), outgoing_limit(16));

  connect(pair);
  CHECK(pair.client.handshake_done());
  CHECK(pair.server.handshake_done());

  CHECK(membio::close(pair.client) == Status::send_output);
  deliver(pair.client, pair.server);
  std::string received;
  CHECK(membio::read_plaintext_into(pair.server, received) == Status::closed);
  CHECK(membio::close(pair.server) == Status::send_output);
  deliver(pair.server, pair.client);
  CHECK(membio::read_plaintext_into(pair.client, received) == Status::closed);
  CHECK(pair.client.close_state() == membio::CloseState::closed);
}

TEST_CASE("a peer asking for endless key updates cannot grow the output",
          "[limits][output][hostile][tls13]") {
  Limits limits = outgoing_limit(16 * kib);
  limits.max_incoming_ciphertext = 64 * kib;
  LimitedPair pair(TlsVersion::tls1_3, {}, limits);
  connect(pair);
  (void)membio::drain_all(pair.server);  // Tickets.
  std::error_code code;

  // The client asks for updates; the server reads but never drains.
  std::size_t requests = 0;
  while (!code && requests < 100000) {
    (void)membio::request_key_update(pair.client,
                                     membio::KeyUpdate::both_sides);
    membio::feed(pair.server, membio::drain_all(pair.client), code);
    if (!code) ++requests;
    (void)read_all(pair.server);
  }
  INFO(requests << " requests taken");
  CHECK(code == membio::errc::input_limit);
  CHECK(membio::pending_ciphertext(pair.server) < 16 * kib + 64);
  CHECK(buffered_input(pair.server) <= 64 * kib);
  check_still_usable(pair.server);

  unsigned char buffer[64];
  CHECK(membio::read_plaintext(pair.server, buffer).status ==
        Status::send_output);

  // Once the server drains, it answers every request, and data flows.
  std::size_t answered = 0;
  while (pair.server.key_updates_received() < requests && answered < 100) {
    membio::feed(pair.client, membio::drain_all(pair.server));
    (void)read_all(pair.server);
    ++answered;
  }
  CHECK(pair.server.key_updates_received() == requests);
  membio::feed(pair.client, membio::drain_all(pair.server));
  CHECK(read_all(pair.client).empty());
  (void)membio::write_plaintext(pair.server, "still here");
  membio::feed(pair.client, membio::drain_all(pair.server));
  CHECK(read_all(pair.client) == "still here");
}

TEST_CASE("key update requests fed at once are answered within the bound",
          "[limits][output][hostile][tls13]") {
  Limits limits = outgoing_limit(16 * kib);
  LimitedPair pair(TlsVersion::tls1_3, {}, limits);
  connect(pair);
  (void)membio::drain_all(pair.server);  // Tickets.

  Bytes requests;
  for (int i = 0; i < 4096; ++i) {
    (void)membio::request_key_update(pair.client,
                                     membio::KeyUpdate::both_sides);
    const Bytes request = membio::drain_all(pair.client);
    requests.insert(requests.end(), request.begin(), request.end());
  }

  // One read takes in what fits before the answers fill the output.
  membio::feed(pair.server, requests);
  (void)read_all(pair.server);
  CHECK(membio::pending_ciphertext(pair.server) < 16 * kib + 64);
  CHECK(pair.server.key_updates_received() < 4096);
  check_still_usable(pair.server);

  for (int turn = 0; turn < 1000 && pair.server.key_updates_received() < 4096;
       ++turn) {
    (void)membio::drain_all(pair.server);
    (void)read_all(pair.server);
  }
  CHECK(pair.server.key_updates_received() == 4096);
}

TEST_CASE("answers to key update requests never follow a close_notify",
          "[limits][close][tls13]") {
  LimitedPair pair(TlsVersion::tls1_3, {}, {});
  connect(pair);
  CHECK(membio::close(pair.server) == Status::send_output);
  const Bytes close_notify = membio::drain_all(pair.server);

  for (int i = 0; i < 100; ++i) {
    (void)membio::request_key_update(pair.client,
                                     membio::KeyUpdate::both_sides);
  }
  membio::feed(pair.server, membio::drain_all(pair.client));
  (void)read_all(pair.server);
  CHECK(pair.server.key_updates_received() == 100);
  CHECK(membio::pending_ciphertext(pair.server) == 0);

  membio::feed(pair.client, close_notify);
  std::string rest;
  CHECK(membio::read_plaintext_into(pair.client, rest) == Status::closed);
}

TEST_CASE("plaintext queued before the handshake is bounded",
          "[limits][queue]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, queued_limit(1000), {});
  const std::string first = pattern(600, 1);
  const std::string last = pattern(400, 2);
  std::error_code code;

  (void)membio::write_plaintext(pair.client, first, code);
  CHECK_FALSE(code);
  (void)membio::write_plaintext(pair.client, pattern(600, 3), code);
  INFO("message: " << pair.client.last_error_message());
  CHECK(code == membio::errc::output_limit);
  CHECK_THAT(pair.client.last_error_message(),
             StartsWith("write: output limit reached"));
  (void)membio::write_plaintext(pair.client, last, code);
  CHECK_FALSE(code);
  (void)membio::write_plaintext(pair.client, "x", code);
  CHECK(code == membio::errc::output_limit);
  check_still_usable(pair.client);

  connect(pair);
  CHECK((read_all(pair.server) == first + last));
  const std::string after = pattern(5000, 4);
  (void)membio::write_plaintext(pair.client, after, code);
  CHECK_FALSE(code);
  deliver(pair.client, pair.server);
  CHECK((read_all(pair.server) == after));
}

TEST_CASE("channels made before set_limits keep the limits they were made with",
          "[limits][context]") {
  Context<membio::client> context = test::client_context();
  Channel<membio::client> before(context, "localhost");
  context.set_limits(incoming_limit(4096));
  Channel<membio::client> after(context, "localhost");
  const Bytes ciphertext(8192, 0x16);
  const Bytes first_byte{0x16};
  std::error_code code;

  // The limits bound bytes fed on top of bytes that wait.
  membio::feed(before, first_byte, code);
  membio::feed(after, first_byte, code);
  membio::feed(before, ciphertext, code);
  CHECK_FALSE(code);
  membio::feed(after, ciphertext, code);
  CHECK(code == membio::errc::input_limit);

  context.set_limits(Limits{});
  membio::feed(after, ciphertext, code);
  CHECK(code == membio::errc::input_limit);
  CHECK(context.limits().max_incoming_ciphertext == 4 * mib);
}

TEST_CASE("a server chain over the client's limit fails the client's handshake",
          "[limits][certificates]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const membio::Identity deep = deep_identity(6);
  Context<membio::server> server_context = test::server_context(version);
  server_context.use_identity_pem(deep.certificate_chain_pem,
                                  deep.private_key_pem);
  LimitedPair pair(version, chain_limit(2048), {});
  Channel<membio::server> deep_server(server_context);

  membio::Loopback loopback(pair.client, deep_server);
  std::error_code code;
  loopback.handshake(code);

  INFO("client: " << pair.client.last_error_message());
  INFO("server: " << deep_server.last_error_message());
  CHECK(code);
  CHECK(pair.client.failure() == code);
  CHECK_THAT(pair.client.last_error_message(),
             StartsWith("handshake: excessive message size"));
  CHECK_THAT(deep_server.last_error_message(),
             ContainsSubstring("alert received"));

  LimitedPair shallow(version, chain_limit(2048), {});
  CHECK_FALSE(handshake_error(shallow));
}

TEST_CASE("a client chain over the server's limit fails the server's handshake",
          "[limits][certificates][mutual-tls]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const membio::Identity deep = deep_identity(6);
  Context<membio::client> client_context = test::client_context(version);
  client_context.use_identity_pem(deep.certificate_chain_pem,
                                  deep.private_key_pem);
  Context<membio::server> server_context =
      with_limits(test::server_context(version), chain_limit(2048));
  server_context.trust_pem(test::test_ca().certificate_pem());
  server_context.request_client_certificate(
      membio::ClientCertificate::required);
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);

  std::error_code code;
  membio::Loopback(client, server).handshake(code);
  std::string ignored;
  (void)membio::read_plaintext_into(client, ignored, code);

  INFO("server: " << server.last_error_message());
  INFO("client: " << client.last_error_message());
  CHECK(server.failure());
  CHECK_THAT(server.last_error_message(),
             StartsWith("handshake: excessive message size"));
  CHECK_THAT(client.last_error_message(),
             ContainsSubstring("alert received: illegal parameter"));
}

TEST_CASE("an idle channel holds no buffer memory; undrained output does",
          "[limits][memory]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, {}, {});
  connect(pair);
  (void)membio::drain_all(pair.server);  // Tickets, if any.
  CHECK(pair.client.buffer_memory() == 0);
  CHECK(pair.server.buffer_memory() == 0);

  (void)membio::write_plaintext(pair.server, pattern(40000, 3));
  const std::size_t pending = membio::pending_ciphertext(pair.server);
  CHECK(pair.server.buffer_memory() >= pending);

  membio::feed(pair.client, membio::drain_all(pair.server));
  CHECK(pair.server.buffer_memory() == 0);
  CHECK(pair.client.buffer_memory() >= pending);

  CHECK(read_all(pair.client).size() == 40000);
  CHECK(pair.client.buffer_memory() == 0);

  const Channel<membio::client> moved = std::move(pair.client);
  CHECK(pair.client.buffer_memory() == 0);  // A moved-from channel.
}

TEST_CASE("a burst drained down to its last bytes leaves no peak buffer",
          "[limits][memory]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, {}, {});
  connect(pair);
  const std::string burst = pattern(1024 * 1024, 9);
  (void)membio::write_plaintext(pair.server, burst);
  CHECK(pair.server.buffer_memory() >= burst.size());

  // A socket took all but the last bytes of the burst.
  const std::size_t pending = membio::pending_ciphertext(pair.server);
  Bytes stream(pending - 100);
  CHECK(membio::drain(pair.server, stream) == stream.size());
  CHECK(membio::pending_ciphertext(pair.server) == 100);
  CHECK(pair.server.buffer_memory() <= 64 * kib);

  const Bytes rest = membio::drain_all(pair.server);
  stream.insert(stream.end(), rest.begin(), rest.end());
  membio::feed(pair.client, stream);
  CHECK((read_all(pair.client) == burst));
}

TEST_CASE("small writes that fill whole records leave no buffer behind",
          "[limits][memory][coalescing]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  LimitedPair pair(version, {}, {});
  connect(pair);
  const std::size_t writes = GENERATE(256, 300, 512);
  INFO(writes << " writes of 64 bytes");
  const std::string small = pattern(64, 8);

  for (std::size_t i = 0; i < writes; ++i) {
    (void)membio::write_plaintext(pair.client, small);
  }
  membio::feed(pair.server, membio::drain_all(pair.client));
  CHECK(pair.client.buffer_memory() == 0);
  CHECK(read_all(pair.server).size() == writes * small.size());
}
