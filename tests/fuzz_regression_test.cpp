// Regression tests for what the fuzz targets (tests/fuzz/) found. Each case
// is rebuilt here from the public API, or from certificate bytes written in
// hex, and names the target and the minimized input that found it.
#include <membio/membio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "harness.hpp"

namespace {

using membio::Channel;
using membio::ClientCertificate;
using membio::CloseState;
using membio::Context;
using membio::Status;
using membio::TlsVersion;

// Bytes from hex text; whitespace is skipped.
std::vector<unsigned char> from_hex(std::string_view text) {
  std::vector<unsigned char> bytes;
  int high = -1;
  for (const char digit : text) {
    const int value = digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10;
    if (value < 0 || value > 15) continue;
    if (high < 0) {
      high = value;
    } else {
      bytes.push_back(static_cast<unsigned char>(high << 4 | value));
      high = -1;
    }
  }
  return bytes;
}

membio::Certificate certificate_from_der(std::string_view hex) {
  const std::vector<unsigned char> der = from_hex(hex);
  const unsigned char* next = der.data();
  X509* parsed = d2i_X509(nullptr, &next, static_cast<long>(der.size()));
  REQUIRE(parsed != nullptr);

  membio::Certificate certificate(parsed);
  X509_free(parsed);  // The Certificate holds its own reference.
  return certificate;
}

// A self-signed EC certificate valid from 2020 until 99991231235959Z, the
// date RFC 5280 (4.1.2.5) gives a certificate that never expires.
constexpr std::string_view never_expires =
    "308201263081cda003020102020107300a06082a8648ce3d040302301c311a30"
    "1806035504030c116d656d62696f2072656772657373696f6e3020170d323030"
    "3130313030303030305a180f39393939313233313233353935395a301c311a30"
    "1806035504030c116d656d62696f2072656772657373696f6e3059301306072a"
    "8648ce3d020106082a8648ce3d030107034200044faa1e1c4cb8f3d0844aa9f6"
    "8bb7990c890c1ca71138949bce593e4933c878f26caafe059edb427d49cce782"
    "c9295822e8cf55fcbb6fd1e25aee6f116989f472300a06082a8648ce3d040302"
    "034800304502200a553402f46656d8993cf75dd9dc4d22af484219b340b41b0c"
    "d1b8bfd33336ef022100c58e4cba1e2ad8ceded02455df7d42ccca8c8db46c20"
    "fd064d9d2d10bd5c3520";

// The same key and names, with a subjectAltName extension whose value is a
// SEQUENCE that claims 5 bytes and holds 1.
constexpr std::string_view malformed_alt_names =
    "308201353081dda003020102020107300a06082a8648ce3d040302301c311a30"
    "1806035504030c116d656d62696f2072656772657373696f6e3020170d323030"
    "3130313030303030305a180f32303939313233313233353935395a301c311a30"
    "1806035504030c116d656d62696f2072656772657373696f6e3059301306072a"
    "8648ce3d020106082a8648ce3d030107034200044faa1e1c4cb8f3d0844aa9f6"
    "8bb7990c890c1ca71138949bce593e4933c878f26caafe059edb427d49cce782"
    "c9295822e8cf55fcbb6fd1e25aee6f116989f472a30e300c300a0603551d1104"
    "03300582300a06082a8648ce3d0403020347003044022003ef5ff2db37dc19ac"
    "124820bba4964a94ea988681a52d63e49293073de76bff02205d01de5a126382"
    "522b468e318a4945e5c3543c27cb55d0d741fe08b62dc50351";

// Contexts on one version that allow renegotiation; the client also has a
// certificate for servers that ask after the handshake.
struct Renegotiating {
  explicit Renegotiating(TlsVersion version)
      : client_context(membio::test::client_context(version)),
        server_context(membio::test::server_context(version)) {
    client_context.enable_renegotiation();
    server_context.enable_renegotiation();
    client_context.use_identity_pem(
        membio::test::localhost_identity().certificate_chain_pem,
        membio::test::localhost_identity().private_key_pem);
    client_context.allow_post_handshake_auth();
    server_context.trust_pem(membio::test::test_ca().certificate_pem());
  }

  Context<membio::client> client_context;
  Context<membio::server> server_context;
};

// A connected pair made from those contexts.
struct Connected : Renegotiating {
  explicit Connected(TlsVersion version)
      : Renegotiating(version),
        client(client_context, "localhost"),
        server(server_context) {
    membio::Loopback(client, server).handshake();
  }

  // Moves all ciphertext both ways and reads on both sides, `rounds`
  // times, keeping what each side reads; errors stay in the channels.
  void pump(int rounds = 8) {
    std::error_code ignored;
    for (int round = 0; round < rounds; ++round) {
      membio::feed(server, membio::drain_all(client), ignored);
      membio::feed(client, membio::drain_all(server), ignored);
      (void)membio::read_plaintext_into(server, server_got, ignored);
      (void)membio::read_plaintext_into(client, client_got, ignored);
    }
  }

  Channel<membio::client> client;
  Channel<membio::server> server;
  std::string client_got;
  std::string server_got;
};

}  // namespace

// fuzz_client, with a server certificate whose notAfter is in year 3100:
// Certificate::not_after converted the seconds into the system clock's
// nanoseconds, which overflowed (undefined behaviour).
TEST_CASE(
    "a certificate valid until 9999 reports a validity end after its "
    "start",
    "[fuzz][certificate]") {
  const membio::Certificate certificate = certificate_from_der(never_expires);
  const auto in_2100 = std::chrono::system_clock::time_point(
      std::chrono::seconds(4102444800));  // 2100-01-01

  CHECK(certificate.not_after() > certificate.not_before());
  CHECK(certificate.not_after() > in_2100);
}

