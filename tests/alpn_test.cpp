// Tests of what a handshake settles and a channel reports (channel.hpp):
// the application protocol chosen by ALPN (configured in context.hpp), the
// peer's signature algorithm, the server name and the last alert.
#include <membio/channel.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using membio::AlpnMismatch;
using membio::Role;
using membio::TlsVersion;
using membio::test::name_of;
using Protocols = std::vector<std::string>;

// Whether `text` contains `part`.
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Contexts for one version, configured before channels are made from them:
// a client channel copies the protocols its context offers when it is made.
struct Contexts {
  explicit Contexts(TlsVersion version)
      : client(membio::test::client_context(version)),
        server(membio::test::server_context(version)) {}

  membio::Context<membio::client> client;
  membio::Context<membio::server> server;
};

// A client and a server channel made from `contexts`, with a loopback.
struct Ends {
  explicit Ends(const Contexts& contexts,
                const std::string& server_name = "localhost")
      : client(contexts.client, server_name), server(contexts.server) {}

  membio::Channel<membio::client> client;
  membio::Channel<membio::server> server;
  membio::Loopback loopback{client, server};
};

// Connects a client offering `offered` to a server preferring `preferred`;
// returns the protocol both ends report, or "<differs>" when they disagree.
std::string negotiate(TlsVersion version, const Protocols& offered,
                      const Protocols& preferred) {
  Contexts contexts(version);
  if (!offered.empty()) contexts.client.set_alpn_protocols(offered);
  if (!preferred.empty()) contexts.server.set_alpn_protocols(preferred);
  Ends ends(contexts);

  ends.loopback.handshake();
  const std::string chosen = ends.client.alpn_protocol();
  return chosen == ends.server.alpn_protocol() ? chosen : "<differs>";
}

// A server context on `version` whose leaf has a key of `type`.
membio::Context<membio::server> server_with_key(TlsVersion version,
                                                membio::KeyType type) {
  membio::CertificateOptions options;
  options.key_type = type;
  return membio::test::server_context_for(
      membio::test::test_ca().issue(options), version);
}

// Checks that `alert` is close_notify, sent by this side or received.
void check_close_notify(const std::optional<membio::Alert>& alert, bool sent) {
  REQUIRE(alert);
  CHECK(alert->sent == sent);
  CHECK_FALSE(alert->fatal);
  CHECK(alert->description == SSL_AD_CLOSE_NOTIFY);
  CHECK(alert->text == "close notify");
}

// `closer` sends close_notify, and the other side reads it.
template <Role C, Role R>
void close_one_way(membio::Channel<C>& closer, membio::Channel<R>& receiver,
                   membio::Loopback& loopback) {
  (void)membio::close(closer);
  (void)loopback.shuttle();

  std::string received;
  CHECK(membio::read_plaintext_into(receiver, received) ==
        membio::Status::closed);
}

}  // namespace

TEST_CASE("the server's ALPN preference decides the protocol both ends see",
          "[alpn]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));

  CHECK(negotiate(version, {"http/1.1", "h2"}, {"h2", "http/1.1"}) == "h2");
  CHECK(negotiate(version, {"h2", "http/1.1"}, {"http/1.1", "h2"}) ==
        "http/1.1");
}

TEST_CASE("the server picks the one protocol the client offers", "[alpn]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));

  CHECK(negotiate(version, {"http/1.1"}, {"h2", "http/1.1"}) == "http/1.1");
}

TEST_CASE("a client offering no ALPN gets no protocol, even from a refuser",
          "[alpn]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));

  CHECK(negotiate(version, {}, {"h2", "http/1.1"}).empty());
  CHECK(negotiate(version, {"h2"}, {}).empty());
  CHECK(negotiate(version, {}, {}).empty());
}

TEST_CASE("a server refusing an ALPN mismatch fails the handshake",
          "[alpn][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  contexts.client.set_alpn_protocols({"http/1.1"});
  contexts.server.set_alpn_protocols({"h2"}, AlpnMismatch::refuse);
  Ends ends(contexts);
  std::error_code code;

  ends.loopback.handshake(code);
  INFO("client: " << ends.client.last_error_message());
  INFO("server: " << ends.server.last_error_message());
  CHECK(code);
  CHECK(ends.client.failure());
  CHECK(contains(ends.client.last_error_message(),
                 "alert received: no application protocol"));
  CHECK(contains(ends.server.last_error_message(),
                 "alert sent: no application protocol"));

  REQUIRE(ends.client.last_alert());
  CHECK(ends.client.last_alert()->description == 120);
  CHECK(ends.client.last_alert()->fatal);
  CHECK_FALSE(ends.client.last_alert()->sent);
  REQUIRE(ends.server.last_alert());
  CHECK(ends.server.last_alert()->description == 120);
  CHECK(ends.server.last_alert()->sent);
}

TEST_CASE("a server continuing past an ALPN mismatch chooses no protocol",
          "[alpn]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  contexts.client.set_alpn_protocols({"http/1.1"});
  contexts.server.set_alpn_protocols({"h2"}, AlpnMismatch::continue_without);
  Ends ends(contexts);
  std::error_code code;

  ends.loopback.handshake(code);
  REQUIRE_FALSE(code);
  CHECK(ends.client.alpn_protocol().empty());
  CHECK(ends.server.alpn_protocol().empty());
  CHECK(ends.loopback.send_to_server("no protocol") == "no protocol");
}

