// Tests of how a context proves an identity and checks its peer's: encrypted
// keys, PKCS#12, full chains through an intermediate, host names and
// addresses, and public-key pins on both sides.
#include <membio/context.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "harness.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using membio::Channel;
using membio::Context;
using membio::FileFormat;
using membio::PinMode;
using membio::TlsVersion;
using membio::test::handshake_outcome;
using membio::test::Outcome;
using Bytes = std::vector<unsigned char>;
using Pin = std::array<unsigned char, 32>;
namespace fs = std::filesystem;
namespace test = membio::test;

constexpr const char* key_password = "correct horse battery staple";

// Owners for the OpenSSL objects these tests make by hand.
template <class T, void (*Free)(T*)>
struct Release {
  void operator()(T* object) const { Free(object); }
};

template <class T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Release<T, Free>>;

using Bio = Owned<BIO, BIO_free_all>;
using Key = Owned<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = Owned<X509, X509_free>;
using Pkcs12 = Owned<PKCS12, PKCS12_free>;

void free_x509_stack(STACK_OF(X509) * stack) {
  sk_X509_pop_free(stack, X509_free);
}

using X509Stack = Owned<STACK_OF(X509), free_x509_stack>;

/// A directory of its own under the system's temporary one, removed with
/// everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    do {
      path_ = fs::temp_directory_path() /
              ("membio-identity-test-" + std::to_string(random()));
    } while (!fs::create_directory(path_));
  }

  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  fs::path path_;
};

TlsVersion any_version() {
  return GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
}

/// Handshakes a "localhost" client with a server and requires success.
void require_handshake(const Context<membio::client>& client_context,
                       const Context<membio::server>& server_context) {
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK(client.handshake_done());
  CHECK(client.peer_certificate().subject() == "CN=localhost");
}

std::string bio_text(BIO* bio) {
  char* text = nullptr;
  const long size = BIO_get_mem_data(bio, &text);
  return std::string(text, static_cast<std::size_t>(size));
}

Bytes bio_bytes(BIO* bio) {
  const std::string text = bio_text(bio);
  return Bytes(text.begin(), text.end());
}

Key read_key(const std::string& pem) {
  const Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(key);
  return key;
}

std::vector<X509Ptr> read_certificates(const std::string& pem) {
  const Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> certificates;
  while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(next);
  }

  ERR_clear_error();
  REQUIRE_FALSE(certificates.empty());
  return certificates;
}

/// The key as PKCS#8 PEM, encrypted with AES-256-CBC under key_password.
std::string encrypted_pem(const std::string& key_pem) {
  const Key key = read_key(key_pem);
  const Bio bio(BIO_new(BIO_s_mem()));
  auto* secret =
      reinterpret_cast<unsigned char*>(const_cast<char*>(key_password));

  REQUIRE(PEM_write_bio_PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(),
                                   secret,
                                   static_cast<int>(std::strlen(key_password)),
                                   nullptr, nullptr) == 1);
  return bio_text(bio.get());
}

/// The key in OpenSSL's traditional encrypted PEM form (with DEK-Info).
std::string encrypted_traditional_pem(const std::string& key_pem) {
  const Key key = read_key(key_pem);
  const Bio bio(BIO_new(BIO_s_mem()));
  auto* secret =
      reinterpret_cast<unsigned char*>(const_cast<char*>(key_password));

  REQUIRE(PEM_write_bio_PrivateKey_traditional(
              bio.get(), key.get(), EVP_aes_256_cbc(), secret,
              static_cast<int>(std::strlen(key_password)), nullptr,
              nullptr) == 1);
  return bio_text(bio.get());
}

/// The key as encrypted PKCS#8 DER, under key_password.
Bytes encrypted_pkcs8_der(const std::string& key_pem) {
  const Key key = read_key(key_pem);
  const Bio bio(BIO_new(BIO_s_mem()));

  REQUIRE(i2d_PKCS8PrivateKey_bio(bio.get(), key.get(), EVP_aes_256_cbc(),
                                  const_cast<char*>(key_password),
                                  static_cast<int>(std::strlen(key_password)),
                                  nullptr, nullptr) == 1);
  return bio_bytes(bio.get());
}

