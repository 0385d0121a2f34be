// Tests of post_handshake.hpp: TLS 1.3 key updates and post-handshake
// client authentication, TLS 1.2 renegotiation.
#include <membio/post_handshake.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "harness.hpp"

namespace {

using membio::KeyUpdate;
using membio::Role;
using membio::TlsVersion;
using membio::test::name_of;
using membio::test::pattern;

// Whether `text` contains `part`.
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Whether `code` is OpenSSL's error with `reason` (an SSL_R_* value).
bool is_openssl_reason(const std::error_code& code, int reason) {
  return code.category() == membio::openssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(code.value())) == reason;
}

// A client and a server channel for "localhost" made from the given
// contexts (a channel copies some settings when it is made, so contexts are
// configured first), with a loopback between them.
struct Ends {
  Ends(const membio::Context<membio::client>& client_context,
       const membio::Context<membio::server>& server_context,
       std::size_t fragment_size = 0)
      : client(client_context, "localhost"),
        server(server_context),
        loopback(client, server, fragment_size) {}

  membio::Channel<membio::client> client;
  membio::Channel<membio::server> server;
  membio::Loopback loopback;
};

// A connected pair on one version.
struct Connected : membio::test::Pair {
  explicit Connected(TlsVersion version = TlsVersion::tls1_3) : Pair(version) {
    loopback.handshake();
  }

  membio::Loopback loopback{client, server};
};

// TLS 1.2 contexts; each allows renegotiation if told to.
struct RenegotiationContexts {
  RenegotiationContexts(bool client_allows, bool server_allows)
      : client(membio::test::client_context(TlsVersion::tls1_2)),
        server(membio::test::server_context(TlsVersion::tls1_2)) {
    if (client_allows) client.enable_renegotiation();
    if (server_allows) server.enable_renegotiation();
  }

  membio::Context<membio::client> client;
  membio::Context<membio::server> server;
};

// Sends `plaintext` from `from`'s side of the loopback; returns what the
// other side read.
template <Role From>
std::string send_from(membio::Loopback& loopback, const std::string& plaintext,
                      std::error_code& code) {
  if constexpr (From == Role::client) {
    return loopback.send_to_server(plaintext, code);
  } else {
    return loopback.send_to_client(plaintext, code);
  }
}

// Renegotiates from `initiator` for the `round`th time and checks that data
// then flows both ways, exactly, and that no renegotiation is left pending.
template <Role I, Role P>
void check_renegotiation(membio::Channel<I>& initiator,
                         membio::Channel<P>& peer, membio::Loopback& loopback,
                         long round = 1) {
  std::error_code code;
  CHECK(membio::renegotiate(initiator, code) == membio::Status::send_output);
  REQUIRE_FALSE(code);

  const std::string outbound = pattern(40000, 1);
  CHECK((send_from<I>(loopback, outbound, code) == outbound));
  REQUIRE_FALSE(code);
  const std::string inbound = pattern(30000, 2);
  CHECK((send_from<P>(loopback, inbound, code) == inbound));
  REQUIRE_FALSE(code);

  CHECK(SSL_renegotiate_pending(initiator.native_handle()) == 0);
  CHECK(SSL_renegotiate_pending(peer.native_handle()) == 0);
  CHECK(SSL_num_renegotiations(initiator.native_handle()) == round);
  CHECK_FALSE(initiator.failure());
  CHECK_FALSE(peer.failure());
}

// Checks that `alert` is the no_renegotiation warning this side sent.
void check_refusal_alert(const std::optional<membio::Alert>& alert) {
  REQUIRE(alert);
  CHECK(alert->sent);
  CHECK_FALSE(alert->fatal);
  CHECK(alert->description == SSL_AD_NO_RENEGOTIATION);
  CHECK(alert->text == "no renegotiation");
}

// Delivers pending ciphertext both ways, then reads on `channel`, which
// must find no plaintext; returns the read's error.
template <Role R>
std::error_code deliver_and_read(membio::Channel<R>& channel,
                                 membio::Loopback& loopback) {
  (void)loopback.shuttle();
  std::string received;
  std::error_code code;

  (void)membio::read_plaintext_into(channel, received, code);
  CHECK(received.empty());
  return code;
}