// fuzz_client, with a hostile server certificate (client that skips
// verification): reading its alternative names left OpenSSL's errors on the
// thread's queue, where the caller's next OpenSSL call would find them.
TEST_CASE("reading a malformed subjectAltName leaves the error queue empty",
          "[fuzz][certificate]") {
  const membio::Certificate certificate =
      certificate_from_der(malformed_alt_names);
  ERR_clear_error();

  CHECK(certificate.subject_alt_names().empty());
  CHECK(ERR_peek_error() == 0);
  ERR_clear_error();
}

// fuzz_sequence inputs 06 84 fc c7 81 00 00 00 5b and 0a 06 26 06 f4 00 2c
// 06 06 3b 44 ab: the client has been fed an application data record it
// has not read yet, then renegotiates (and writes). The SSL_do_handshake
// that sends the ClientHello, or the SSL_write that starts the pending
// renegotiation, reads that record and fails with "unexpected record":
// OpenSSL takes application data during a renegotiation only inside
// SSL_read. The request is now refused until the input is read.
TEST_CASE(
    "a client renegotiating with application data unread keeps the "
    "connection",
    "[fuzz][renegotiate]") {
  Connected pair(TlsVersion::tls1_2);
  (void)membio::write_plaintext(pair.server, "unread");
  membio::feed(pair.client, membio::drain_all(pair.server));

  std::error_code code;
  (void)membio::renegotiate(pair.client, code);
  CHECK(code == membio::errc::wrong_handshake_state);
  (void)membio::write_plaintext(pair.client, "after", code);
  CHECK_FALSE(code);
  pair.pump();

  CHECK_FALSE(pair.client.failure());
  CHECK_FALSE(pair.server.failure());
  CHECK(pair.client_got == "unread");
  CHECK(pair.server_got == "after");
}

// fuzz_sequence input 65 2b 2b 64 2b: renegotiate, renegotiate again before
// the first ends, write. The second request made OpenSSL start another
// renegotiation as soon as the first ended, one that waits for a
// HelloRequest that never comes, so the writes queued behind it never left.
TEST_CASE("a second renegotiation request does not strand later writes",
          "[fuzz][renegotiate]") {
  Connected pair(TlsVersion::tls1_2);
  (void)membio::renegotiate(pair.client);
  std::error_code code;
  (void)membio::renegotiate(pair.client, code);
  CHECK(code == membio::errc::wrong_handshake_state);
  (void)membio::write_plaintext(pair.client, std::string(11008, 'x'));
  pair.pump();

  CHECK(pair.server_got.size() == 11008);
  CHECK_FALSE(SSL_in_init(pair.client.native_handle()));
}

// fuzz_sequence input 05 18 06 8b: the client closes, the server reads the
// close_notify, then renegotiates. OpenSSL's renegotiation cleared the
// record of the close_notify received, so close_state() went back to open
// and reads waited for data that will never come.
TEST_CASE("renegotiating after the peer's close_notify keeps it received",
          "[fuzz][renegotiate][close]") {
  Connected pair(TlsVersion::tls1_2);
  (void)membio::close(pair.client);
  pair.pump();
  REQUIRE(pair.server.close_state() == CloseState::close_received);

  std::error_code code;
  (void)membio::renegotiate(pair.server, code);

  CHECK(code == membio::errc::closed);
  CHECK(pair.server.close_state() == CloseState::close_received);
}

// fuzz_sequence input 2d 0b c8 74 c8: the client starts a renegotiation,
// the server closes before seeing it, the client writes. OpenSSL takes no
// handshake message after sending close_notify, so the renegotiation never
// ends; the written bytes and the client's close wait for it for ever while
// write and close report success.
TEST_CASE(
    "plaintext held by a renegotiation the peer's close cut off is "
    "not lost silently",
    "[fuzz][renegotiate][close]") {
  Connected pair(TlsVersion::tls1_2);
  (void)membio::renegotiate(pair.client);
  (void)membio::close(pair.server);

  std::error_code write_code;
  (void)membio::write_plaintext(pair.client, std::string(100, 'x'), write_code);
  pair.pump();
  std::error_code close_code;
  (void)membio::close(pair.client, close_code);
  pair.pump();

  // The renegotiation cannot end, so the bytes cannot go: the channel
  // fails, saying why, instead of holding them for ever.
  CHECK(pair.client.failure() == membio::errc::closed);
  CHECK(close_code == membio::errc::closed);
  CHECK(pair.client.last_error_message().find("renegotiation") !=
        std::string::npos);
  CHECK(pair.server_got.empty());
}

// fuzz_sequence input 6c 0c c8: the server asks for the client's
// certificate after the handshake, then closes. The client's read answered
// the request (its Certificate, CertificateVerify and Finished wait to be
// drained) but returned `closed`, which the documented loop takes as the
// end, so the answer was never sent.
TEST_CASE("a read that meets close_notify still says when output waits",
          "[fuzz][close][post_handshake]") {
  Connected pair(TlsVersion::tls1_3);
  (void)membio::request_client_certificate(pair.server,
                                           ClientCertificate::optional);
  (void)membio::close(pair.server);
  membio::feed(pair.client, membio::drain_all(pair.server));

  std::string plaintext;
  const Status status = membio::read_plaintext_into(pair.client, plaintext);

  CHECK(status == Status::send_output);
  CHECK(membio::pending_ciphertext(pair.client) > 0);
}