/// A PKCS#12 file's bytes holding the identity's leaf, key and the rest of
/// its chain, protected by `password`.
Bytes pkcs12_of(const membio::Identity& identity, const char* password) {
  std::vector<X509Ptr> chain =
      read_certificates(identity.certificate_chain_pem);
  const Key key = read_key(identity.private_key_pem);
  const X509Stack authorities(sk_X509_new_null());
  for (std::size_t index = 1; index < chain.size(); ++index) {
    REQUIRE(sk_X509_push(authorities.get(), chain[index].release()) > 0);
  }

  const Pkcs12 bundle(PKCS12_create(password, "membio", key.get(),
                                    chain.front().get(), authorities.get(), 0,
                                    0, 0, 0, 0));
  REQUIRE(bundle);

  const Bio bio(BIO_new(BIO_s_mem()));
  REQUIRE(i2d_PKCS12_bio(bio.get(), bundle.get()) == 1);
  return bio_bytes(bio.get());
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary);
  file << bytes;
  REQUIRE(file.good());
}

void write_file(const std::string& path, const Bytes& bytes) {
  write_file(path, std::string(bytes.begin(), bytes.end()));
}

/// An intermediate authority below test_ca(), made once.
const membio::CertificateAuthority& intermediate_ca() {
  static const membio::CertificateAuthority authority =
      test::test_ca().make_intermediate("membio test intermediate");
  return authority;
}

/// A "localhost" leaf issued by intermediate_ca(); its chain carries the
/// intermediate.
const membio::Identity& intermediate_leaf() {
  static const membio::Identity identity = intermediate_ca().issue();
  return identity;
}

/// The first certificate of PEM text, alone.
std::string leaf_only(const std::string& chain_pem) {
  std::error_code code;
  const membio::Certificate leaf =
      membio::Certificate::from_pem(chain_pem, code);
  REQUIRE_FALSE(code);
  return leaf.to_pem();
}

Pin pin_of(const std::string& chain_pem) {
  std::error_code code;
  const membio::Certificate leaf =
      membio::Certificate::from_pem(chain_pem, code);
  REQUIRE_FALSE(code);
  return leaf.public_key_sha256();
}

/// A self-signed "localhost" identity no client trusts, made once.
const membio::Identity& stranger_identity() {
  static const membio::Identity identity = membio::make_self_signed();
  return identity;
}

/// A client identity issued by test_ca(), made once.
const membio::Identity& client_identity() {
  static const membio::Identity identity = [] {
    membio::CertificateOptions options;
    options.common_name = "client-7";
    options.alt_names.clear();
    return test::test_ca().issue(options);
  }();
  return identity;
}

/// Stands in for OpenSSL's terminal prompt while it lives: it answers with
/// the right password and notes that it was asked, so that a test can tell
/// that nothing fell back to prompting.
class PromptSpy {
 public:
  PromptSpy()
      : method_(UI_create_method("membio prompt spy")),
        previous_(UI_get_default_method()) {
    REQUIRE(method_);
    UI_method_set_reader(method_, &answer);
    UI_set_default_method(method_);
    asked() = false;
  }

  ~PromptSpy() {
    UI_set_default_method(previous_);
    UI_destroy_method(method_);
  }

  PromptSpy(const PromptSpy&) = delete;
  PromptSpy& operator=(const PromptSpy&) = delete;

  static bool& asked() {
    static bool flag = false;
    return flag;
  }

 private:
  static int answer(UI* ui, UI_STRING* prompt) {
    asked() = true;
    return UI_set_result(ui, prompt, key_password) == 0 ? 1 : 0;
  }

  UI_METHOD* method_;
  const UI_METHOD* previous_;
};