// Checks that a renegotiation `initiator` starts while its peer's context
// refuses them ends the initiator with "no renegotiation": the peer answers
// with the no_renegotiation warning, the initiator fails and sends a fatal
// handshake_failure, which ends the peer too once it reads it.
template <Role I, Role P>
void check_refused_renegotiation(membio::Channel<I>& initiator,
                                 membio::Channel<P>& peer,
                                 membio::Loopback& loopback) {
  REQUIRE(membio::renegotiate(initiator) == membio::Status::send_output);

  REQUIRE_FALSE(deliver_and_read(peer, loopback));
  check_refusal_alert(peer.last_alert());

  const std::error_code code = deliver_and_read(initiator, loopback);
  INFO("initiator: " << initiator.last_error_message());
  CHECK(is_openssl_reason(code, SSL_R_NO_RENEGOTIATION));
  CHECK(initiator.failure() == code);
  CHECK(initiator.close_state() == membio::CloseState::failed);
  CHECK(initiator.last_error_message() ==
        "read: no renegotiation (SSL routines); alert sent: handshake failure");

  CHECK(deliver_and_read(peer, loopback));
  INFO("peer: " << peer.last_error_message());
  CHECK(
      contains(peer.last_error_message(), "alert received: handshake failure"));
}

// A client context with a certificate from the test CA, allowing
// post-handshake authentication, and a server context trusting that CA.
struct PostHandshakeAuthContexts {
  explicit PostHandshakeAuthContexts(TlsVersion version, bool allow = true)
      : client(membio::test::client_context(version)),
        server(membio::test::server_context(version)) {
    const membio::Identity& identity = membio::test::localhost_identity();
    client.use_identity_pem(identity.certificate_chain_pem,
                            identity.private_key_pem);
    if (allow) client.allow_post_handshake_auth();
    server.trust_pem(membio::test::test_ca().certificate_pem());
  }

  membio::Context<membio::client> client;
  membio::Context<membio::server> server;
};

}  // namespace

TEST_CASE("a client key update reaches the server and data keeps flowing",
          "[post_handshake][key_update]") {
  Connected pair;

  CHECK(membio::request_key_update(pair.client, KeyUpdate::this_side) ==
        membio::Status::send_output);
  CHECK(pair.server.key_updates_received() == 0);

  CHECK(pair.loopback.send_to_server("after update") == "after update");
  CHECK(pair.server.key_updates_received() == 1);
  CHECK(pair.loopback.send_to_client("reply") == "reply");
  CHECK(pair.client.key_updates_received() == 0);
}

TEST_CASE("a server key update reaches the client and data keeps flowing",
          "[post_handshake][key_update]") {
  Connected pair;

  CHECK(membio::request_key_update(pair.server, KeyUpdate::this_side) ==
        membio::Status::send_output);

  CHECK(pair.loopback.send_to_client("after update") == "after update");
  CHECK(pair.client.key_updates_received() == 1);
  CHECK(pair.loopback.send_to_server("reply") == "reply");
  CHECK(pair.server.key_updates_received() == 0);
}

TEST_CASE("a key update of both sides is answered with the peer's next write",
          "[post_handshake][key_update]") {
  Connected pair;
  (void)membio::request_key_update(pair.client, KeyUpdate::both_sides);

  CHECK(pair.loopback.send_to_server("one") == "one");
  CHECK(pair.server.key_updates_received() == 1);
  CHECK(pair.client.key_updates_received() == 0);

  CHECK(pair.loopback.send_to_client("two") == "two");
  CHECK(pair.client.key_updates_received() == 1);
  CHECK(pair.server.key_updates_received() == 1);

  CHECK(pair.loopback.send_to_server("three") == "three");
  CHECK(pair.server.key_updates_received() == 1);
}

TEST_CASE("each key update the peer sends is counted",
          "[post_handshake][key_update]") {
  Connected pair;

  for (unsigned round = 1; round <= 3; ++round) {
    (void)membio::request_key_update(pair.server, KeyUpdate::both_sides);
    CHECK(pair.loopback.send_to_client("down") == "down");
    CHECK(pair.loopback.send_to_server("up") == "up");
    CHECK(pair.client.key_updates_received() == round);
    CHECK(pair.server.key_updates_received() == round);
  }

  (void)membio::request_key_update(pair.client, KeyUpdate::this_side);
  (void)membio::request_key_update(pair.client, KeyUpdate::this_side);
  CHECK(pair.loopback.send_to_server("burst") == "burst");
  CHECK(pair.server.key_updates_received() == 5);
}

