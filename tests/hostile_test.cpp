// The hostile-input catalogue: what a channel does with bytes and peers
// that break the protocol. Each case ends in a readable error naming
// OpenSSL's reason or the alert, which every later call repeats; input
// after a close is ignored, never handed out.
#include <membio/io.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using membio::Channel;
using membio::CloseState;
using membio::Context;
using membio::Role;
using membio::Status;
using membio::TlsVersion;
using membio::test::deliver;
using membio::test::Pair;
namespace test = membio::test;

using Bytes = std::vector<unsigned char>;

TlsVersion any_version() {
  return GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
}

// Reads all the plaintext available now, ignoring any error.
template <Role R>
std::string read_quietly(Channel<R>& channel) {
  std::string received;
  std::error_code ignored;
  (void)membio::read_plaintext_into(channel, received, ignored);
  return received;
}

// Runs both handshakes to the end and reads what follows them (TLS 1.3
// tickets), so that nothing is left buffered.
void connect(Pair& pair) {
  membio::Loopback(pair.client, pair.server).handshake();
  CHECK(read_quietly(pair.client).empty());
}

// The first record of a stream of records.
Bytes first_record(const Bytes& stream) {
  REQUIRE(stream.size() >= 5);
  const std::size_t size = 5 + (std::size_t{stream[3]} << 8 | stream[4]);
  REQUIRE(stream.size() >= size);
  return Bytes(stream.begin(), stream.begin() + size);
}

Bytes joined(Bytes first, const Bytes& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

// Checks that a later operation repeated the first failure and said so.
template <Role R>
void check_repeated(const Channel<R>& channel, const std::error_code& code,
                    const std::error_code& first, const std::string& prefix) {
  INFO("later: " << channel.last_error_message());
  CHECK(code == first);
  CHECK_THAT(channel.last_error_message(),
             StartsWith(prefix + ": channel failed earlier: "));
}

// Checks that every later operation on a failed channel reports the
// channel's first failure, through both overloads, and that the alert it
// queued can still be drained.
template <Role R>
void check_failure_repeats(Channel<R>& channel) {
  const std::error_code first = channel.failure();
  std::error_code code;
  unsigned char buffer[64];

  (void)membio::handshake(channel, code);
  check_repeated(channel, code, first, "handshake");
  (void)membio::read_plaintext(channel, buffer, code);
  check_repeated(channel, code, first, "read");
  (void)membio::write_plaintext(channel, "more", code);
  check_repeated(channel, code, first, "write");
  membio::feed(channel, "more", code);
  check_repeated(channel, code, first, "feed");
  (void)membio::close(channel, code);
  check_repeated(channel, code, first, "close");

  try {
    (void)membio::read_plaintext(channel, buffer);
    FAIL("a read on a failed channel did not throw");
  } catch (const membio::error& error) {
    CHECK(error.code() == first);
    CHECK_THAT(error.what(), ContainsSubstring("failed earlier"));
  }
  CHECK_NOTHROW(membio::drain_all(channel));
}

// Checks that `channel` failed for good with `code`, with a message that
// starts with `operation` and names `reason`, and that it stays failed.
template <Role R>
void check_failed(Channel<R>& channel, const std::error_code& code,
                  const std::string& operation, const std::string& reason) {
  const std::string message = channel.last_error_message();
  INFO("message: " << message);
  REQUIRE(code);
  CHECK(channel.failure() == code);
  CHECK_THAT(message, StartsWith(operation + ": "));
  CHECK_THAT(message, ContainsSubstring(reason));

  const CloseState state = channel.close_state();
  CHECK((state == CloseState::failed || state == CloseState::truncated));
  check_failure_repeats(channel);
}

// Feeds `hostile` to a fresh server and checks that its handshake fails
// with `reason`.
void check_server_refuses(TlsVersion version, const Bytes& hostile,
                          const std::string& reason) {
  Pair pair(version);
  membio::feed(pair.server, hostile);
  std::error_code code;

  CHECK(membio::handshake(pair.server, code) == Status::closed);
  check_failed(pair.server, code, "handshake", reason);
}

// Feeds `hostile` to a connected client and checks that its read fails
// with `reason` and hands out no plaintext.
void check_reader_refuses(TlsVersion version, const Bytes& hostile,
                          const std::string& reason) {
  Pair pair(version);
  connect(pair);
  membio::feed(pair.client, hostile);
  std::string received;
  std::error_code code;

  CHECK(membio::read_plaintext_into(pair.client, received, code) ==
        Status::closed);
  CHECK(received.empty());
  check_failed(pair.client, code, "read", reason);
}

// A client and a server channel from the given contexts, with the result
// of a handshake between them. A client whose handshake ended also reads
// once, so that it learns of an alert the server sent after that (TLS 1.3
// client certificates).
struct Attempt {
  Attempt(const Context<membio::client>& client_context,
          const Context<membio::server>& server_context,
          const char* server_name = "localhost")
      : client(client_context, server_name), server(server_context) {
    membio::Loopback(client, server).handshake(code);
    if (!client.failure()) (void)read_quietly(client);
  }

  Channel<membio::client> client;
  Channel<membio::server> server;
  std::error_code code;
};

// Checks that a client refused the server's certificate for
// `verify_reason`, sent `alert`, and that the server received it.
void check_certificate_refused(Attempt& attempt,
                               const std::string& verify_reason,
                               const std::string& alert) {
  INFO("server: " << attempt.server.last_error_message());
  CHECK(attempt.code);
  check_failed(attempt.client, attempt.client.failure(), "handshake",
               "certificate verify failed (SSL routines); verify: " +
                   verify_reason + "; alert sent: " + alert);

  CHECK_THAT(attempt.server.last_error_message(),
             ContainsSubstring("alert received: " + alert));
  check_failure_repeats(attempt.server);
}

// Checks that the server of `attempt` failed the handshake with `reason`
// and `alert`, and that the client received the alert.
void check_server_failed(Attempt& attempt, const std::string& reason,
                         const std::string& alert) {
  INFO("client: " << attempt.client.last_error_message());
  check_failed(attempt.server, attempt.server.failure(), "handshake",
               reason + " (SSL routines); alert sent: " + alert);

  CHECK(attempt.client.failure());
  CHECK_THAT(attempt.client.last_error_message(),
             ContainsSubstring("alert received: " + alert));
  check_failure_repeats(attempt.client);
}

// Frees OpenSSL objects held by the hand-made certificates below.
template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* object) const noexcept { Free(object); }
};

