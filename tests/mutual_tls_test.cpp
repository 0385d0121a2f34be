// Tests of client certificates: a server that asks for one during the
// handshake, required or optional, and one that asks after it (TLS 1.3
// post-handshake authentication).
#include <membio/post_handshake.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using membio::Channel;
using membio::ClientCertificate;
using membio::Context;
using membio::Status;
using membio::TlsVersion;
using membio::test::Outcome;
namespace test = membio::test;

constexpr int handshake_failure_alert = 40;
constexpr int certificate_expired_alert = 45;
constexpr int unknown_ca_alert = 48;
constexpr int certificate_required_alert = 116;

// Lets a client whose handshake was already done read what the server sent
// when it failed: with TLS 1.3 the client finishes first and learns of a
// refused certificate only from its next read.
void read_pending_alert(Channel<membio::client>& client) {
  std::string ignored;
  std::error_code code;
  (void)membio::read_plaintext_into(client, ignored, code);
}

Outcome connect(Channel<membio::client>& client,
                Channel<membio::server>& server) {
  std::error_code code;
  membio::Loopback(client, server).handshake(code);
  if (code && client.handshake_done()) read_pending_alert(client);
  return {code, client.last_error_message(), server.last_error_message()};
}

TlsVersion any_version() {
  return GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
}

/// The authority that issues client certificates, made once.
const membio::CertificateAuthority& client_ca() {
  static const membio::CertificateAuthority authority("membio client CA");
  return authority;
}

/// An authority no server in these tests trusts, made once.
const membio::CertificateAuthority& stranger_ca() {
  static const membio::CertificateAuthority authority("membio stranger CA");
  return authority;
}

membio::CertificateOptions client_options() {
  membio::CertificateOptions options;
  options.common_name = "client-42";
  options.alt_names.clear();
  return options;
}

/// "client-42", issued by client_ca(), made once.
const membio::Identity& client_identity() {
  static const membio::Identity identity = client_ca().issue(client_options());
  return identity;
}

/// A client certificate whose validity ended yesterday.
membio::Identity expired_client_identity() {
  membio::CertificateOptions options = client_options();
  options.valid_from = -std::chrono::hours(48);
  options.valid_for = std::chrono::hours(24);
  return client_ca().issue(options);
}

/// A server for "localhost" that asks for client certificates and trusts
/// client_ca() for them.
Context<membio::server> asking_server(TlsVersion version,
                                      ClientCertificate mode) {
  Context<membio::server> context = test::server_context(version);
  context.request_client_certificate(mode);
  context.trust_pem(client_ca().certificate_pem());
  return context;
}

/// A client trusting the server's root that presents `identity`, if any.
Context<membio::client> client_with(
    TlsVersion version, const std::optional<membio::Identity>& identity) {
  Context<membio::client> context = test::client_context(version);
  if (identity) {
    context.use_identity_pem(identity->certificate_chain_pem,
                             identity->private_key_pem);
  }
  return context;
}

/// A TLS 1.3 client that lets servers ask for its certificate later.
Context<membio::client> post_handshake_client(
    const std::optional<membio::Identity>& identity) {
  Context<membio::client> context = client_with(TlsVersion::tls1_3, identity);
  context.allow_post_handshake_auth();
  return context;
}

/// A connected pair: a "localhost" client and a server, both channels
/// owned here along with their contexts.
struct Connection {
  Connection(Context<membio::client> client_side,
             Context<membio::server> server_side)
      : client_context(std::move(client_side)),
        server_context(std::move(server_side)),
        client(client_context, "localhost"),
        server(server_context) {}

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Context<membio::client> client_context;
  Context<membio::server> server_context;
  Channel<membio::client> client;
  Channel<membio::server> server;
  membio::Loopback loopback{client, server};
};

// Sends a message each way so that both sides read: the client answers a
// certificate request in its read, and the server checks the answer in its.
std::error_code talk(Connection& connection) {
  std::error_code code;
  const std::string to_client =
      connection.loopback.send_to_client("ping", code);
  if (code) return code;

  const std::string to_server =
      connection.loopback.send_to_server("pong", code);
  if (code) return code;

  CHECK(to_client == "ping");
  CHECK(to_server == "pong");
  return code;
}

// Hands the client what the server sent as it failed outside the handshake
// (the loopback stops there), so that the client reads the alert.
void forward_alert(Connection& connection) {
  std::error_code ignored;
  membio::feed(connection.client, membio::drain_all(connection.server),
               ignored);
  read_pending_alert(connection.client);
}

Outcome outcome_of(const Connection& connection, std::error_code code) {
  return {code, connection.client.last_error_message(),
          connection.server.last_error_message()};
}

}  // namespace

// ---------------------------------------------------------------------------
// Client certificates in the handshake

