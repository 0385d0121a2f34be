// Tests of channel.hpp: construction, peer verification, the verify
// callback, moves, lifetime and what a channel reports about its session.
#include <membio/channel.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using membio::Channel;
using membio::Context;
using membio::Status;
using membio::TlsVersion;
namespace test = membio::test;

/// A client channel for `server_name` and a server channel, not connected.
struct Connection {
  Connection(const Context<membio::client>& client_context,
             const Context<membio::server>& server_context,
             std::string_view server_name = "localhost")
      : client(client_context, server_name), server(server_context) {}

  std::error_code handshake() {
    std::error_code code;
    membio::Loopback(client, server).handshake(code);
    return code;
  }

  Channel<membio::client> client;
  Channel<membio::server> server;
};

membio::Identity identity_with(std::vector<std::string> alt_names) {
  membio::CertificateOptions options;
  options.alt_names = std::move(alt_names);
  return test::test_ca().issue(options);
}

// Moves all ciphertext `from` has queued into `to`.
template <membio::Role From, membio::Role To>
void deliver(Channel<From>& from, Channel<To>& to) {
  const std::vector<unsigned char> flight = membio::drain_all(from);
  REQUIRE_FALSE(flight.empty());
  membio::feed(to, flight);
}

TlsVersion any_version() {
  return GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
}

}  // namespace

TEST_CASE("channels are move-only and move without throwing",
          "[channel][move]") {
  using Client = Channel<membio::client>;
  using Server = Channel<membio::server>;

  static_assert(!std::is_copy_constructible_v<Client>);
  static_assert(!std::is_copy_assignable_v<Server>);
  static_assert(std::is_nothrow_move_constructible_v<Client>);
  static_assert(std::is_nothrow_move_constructible_v<Server>);
  static_assert(std::is_nothrow_move_assignable_v<Client>);

  SUCCEED("checked at compile time");
}

TEST_CASE("client without a server name fails the handshake when verifying",
          "[channel][verify]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Channel<membio::client> client(test::client_context(version));
  Channel<membio::server> server(test::server_context(version));

  std::error_code code;
  membio::Loopback(client, server).handshake(code);

  INFO(client.last_error_message());
  CHECK(code == membio::errc::no_server_name);
  CHECK(client.failure() == membio::errc::no_server_name);
  CHECK_THAT(client.last_error_message(), ContainsSubstring("no server name"));
  CHECK_FALSE(client.handshake_done());
}

TEST_CASE("client without a server name throws no_server_name",
          "[channel][verify]") {
  Channel<membio::client> client(test::client_context());
  Channel<membio::server> server(test::server_context());

  try {
    membio::Loopback(client, server).handshake();
    FAIL("a verifying client without a name completed the handshake");
  } catch (const membio::error& thrown) {
    INFO(thrown.what());
    CHECK(thrown.code() == membio::errc::no_server_name);
    CHECK_THAT(thrown.what(), ContainsSubstring("handshake"));
  }
}

TEST_CASE("skipping verification lets a nameless client reach any server",
          "[channel][verify]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::client> client_context = test::bare_client_context(version);

  client_context.insecure_skip_verification();
  Channel<membio::client> client(client_context);
  Channel<membio::server> server(test::server_context(version));
  membio::Loopback(client, server).handshake();

  CHECK_FALSE(client_context.verifies_peer());
  CHECK(client.handshake_done());
  CHECK(server.handshake_done());
  CHECK(client.protocol_version() == test::name_of(version));
}

TEST_CASE("client rejects a server whose certificate it does not trust",
          "[channel][verify]") {
  const TlsVersion version = any_version();
  Connection connection(test::bare_client_context(version),
                        test::server_context(version));

  const std::error_code code = connection.handshake();

  const std::string client_message = connection.client.last_error_message();
  const std::string server_message = connection.server.last_error_message();
  INFO(test::name_of(version)
       << "\nclient: " << client_message << "\nserver: " << server_message);
  CHECK(code);
  CHECK(std::string(code.category().name()) == "openssl");
  CHECK_THAT(client_message, ContainsSubstring("certificate verify failed"));
  CHECK_THAT(client_message,
             ContainsSubstring("unable to get local issuer certificate"));
  CHECK_THAT(client_message, ContainsSubstring("alert sent"));
  CHECK_THAT(server_message, ContainsSubstring("alert received"));
  CHECK(connection.server.failure());
  CHECK(connection.client.close_state() == membio::CloseState::failed);
}