using KeyHandle = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using X509Handle = std::unique_ptr<X509, Freer<X509, X509_free>>;
using ExtensionHandle =
    std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION, X509_EXTENSION_free>>;
using BioHandle = std::unique_ptr<BIO, Freer<BIO, BIO_free_all>>;
using Extensions = std::vector<std::pair<int, std::string>>;

// A certificate built with OpenSSL's X509 API, for shapes that
// CertificateAuthority does not make, and its key.
struct HandMade {
  KeyHandle key;
  X509Handle certificate;
};

void add_extension(X509* certificate, X509* issuer, int nid,
                   const std::string& value) {
  X509V3_CTX context{};
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);

  const ExtensionHandle extension(
      X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  REQUIRE(extension);
  REQUIRE(X509_add_ext(certificate, extension.get(), -1) == 1);
}

void set_subject_and_dates(X509* certificate, const std::string& name) {
  static long serial = 1000;
  const auto* text = reinterpret_cast<const unsigned char*>(name.c_str());

  REQUIRE(X509_set_version(certificate, X509_VERSION_3) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(certificate), ++serial));
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(certificate), -3600));
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(certificate), 86400));
  REQUIRE(X509_NAME_add_entry_by_txt(X509_get_subject_name(certificate), "CN",
                                     MBSTRING_UTF8, text, -1, -1, 0) == 1);
}