/// Whether OpenSSL's own prompt, as a load without a callback would use
/// it, reaches `spy`: proof that the spy would see a prompt from membio.
bool prompt_reaches(const PromptSpy& spy, const std::string& encrypted) {
  const Bio bio(
      BIO_new_mem_buf(encrypted.data(), static_cast<int>(encrypted.size())));
  const Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));

  const bool reached = key && spy.asked();
  PromptSpy::asked() = false;
  return reached;
}

}  // namespace

// ---------------------------------------------------------------------------
// Encrypted private keys

TEST_CASE("an encrypted PEM key loads with its password given as text",
          "[identity][password]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const membio::Identity& identity = test::localhost_identity();
  const std::string encrypted = encrypted_pem(identity.private_key_pem);
  Context<membio::server> server_context = test::bare_server_context(version);

  server_context.use_identity_pem(identity.certificate_chain_pem, encrypted,
                                  key_password);

  CHECK_THAT(encrypted, StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  require_handshake(test::client_context(version), server_context);
}

TEST_CASE("an encrypted PEM key loads with a callable asked once for it",
          "[identity][password]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const membio::Identity& identity = test::localhost_identity();
  const std::string encrypted = encrypted_pem(identity.private_key_pem);
  Context<membio::server> server_context = test::bare_server_context(version);
  int asked = 0;

  SECTION("a lambda") {
    server_context.use_certificate_chain_pem(identity.certificate_chain_pem);
    server_context.use_private_key_pem(encrypted, [&asked] {
      ++asked;
      return std::string(key_password);
    });
  }

  SECTION("a std::function") {
    const std::function<std::string()> ask = [&asked] {
      ++asked;
      return std::string(key_password);
    };
    server_context.use_identity_pem(identity.certificate_chain_pem, encrypted,
                                    ask);
  }

  CHECK(asked == 1);
  require_handshake(test::client_context(version), server_context);
}

TEST_CASE("an encrypted traditional PEM key loads with its password",
          "[identity][password]") {
  const membio::Identity& identity = test::localhost_identity();
  const std::string encrypted =
      encrypted_traditional_pem(identity.private_key_pem);
  Context<membio::server> server_context =
      test::bare_server_context(TlsVersion::tls1_3);

  server_context.use_identity_pem(identity.certificate_chain_pem, encrypted,
                                  key_password);

  CHECK_THAT(encrypted, ContainsSubstring("DEK-Info: AES-256-CBC"));
  require_handshake(test::client_context(), server_context);
}

TEST_CASE("a wrong password fails the key load with bad decrypt",
          "[identity][password]") {
  const std::string encrypted =
      encrypted_pem(test::localhost_identity().private_key_pem);
  Context<membio::server> context;
  std::error_code code;

  context.use_private_key_pem(encrypted, "wrong password", code);

  INFO(context.last_error_message());
  CHECK(code);
  CHECK(std::string(code.category().name()) == "openssl");
  CHECK_THAT(context.last_error_message(), StartsWith("use private key pem: "));
  CHECK_THAT(context.last_error_message(), ContainsSubstring("bad decrypt"));
}

TEST_CASE("a wrong password throws membio::error from the throwing overload",
          "[identity][password]") {
  const membio::Identity& identity = test::localhost_identity();
  const std::string encrypted = encrypted_pem(identity.private_key_pem);
  Context<membio::server> context;

  try {
    context.use_identity_pem(identity.certificate_chain_pem, encrypted,
                             "wrong password");
    FAIL("a wrong password loaded the key");
  } catch (const membio::error& thrown) {
    INFO(thrown.what());
    CHECK_THAT(thrown.what(), ContainsSubstring("bad decrypt"));
  }
}

TEST_CASE("a wrong password leaves the identity loaded before in use",
          "[identity][password]") {
  const membio::Identity& working = test::localhost_identity();
  const membio::Identity other = test::test_ca().issue();
  Context<membio::server> server_context =
      test::bare_server_context(TlsVersion::tls1_3);
  server_context.use_identity_pem(working.certificate_chain_pem,
                                  working.private_key_pem);
  std::error_code code;

  server_context.use_identity_pem(other.certificate_chain_pem,
                                  encrypted_pem(other.private_key_pem),
                                  "wrong password", code);

  INFO(server_context.last_error_message());
  REQUIRE(code);
  Channel<membio::client> client(test::client_context(), "localhost");
  Channel<membio::server> server(server_context);
  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK(client.peer_certificate().to_pem() ==
        leaf_only(working.certificate_chain_pem));
}

TEST_CASE("an encrypted key without a password fails and never prompts",
          "[identity][password]") {
  const std::string encrypted =
      encrypted_pem(test::localhost_identity().private_key_pem);
  const Bytes der =
      encrypted_pkcs8_der(test::localhost_identity().private_key_pem);
  TempDir directory;
  write_file(directory.file("key.der"), der);
  Context<membio::server> context;
  const PromptSpy spy;
  REQUIRE(prompt_reaches(spy, encrypted));
  std::error_code code;

  SECTION("PEM text") { context.use_private_key_pem(encrypted, code); }

  SECTION("a PKCS#8 DER file") {
    context.use_private_key_file(directory.file("key.der"), FileFormat::der,
                                 code);
  }

  INFO(context.last_error_message());
  CHECK(code);
  CHECK_FALSE(PromptSpy::asked());
  CHECK_THAT(context.last_error_message(), ContainsSubstring("passphrase"));
}

TEST_CASE("a password callable that throws fails the load without escaping",
          "[identity][password]") {
  const membio::Identity& identity = test::localhost_identity();
  const Bytes bundle = pkcs12_of(identity, key_password);
  const auto locked = []() -> std::string {
    throw std::runtime_error("vault is locked");
  };
  Context<membio::server> context;
  std::error_code code;

  SECTION("PEM key") {
    const std::string encrypted = encrypted_pem(identity.private_key_pem);
    CHECK_NOTHROW(context.use_private_key_pem(encrypted, locked, code));
  }

  SECTION("PKCS#12") {
    CHECK_NOTHROW(context.use_pkcs12(bundle, locked, code));
  }

  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(),
             ContainsSubstring("vault is locked"));
}