TEST_CASE("client rejects a server whose certificate names another host",
          "[channel][verify]") {
  const TlsVersion version = any_version();
  Connection connection(test::client_context(version),
                        test::server_context(version), "example.com");

  const std::error_code code = connection.handshake();

  INFO(test::name_of(version)
       << ": " << connection.client.last_error_message());
  CHECK(code);
  CHECK_THAT(connection.client.last_error_message(),
             ContainsSubstring("hostname mismatch"));
  CHECK_FALSE(connection.client.handshake_done());
}

TEST_CASE("client checks an IPv4 server name against the IP entries",
          "[channel][verify]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Connection listed(test::client_context(version),
                    test::server_context(version), "127.0.0.1");
  Connection unlisted(test::client_context(version),
                      test::server_context(version), "127.0.0.2");

  const std::error_code listed_code = listed.handshake();
  const std::error_code unlisted_code = unlisted.handshake();

  INFO(listed.client.last_error_message());
  INFO(unlisted.client.last_error_message());
  CHECK_FALSE(listed_code);
  CHECK(unlisted_code);
  CHECK_THAT(unlisted.client.last_error_message(),
             ContainsSubstring("IP address mismatch"));
}

TEST_CASE("client checks an IPv6 server name against the IP entries",
          "[channel][verify]") {
  const membio::Identity identity = identity_with({"IP:::1"});
  const Context<membio::server> server_context =
      test::server_context_for(identity, TlsVersion::tls1_3);
  Connection listed(test::client_context(), server_context, "::1");
  Connection unlisted(test::client_context(), server_context, "::2");

  const std::error_code listed_code = listed.handshake();
  const std::error_code unlisted_code = unlisted.handshake();

  INFO(listed.client.last_error_message());
  INFO(unlisted.client.last_error_message());
  CHECK_FALSE(listed_code);
  CHECK(unlisted_code);
  CHECK_THAT(unlisted.client.last_error_message(),
             ContainsSubstring("IP address mismatch"));
}

TEST_CASE("client rejects an expired server certificate", "[channel][verify]") {
  const TlsVersion version = any_version();
  membio::CertificateOptions options;
  options.valid_from = -std::chrono::hours(48);
  options.valid_for = std::chrono::hours(24);
  const membio::Identity expired = test::test_ca().issue(options);
  Connection connection(test::client_context(version),
                        test::server_context_for(expired, version));

  const std::error_code code = connection.handshake();

  INFO(test::name_of(version)
       << ": " << connection.client.last_error_message());
  CHECK(code);
  CHECK_THAT(connection.client.last_error_message(),
             ContainsSubstring("certificate has expired"));
}

TEST_CASE("a server channel needs a certificate and a private key",
          "[channel][identity][errors]") {
  Context<membio::server> bare;
  Context<membio::server> certificate_only;
  certificate_only.use_certificate_chain_pem(
      test::localhost_identity().certificate_chain_pem);

  for (const Context<membio::server>* context : {&bare, &certificate_only}) {
    try {
      Channel<membio::server> server(*context);
      FAIL("a server channel was made without an identity");
    } catch (const membio::error& thrown) {
      INFO(thrown.what());
      CHECK(thrown.code() == membio::errc::no_certificate);
      CHECK_THAT(thrown.what(), ContainsSubstring("no certificate"));
    }
  }
}

TEST_CASE("a client channel refuses an empty server name",
          "[channel][errors]") {
  const Context<membio::client> context = test::client_context();
  using namespace std::string_view_literals;

  try {
    Channel<membio::client> client(context, "");
    FAIL("an empty server name was accepted");
  } catch (const membio::error& thrown) {
    CHECK(thrown.code() == membio::errc::invalid_argument);
  }
  CHECK_THROWS_AS(Channel<membio::client>(context, "local\0host"sv),
                  membio::error);
}