// Makes a certificate named `name` for a new P-256 key with `extensions`,
// signed by `issuer`, or by itself when `issuer` is null.
HandMade hand_made(const std::string& name, const HandMade* issuer,
                   const Extensions& extensions) {
  HandMade made{KeyHandle(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")),
                X509Handle(X509_new())};
  REQUIRE(made.key);
  REQUIRE(made.certificate);
  X509* certificate = made.certificate.get();
  set_subject_and_dates(certificate, name);

  X509* signer = issuer ? issuer->certificate.get() : certificate;
  REQUIRE(X509_set_issuer_name(certificate, X509_get_subject_name(signer)));
  REQUIRE(X509_set_pubkey(certificate, made.key.get()) == 1);
  for (const auto& [nid, value] : extensions) {
    add_extension(certificate, signer, nid, value);
  }

  EVP_PKEY* signing_key = issuer ? issuer->key.get() : made.key.get();
  REQUIRE(X509_sign(certificate, signing_key, EVP_sha256()) > 0);
  return made;
}

HandMade hand_made_root() {
  return hand_made("hand-made root", nullptr,
                   {{NID_basic_constraints, "critical,CA:TRUE"},
                    {NID_key_usage, "critical,keyCertSign,cRLSign"}});
}

// A leaf's extensions for "localhost" with the given extended key usage.
Extensions leaf_extensions(const std::string& extended_key_usage) {
  return {{NID_basic_constraints, "critical,CA:FALSE"},
          {NID_ext_key_usage, extended_key_usage},
          {NID_subject_alt_name, "DNS:localhost"}};
}

std::string pem_of(const HandMade& made) {
  return membio::Certificate(made.certificate.get()).to_pem();
}

std::string key_pem_of(const HandMade& made) {
  const BioHandle bio(BIO_new(BIO_s_mem()));
  REQUIRE(bio);
  REQUIRE(PEM_write_bio_PrivateKey(bio.get(), made.key.get(), nullptr, nullptr,
                                   0, nullptr, nullptr) == 1);

  char* text = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &text);
  return std::string(text, static_cast<std::size_t>(size));
}

// A client context on one version trusting the hand-made `root`.
Context<membio::client> client_trusting(const HandMade& root,
                                        TlsVersion version) {
  Context<membio::client> context;
  context.trust_pem(pem_of(root));
  context.set_protocol_versions(version, version);
  return context;
}

// A leaf of the test CA whose validity starts at `from` and lasts `length`.
membio::Identity identity_valid(std::chrono::seconds from,
                                std::chrono::seconds length) {
  membio::CertificateOptions options;
  options.valid_from = from;
  options.valid_for = length;
  return test::test_ca().issue(options);
}

}  // namespace

TEST_CASE("a server fed seeded random bytes fails with wrong version number",
          "[hostile][handshake][junk]") {
  const TlsVersion version = any_version();
  const unsigned seed = GENERATE(1u, 2u, 3u, 42u);
  INFO(test::name_of(version) << ", seed " << seed);
  std::mt19937 random(seed);
  Bytes junk(1024);
  for (unsigned char& byte : junk) byte = static_cast<unsigned char>(random());

  check_server_refuses(version, junk, "wrong version number (SSL routines)");
}

TEST_CASE("a record header cut after three bytes ends in truncation",
          "[hostile][truncation]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Bytes three_bytes{0x16, 0x03, 0x01};
  Pair pair(version);
  std::error_code code;

  SECTION("as a server's first input") {
    membio::feed(pair.server, three_bytes);
    membio::feed_eof(pair.server);
    CHECK(membio::handshake(pair.server, code) == Status::closed);
    CHECK(code == membio::errc::truncated);
    check_failed(pair.server, code, "handshake",
                 "connection truncated: transport ended without "
                 "close_notify (unexpected eof while reading");
  }

  SECTION("after the handshake") {
    connect(pair);
    membio::feed(pair.client, three_bytes);
    membio::feed_eof(pair.client);
    unsigned char buffer[64];
    (void)membio::read_plaintext(pair.client, buffer, code);
    CHECK(code == membio::errc::truncated);
    check_failed(pair.client, code, "read", "connection truncated");
  }
}

TEST_CASE("a record longer than 2^14 + 256 bytes fails with record overflow",
          "[hostile][record]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const std::string reason =
      "packet length too long (SSL routines); alert sent: record overflow";

  SECTION("as a server's first record") {
    check_server_refuses(version, {0x16, 0x03, 0x01, 0x42, 0x00}, reason);
  }

  SECTION("after the handshake") {
    check_reader_refuses(version, {0x17, 0x03, 0x03, 0x42, 0x00}, reason);
  }
}

