// Tests of server name indication: the name a client sends, the name a
// server reads, and a server's callback that picks a certificate by name or
// refuses the client.
#include <membio/context.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <catch2/matchers/catch_matchers_vector.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using Catch::Generators::table;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::VectorContains;
using membio::Channel;
using membio::Context;
using membio::KeyType;
using membio::ServerNameAnswer;
using membio::TlsVersion;
using membio::test::handshake_outcome;
using membio::test::Outcome;
namespace test = membio::test;

constexpr int unrecognized_name_alert = 112;

TlsVersion any_version() {
  return GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
}

/// An identity for "other.test" with a key of `type`, made once per type.
const membio::Identity& other_identity(KeyType type = KeyType::ec_p256) {
  static const auto issue = [](KeyType key_type) {
    membio::CertificateOptions options;
    options.common_name = "other.test";
    options.alt_names = {"DNS:other.test"};
    options.key_type = key_type;
    return test::test_ca().issue(options);
  };
  static const membio::Identity ec = issue(KeyType::ec_p256);
  static const membio::Identity rsa = issue(KeyType::rsa_2048);
  return type == KeyType::rsa_2048 ? rsa : ec;
}

/// A "localhost" identity with a key of `type`: the harness's for EC, one
/// made once for RSA.
const membio::Identity& localhost_identity(KeyType type) {
  static const membio::Identity rsa = [] {
    membio::CertificateOptions options;
    options.key_type = KeyType::rsa_2048;
    return test::test_ca().issue(options);
  }();
  return type == KeyType::rsa_2048 ? rsa : test::localhost_identity();
}

const char* name_of(KeyType type) {
  return type == KeyType::rsa_2048 ? "RSA" : "EC";
}

/// The leaf certificate of `identity`'s chain.
membio::Certificate leaf_of(const membio::Identity& identity) {
  std::error_code code;
  return membio::Certificate::from_pem(identity.certificate_chain_pem, code);
}

/// A server context presenting other_identity(), limited to one version.
Context<membio::server> other_context(TlsVersion version) {
  return test::server_context_for(other_identity(), version);
}

/// Answers "other.test" with `other` and every other name with the default.
membio::ServerNameCallback switch_to(const Context<membio::server>& other) {
  return [&other](std::string_view name) {
    return name == "other.test" ? ServerNameAnswer::use(other)
                                : ServerNameAnswer::accept();
  };
}

/// A client certificate for "client-9" from an authority of its own.
struct ClientCredentials {
  membio::CertificateAuthority authority{"membio sni client CA"};
  membio::Identity identity = authority.issue([] {
    membio::CertificateOptions options;
    options.common_name = "client-9";
    options.alt_names.clear();
    return options;
  }());
};

const ClientCredentials& client_credentials() {
  static const ClientCredentials credentials;
  return credentials;
}

}  // namespace

TEST_CASE("a server reads the server name the client sent", "[sni]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Channel<membio::client> client(test::client_context(version), "localhost");
  Channel<membio::server> server(test::server_context(version));
  CHECK(server.server_name().empty());

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK(client.server_name() == "localhost");
  CHECK(server.server_name() == "localhost");
}

TEST_CASE("a client connecting by address sends no server name", "[sni]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> server_context = test::server_context(version);
  std::vector<std::string> asked;
  server_context.on_server_name([&asked](std::string_view name) {
    asked.emplace_back(name);
    return ServerNameAnswer::accept();
  });
  Channel<membio::client> client(test::client_context(version), "127.0.0.1");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK(client.server_name().empty());
  CHECK(server.server_name().empty());
  CHECK(asked == std::vector<std::string>{""});
}