TEST_CASE("Channel::make reports what the constructors would throw",
          "[channel][errors]") {
  using namespace std::string_view_literals;
  const Context<membio::client> client_context = test::client_context();
  const Context<membio::server> bare;
  Context<membio::client> moved_from = test::client_context();
  const Context<membio::client> taken = std::move(moved_from);
  std::error_code code;

  CHECK_FALSE(Channel<membio::server>::make(bare, code));
  CHECK(code == membio::errc::no_certificate);
  CHECK_FALSE(Channel<membio::client>::make(moved_from, code));
  CHECK(code == membio::errc::empty_object);
  CHECK_FALSE(Channel<membio::client>::make(client_context, ""sv, code));
  CHECK(code == membio::errc::invalid_argument);
  CHECK_FALSE(
      Channel<membio::client>::make(client_context, "local\0host"sv, code));
  CHECK(code == membio::errc::invalid_argument);
}

TEST_CASE("channels from Channel::make connect like constructed ones",
          "[channel]") {
  std::error_code code;
  std::optional<Channel<membio::client>> client =
      Channel<membio::client>::make(test::client_context(), "localhost", code);
  REQUIRE_FALSE(code);
  std::optional<Channel<membio::server>> server =
      Channel<membio::server>::make(test::server_context(), code);
  REQUIRE_FALSE(code);
  REQUIRE(client);
  REQUIRE(server);

  membio::Loopback loopback(*client, *server);
  loopback.handshake();
  CHECK(client->server_name() == "localhost");
  CHECK(loopback.send_to_server("ping") == "ping");
}

TEST_CASE("a channel moved between handshake steps finishes the handshake",
          "[channel][move]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(test::server_context(version));

  CHECK(membio::handshake(client) == Status::send_output);
  deliver(client, server);
  Channel<membio::client> moved_client(std::move(client));
  CHECK(membio::handshake(server) == Status::send_output);
  deliver(server, moved_client);

  Channel<membio::server> moved_server = std::move(server);
  Channel<membio::client> assigned(client_context, "localhost");
  assigned = std::move(moved_client);
  membio::Loopback loopback(assigned, moved_server);
  loopback.handshake();

  CHECK(assigned.handshake_done());
  CHECK(moved_server.handshake_done());
  CHECK(loopback.send_to_server("ping") == "ping");
  CHECK(loopback.send_to_client("pong") == "pong");
}

TEST_CASE("a channel moved mid-handshake still records the alert it sends",
          "[channel][move][verify]") {
  Channel<membio::client> client(test::bare_client_context(TlsVersion::tls1_3),
                                 "localhost");
  Channel<membio::server> server(test::server_context());

  CHECK(membio::handshake(client) == Status::send_output);
  deliver(client, server);
  CHECK(membio::handshake(server) == Status::send_output);
  deliver(server, client);
  Channel<membio::client> moved(std::move(client));

  std::error_code code;
  (void)membio::handshake(moved, code);

  INFO(moved.last_error_message());
  CHECK(code);
  CHECK_THAT(moved.last_error_message(),
             ContainsSubstring("unable to get local issuer certificate"));
  CHECK_THAT(moved.last_error_message(),
             ContainsSubstring("alert sent: unknown CA"));
}

TEST_CASE("a moved-from channel is empty and reports empty_object",
          "[channel][move][errors]") {
  Channel<membio::client> original(test::client_context(), "localhost");
  const Channel<membio::client> target = std::move(original);

  std::error_code code;
  (void)membio::handshake(original, code);

  CHECK(code == membio::errc::empty_object);
  CHECK_FALSE(original);
  CHECK(target);
  CHECK(original.native_handle() == nullptr);
  CHECK(original.failure() == membio::errc::empty_object);
  CHECK(original.protocol_version().empty());
  CHECK_FALSE(original.peer_certificate());
  CHECK(original.verified_chain().empty());
  CHECK_THROWS_AS(membio::handshake(original), membio::error);
}