TEST_CASE("a TLS 1.3 record a byte over 2^14 + 256 fails with record overflow",
          "[hostile][record][tls13]") {
  // The bound is exact: a record of 2^14 + 256 bytes is read and fails only
  // its authentication, one byte more fails its length.
  const std::size_t longest = 16384 + 256;
  const auto record_of = [](std::size_t size) {
    Bytes record{0x17, 0x03, 0x03, static_cast<unsigned char>(size >> 8),
                 static_cast<unsigned char>(size & 0xff)};
    record.resize(5 + size, 0x42);
    return record;
  };

  check_reader_refuses(TlsVersion::tls1_3, record_of(longest),
                       "bad record mac");
  check_reader_refuses(TlsVersion::tls1_3, record_of(longest + 1),
                       "encrypted length too long (SSL routines); alert "
                       "sent: record overflow");
}

TEST_CASE("a record with a wrong version fails with wrong version number",
          "[hostile][record]") {
  const TlsVersion version = any_version();
  const unsigned char major = GENERATE(0x02, 0xfe);
  const unsigned char minor = major == 0x02 ? 0x00 : 0xff;
  INFO(test::name_of(version)
       << ", record version " << int{major} << "." << int{minor});
  Bytes record{0x16, major, minor, 0x00, 0x20};
  record.resize(5 + 0x20, 0x01);

  SECTION("as a server's first record") {
    check_server_refuses(version, record,
                         "wrong version number (SSL routines)");
  }

  SECTION("after the handshake") {
    record[0] = 0x17;
    check_reader_refuses(version, record,
                         "wrong version number (SSL routines); alert sent: "
                         "protocol version");
  }
}

TEST_CASE("a first record of another type than handshake is unexpected",
          "[hostile][record]") {
  const TlsVersion version = any_version();
  const unsigned char type = GENERATE(0x14, 0x17, 0x18);  // CCS, data, 24
  INFO(test::name_of(version) << ", record type " << int{type});
  const Bytes record{type, 0x03, 0x01, 0x00, 0x01, 0x01};

  check_server_refuses(version, record,
                       "unexpected message (SSL routines); alert sent: "
                       "unexpected_message");
}

TEST_CASE("a flood of empty handshake records fails with record too small",
          "[hostile][record]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Bytes flood;
  for (int record = 0; record < 40; ++record) {
    flood.insert(flood.end(), {0x16, 0x03, 0x01, 0x00, 0x00});
  }

  check_server_refuses(version, flood,
                       "record too small (SSL routines); alert sent: "
                       "unexpected_message");
}

TEST_CASE("a ClientHello announcing 16 MiB fails with excessive message size",
          "[hostile][handshake][limits]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Bytes hello{0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0xff, 0xff, 0xff};

  check_server_refuses(version, hello,
                       "excessive message size (SSL routines); alert sent: "
                       "illegal parameter");
}

TEST_CASE("a Finished sent to a server awaiting a hello is unexpected",
          "[hostile][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Bytes finished{0x16, 0x03, 0x03, 0x00, 0x24, 0x14, 0x00, 0x00, 0x20};
  finished.resize(5 + 0x24, 0x01);

  check_server_refuses(version, finished,
                       "unexpected message (SSL routines); alert sent: "
                       "unexpected_message");
}

TEST_CASE("a second ServerHello fails the client with unexpected_message",
          "[hostile][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  deliver(pair.client, pair.server);
  (void)membio::handshake(pair.server);
  const Bytes hello = first_record(membio::drain_all(pair.server));
  REQUIRE(hello[5] == 0x02);  // ServerHello

  membio::feed(pair.client, joined(hello, hello));
  std::error_code code;
  CHECK(membio::handshake(pair.client, code) == Status::closed);

  // TLS 1.3 encrypts all after the ServerHello: a plaintext handshake
  // record there is of the wrong type before it is the wrong message.
  const std::string reason =
      version == TlsVersion::tls1_3 ? "bad record type" : "unexpected message";
  check_failed(pair.client, code, "handshake",
               reason + " (SSL routines); alert sent: unexpected_message");
}

TEST_CASE("a ClientHello replayed during the handshake fails the server",
          "[hostile][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  const Bytes hello = membio::drain_all(pair.client);
  membio::feed(pair.server, hello);
  (void)membio::handshake(pair.server);
  (void)membio::drain_all(pair.server);

  membio::feed(pair.server, hello);
  std::error_code code;
  CHECK(membio::handshake(pair.server, code) == Status::closed);

  // The hello's record version (TLS 1.0) no longer fits a TLS 1.2 session;
  // TLS 1.3 expects encrypted records by then.
  const std::string reason =
      version == TlsVersion::tls1_3
          ? "bad record type (SSL routines); alert sent: unexpected_message"
          : "wrong version number (SSL routines); alert sent: protocol "
            "version";
  check_failed(pair.server, code, "handshake", reason);
}

