// Tests of loopback.hpp: a client and a server channel pumped into each
// other in one process.
#include <membio/loopback.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

#include "harness.hpp"

namespace {

using membio::CloseState;
using membio::Loopback;
using membio::TlsVersion;
using membio::test::Pair;
using membio::test::pattern;

// Whether `text` contains `part`.
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A client context limited to `version` that trusts an authority other
// than the one that issued the server's certificate.
membio::Context<membio::client> distrusting_client_context(TlsVersion version) {
  static const membio::CertificateAuthority stranger("membio stranger CA");
  membio::Context<membio::client> context;
  context.trust_pem(stranger.certificate_pem());
  context.set_protocol_versions(version, version);
  return context;
}

}  // namespace

TEST_CASE("a loopback completes the handshake on both versions",
          "[loopback][handshake]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  Loopback loopback(pair.client, pair.server);
  std::error_code code;

  loopback.handshake(code);
  REQUIRE_FALSE(code);
  CHECK(pair.client.handshake_done());
  CHECK(pair.server.handshake_done());
  CHECK(pair.client.protocol_version() == membio::test::name_of(version));
  CHECK(pair.server.protocol_version() == membio::test::name_of(version));

  loopback.handshake(code);
  CHECK_FALSE(code);
}

TEST_CASE("a loopback delivering small fragments connects and carries data",
          "[loopback][fragments]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const std::size_t fragment_size = GENERATE(std::size_t{1}, std::size_t{7});
  INFO(membio::test::name_of(version) << ", fragments of " << fragment_size);
  Pair pair(version);
  Loopback loopback(pair.client, pair.server, fragment_size);

  loopback.handshake();
  CHECK(pair.client.protocol_version() == membio::test::name_of(version));

  const std::string to_server = pattern(3000, 1);
  const std::string to_client = pattern(2000, 2);
  CHECK((loopback.send_to_server(to_server) == to_server));
  CHECK((loopback.send_to_client(to_client) == to_client));

  loopback.close();
  CHECK(pair.client.close_state() == CloseState::closed);
  CHECK(pair.server.close_state() == CloseState::closed);
}

TEST_CASE("a loopback carries exactly the plaintext written each way",
          "[loopback][data]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  Loopback loopback(pair.client, pair.server);
  loopback.handshake();

  CHECK(loopback.send_to_server("ping") == "ping");
  CHECK(loopback.send_to_client("pong") == "pong");
  CHECK(loopback.send_to_server("").empty());

  const std::string big = pattern(200000, 3);
  const std::string received = loopback.send_to_client(big);
  CHECK(received.size() == big.size());
  CHECK((received == big));
}

TEST_CASE("closing a loopback leaves both channels closed",
          "[loopback][close]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  Loopback loopback(pair.client, pair.server);
  loopback.handshake();
  std::error_code code;

  loopback.close(code);
  REQUIRE_FALSE(code);
  CHECK(pair.client.close_state() == CloseState::closed);
  CHECK(pair.server.close_state() == CloseState::closed);
  CHECK_FALSE(pair.client.failure());
  CHECK_FALSE(pair.server.failure());

  loopback.close(code);
  CHECK_FALSE(code);
  CHECK(pair.client.close_state() == CloseState::closed);
}

TEST_CASE("sending on a closed loopback reports errc::closed",
          "[loopback][close][errors]") {
  Pair pair;
  Loopback loopback(pair.client, pair.server);
  loopback.handshake();
  loopback.close();
  std::error_code code;

  CHECK(loopback.send_to_server("too late", code).empty());
  CHECK(code == membio::errc::closed);

  try {
    (void)loopback.send_to_client("too late");
    FAIL("sending after close did not throw");
  } catch (const membio::error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == membio::errc::closed);
    CHECK(contains(error.what(), "write: "));
  }
}