TEST_CASE("a channel outlives the contexts it was made from",
          "[channel][lifetime]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  auto client_context =
      std::make_unique<Context<membio::client>>(test::client_context(version));
  auto server_context =
      std::make_unique<Context<membio::server>>(test::server_context(version));
  int verify_calls = 0;
  client_context->on_verify([&verify_calls](const membio::VerifyStep& step) {
    ++verify_calls;
    return step.openssl_accepts;
  });

  Channel<membio::client> client(*client_context, "localhost");
  Channel<membio::server> server(*server_context);
  client_context.reset();
  server_context.reset();
  membio::Loopback loopback(client, server);
  loopback.handshake();

  CHECK(client.handshake_done());
  CHECK(verify_calls > 0);
  CHECK(loopback.send_to_server("still here") == "still here");
}

TEST_CASE("session details are empty before the handshake and set after",
          "[channel][session]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  test::Pair pair(version);

  CHECK(pair.client.protocol_version().empty());
  CHECK(pair.client.cipher_suite().empty());
  CHECK(pair.client.key_exchange_group().empty());
  CHECK(pair.server.protocol_version().empty());
  membio::Loopback(pair.client, pair.server).handshake();

  CHECK(pair.client.protocol_version() == test::name_of(version));
  CHECK(pair.server.protocol_version() == test::name_of(version));
  CHECK_FALSE(pair.client.cipher_suite().empty());
  CHECK(pair.client.cipher_suite() == pair.server.cipher_suite());
  CHECK_FALSE(pair.client.key_exchange_group().empty());
  CHECK(pair.client.key_exchange_group() == pair.server.key_exchange_group());
}

TEST_CASE("the X25519 group is reported by OpenSSL 3.0's name x25519",
          "[channel][session]") {
  const TlsVersion version = any_version();
  test::Pair pair(version);
  // TLS 1.2 also checks the server's P-256 key against the client's groups.
  pair.client_context.set_groups("X25519:P-256");
  Connection connection(pair.client_context, pair.server_context);

  REQUIRE_FALSE(connection.handshake());

  INFO(test::name_of(version));
  CHECK(connection.client.key_exchange_group() == "x25519");
}

TEST_CASE("client sees the server's certificate and its verified chain",
          "[channel][peer]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  test::Pair pair(version);

  CHECK_FALSE(pair.client.peer_certificate());
  membio::Loopback(pair.client, pair.server).handshake();
  const std::vector<membio::Certificate> chain = pair.client.verified_chain();

  CHECK(pair.client.peer_certificate().subject() == "CN=localhost");
  REQUIRE(chain.size() == 2);
  CHECK(chain[0].native_handle() ==
        pair.client.peer_certificate().native_handle());
  CHECK(chain[1].subject() == "CN=membio test CA");
  CHECK(chain[0].issuer() == chain[1].subject());
}

TEST_CASE("server sees no peer certificate without client authentication",
          "[channel][peer]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  test::Pair pair(version);

  membio::Loopback(pair.client, pair.server).handshake();

  CHECK_FALSE(pair.server.peer_certificate());
  CHECK(pair.server.verified_chain().empty());
}

TEST_CASE("a peer certificate outlives its channel", "[channel][peer]") {
  membio::Certificate kept;

  {
    test::Pair pair;
    membio::Loopback(pair.client, pair.server).handshake();
    kept = pair.client.peer_certificate();
  }

  CHECK(kept.subject() == "CN=localhost");
  CHECK(kept.subject_alt_names().size() == 2);
}

TEST_CASE("verify callback sees each certificate from the root down",
          "[channel][verify][callback]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  test::Pair pair(version);
  std::vector<membio::VerifyStep> seen;
  pair.client_context.on_verify([&seen](const membio::VerifyStep& step) {
    seen.push_back(step);
    return step.openssl_accepts;
  });

  Connection connection(pair.client_context, pair.server_context);
  REQUIRE_FALSE(connection.handshake());

  REQUIRE(seen.size() == 2);
  CHECK(seen[0].depth == 1);
  CHECK(seen[0].certificate.subject() == "CN=membio test CA");
  CHECK(seen[1].depth == 0);
  CHECK(seen[1].certificate.subject() == "CN=localhost");
  CHECK(seen[1].certificate.issuer() == "CN=membio test CA");
  for (const membio::VerifyStep& step : seen) {
    CHECK(step.openssl_accepts);
    CHECK(step.openssl_error == X509_V_OK);
    CHECK(step.openssl_error_text == "ok");
  }
}