TEST_CASE("a plaintext alert injected into the handshake ends it",
          "[hostile][alert][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Bytes alert{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40};  // fatal, 40
  const std::string received =
      "sslv3 alert handshake failure (SSL routines) [SSL alert number 40]; "
      "alert received: handshake failure";
  Pair pair(version);
  std::error_code code;
  (void)membio::handshake(pair.client);

  SECTION("to a client awaiting the ServerHello") {
    (void)membio::drain_all(pair.client);
    membio::feed(pair.client, alert);
    CHECK(membio::handshake(pair.client, code) == Status::closed);
    check_failed(pair.client, code, "handshake", received);
  }

  SECTION("to a server awaiting the client's second flight") {
    deliver(pair.client, pair.server);
    (void)membio::handshake(pair.server);
    (void)membio::drain_all(pair.server);
    membio::feed(pair.server, alert);
    CHECK(membio::handshake(pair.server, code) == Status::closed);
    check_failed(pair.server, code, "handshake", received);
  }
}

TEST_CASE("a close_notify before the handshake ends fails the channel",
          "[hostile][alert][handshake][close]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Bytes close_notify{0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00};
  Pair pair(version);
  std::error_code code;

  SECTION("to a client that wrote before the ServerHello") {
    (void)membio::write_plaintext(pair.client, "precious data");
    (void)membio::drain_all(pair.client);
    membio::feed(pair.client, close_notify);
    CHECK(membio::handshake(pair.client, code) == Status::closed);
    CHECK(code == membio::errc::closed_in_handshake);
    check_failed(pair.client, code, "handshake",
                 "peer sent close_notify before the handshake finished; 13 "
                 "bytes of plaintext written before it were not sent");
    CHECK(membio::write_plaintext(pair.client, "more", code) == Status::closed);
    CHECK(code == membio::errc::closed_in_handshake);
  }

  SECTION("to a server awaiting the client's second flight") {
    (void)membio::handshake(pair.client);
    deliver(pair.client, pair.server);
    (void)membio::handshake(pair.server);
    (void)membio::drain_all(pair.server);
    membio::feed(pair.server, close_notify);
    unsigned char buffer[16];
    CHECK(membio::read_plaintext(pair.server, buffer, code).status ==
          Status::closed);
    CHECK(code == membio::errc::closed_in_handshake);
    check_failed(pair.server, code, "read",
                 "peer sent close_notify before the handshake finished");
  }
}

TEST_CASE("a plaintext alert after a TLS 1.3 ServerHello is refused",
          "[hostile][alert][handshake][tls13]") {
  Pair pair(TlsVersion::tls1_3);
  (void)membio::handshake(pair.client);
  deliver(pair.client, pair.server);
  (void)membio::handshake(pair.server);
  const Bytes hello = first_record(membio::drain_all(pair.server));
  const Bytes alert{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40};

  membio::feed(pair.client, joined(hello, alert));
  std::error_code code;
  CHECK(membio::handshake(pair.client, code) == Status::closed);

  check_failed(pair.client, code, "handshake",
               "bad record type (SSL routines); alert sent: "
               "unexpected_message");
  CHECK_THAT(pair.client.last_error_message(),
             !ContainsSubstring("alert received"));
}

TEST_CASE("a forged plaintext alert after the handshake is not believed",
          "[hostile][alert][record]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));

  // Padded to the size of a sealed TLS 1.2 alert (explicit nonce, alert,
  // tag), so that OpenSSL gets as far as checking the tag.
  Bytes forged{0x15, 0x03, 0x03, 0x00, 26, 0, 0, 0, 0, 0, 0, 0, 1, 0x02, 40};
  forged.resize(5 + 26, 0x33);

  // TLS 1.3 seals alerts in application data records, so an alert record
  // is refused by its type before any decryption.
  const std::string reason =
      version == TlsVersion::tls1_3
          ? "bad record type (SSL routines); alert sent: unexpected_message"
          : "decryption failed or bad record mac (SSL routines); alert "
            "sent: bad record mac";
  check_reader_refuses(version, forged, reason);
}