TEST_CASE("an encrypted PEM key file loads with its password",
          "[identity][password][file]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const membio::Identity& identity = test::localhost_identity();
  TempDir directory;
  const std::string path = directory.file("key.pem");
  write_file(path, encrypted_pem(identity.private_key_pem));
  Context<membio::server> server_context = test::bare_server_context(version);

  server_context.use_certificate_chain_pem(identity.certificate_chain_pem);
  server_context.use_private_key_file(path, FileFormat::pem, key_password);

  require_handshake(test::client_context(version), server_context);
}

TEST_CASE("an encrypted PKCS#8 DER key file loads with its password",
          "[identity][password][file]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const membio::Identity& identity = test::localhost_identity();
  TempDir directory;
  const std::string path = directory.file("key.der");
  write_file(path, encrypted_pkcs8_der(identity.private_key_pem));
  Context<membio::server> server_context = test::bare_server_context(version);

  server_context.use_certificate_chain_pem(identity.certificate_chain_pem);
  server_context.use_private_key_file(path, FileFormat::der, key_password);

  require_handshake(test::client_context(version), server_context);
}

TEST_CASE("an encrypted PKCS#8 DER key file refuses a wrong password",
          "[identity][password][file]") {
  TempDir directory;
  const std::string path = directory.file("key.der");
  write_file(path,
             encrypted_pkcs8_der(test::localhost_identity().private_key_pem));
  Context<membio::server> context;
  std::error_code code;

  context.use_private_key_file(path, FileFormat::der, "wrong password", code);

  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(),
             StartsWith("use private key file " + path + ": "));
  CHECK_THAT(context.last_error_message(), ContainsSubstring("decrypt"));
}

// ---------------------------------------------------------------------------
// PKCS#12