TEST_CASE("shuttle moves pending ciphertext both ways and counts it",
          "[loopback][shuttle]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  Loopback loopback(pair.client, pair.server);
  loopback.handshake();
  (void)loopback.shuttle();

  (void)membio::write_plaintext(pair.client, "to the server");
  (void)membio::write_plaintext(pair.server, "to the client");
  const std::size_t pending = membio::pending_ciphertext(pair.client) +
                              membio::pending_ciphertext(pair.server);
  CHECK(loopback.shuttle() == pending);
  CHECK(loopback.shuttle() == 0);

  std::string received;
  (void)membio::read_plaintext_into(pair.server, received);
  CHECK(received == "to the server");
  received.clear();
  (void)membio::read_plaintext_into(pair.client, received);
  CHECK(received == "to the client");
}

TEST_CASE("a loopback whose client distrusts the server fails on both ends",
          "[loopback][handshake][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const std::size_t fragment_size =
      GENERATE(std::size_t{0}, std::size_t{1}, std::size_t{7});
  INFO(membio::test::name_of(version) << ", fragments of " << fragment_size);
  const auto client_context = distrusting_client_context(version);
  const auto server_context = membio::test::server_context(version);
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  Loopback loopback(client, server, fragment_size);
  std::error_code code;

  loopback.handshake(code);
  INFO("client: " << client.last_error_message());
  INFO("server: " << server.last_error_message());
  CHECK(code);
  CHECK(client.failure() == code);
  CHECK(contains(client.last_error_message(), "certificate verify failed"));
  CHECK(server.failure());
  CHECK(contains(server.last_error_message(), "alert received"));
  CHECK(client.close_state() == CloseState::failed);
  CHECK(server.close_state() == CloseState::failed);
}

TEST_CASE("a failed loopback handshake throws the first side's failure",
          "[loopback][handshake][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  const auto client_context = distrusting_client_context(version);
  const auto server_context = membio::test::server_context(version);
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  Loopback loopback(client, server);

  try {
    loopback.handshake();
    FAIL("a handshake the client cannot verify did not throw");
  } catch (const std::system_error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == client.failure());
    CHECK(contains(error.what(), "handshake: "));
    CHECK(contains(error.what(), "certificate verify failed"));
  }
}

TEST_CASE("a loopback whose server refuses the version fails on both ends",
          "[loopback][handshake][errors]") {
  const std::size_t fragment_size = GENERATE(std::size_t{0}, std::size_t{7});
  INFO("fragments of " << fragment_size);
  const auto client_context = membio::test::client_context(TlsVersion::tls1_2);
  const auto server_context = membio::test::server_context(TlsVersion::tls1_3);
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  Loopback loopback(client, server, fragment_size);
  std::error_code code;

  loopback.handshake(code);
  INFO("client: " << client.last_error_message());
  INFO("server: " << server.last_error_message());
  CHECK(code);
  CHECK(server.failure() == code);
  CHECK(contains(server.last_error_message(), "alert sent"));
  CHECK(client.failure());
  CHECK(contains(client.last_error_message(), "alert received"));
}

TEST_CASE("a loopback whose client hello was lost reports a stall",
          "[loopback][handshake][stall]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  (void)membio::drain_all(pair.client);
  Loopback loopback(pair.client, pair.server);
  std::error_code code;

  loopback.handshake(code);
  CHECK(code == membio::errc::stalled);
  CHECK_FALSE(pair.client.handshake_done());
  CHECK_FALSE(pair.client.failure());
  CHECK_FALSE(pair.server.failure());

  try {
    loopback.handshake();
    FAIL("a stalled handshake did not throw");
  } catch (const membio::error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == membio::errc::stalled);
    CHECK(contains(error.what(), "handshake: "));
  }
}

TEST_CASE("a loopback whose close_notify was lost reports a stall",
          "[loopback][close][stall]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  Loopback loopback(pair.client, pair.server);
  loopback.handshake();
  (void)loopback.shuttle();
  (void)membio::close(pair.client);
  (void)membio::drain_all(pair.client);
  std::error_code code;

  loopback.close(code);
  CHECK(code == membio::errc::stalled);
  CHECK(pair.server.close_state() == CloseState::open);
  CHECK_FALSE(pair.server.failure());
}