TEST_CASE("a server name callback switches to another context's certificate",
          "[sni][callback]") {
  const TlsVersion version = any_version();
  // OpenSSL keeps one certificate per key type: switching to another type
  // must not leave the default one to be chosen.
  const auto [default_type, other_type] = GENERATE(
      table<KeyType, KeyType>({{KeyType::ec_p256, KeyType::ec_p256},
                               {KeyType::ec_p256, KeyType::rsa_2048},
                               {KeyType::rsa_2048, KeyType::ec_p256}}));
  INFO(test::name_of(version) << ", default " << name_of(default_type)
                              << ", other " << name_of(other_type));
  const Context<membio::server> other =
      test::server_context_for(other_identity(other_type), version);
  Context<membio::server> server_context =
      test::server_context_for(localhost_identity(default_type), version);
  server_context.on_server_name(switch_to(other));
  Channel<membio::client> client(test::client_context(version), "other.test");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK(client.peer_certificate().subject() == "CN=other.test");
  CHECK_THAT(client.peer_certificate().subject_alt_names(),
             VectorContains(std::string("DNS:other.test")));
  CHECK(client.peer_certificate().to_pem() ==
        leaf_of(other_identity(other_type)).to_pem());
  CHECK(client.verified_chain().size() == 2);
  CHECK(server.server_name() == "other.test");
}

TEST_CASE(
    "without a server name callback every client gets the default "
    "certificate",
    "[sni][callback]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Channel<membio::client> client(test::client_context(version), "other.test");
  Channel<membio::server> server(test::server_context(version));

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK_THAT(outcome.client_message, ContainsSubstring("hostname mismatch"));
  CHECK(server.server_name() == "other.test");
}

TEST_CASE("a server name callback that accepts keeps the default certificate",
          "[sni][callback]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::server> other = other_context(version);
  Context<membio::server> server_context = test::server_context(version);
  std::vector<std::string> asked;
  server_context.on_server_name([&asked](std::string_view name) {
    asked.emplace_back(name);
    return ServerNameAnswer::accept();
  });
  Channel<membio::client> client(test::client_context(version), "localhost");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK(asked == std::vector<std::string>{"localhost"});
  CHECK(client.peer_certificate().subject() == "CN=localhost");
}

TEST_CASE(
    "a server name callback refuses an unknown name with "
    "unrecognized_name",
    "[sni][callback]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> server_context = test::server_context(version);
  server_context.on_server_name([](std::string_view name) {
    return name == "localhost" ? ServerNameAnswer::accept()
                               : ServerNameAnswer::refuse();
  });
  Channel<membio::client> client(test::client_context(version), "unknown.test");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK(client.failure());
  CHECK(server.failure());
  CHECK_THAT(outcome.client_message, ContainsSubstring("unrecognized name"));
  CHECK_THAT(outcome.server_message, ContainsSubstring("unrecognized name"));
  REQUIRE(client.last_alert());
  CHECK_FALSE(client.last_alert()->sent);
  CHECK(client.last_alert()->fatal);
  CHECK(client.last_alert()->description == unrecognized_name_alert);
  CHECK(client.last_alert()->text == "unrecognized name");
  REQUIRE(server.last_alert());
  CHECK(server.last_alert()->sent);
}

TEST_CASE("a server name callback that throws refuses the client",
          "[sni][callback]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> server_context = test::server_context(version);
  server_context.on_server_name([](std::string_view) -> ServerNameAnswer {
    throw std::runtime_error("name table unavailable");
  });
  Channel<membio::client> client(test::client_context(version), "localhost");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("server name callback threw"));
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("name table unavailable"));
  REQUIRE(client.last_alert());
  CHECK(client.last_alert()->description == unrecognized_name_alert);
  CHECK_FALSE(client.handshake_done());
}

TEST_CASE("a server name callback switching to an empty context refuses",
          "[sni][callback]") {
  Context<membio::server> server_context = test::server_context();
  Context<membio::server> moved_from = test::server_context();
  const Context<membio::server> taker = std::move(moved_from);
  server_context.on_server_name([&moved_from](std::string_view) {
    // Moved from on purpose: there is no certificate to switch to.
    return ServerNameAnswer::use(moved_from);
  });
  Channel<membio::client> client(test::client_context(), "localhost");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  REQUIRE(client.last_alert());
  CHECK(client.last_alert()->description == unrecognized_name_alert);
}