TEST_CASE("a PKCS#12 bundle with an intermediate gives the client a full chain",
          "[identity][pkcs12]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Bytes bundle = pkcs12_of(intermediate_leaf(), key_password);
  TempDir directory;
  write_file(directory.file("server.p12"), bundle);
  Context<membio::server> server_context = test::bare_server_context(version);

  SECTION("bytes, password as text") {
    server_context.use_pkcs12(bundle, key_password);
  }

  SECTION("bytes, password from a callable") {
    server_context.use_pkcs12(bundle, [] { return std::string(key_password); });
  }

  SECTION("a file") {
    server_context.use_pkcs12_file(directory.file("server.p12"), key_password);
  }

  Channel<membio::client> client(test::client_context(version), "localhost");
  Channel<membio::server> server(server_context);
  const Outcome outcome = handshake_outcome(client, server);
  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  const std::vector<membio::Certificate> chain = client.verified_chain();
  REQUIRE(chain.size() == 3);
  CHECK(chain[0].subject() == "CN=localhost");
  CHECK(chain[1].subject() == "CN=membio test intermediate");
  CHECK(chain[2].subject() == "CN=membio test CA");
}

TEST_CASE("a PKCS#12 bundle refuses a wrong password with mac verify failure",
          "[identity][pkcs12]") {
  const Bytes bundle = pkcs12_of(intermediate_leaf(), key_password);
  TempDir directory;
  const std::string path = directory.file("server.p12");
  write_file(path, bundle);
  Context<membio::server> context;
  std::error_code code;

  SECTION("bytes") {
    context.use_pkcs12(bundle, "wrong password", code);
    CHECK_THAT(context.last_error_message(), StartsWith("use pkcs12: "));
  }

  SECTION("a file") {
    context.use_pkcs12_file(path, "wrong password", code);
    CHECK_THAT(context.last_error_message(),
               StartsWith("use pkcs12 file " + path + ": "));
  }

  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(),
             ContainsSubstring("mac verify failure"));
  CHECK_THROWS_AS(Channel<membio::server>(context), membio::error);
}

TEST_CASE("PKCS#12 input that is not a bundle fails with a reason",
          "[identity][pkcs12]") {
  Context<membio::server> context;
  std::error_code code;

  SECTION("garbage bytes") {
    const Bytes garbage(300, 0x5a);
    context.use_pkcs12(garbage, key_password, code);
  }

  SECTION("no bytes") { context.use_pkcs12(Bytes(), key_password, code); }

  SECTION("PEM text instead of DER") {
    context.use_pkcs12(test::localhost_identity().certificate_chain_pem,
                       key_password, code);
  }

  SECTION("a missing file") {
    context.use_pkcs12_file("/nonexistent/membio.p12", key_password, code);
    CHECK_THAT(context.last_error_message(),
               ContainsSubstring("No such file or directory"));
  }

  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(), StartsWith("use pkcs12"));
  CHECK(context.last_error_message().size() > std::strlen("use pkcs12: "));
}

// ---------------------------------------------------------------------------
// Chains through an intermediate

TEST_CASE("a client trusting only the root verifies a leaf of an intermediate",
          "[identity][chain]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> server_context = test::bare_server_context(version);
  server_context.use_identity_pem(intermediate_leaf().certificate_chain_pem,
                                  intermediate_leaf().private_key_pem);
  Channel<membio::client> client(test::client_context(version), "localhost");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  const std::vector<membio::Certificate> chain = client.verified_chain();
  REQUIRE(chain.size() == 3);
  CHECK(chain[0].issuer() == "CN=membio test intermediate");
  CHECK(chain[1].subject() == "CN=membio test intermediate");
  CHECK(chain[2].to_pem() == test::test_ca().certificate_pem());
}

TEST_CASE("a server that leaves out its intermediate is not verified",
          "[identity][chain]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> server_context = test::bare_server_context(version);
  server_context.use_identity_pem(
      leaf_only(intermediate_leaf().certificate_chain_pem),
      intermediate_leaf().private_key_pem);
  Channel<membio::client> client(test::client_context(version), "localhost");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("certificate verify failed"));
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("unable to get local issuer certificate"));
  CHECK(client.verified_chain().empty());
  REQUIRE(server.last_alert());
  CHECK(server.last_alert()->description == 48);  // unknown_ca
  CHECK_FALSE(server.last_alert()->sent);
}