TEST_CASE("a key update on TLS 1.2 is refused and the channel stays usable",
          "[post_handshake][key_update][tls12][errors]") {
  Connected pair(TlsVersion::tls1_2);
  std::error_code code;

  (void)membio::request_key_update(pair.client, KeyUpdate::both_sides, code);
  CHECK(code == membio::errc::unsupported_by_version);
  CHECK(pair.client.last_error_message() ==
        "key update: key updates need TLS 1.3 (TLS 1.2 renegotiates)");
  CHECK_FALSE(pair.client.failure());
  CHECK(membio::pending_ciphertext(pair.client) == 0);

  CHECK_THROWS_AS(membio::request_key_update(pair.server, KeyUpdate::this_side),
                  membio::error);
  CHECK(pair.loopback.send_to_server("still") == "still");
  CHECK(pair.loopback.send_to_client("open") == "open");
}

TEST_CASE("a key update before the handshake reports the wrong state",
          "[post_handshake][key_update][errors]") {
  membio::test::Pair pair;
  std::error_code code;

  (void)membio::request_key_update(pair.client, KeyUpdate::this_side, code);
  CHECK(code == membio::errc::wrong_handshake_state);
  CHECK(contains(pair.client.last_error_message(), "key update: "));
  CHECK_FALSE(pair.client.failure());

  membio::Loopback loopback(pair.client, pair.server);
  CHECK(loopback.send_to_server("later") == "later");
}

TEST_CASE("a key update after close reports errc::closed",
          "[post_handshake][key_update][close][errors]") {
  Connected pair;
  (void)membio::close(pair.client);
  std::error_code code;

  (void)membio::request_key_update(pair.client, KeyUpdate::this_side, code);
  CHECK(code == membio::errc::closed);
  CHECK_FALSE(pair.client.failure());
}

TEST_CASE("a key update on a moved-from channel reports an empty object",
          "[post_handshake][key_update][errors]") {
  Connected pair;
  const membio::Channel<membio::server> moved(std::move(pair.server));
  std::error_code code;

  (void)membio::request_key_update(pair.server, KeyUpdate::this_side, code);
  CHECK(code == membio::errc::empty_object);
  (void)membio::renegotiate(pair.server, code);
  CHECK(code == membio::errc::empty_object);
}

TEST_CASE(
    "client renegotiations complete one after another when both contexts allow "
    "them",
    "[post_handshake][renegotiation][tls12]") {
  const std::size_t fragment_size = GENERATE(std::size_t{0}, std::size_t{7});
  INFO("fragments of " << fragment_size);
  const RenegotiationContexts contexts(true, true);
  Ends ends(contexts.client, contexts.server, fragment_size);
  ends.loopback.handshake();

  check_renegotiation(ends.client, ends.server, ends.loopback);
  check_renegotiation(ends.client, ends.server, ends.loopback, 2);
}

TEST_CASE(
    "server renegotiations complete one after another when both contexts allow "
    "them",
    "[post_handshake][renegotiation][tls12]") {
  const std::size_t fragment_size = GENERATE(std::size_t{0}, std::size_t{7});
  INFO("fragments of " << fragment_size);
  const RenegotiationContexts contexts(true, true);
  Ends ends(contexts.client, contexts.server, fragment_size);
  ends.loopback.handshake();

  check_renegotiation(ends.server, ends.client, ends.loopback);
  check_renegotiation(ends.server, ends.client, ends.loopback, 2);
}

TEST_CASE("writes made during a renegotiation arrive in order",
          "[post_handshake][renegotiation][tls12]") {
  const RenegotiationContexts contexts(true, true);
  Ends ends(contexts.client, contexts.server);
  ends.loopback.handshake();

  (void)membio::renegotiate(ends.client);
  (void)membio::write_plaintext(ends.client, "first ");
  (void)membio::write_plaintext(ends.client, "second ");
  CHECK(ends.loopback.send_to_server("third") == "first second third");
  CHECK(SSL_renegotiate_pending(ends.client.native_handle()) == 0);

  (void)membio::renegotiate(ends.server);
  (void)membio::write_plaintext(ends.server, "one ");
  CHECK(ends.loopback.send_to_client("two") == "one two");
  CHECK(SSL_renegotiate_pending(ends.server.native_handle()) == 0);
  CHECK(SSL_num_renegotiations(ends.server.native_handle()) == 1);
}

