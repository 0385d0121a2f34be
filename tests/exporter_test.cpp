// Tests of exporter.hpp: keying material both ends derive from one
// connection, and the channel bindings built on it.
#include <membio/exporter.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <cstddef>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using membio::ChannelBinding;
using membio::TlsVersion;
using membio::test::name_of;
using Bytes = std::vector<unsigned char>;

constexpr const char* label = "EXPERIMENTAL membio test";

// Whether `text` contains `part`.
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A client and a server channel for "localhost", connected by a loopback
// that has finished the handshake.
struct Connected : membio::test::Pair {
  explicit Connected(TlsVersion version) : Pair(version) {
    loopback.handshake();
  }

  membio::Loopback loopback{client, server};
};

// The Finished message this end sent in the latest handshake.
Bytes finished_sent_by(SSL* ssl) {
  unsigned char finished[EVP_MAX_MD_SIZE];
  const std::size_t size = SSL_get_finished(ssl, finished, sizeof finished);
  return Bytes(finished, finished + size);
}

// Channels on TLS 1.2 whose server resumes sessions through tickets or
// through its session cache.
struct ResumingContexts {
  explicit ResumingContexts(bool session_cache)
      : client(membio::test::client_context(TlsVersion::tls1_2)),
        server(membio::test::server_context(TlsVersion::tls1_2)) {
    if (session_cache) server.use_session_cache(16);
  }

  membio::Context<membio::client> client;
  membio::Context<membio::server> server;
};

}  // namespace

TEST_CASE("both ends export the same keying material for a label and context",
          "[exporter]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const std::size_t length = GENERATE(std::size_t{32}, std::size_t{64});
  INFO(name_of(version) << ", " << length << " bytes");
  Connected pair(version);

  const Bytes client_side =
      membio::export_keying_material(pair.client, label, "context", length);
  const Bytes server_side =
      membio::export_keying_material(pair.server, label, "context", length);

  CHECK(client_side.size() == length);
  CHECK(client_side == server_side);
  CHECK(client_side != Bytes(length, 0));
}

TEST_CASE("exported keying material depends on the label and the context",
          "[exporter]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Connected pair(version);
  const Bytes base =
      membio::export_keying_material(pair.client, label, "one", 32);

  const Bytes other_label = membio::export_keying_material(
      pair.client, "EXPERIMENTAL other", "one", 32);
  const Bytes other_context =
      membio::export_keying_material(pair.server, label, "two", 32);

  CHECK(base != other_label);
  CHECK(base != other_context);
  CHECK(base == membio::export_keying_material(pair.server, label, "one", 32));
}

TEST_CASE("TLS 1.2 exports differ with no context and with an empty one",
          "[exporter][tls12]") {
  Connected pair(TlsVersion::tls1_2);

  const Bytes none = membio::export_keying_material(pair.client, label, 32);
  const Bytes empty = membio::export_keying_material(pair.client, label,
                                                     membio::ConstBytes(), 32);

  CHECK(none.size() == 32);
  CHECK(none != empty);
  CHECK(none == membio::export_keying_material(pair.server, label, 32));
}

TEST_CASE("TLS 1.3 exports treat no context as an empty one",
          "[exporter][tls13]") {
  Connected pair(TlsVersion::tls1_3);

  const Bytes none = membio::export_keying_material(pair.client, label, 32);
  const Bytes empty = membio::export_keying_material(pair.server, label,
                                                     membio::ConstBytes(), 32);

  CHECK(none.size() == 32);
  CHECK(none == empty);
}

TEST_CASE("exporting before the handshake is done reports the wrong state",
          "[exporter][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  membio::test::Pair pair(version);
  std::error_code code;

  CHECK(membio::export_keying_material(pair.client, label, 32, code).empty());
  CHECK(code == membio::errc::wrong_handshake_state);
  CHECK(contains(pair.client.last_error_message(), "export keying material"));

  CHECK(membio::channel_binding(pair.server, ChannelBinding::tls_exporter, code)
            .empty());
  CHECK(code == membio::errc::wrong_handshake_state);

  CHECK_THROWS_AS(membio::export_keying_material(pair.server, label, "x", 32),
                  membio::error);
  CHECK_FALSE(pair.client.failure());
  CHECK_FALSE(pair.server.failure());
}

TEST_CASE("an export refused before the handshake leaves the channel usable",
          "[exporter][errors]") {
  membio::test::Pair pair;
  std::error_code code;
  (void)membio::export_keying_material(pair.client, label, 32, code);
  REQUIRE(code == membio::errc::wrong_handshake_state);

  membio::Loopback loopback(pair.client, pair.server);
  CHECK(loopback.send_to_server("after") == "after");

  CHECK(membio::export_keying_material(pair.client, label, 32) ==
        membio::export_keying_material(pair.server, label, 32));
}