TEST_CASE("a forged two-byte alert after a TLS 1.2 handshake is not believed",
          "[hostile][alert][record][tls12]") {
  Pair pair(TlsVersion::tls1_2);
  connect(pair);
  membio::feed(pair.client, Bytes{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40});
  std::error_code code;
  unsigned char buffer[64];

  (void)membio::read_plaintext(pair.client, buffer, code);

  // OpenSSL 3.0 reports a record too short for its AEAD tag as an internal
  // error of the cipher ("invalid aad"), not as a bad record mac.
  INFO("message: " << pair.client.last_error_message());
  check_failed(pair.client, code, "read", "invalid aad");
  CHECK_THAT(pair.client.last_error_message(),
             !ContainsSubstring("alert received"));
}

TEST_CASE("handshake records after both close_notify are never processed",
          "[hostile][close][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  const Bytes hello = membio::drain_all(pair.client);
  membio::feed(pair.server, hello);
  connect(pair);
  membio::Loopback(pair.client, pair.server).close();
  REQUIRE(pair.server.close_state() == CloseState::closed);

  membio::feed(pair.server, hello);
  std::string received;
  std::error_code code;
  CHECK(membio::read_plaintext_into(pair.server, received, code) ==
        Status::closed);
  CHECK(membio::handshake(pair.server, code) == Status::closed);

  CHECK_FALSE(code);
  CHECK(received.empty());
  CHECK(membio::pending_ciphertext(pair.server) == 0);
  CHECK(pair.server.close_state() == CloseState::closed);
}

TEST_CASE("a ClientHello after the server's close_notify fails its read",
          "[hostile][close][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  const Bytes hello = membio::drain_all(pair.client);
  membio::feed(pair.server, hello);
  connect(pair);
  (void)membio::close(pair.server);
  deliver(pair.server, pair.client);

  membio::feed(pair.server, hello);
  std::string received;
  std::error_code code;
  (void)membio::read_plaintext_into(pair.server, received, code);

  // Having sent close_notify, the server sends no alert of its own.
  const std::string reason = version == TlsVersion::tls1_3
                                 ? "read: bad record type (SSL routines)"
                                 : "read: wrong version number (SSL routines)";
  CHECK(received.empty());
  check_failed(pair.server, code, "read", reason);
}

TEST_CASE("application data after close_notify is never handed out",
          "[hostile][close][read]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  connect(pair);
  (void)membio::close(pair.client);
  const Bytes notify = membio::drain_all(pair.client);

  // A peer that goes on writing after its close_notify: OpenSSL refuses to,
  // so the client's shutdown flag is cleared behind membio's back.
  SSL_set_shutdown(pair.client.native_handle(), 0);
  REQUIRE(SSL_write(pair.client.native_handle(), "late data", 9) == 9);
  const Bytes late = membio::drain_all(pair.client);

  membio::feed(pair.server, joined(notify, late));
  (void)membio::drain_all(pair.server);  // Tickets, or the read says so.
  std::string received;
  std::error_code code;
  CHECK(membio::read_plaintext_into(pair.server, received, code) ==
        Status::closed);
  CHECK_FALSE(code);
  CHECK(received.empty());
  CHECK(pair.server.close_state() == CloseState::close_received);

  membio::feed_eof(pair.server);
  CHECK(membio::read_plaintext_into(pair.server, received, code) ==
        Status::closed);
  CHECK_FALSE(code);
  CHECK(received.empty());
}

TEST_CASE("a transport ending without close_notify reports truncation",
          "[hostile][truncation]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Pair pair(version);
  std::error_code code;

  SECTION("in the middle of a record") {
    connect(pair);
    (void)membio::write_plaintext(pair.server, "cut in the middle");
    Bytes record = membio::drain_all(pair.server);
    record.resize(record.size() - 3);
    membio::feed(pair.client, record);
    membio::feed_eof(pair.client);

    std::string received;
    (void)membio::read_plaintext_into(pair.client, received, code);
    CHECK(received.empty());
    CHECK(code == membio::errc::truncated);
    check_failed(pair.client, code, "read", "connection truncated");
  }

  SECTION("in the middle of the ClientHello") {
    (void)membio::handshake(pair.client);
    const Bytes hello = membio::drain_all(pair.client);
    membio::feed(pair.server, membio::ConstBytes(hello.data(), 40));
    CHECK(membio::handshake(pair.server, code) == Status::need_input);
    membio::feed_eof(pair.server);

    CHECK(membio::handshake(pair.server, code) == Status::closed);
    CHECK(code == membio::errc::truncated);
    check_failed(pair.server, code, "handshake", "connection truncated");
  }
}