// ---------------------------------------------------------------------------
// Host names and addresses

TEST_CASE("a verifying client refuses a certificate for other host names",
          "[identity][hostname]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  Channel<membio::client> client(client_context, "example.com");
  Channel<membio::server> server(test::server_context(version));

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(client_context.verifies_peer());
  CHECK(outcome.code);
  CHECK_THAT(outcome.client_message, ContainsSubstring("hostname mismatch"));
  REQUIRE(client.last_alert());
  CHECK(client.last_alert()->sent);
}

TEST_CASE("a client connecting by address verifies the certificate's IP entry",
          "[identity][hostname]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Channel<membio::client> client(test::client_context(version), "127.0.0.1");
  Channel<membio::server> server(test::server_context(version));

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK_FALSE(outcome.code);
  CHECK(client.verified_chain().size() == 2);
}

TEST_CASE("a verifying client given no server name reports so",
          "[identity][hostname]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  Channel<membio::client> client(client_context);
  Channel<membio::server> server(test::server_context(version));

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(client_context.needs_server_name());
  CHECK(outcome.code == membio::errc::no_server_name);
  CHECK(client.failure() == membio::errc::no_server_name);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("no server name to verify the peer against"));
  CHECK(membio::pending_ciphertext(client) == 0);
}

// ---------------------------------------------------------------------------
// Public-key pins

TEST_CASE("pins with the chain accept a pinned key on a valid chain",
          "[identity][pin]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::client> client_context = test::client_context(version);
  const Pin other = pin_of(stranger_identity().certificate_chain_pem);
  const Pin pinned = pin_of(test::localhost_identity().certificate_chain_pem);

  client_context.pin_public_keys({other, pinned}, PinMode::with_chain);

  CHECK(client_context.needs_server_name());
  require_handshake(client_context, test::server_context(version));
}

TEST_CASE("pins with the chain refuse an unpinned key on a valid chain",
          "[identity][pin]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::client> client_context = test::client_context(version);
  client_context.pin_public_keys(
      {pin_of(stranger_identity().certificate_chain_pem)}, PinMode::with_chain);
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(test::server_context(version));

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("peer public key is not pinned"));
  CHECK_FALSE(client.handshake_done());
}

TEST_CASE("pins with the chain still refuse a pinned key on an untrusted chain",
          "[identity][pin]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::client> client_context = test::bare_client_context(version);
  client_context.pin_public_keys(
      {pin_of(stranger_identity().certificate_chain_pem)}, PinMode::with_chain);
  Context<membio::server> server_context = test::bare_server_context(version);
  server_context.use_identity_pem(stranger_identity().certificate_chain_pem,
                                  stranger_identity().private_key_pem);
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("certificate verify failed"));
}

TEST_CASE("pins instead of the chain accept a pinned self-signed server",
          "[identity][pin]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::client> client_context = test::bare_client_context(version);
  client_context.pin_public_keys(
      {pin_of(stranger_identity().certificate_chain_pem)},
      PinMode::instead_of_chain);
  Context<membio::server> server_context = test::bare_server_context(version);
  server_context.use_identity_pem(stranger_identity().certificate_chain_pem,
                                  stranger_identity().private_key_pem);
  Channel<membio::client> client(client_context);
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK_FALSE(client_context.needs_server_name());
  CHECK(client_context.verifies_peer());
  CHECK_FALSE(outcome.code);
  CHECK(client.peer_certificate().public_key_sha256() ==
        pin_of(stranger_identity().certificate_chain_pem));
}