TEST_CASE("a server requiring a client certificate accepts a trusted one",
          "[mutual-tls]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Channel<membio::client> client(client_with(version, client_identity()),
                                 "localhost");
  Channel<membio::server> server(
      asking_server(version, ClientCertificate::required));

  const Outcome outcome = connect(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK(server.peer_certificate().subject() == "CN=client-42");
  CHECK(server.peer_certificate().issuer() == "CN=membio client CA");
  const std::vector<membio::Certificate> chain = server.verified_chain();
  REQUIRE(chain.size() == 2);
  CHECK(chain[1].to_pem() == client_ca().certificate_pem());
  CHECK_FALSE(server.peer_signature_algorithm().empty());
  CHECK(client.peer_certificate().subject() == "CN=localhost");
}

TEST_CASE("a server requiring a client certificate refuses a client without",
          "[mutual-tls]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Channel<membio::client> client(client_with(version, std::nullopt),
                                 "localhost");
  Channel<membio::server> server(
      asking_server(version, ClientCertificate::required));

  const Outcome outcome = connect(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK(server.failure());
  CHECK(client.failure());
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("peer did not return a certificate"));
  REQUIRE(client.last_alert());
  CHECK_FALSE(client.last_alert()->sent);
  CHECK(client.last_alert()->fatal);
  const bool tls13 = version == TlsVersion::tls1_3;
  const std::string alert =
      tls13 ? "certificate required" : "handshake failure";
  CHECK(client.last_alert()->description ==
        (tls13 ? certificate_required_alert : handshake_failure_alert));
  CHECK(client.last_alert()->text == alert);
  CHECK_THAT(outcome.client_message, ContainsSubstring(alert));
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("alert received: " + alert));
  CHECK_THAT(outcome.server_message, ContainsSubstring("alert sent: " + alert));
}

TEST_CASE("a server refuses a client certificate from an untrusted root",
          "[mutual-tls]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const membio::Identity stranger = stranger_ca().issue(client_options());
  Channel<membio::client> client(client_with(version, stranger), "localhost");
  Channel<membio::server> server(
      asking_server(version, ClientCertificate::required));

  const Outcome outcome = connect(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("certificate verify failed"));
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("unable to get local issuer certificate"));
  REQUIRE(client.last_alert());
  CHECK(client.last_alert()->description == unknown_ca_alert);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("alert received: unknown CA"));
}

TEST_CASE("a server refuses an expired client certificate", "[mutual-tls]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Channel<membio::client> client(
      client_with(version, expired_client_identity()), "localhost");
  Channel<membio::server> server(
      asking_server(version, ClientCertificate::required));

  const Outcome outcome = connect(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("certificate has expired"));
  REQUIRE(client.last_alert());
  CHECK(client.last_alert()->description == certificate_expired_alert);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("alert received: certificate expired"));
}

TEST_CASE("an optional client certificate may be left out", "[mutual-tls]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Connection connection(client_with(version, std::nullopt),
                        asking_server(version, ClientCertificate::optional));

  const std::error_code code = talk(connection);

  INFO(outcome_of(connection, code));
  REQUIRE_FALSE(code);
  CHECK_FALSE(connection.server.peer_certificate());
  CHECK(connection.server.verified_chain().empty());
}

TEST_CASE("an optional client certificate is still verified when sent",
          "[mutual-tls]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Channel<membio::server> server(
      asking_server(version, ClientCertificate::optional));

  SECTION("a trusted one is accepted") {
    Channel<membio::client> client(client_with(version, client_identity()),
                                   "localhost");
    const Outcome outcome = connect(client, server);
    INFO(outcome);
    REQUIRE_FALSE(outcome.code);
    CHECK(server.peer_certificate().subject() == "CN=client-42");
  }

  SECTION("an untrusted one is refused") {
    const membio::Identity stranger = stranger_ca().issue(client_options());
    Channel<membio::client> client(client_with(version, stranger), "localhost");
    const Outcome outcome = connect(client, server);
    INFO(outcome);
    CHECK(outcome.code);
    CHECK_THAT(outcome.server_message,
               ContainsSubstring("unable to get local issuer certificate"));
  }
}

TEST_CASE("a server that does not ask receives no client certificate",
          "[mutual-tls]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Channel<membio::client> client(client_with(version, client_identity()),
                                 "localhost");
  Channel<membio::server> server(test::server_context(version));

  const Outcome outcome = connect(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK_FALSE(server.peer_certificate());
}

// ---------------------------------------------------------------------------
// Post-handshake authentication

TEST_CASE("post-handshake auth gets the client certificate after the handshake",
          "[mutual-tls][post-handshake]") {
  Connection connection(
      post_handshake_client(client_identity()),
      asking_server(TlsVersion::tls1_3, ClientCertificate::none));
  connection.loopback.handshake();
  REQUIRE_FALSE(connection.server.peer_certificate());
  std::error_code code;

  const Status status = membio::request_client_certificate(
      connection.server, ClientCertificate::required, code);

  INFO(connection.server.last_error_message());
  REQUIRE_FALSE(code);
  CHECK(status == Status::send_output);
  code = talk(connection);
  INFO(outcome_of(connection, code));
  REQUIRE_FALSE(code);
  CHECK(connection.server.peer_certificate().subject() == "CN=client-42");
  CHECK(connection.server.peer_certificate().issuer() == "CN=membio client CA");
}