TEST_CASE("renegotiation is refused by default and the channel stays usable",
          "[post_handshake][renegotiation][tls12][errors]") {
  Connected pair(TlsVersion::tls1_2);
  std::error_code code;

  (void)membio::renegotiate(pair.client, code);
  INFO("client: " << pair.client.last_error_message());
  CHECK(is_openssl_reason(code, SSL_R_NO_RENEGOTIATION));
  CHECK(pair.client.last_error_message() ==
        "renegotiate: no renegotiation (SSL routines)");
  CHECK_FALSE(pair.client.failure());

  (void)membio::renegotiate(pair.server, code);
  CHECK(is_openssl_reason(code, SSL_R_NO_RENEGOTIATION));
  CHECK_FALSE(pair.server.failure());

  CHECK_THROWS_AS(membio::renegotiate(pair.client), membio::error);
  CHECK(pair.loopback.send_to_server("still") == "still");
  CHECK(pair.loopback.send_to_client("open") == "open");
}

TEST_CASE("renegotiation is refused when only the peer's context allows it",
          "[post_handshake][renegotiation][tls12][errors]") {
  const bool client_allows = GENERATE(false, true);
  INFO((client_allows ? "client allows" : "server allows"));
  const RenegotiationContexts contexts(client_allows, !client_allows);
  Ends ends(contexts.client, contexts.server);
  ends.loopback.handshake();
  std::error_code code;

  if (client_allows) {
    (void)membio::renegotiate(ends.server, code);
    CHECK(ends.server.last_error_message() ==
          "renegotiate: no renegotiation (SSL routines)");
  } else {
    (void)membio::renegotiate(ends.client, code);
  }
  CHECK(is_openssl_reason(code, SSL_R_NO_RENEGOTIATION));
  CHECK(ends.loopback.send_to_server("still") == "still");
  CHECK(ends.loopback.send_to_client("open") == "open");
}

TEST_CASE("a client renegotiation the server refuses ends the client",
          "[post_handshake][renegotiation][tls12][errors]") {
  const RenegotiationContexts contexts(true, false);
  Ends ends(contexts.client, contexts.server);
  ends.loopback.handshake();

  check_refused_renegotiation(ends.client, ends.server, ends.loopback);
}

TEST_CASE("a server renegotiation the client refuses ends the server",
          "[post_handshake][renegotiation][tls12][errors]") {
  const RenegotiationContexts contexts(false, true);
  Ends ends(contexts.client, contexts.server);
  ends.loopback.handshake();

  check_refused_renegotiation(ends.server, ends.client, ends.loopback);
}

TEST_CASE("renegotiation on TLS 1.3 is refused and the channel stays usable",
          "[post_handshake][renegotiation][tls13][errors]") {
  auto client_context = membio::test::client_context(TlsVersion::tls1_3);
  auto server_context = membio::test::server_context(TlsVersion::tls1_3);
  client_context.enable_renegotiation();
  server_context.enable_renegotiation();
  Ends ends(client_context, server_context);
  ends.loopback.handshake();
  std::error_code code;

  (void)membio::renegotiate(ends.client, code);
  CHECK(code == membio::errc::unsupported_by_version);
  CHECK(contains(ends.client.last_error_message(), "renegotiate: "));
  (void)membio::renegotiate(ends.server, code);
  CHECK(code == membio::errc::unsupported_by_version);

  CHECK_FALSE(ends.client.failure());
  CHECK(ends.loopback.send_to_server("still open") == "still open");
}

TEST_CASE("renegotiating before the handshake reports the wrong state",
          "[post_handshake][renegotiation][errors]") {
  const RenegotiationContexts contexts(true, true);
  Ends ends(contexts.client, contexts.server);
  std::error_code code;

  (void)membio::renegotiate(ends.client, code);
  CHECK(code == membio::errc::wrong_handshake_state);
  CHECK_FALSE(ends.client.failure());
}

TEST_CASE("a server gets a client certificate after a TLS 1.3 handshake",
          "[post_handshake][client_certificate][tls13]") {
  const PostHandshakeAuthContexts contexts(TlsVersion::tls1_3);
  Ends ends(contexts.client, contexts.server);
  ends.loopback.handshake();
  REQUIRE_FALSE(ends.server.peer_certificate());

  CHECK(membio::request_client_certificate(
            ends.server, membio::ClientCertificate::required) ==
        membio::Status::send_output);
  CHECK(ends.loopback.send_to_client("request") == "request");
  CHECK(ends.loopback.send_to_server("answer") == "answer");

  REQUIRE(ends.server.peer_certificate());
  CHECK(ends.server.peer_certificate().subject() == "CN=localhost");
  CHECK_FALSE(ends.server.failure());
}