TEST_CASE("verify callback can accept a server signed by an unknown CA",
          "[channel][verify][callback]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::client> client_context = test::bare_client_context(version);
  std::vector<membio::VerifyStep> seen;
  client_context.on_verify([&seen](const membio::VerifyStep& step) {
    seen.push_back(step);
    return true;
  });

  Connection connection(client_context, test::server_context(version));
  const std::error_code code = connection.handshake();

  INFO(connection.client.last_error_message());
  CHECK_FALSE(code);
  REQUIRE_FALSE(seen.empty());
  CHECK(seen[0].depth == 0);
  CHECK_FALSE(seen[0].openssl_accepts);
  CHECK(seen[0].openssl_error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  CHECK(seen[0].openssl_error_text == "unable to get local issuer certificate");
  CHECK(seen[0].certificate.subject() == "CN=localhost");
}

TEST_CASE("verify callback sees and can accept a host name mismatch",
          "[channel][verify][callback]") {
  test::Pair pair;
  std::vector<int> errors;
  pair.client_context.on_verify([&errors](const membio::VerifyStep& step) {
    errors.push_back(step.openssl_error);
    return true;
  });

  Connection connection(pair.client_context, pair.server_context,
                        "example.com");
  const std::error_code code = connection.handshake();

  INFO(connection.client.last_error_message());
  CHECK_FALSE(code);
  CHECK(std::find(errors.begin(), errors.end(), X509_V_ERR_HOSTNAME_MISMATCH) !=
        errors.end());
}

TEST_CASE("verify callback can reject a server OpenSSL accepts",
          "[channel][verify][callback]") {
  const TlsVersion version = any_version();
  test::Pair pair(version);
  pair.client_context.on_verify(
      [](const membio::VerifyStep&) { return false; });

  Connection connection(pair.client_context, pair.server_context);
  const std::error_code code = connection.handshake();

  const std::string message = connection.client.last_error_message();
  INFO(test::name_of(version) << ": " << message);
  CHECK(code);
  CHECK_THAT(message, ContainsSubstring("verify callback rejected the peer"));
  CHECK_THAT(connection.server.last_error_message(),
             ContainsSubstring("alert received"));
  CHECK_FALSE(connection.client.handshake_done());
}

TEST_CASE("a verify callback that throws rejects the peer with its message",
          "[channel][verify][callback]") {
  const TlsVersion version = any_version();
  test::Pair pair(version);
  pair.client_context.on_verify([](const membio::VerifyStep&) -> bool {
    throw std::runtime_error("boom");
  });

  Connection connection(pair.client_context, pair.server_context);
  std::error_code code;
  CHECK_NOTHROW(code = connection.handshake());

  const std::string message = connection.client.last_error_message();
  INFO(test::name_of(version) << ": " << message);
  CHECK(code);
  CHECK_THAT(message, ContainsSubstring("boom"));
  CHECK_FALSE(connection.client.handshake_done());
}

TEST_CASE("a verify callback's exception reaches the caller as membio error",
          "[channel][verify][callback]") {
  test::Pair pair;
  pair.client_context.on_verify(
      [](const membio::VerifyStep&) -> bool { throw 42; });
  Connection connection(pair.client_context, pair.server_context);

  try {
    membio::Loopback(connection.client, connection.server).handshake();
    FAIL("a throwing verify callback let the handshake finish");
  } catch (const membio::error& thrown) {
    INFO(thrown.what());
    CHECK_THAT(thrown.what(), ContainsSubstring("verify callback threw"));
  }
}

TEST_CASE("an empty verify callback restores OpenSSL's verdict",
          "[channel][verify][callback]") {
  Context<membio::client> client_context =
      test::bare_client_context(TlsVersion::tls1_3);
  client_context.on_verify([](const membio::VerifyStep&) { return true; });

  client_context.on_verify({});
  Connection connection(client_context, test::server_context());
  const std::error_code code = connection.handshake();

  INFO(connection.client.last_error_message());
  CHECK(code);
  CHECK_THAT(connection.client.last_error_message(),
             ContainsSubstring("unable to get local issuer certificate"));
}