TEST_CASE("a switched context keeps the channel's ALPN choice",
          "[sni][callback][alpn]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::server> other = other_context(version);
  Context<membio::server> server_context = test::server_context(version);
  server_context.set_alpn_protocols({"h2", "http/1.1"});
  server_context.on_server_name(switch_to(other));
  Context<membio::client> client_context = test::client_context(version);
  client_context.set_alpn_protocols({"http/1.1", "h2"});
  Channel<membio::client> client(client_context, "other.test");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK(client.peer_certificate().subject() == "CN=other.test");
  CHECK(server.alpn_protocol() == "h2");
  CHECK(client.alpn_protocol() == "h2");
}

TEST_CASE("a switched context keeps the channel's client certificate checks",
          "[sni][callback][client-certificate]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> other = other_context(version);
  Context<membio::server> server_context = test::server_context(version);
  server_context.request_client_certificate(
      membio::ClientCertificate::required);
  server_context.trust_pem(client_credentials().authority.certificate_pem());
  server_context.on_server_name(switch_to(other));
  Context<membio::client> client_context = test::client_context(version);
  client_context.use_identity_pem(
      client_credentials().identity.certificate_chain_pem,
      client_credentials().identity.private_key_pem);

  SECTION("the roots the channel's context trusts verify the client") {
    Channel<membio::client> client(client_context, "other.test");
    Channel<membio::server> server(server_context);

    const Outcome outcome = handshake_outcome(client, server);

    INFO(outcome);
    REQUIRE_FALSE(outcome.code);
    CHECK(server.peer_certificate().subject() == "CN=client-9");
  }

  SECTION("the pins of the channel's context still apply") {
    // Both contexts trust the client's root, so only the pins differ.
    other.trust_pem(client_credentials().authority.certificate_pem());
    server_context.pin_public_keys({membio::Certificate().public_key_sha256()},
                                   membio::PinMode::with_chain);
    Channel<membio::client> client(client_context, "other.test");
    Channel<membio::server> server(server_context);

    const Outcome outcome = handshake_outcome(client, server);

    INFO(outcome);
    CHECK(outcome.code);
    CHECK_THAT(outcome.server_message,
               ContainsSubstring("peer public key is not pinned"));
  }
}

TEST_CASE("a switched context keeps the channel's session ticket keys",
          "[sni][callback][ticket]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::server> other = other_context(version);
  Context<membio::server> server_context = test::server_context(version);
  server_context.use_ticket_keys({membio::TicketKey::generate()});
  server_context.on_server_name(switch_to(other));
  Channel<membio::client> client(test::client_context(version), "other.test");
  Channel<membio::server> server(server_context);
  membio::Loopback loopback(client, server);
  std::error_code code;

  const std::string received = loopback.send_to_client("tickets", code);

  INFO(code.message() << "\nclient: " << client.last_error_message()
                      << "\nserver: " << server.last_error_message());
  REQUIRE_FALSE(code);
  CHECK(received == "tickets");
  CHECK_FALSE(membio::save_session(client, code).empty());
  CHECK_FALSE(code);
}

TEST_CASE("a switched context holding two key types offers both to the client",
          "[sni][callback]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> other =
      test::server_context_for(other_identity(KeyType::ec_p256), version);
  other.use_identity_pem(
      other_identity(KeyType::rsa_2048).certificate_chain_pem,
      other_identity(KeyType::rsa_2048).private_key_pem);
  Context<membio::server> server_context = test::server_context(version);
  server_context.on_server_name(switch_to(other));
  const bool wants_rsa = GENERATE(true, false);
  INFO((wants_rsa ? "client accepts RSA only" : "client accepts ECDSA only"));
  Context<membio::client> client_context = test::client_context(version);
  REQUIRE(SSL_CTX_set1_sigalgs_list(client_context.native_handle(),
                                    wants_rsa ? "rsa_pss_rsae_sha256:RSA+SHA256"
                                              : "ECDSA+SHA256") == 1);
  Channel<membio::client> client(client_context, "other.test");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  const KeyType expected = wants_rsa ? KeyType::rsa_2048 : KeyType::ec_p256;
  CHECK(client.peer_certificate().to_pem() ==
        leaf_of(other_identity(expected)).to_pem());
}