TEST_CASE("a required client certificate the client lacks fails the server",
          "[post_handshake][client_certificate][tls13][errors]") {
  auto client_context = membio::test::client_context();
  auto server_context = membio::test::server_context();
  client_context.allow_post_handshake_auth();
  server_context.trust_pem(membio::test::test_ca().certificate_pem());
  Ends ends(client_context, server_context);
  ends.loopback.handshake();
  std::error_code code;

  (void)membio::request_client_certificate(ends.server,
                                           membio::ClientCertificate::required);
  CHECK(ends.loopback.send_to_client("request", code) == "request");

  INFO("server: " << ends.server.last_error_message());
  CHECK(code == ends.server.failure());
  CHECK(is_openssl_reason(ends.server.failure(),
                          SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE));
  REQUIRE(ends.server.last_alert());
  CHECK(ends.server.last_alert()->description == 116);
  CHECK(ends.server.last_alert()->sent);
}

TEST_CASE("an optional client certificate the client lacks is not needed",
          "[post_handshake][client_certificate][tls13]") {
  auto client_context = membio::test::client_context();
  auto server_context = membio::test::server_context();
  client_context.allow_post_handshake_auth();
  server_context.trust_pem(membio::test::test_ca().certificate_pem());
  Ends ends(client_context, server_context);
  ends.loopback.handshake();

  (void)membio::request_client_certificate(ends.server,
                                           membio::ClientCertificate::optional);
  CHECK(ends.loopback.send_to_client("request") == "request");
  CHECK(ends.loopback.send_to_server("answer") == "answer");

  CHECK_FALSE(ends.server.peer_certificate());
  CHECK_FALSE(ends.server.failure());
}

TEST_CASE("a client certificate request on TLS 1.2 is refused",
          "[post_handshake][client_certificate][tls12][errors]") {
  const PostHandshakeAuthContexts contexts(TlsVersion::tls1_2);
  Ends ends(contexts.client, contexts.server);
  ends.loopback.handshake();
  std::error_code code;

  (void)membio::request_client_certificate(
      ends.server, membio::ClientCertificate::optional, code);
  CHECK(code == membio::errc::unsupported_by_version);
  CHECK_FALSE(ends.server.failure());
  CHECK(ends.loopback.send_to_client("still open") == "still open");
}

TEST_CASE("a client certificate request fails when the client disallows it",
          "[post_handshake][client_certificate][tls13][errors]") {
  const PostHandshakeAuthContexts contexts(TlsVersion::tls1_3, false);
  Ends ends(contexts.client, contexts.server);
  ends.loopback.handshake();
  std::error_code code;

  (void)membio::request_client_certificate(
      ends.server, membio::ClientCertificate::required, code);
  INFO("server: " << ends.server.last_error_message());
  CHECK(is_openssl_reason(code, SSL_R_EXTENSION_NOT_RECEIVED));
  CHECK(contains(ends.server.last_error_message(), "extension not received"));
  CHECK_FALSE(ends.server.failure());
  CHECK(ends.loopback.send_to_client("still open") == "still open");
}

TEST_CASE("a client certificate request for none is refused",
          "[post_handshake][client_certificate][tls13][errors]") {
  const PostHandshakeAuthContexts contexts(TlsVersion::tls1_3);
  Ends ends(contexts.client, contexts.server);
  ends.loopback.handshake();
  const std::size_t pending = membio::pending_ciphertext(ends.server);
  std::error_code code;

  CHECK(membio::request_client_certificate(ends.server,
                                           membio::ClientCertificate::none,
                                           code) == membio::Status::closed);
  INFO("server: " << ends.server.last_error_message());
  CHECK(code == membio::errc::invalid_argument);
  CHECK(contains(ends.server.last_error_message(),
                 "request client certificate: ClientCertificate::none "
                 "requests nothing"));
  CHECK(membio::pending_ciphertext(ends.server) == pending);
  CHECK_THROWS_AS(membio::request_client_certificate(
                      ends.server, membio::ClientCertificate::none),
                  membio::error);

  CHECK_FALSE(ends.server.failure());
  CHECK(ends.loopback.send_to_server("still open") == "still open");
  CHECK_FALSE(ends.server.peer_certificate());
}