TEST_CASE("ALPN names must be 1 to 255 bytes", "[alpn][errors]") {
  const std::string too_long(256, 'x');
  const Protocols invalid =
      GENERATE_COPY(Protocols({""}), Protocols({too_long}),
                    Protocols({"h2", ""}), Protocols({"h2", too_long}));
  INFO(invalid.size() << " names, the last of " << invalid.back().size()
                      << " bytes");
  membio::Context<membio::client> context;
  std::error_code code;

  context.set_alpn_protocols(invalid, code);
  CHECK(code == membio::errc::invalid_argument);
  CHECK(context.last_error_message() ==
        "set alpn protocols: each protocol name must be 1 to 255 bytes");

  try {
    context.set_alpn_protocols(invalid);
    FAIL("an invalid ALPN name did not throw");
  } catch (const membio::error& error) {
    CHECK(error.code() == membio::errc::invalid_argument);
    CHECK(contains(error.what(), "set alpn protocols: "));
  }
}

TEST_CASE("ALPN names of 255 bytes are accepted and negotiated", "[alpn]") {
  const std::string longest(255, 'x');
  std::error_code code;

  membio::Context<membio::client> context;
  context.set_alpn_protocols({longest, "h2"}, code);
  CHECK_FALSE(code);

  CHECK(negotiate(TlsVersion::tls1_3, {longest, "h2"}, {longest}) == longest);
}

TEST_CASE("an invalid ALPN list keeps the protocols offered before",
          "[alpn][errors]") {
  Contexts contexts(TlsVersion::tls1_3);
  contexts.client.set_alpn_protocols({"h2"});
  contexts.server.set_alpn_protocols({"h2", "http/1.1"});
  std::error_code code;

  contexts.client.set_alpn_protocols({"http/1.1", ""}, code);
  REQUIRE(code == membio::errc::invalid_argument);
  Ends ends(contexts);
  ends.loopback.handshake();

  CHECK(ends.client.alpn_protocol() == "h2");
}

TEST_CASE("setting ALPN on a moved-from client context reports empty_object",
          "[alpn][errors]") {
  membio::Context<membio::client> context;
  const membio::Context<membio::client> moved(std::move(context));
  std::error_code code;

  context.set_alpn_protocols({"h2"}, code);
  CHECK(code == membio::errc::empty_object);
}

TEST_CASE("the client sees the ECDSA signature of an EC server key",
          "[channel][details][signature]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  Ends ends(contexts);
  CHECK(ends.client.peer_signature_algorithm().empty());

  ends.loopback.handshake();

  CHECK(ends.client.peer_signature_algorithm() == "ECDSA+SHA256");
  CHECK(ends.server.peer_signature_algorithm().empty());
}

TEST_CASE("the client sees the RSA-PSS signature of an RSA server key",
          "[channel][details][signature][tls13]") {
  const auto client_context = membio::test::client_context();
  const auto server_context =
      server_with_key(TlsVersion::tls1_3, membio::KeyType::rsa_2048);
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);

  membio::Loopback(client, server).handshake();

  CHECK(client.peer_signature_algorithm() == "RSA-PSS+SHA256");
  CHECK(server.peer_signature_algorithm().empty());
}

TEST_CASE("the server sees the signature of a client certificate",
          "[channel][details][signature]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  const membio::Identity& identity = membio::test::localhost_identity();
  contexts.client.use_identity_pem(identity.certificate_chain_pem,
                                   identity.private_key_pem);
  contexts.server.trust_pem(membio::test::test_ca().certificate_pem());
  contexts.server.request_client_certificate(
      membio::ClientCertificate::required);
  Ends ends(contexts);

  ends.loopback.handshake();

  CHECK(ends.server.peer_signature_algorithm() == "ECDSA+SHA256");
  CHECK(ends.client.peer_signature_algorithm() == "ECDSA+SHA256");
}

TEST_CASE("the client sees no signature when the session is resumed",
          "[channel][details][signature][resumption]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  std::vector<unsigned char> saved;
  {
    Ends first(contexts);
    CHECK(first.loopback.send_to_server("tickets") == "tickets");
    saved = membio::save_session(first.client);
    first.loopback.close();
  }

  Ends ends(contexts);
  membio::restore_session(ends.client, saved);
  ends.loopback.handshake();

  REQUIRE(ends.client.resumed());
  CHECK(ends.client.peer_signature_algorithm().empty());
}

TEST_CASE("no alert is reported before any alert was sent or received",
          "[channel][details][alert]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  Ends ends(contexts);
  CHECK_FALSE(ends.client.last_alert());

  CHECK(ends.loopback.send_to_server("data") == "data");

  CHECK_FALSE(ends.client.last_alert());
  CHECK_FALSE(ends.server.last_alert());
}

TEST_CASE("close_notify is the last alert, sent by the closer and received",
          "[channel][details][alert][close]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const bool client_closes = GENERATE(true, false);
  INFO(name_of(version) << (client_closes ? ", client" : ", server")
                        << " closes");
  Contexts contexts(version);
  Ends ends(contexts);
  ends.loopback.handshake();
  (void)ends.loopback.shuttle();

  if (client_closes) {
    close_one_way(ends.client, ends.server, ends.loopback);
  } else {
    close_one_way(ends.server, ends.client, ends.loopback);
  }

  check_close_notify(ends.client.last_alert(), client_closes);
  check_close_notify(ends.server.last_alert(), !client_closes);
}

TEST_CASE("both ends report the server name the client sent",
          "[channel][details][server_name]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  Ends ends(contexts);
  CHECK(ends.client.server_name() == "localhost");
  CHECK(ends.server.server_name().empty());

  ends.loopback.handshake();

  CHECK(ends.client.server_name() == "localhost");
  CHECK(ends.server.server_name() == "localhost");
}

TEST_CASE("no server name is reported when the client names an IP address",
          "[channel][details][server_name]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  Ends ends(contexts, "127.0.0.1");

  ends.loopback.handshake();

  CHECK(ends.client.server_name().empty());
  CHECK(ends.server.server_name().empty());
}