TEST_CASE("a label TLS 1.2 reserves is refused and the channel stays usable",
          "[exporter][tls12][errors]") {
  Connected pair(TlsVersion::tls1_2);
  std::error_code code;

  CHECK(membio::export_keying_material(pair.client, "master secret", 32, code)
            .empty());
  CHECK(code.category() == membio::openssl_category());
  CHECK(pair.client.last_error_message() ==
        "export keying material: tls illegal exporter label (SSL routines)");

  CHECK_FALSE(pair.client.failure());
  CHECK(pair.loopback.send_to_server("still open") == "still open");
}

TEST_CASE("exporting from a moved-from channel reports an empty object",
          "[exporter][errors]") {
  Connected pair(TlsVersion::tls1_3);
  const membio::Channel<membio::client> moved(std::move(pair.client));
  std::error_code code;

  CHECK(membio::export_keying_material(pair.client, label, 32, code).empty());
  CHECK(code == membio::errc::empty_object);
  CHECK(membio::channel_binding(pair.client, ChannelBinding::tls_unique, code)
            .empty());
  CHECK(code == membio::errc::empty_object);
}

TEST_CASE("the tls-exporter binding is 32 bytes both ends share",
          "[exporter][channel_binding]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Connected pair(version);

  const Bytes client_side =
      membio::channel_binding(pair.client, ChannelBinding::tls_exporter);
  const Bytes server_side =
      membio::channel_binding(pair.server, ChannelBinding::tls_exporter);

  CHECK(client_side.size() == 32);
  CHECK(client_side == server_side);
}

TEST_CASE("the tls-exporter binding exports with an empty context value",
          "[exporter][channel_binding]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Connected pair(version);
  const std::string label_text = "EXPORTER-Channel-Binding";
  Bytes expected(32);
  REQUIRE(SSL_export_keying_material(pair.client.native_handle(),
                                     expected.data(), expected.size(),
                                     label_text.c_str(), label_text.size(),
                                     nullptr, 0, /*use_context=*/1) == 1);

  const Bytes binding =
      membio::channel_binding(pair.client, ChannelBinding::tls_exporter);

  CHECK(binding == expected);
  const Bytes without_context =
      membio::export_keying_material(pair.client, label_text, 32);
  CHECK((binding == without_context) == (version == TlsVersion::tls1_3));
}

TEST_CASE("the tls-exporter binding is refused on TLS 1.2 with renegotiation",
          "[exporter][channel_binding][tls12][renegotiation][errors]") {
  const bool on_client = GENERATE(true, false);
  INFO((on_client ? "client enables renegotiation"
                  : "server enables renegotiation"));
  auto client_context = membio::test::client_context(TlsVersion::tls1_2);
  auto server_context = membio::test::server_context(TlsVersion::tls1_2);
  if (on_client) {
    client_context.enable_renegotiation();
  } else {
    server_context.enable_renegotiation();
  }
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  membio::Loopback loopback(client, server);
  loopback.handshake();
  std::error_code code;

  const Bytes refused =
      on_client
          ? membio::channel_binding(client, ChannelBinding::tls_exporter, code)
          : membio::channel_binding(server, ChannelBinding::tls_exporter, code);

  CHECK(refused.empty());
  CHECK(code == membio::errc::unsupported_by_version);
  const std::string message =
      on_client ? client.last_error_message() : server.last_error_message();
  CHECK(contains(message,
                 "channel binding: tls-exporter is not defined for "
                 "TLS 1.2 with renegotiation enabled"));
  CHECK_FALSE(client.failure());
  CHECK_FALSE(server.failure());
  CHECK(loopback.send_to_server("still open") == "still open");
}

TEST_CASE(
    "the tls-exporter binding stays on TLS 1.3 with renegotiation "
    "enabled",
    "[exporter][channel_binding][tls13][renegotiation]") {
  auto client_context = membio::test::client_context(TlsVersion::tls1_3);
  auto server_context = membio::test::server_context(TlsVersion::tls1_3);
  client_context.enable_renegotiation();
  server_context.enable_renegotiation();
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  membio::Loopback(client, server).handshake();

  const Bytes binding =
      membio::channel_binding(client, ChannelBinding::tls_exporter);

  CHECK(binding.size() == 32);
  CHECK(binding ==
        membio::channel_binding(server, ChannelBinding::tls_exporter));
}

TEST_CASE("the tls-exporter binding differs between two connections",
          "[exporter][channel_binding]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Connected first(version);
  Connected second(version);

  const Bytes one =
      membio::channel_binding(first.client, ChannelBinding::tls_exporter);
  const Bytes two =
      membio::channel_binding(second.client, ChannelBinding::tls_exporter);

  CHECK(one != two);
}