TEST_CASE("pins instead of the chain ignore the name and the dates",
          "[identity][pin]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  membio::CertificateOptions options;
  options.valid_from = -std::chrono::hours(48);
  options.valid_for = std::chrono::hours(24);
  const membio::Identity expired = membio::make_self_signed(options);
  Context<membio::client> client_context = test::bare_client_context(version);
  client_context.pin_public_keys({pin_of(expired.certificate_chain_pem)},
                                 PinMode::instead_of_chain);
  Context<membio::server> server_context = test::bare_server_context(version);
  server_context.use_identity_pem(expired.certificate_chain_pem,
                                  expired.private_key_pem);
  Channel<membio::client> client(client_context, "example.com");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK_FALSE(outcome.code);
}

TEST_CASE("pins instead of the chain refuse an unpinned self-signed server",
          "[identity][pin]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::client> client_context = test::bare_client_context(version);
  client_context.pin_public_keys(
      {pin_of(test::localhost_identity().certificate_chain_pem)},
      PinMode::instead_of_chain);
  Context<membio::server> server_context = test::bare_server_context(version);
  server_context.use_identity_pem(stranger_identity().certificate_chain_pem,
                                  stranger_identity().private_key_pem);
  Channel<membio::client> client(client_context);
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  CHECK(outcome.code);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("peer public key is not pinned"));
  CHECK(server.failure());
}

TEST_CASE("an empty pin list turns pinning off again", "[identity][pin]") {
  Context<membio::client> client_context =
      test::bare_client_context(TlsVersion::tls1_3);
  client_context.pin_public_keys(
      {pin_of(stranger_identity().certificate_chain_pem)},
      PinMode::instead_of_chain);
  REQUIRE_FALSE(client_context.needs_server_name());

  client_context.pin_public_keys({}, PinMode::instead_of_chain);

  CHECK(client_context.needs_server_name());
  Context<membio::server> server_context =
      test::bare_server_context(TlsVersion::tls1_3);
  server_context.use_identity_pem(stranger_identity().certificate_chain_pem,
                                  stranger_identity().private_key_pem);
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);
  const Outcome outcome = handshake_outcome(client, server);
  INFO(outcome);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("certificate verify failed"));
}

TEST_CASE("a server pins the public keys of client certificates",
          "[identity][pin][client-certificate]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> server_context = test::server_context(version);
  server_context.request_client_certificate(
      membio::ClientCertificate::required);
  server_context.trust_pem(test::test_ca().certificate_pem());
  Context<membio::client> client_context = test::client_context(version);
  client_context.use_identity_pem(client_identity().certificate_chain_pem,
                                  client_identity().private_key_pem);

  SECTION("a pinned client key is accepted") {
    server_context.pin_public_keys(
        {pin_of(client_identity().certificate_chain_pem)}, PinMode::with_chain);
    require_handshake(client_context, server_context);
  }

  SECTION("an unpinned client key is refused") {
    server_context.pin_public_keys(
        {pin_of(stranger_identity().certificate_chain_pem)},
        PinMode::with_chain);
    Channel<membio::client> client(client_context, "localhost");
    Channel<membio::server> server(server_context);

    const Outcome outcome = handshake_outcome(client, server);

    INFO(outcome);
    CHECK(outcome.code);
    CHECK_THAT(outcome.server_message,
               ContainsSubstring("peer public key is not pinned"));
    CHECK(server.failure());
  }
}

TEST_CASE("a server pinning instead of the chain accepts a self-signed client",
          "[identity][pin][client-certificate]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  membio::CertificateOptions options;
  options.common_name = "self-signed client";
  const membio::Identity self_signed = membio::make_self_signed(options);
  Context<membio::server> server_context = test::server_context(version);
  server_context.request_client_certificate(
      membio::ClientCertificate::required);
  server_context.pin_public_keys({pin_of(self_signed.certificate_chain_pem)},
                                 PinMode::instead_of_chain);
  Context<membio::client> client_context = test::client_context(version);
  client_context.use_identity_pem(self_signed.certificate_chain_pem,
                                  self_signed.private_key_pem);
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);

  const Outcome outcome = handshake_outcome(client, server);

  INFO(outcome);
  REQUIRE_FALSE(outcome.code);
  CHECK(server.peer_certificate().subject() == "CN=self-signed client");
}