TEST_CASE("post-handshake auth fails clearly when the client does not allow it",
          "[mutual-tls][post-handshake]") {
  Connection connection(
      client_with(TlsVersion::tls1_3, client_identity()),
      asking_server(TlsVersion::tls1_3, ClientCertificate::none));
  connection.loopback.handshake();
  std::error_code code;

  (void)membio::request_client_certificate(connection.server,
                                           ClientCertificate::required, code);

  INFO(connection.server.last_error_message());
  CHECK(code);
  CHECK_THAT(connection.server.last_error_message(),
             ContainsSubstring("request client certificate: "));
  CHECK_THAT(connection.server.last_error_message(),
             ContainsSubstring("extension not received"));
  CHECK_FALSE(connection.server.failure());
  code = talk(connection);
  INFO(outcome_of(connection, code));
  CHECK_FALSE(code);
  CHECK_FALSE(connection.server.peer_certificate());
}

TEST_CASE("post-handshake auth is refused on TLS 1.2",
          "[mutual-tls][post-handshake]") {
  Context<membio::client> client_context =
      client_with(TlsVersion::tls1_2, client_identity());
  client_context.allow_post_handshake_auth();
  Connection connection(
      std::move(client_context),
      asking_server(TlsVersion::tls1_2, ClientCertificate::none));
  connection.loopback.handshake();
  std::error_code code;

  (void)membio::request_client_certificate(connection.server,
                                           ClientCertificate::required, code);

  INFO(connection.server.last_error_message());
  CHECK(code == membio::errc::unsupported_by_version);
  CHECK_THAT(connection.server.last_error_message(),
             ContainsSubstring("post-handshake authentication needs TLS 1.3"));
  CHECK_FALSE(connection.server.failure());
  CHECK_THROWS_AS(membio::request_client_certificate(
                      connection.server, ClientCertificate::required),
                  membio::error);
  code = talk(connection);
  INFO(outcome_of(connection, code));
  CHECK_FALSE(code);
}

TEST_CASE("post-handshake auth is refused before the handshake",
          "[mutual-tls][post-handshake]") {
  Connection connection(
      post_handshake_client(client_identity()),
      asking_server(TlsVersion::tls1_3, ClientCertificate::none));
  std::error_code code;

  (void)membio::request_client_certificate(connection.server,
                                           ClientCertificate::required, code);

  INFO(connection.server.last_error_message());
  CHECK(code == membio::errc::wrong_handshake_state);
  CHECK_THAT(connection.server.last_error_message(),
             ContainsSubstring("the handshake is not done"));
  CHECK_FALSE(connection.server.failure());
}

TEST_CASE(
    "post-handshake auth required from a client without a certificate "
    "fails the server's read",
    "[mutual-tls][post-handshake]") {
  Connection connection(
      post_handshake_client(std::nullopt),
      asking_server(TlsVersion::tls1_3, ClientCertificate::none));
  connection.loopback.handshake();
  std::error_code code;
  (void)membio::request_client_certificate(connection.server,
                                           ClientCertificate::required, code);
  REQUIRE_FALSE(code);

  code = talk(connection);
  forward_alert(connection);

  const Outcome outcome = outcome_of(connection, code);
  INFO(outcome);
  CHECK(code);
  CHECK(connection.server.failure());
  CHECK_THAT(outcome.server_message, StartsWith("read: "));
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("peer did not return a certificate"));
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("alert sent: certificate required"));
  REQUIRE(connection.client.last_alert());
  CHECK(connection.client.last_alert()->description ==
        certificate_required_alert);
  CHECK(connection.client.failure());
  CHECK_THAT(connection.client.last_error_message(),
             ContainsSubstring("certificate required"));
}

TEST_CASE("post-handshake auth optional lets a client without one go on",
          "[mutual-tls][post-handshake]") {
  Connection connection(
      post_handshake_client(std::nullopt),
      asking_server(TlsVersion::tls1_3, ClientCertificate::none));
  connection.loopback.handshake();
  std::error_code code;
  (void)membio::request_client_certificate(connection.server,
                                           ClientCertificate::optional, code);
  REQUIRE_FALSE(code);

  code = talk(connection);

  INFO(outcome_of(connection, code));
  CHECK_FALSE(code);
  CHECK_FALSE(connection.server.peer_certificate());
}

TEST_CASE(
    "post-handshake auth refuses a client certificate from an "
    "untrusted root",
    "[mutual-tls][post-handshake]") {
  Connection connection(
      post_handshake_client(stranger_ca().issue(client_options())),
      asking_server(TlsVersion::tls1_3, ClientCertificate::none));
  connection.loopback.handshake();
  std::error_code code;
  (void)membio::request_client_certificate(connection.server,
                                           ClientCertificate::required, code);
  REQUIRE_FALSE(code);

  code = talk(connection);

  const Outcome outcome = outcome_of(connection, code);
  INFO(outcome);
  CHECK(code);
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("certificate verify failed"));
  CHECK_THAT(outcome.server_message,
             ContainsSubstring("unable to get local issuer certificate"));
  CHECK_FALSE(connection.server.peer_certificate());
}