TEST_CASE("a renegotiation a default server refuses ends both TLS 1.2 sides",
          "[hostile][renegotiation][tls12]") {
  Context<membio::client> client_context =
      test::client_context(TlsVersion::tls1_2);
  client_context.enable_renegotiation();
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(test::server_context(TlsVersion::tls1_2));
  membio::Loopback(client, server).handshake();
  REQUIRE(membio::renegotiate(client) == Status::send_output);

  deliver(client, server);
  CHECK(read_quietly(server).empty());
  CHECK_FALSE(server.failure());
  REQUIRE(server.last_alert());
  CHECK(server.last_alert()->sent);
  CHECK_FALSE(server.last_alert()->fatal);
  CHECK(server.last_alert()->text == "no renegotiation");

  deliver(server, client);
  std::string received;
  std::error_code client_code;
  (void)membio::read_plaintext_into(client, received, client_code);
  deliver(client, server);
  std::error_code server_code;
  (void)membio::read_plaintext_into(server, received, server_code);

  check_failed(client, client_code, "read",
               "no renegotiation (SSL routines); alert sent: handshake "
               "failure");
  check_failed(server, server_code, "read",
               "sslv3 alert handshake failure (SSL routines) [SSL alert "
               "number 40]; alert received: handshake failure");
}

TEST_CASE("a hello with no cipher suite in common fails with no shared cipher",
          "[hostile][handshake][ciphers]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::client> client_context = test::client_context(version);
  Context<membio::server> server_context = test::server_context(version);
  client_context.set_tls12_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256");
  server_context.set_tls12_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384");
  client_context.set_tls13_ciphersuites("TLS_AES_128_GCM_SHA256");
  server_context.set_tls13_ciphersuites("TLS_AES_256_GCM_SHA384");

  Attempt attempt(client_context, server_context);

  check_server_failed(attempt, "no shared cipher", "handshake failure");
}

TEST_CASE("a hello with no version in common fails with unsupported protocol",
          "[hostile][handshake][versions]") {
  const TlsVersion client_version = any_version();
  const TlsVersion server_version = client_version == TlsVersion::tls1_3
                                        ? TlsVersion::tls1_2
                                        : TlsVersion::tls1_3;
  INFO("client " << test::name_of(client_version) << ", server "
                 << test::name_of(server_version));

  Attempt attempt(test::client_context(client_version),
                  test::server_context(server_version));

  check_server_failed(attempt, "unsupported protocol", "protocol version");
}

TEST_CASE("a client refuses an expired server certificate",
          "[hostile][certificates]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const membio::Identity expired =
      identity_valid(-std::chrono::hours(48), std::chrono::hours(24));

  Attempt attempt(test::client_context(version),
                  test::server_context_for(expired, version));

  check_certificate_refused(attempt, "certificate has expired",
                            "certificate expired");
}

TEST_CASE("a client refuses a server certificate that is not yet valid",
          "[hostile][certificates]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const membio::Identity future =
      identity_valid(std::chrono::hours(24), std::chrono::hours(24));

  Attempt attempt(test::client_context(version),
                  test::server_context_for(future, version));

  check_certificate_refused(attempt, "certificate is not yet valid",
                            "bad certificate");
}

TEST_CASE("a client refuses a self-signed server certificate it does not trust",
          "[hostile][certificates]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));

  Attempt attempt(
      test::client_context(version),
      test::server_context_for(membio::make_self_signed(), version));

  check_certificate_refused(attempt, "self-signed certificate", "unknown CA");
}

TEST_CASE("a client refuses a certificate signed by a CA:false certificate",
          "[hostile][certificates]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const HandMade root = hand_made_root();
  const HandMade not_a_ca =
      hand_made("not a CA", &root, leaf_extensions("serverAuth"));
  const HandMade forged =
      hand_made("localhost", &not_a_ca, leaf_extensions("serverAuth"));
  const membio::Identity identity{pem_of(forged) + pem_of(not_a_ca),
                                  key_pem_of(forged)};

  Attempt attempt(client_trusting(root, version),
                  test::server_context_for(identity, version));

  check_certificate_refused(attempt, "invalid CA certificate", "unknown CA");
}