TEST_CASE("the tls-unique binding on TLS 1.2 is the client's first Finished",
          "[exporter][channel_binding][tls12]") {
  Connected pair(TlsVersion::tls1_2);

  const Bytes client_side =
      membio::channel_binding(pair.client, ChannelBinding::tls_unique);
  const Bytes server_side =
      membio::channel_binding(pair.server, ChannelBinding::tls_unique);

  CHECK_FALSE(client_side.empty());
  CHECK(client_side == server_side);
  CHECK(client_side == finished_sent_by(pair.client.native_handle()));
}

TEST_CASE("the tls-unique binding of a resumed TLS 1.2 session is shared",
          "[exporter][channel_binding][tls12][resumption]") {
  const bool session_cache = GENERATE(false, true);
  INFO((session_cache ? "session cache" : "session tickets"));
  const ResumingContexts contexts(session_cache);
  Bytes saved;
  Bytes first;
  {
    membio::Channel<membio::client> client(contexts.client, "localhost");
    membio::Channel<membio::server> server(contexts.server);
    membio::Loopback loopback(client, server);
    loopback.handshake();
    saved = membio::save_session(client);
    first = membio::channel_binding(client, ChannelBinding::tls_unique);
    loopback.close();
  }

  membio::Channel<membio::client> client(contexts.client, "localhost");
  membio::Channel<membio::server> server(contexts.server);
  membio::restore_session(client, saved);
  membio::Loopback loopback(client, server);
  loopback.handshake();
  REQUIRE(client.resumed());
  REQUIRE(server.resumed());

  const Bytes client_side =
      membio::channel_binding(client, ChannelBinding::tls_unique);
  CHECK_FALSE(client_side.empty());
  CHECK(client_side ==
        membio::channel_binding(server, ChannelBinding::tls_unique));
  CHECK(client_side == finished_sent_by(server.native_handle()));
  CHECK(client_side != first);
}

TEST_CASE("the tls-unique binding follows a TLS 1.2 renegotiation",
          "[exporter][channel_binding][tls12][renegotiation]") {
  auto client_context = membio::test::client_context(TlsVersion::tls1_2);
  auto server_context = membio::test::server_context(TlsVersion::tls1_2);
  client_context.enable_renegotiation();
  server_context.enable_renegotiation();
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  membio::Loopback loopback(client, server);
  loopback.handshake();
  const Bytes before =
      membio::channel_binding(client, ChannelBinding::tls_unique);

  (void)membio::renegotiate(client);
  REQUIRE(loopback.send_to_server("renegotiated") == "renegotiated");
  REQUIRE(SSL_renegotiate_pending(client.native_handle()) == 0);

  const Bytes after =
      membio::channel_binding(client, ChannelBinding::tls_unique);
  CHECK(after != before);
  CHECK(after == membio::channel_binding(server, ChannelBinding::tls_unique));
}

TEST_CASE("the tls-unique binding is refused on TLS 1.3",
          "[exporter][channel_binding][tls13][errors]") {
  Connected pair(TlsVersion::tls1_3);
  std::error_code code;

  CHECK(membio::channel_binding(pair.client, ChannelBinding::tls_unique, code)
            .empty());
  CHECK(code == membio::errc::unsupported_by_version);
  CHECK(contains(pair.client.last_error_message(), "channel binding: "));
  CHECK(contains(pair.client.last_error_message(), "TLS 1.3"));

  CHECK_THROWS_AS(
      membio::channel_binding(pair.server, ChannelBinding::tls_unique),
      membio::error);
  CHECK_FALSE(pair.client.failure());
  CHECK(pair.loopback.send_to_server("still open") == "still open");
}

TEST_CASE(
    "channel bindings are refused on TLS 1.2 without the extended "
    "master secret",
    "[exporter][channel_binding][tls12][errors]") {
  const ChannelBinding type =
      GENERATE(ChannelBinding::tls_exporter, ChannelBinding::tls_unique);
  membio::test::Pair pair(TlsVersion::tls1_2);
  SSL_set_options(pair.client.native_handle(),
                  SSL_OP_NO_EXTENDED_MASTER_SECRET);
  membio::Loopback loopback(pair.client, pair.server);
  loopback.handshake();
  std::error_code code;

  CHECK(membio::channel_binding(pair.client, type, code).empty());
  CHECK(code == membio::errc::unsupported_by_version);
  CHECK(contains(pair.client.last_error_message(), "extended master secret"));

  CHECK_FALSE(pair.client.failure());
  CHECK(loopback.send_to_server("still open") == "still open");
}