TEST_CASE("a client refuses a server certificate only for client auth",
          "[hostile][certificates]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const HandMade root = hand_made_root();
  const HandMade leaf =
      hand_made("localhost", &root, leaf_extensions("clientAuth"));
  const membio::Identity identity{pem_of(leaf), key_pem_of(leaf)};

  Attempt attempt(client_trusting(root, version),
                  test::server_context_for(identity, version));

  check_certificate_refused(attempt, "unsuitable certificate purpose",
                            "unsupported certificate");
}

TEST_CASE("a client refuses a server certificate whose key only signs certs",
          "[hostile][certificates]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const HandMade root = hand_made_root();
  Extensions extensions = leaf_extensions("serverAuth");
  extensions.push_back({NID_key_usage, "critical,keyCertSign,cRLSign"});
  const HandMade leaf = hand_made("localhost", &root, extensions);
  const membio::Identity identity{pem_of(leaf), key_pem_of(leaf)};

  Attempt attempt(client_trusting(root, version),
                  test::server_context_for(identity, version));

  // A TLS 1.2 server does not even offer a suite for a key that may not
  // sign its key exchange; a TLS 1.3 client checks the purpose itself.
  if (version == TlsVersion::tls1_2) {
    CHECK(attempt.server.failure());
    CHECK_THAT(attempt.server.last_error_message(),
               ContainsSubstring("no shared cipher"));
    check_failed(attempt.client, attempt.client.failure(), "handshake",
                 "alert received: handshake failure");
  } else {
    check_certificate_refused(attempt, "unsuitable certificate purpose",
                              "unsupported certificate");
  }
}

TEST_CASE("a client refuses a server certificate for another host",
          "[hostile][certificates]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));

  Attempt attempt(test::client_context(version), test::server_context(version),
                  "example.com");

  check_certificate_refused(attempt, "hostname mismatch", "bad certificate");
}

TEST_CASE("a server requiring a client certificate refuses a client without",
          "[hostile][certificates][mutual-tls]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> server_context = test::server_context(version);
  server_context.trust_pem(test::test_ca().certificate_pem());
  server_context.request_client_certificate(
      membio::ClientCertificate::required);

  Attempt attempt(test::client_context(version), server_context);

  const std::string alert = version == TlsVersion::tls1_3
                                ? "certificate required"
                                : "handshake failure";
  check_server_failed(attempt, "peer did not return a certificate", alert);
}

TEST_CASE("a server certificate over the default chain limit is refused",
          "[hostile][certificates][limits]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  membio::CertificateOptions options;
  options.alt_names = {"DNS:localhost"};
  for (int index = 0; index < 5000; ++index) {
    options.alt_names.push_back("DNS:host-" + std::to_string(index) +
                                ".membio.test");
  }
  const membio::Identity huge = test::test_ca().issue(options);
  REQUIRE(huge.certificate_chain_pem.size() > 4 * 100 * 1024 / 3);

  Attempt attempt(test::client_context(version),
                  test::server_context_for(huge, version));

  INFO("server: " << attempt.server.last_error_message());
  check_failed(attempt.client, attempt.client.failure(), "handshake",
               "excessive message size (SSL routines); alert sent: illegal "
               "parameter");
  CHECK_THAT(attempt.server.last_error_message(),
             ContainsSubstring("alert received: illegal parameter"));
}

TEST_CASE("a well-framed ClientHello with a malformed body is a decode error",
          "[hostile][handshake]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const std::string reason =
      "length mismatch (SSL routines); alert sent: decode error";

  SECTION("a body of junk") {
    Bytes hello{0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x2c};
    hello.resize(5 + 0x30, 0x5a);
    check_server_refuses(version, hello, reason);
  }

  SECTION("a real hello whose cipher suite length is wrong") {
    Pair pair(version);
    (void)membio::handshake(pair.client);
    Bytes hello = membio::drain_all(pair.client);
    const std::size_t session_id = 5 + 4 + 2 + 32;
    hello[session_id + 1 + hello[session_id]] ^= 0x40;
    check_server_refuses(version, hello, reason);
  }
}
