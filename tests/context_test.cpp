// Tests of context.hpp: identities, trusted roots, protocol versions, cipher
// suites and groups, error reporting and moved-from contexts.
#include <membio/context.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using membio::Context;
using membio::FileFormat;
using membio::TlsVersion;
namespace fs = std::filesystem;
namespace test = membio::test;

/// A directory under /tmp for one test, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    do {
      path_ = fs::path("/tmp") /
              ("membio-context-test-" + std::to_string(random()) + "-" +
               std::to_string(random()));
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

  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

/// What one handshake between two channels of the given contexts produced.
struct Outcome {
  std::error_code code;
  std::string client_message;
  std::string server_message;
  std::string protocol;
  std::string cipher;
  std::string group;
};

Outcome connect(const Context<membio::client>& client_context,
                const Context<membio::server>& server_context) {
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);

  std::error_code code;
  membio::Loopback(client, server).handshake(code);

  return {code,
          client.last_error_message(),
          server.last_error_message(),
          client.protocol_version(),
          client.cipher_suite(),
          client.key_exchange_group()};
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
  REQUIRE(file.good());
}

membio::Certificate parse_certificate(const std::string& pem) {
  std::error_code code;
  membio::Certificate certificate = membio::Certificate::from_pem(pem, code);

  REQUIRE_FALSE(code);
  return certificate;
}

void write_der_certificate(const std::string& path, const std::string& pem) {
  const membio::Certificate certificate = parse_certificate(pem);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  REQUIRE(file);

  const int written = i2d_X509_fp(file, certificate.native_handle());
  std::fclose(file);
  REQUIRE(written == 1);
}

void write_der_key(const std::string& path, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(key);

  std::FILE* file = std::fopen(path.c_str(), "wb");
  const int written = file ? i2d_PrivateKey_fp(file, key) : 0;
  if (file) std::fclose(file);
  EVP_PKEY_free(key);
  REQUIRE(written == 1);
}

// The name OpenSSL looks up in a hashed directory: "<subject hash>.0".
std::string hashed_name(const std::string& pem) {
  const membio::Certificate certificate = parse_certificate(pem);
  char name[32] = {};

  std::snprintf(name, sizeof name, "%08lx.0",
                X509_subject_name_hash(certificate.native_handle()));
  return name;
}

std::string truncated(const std::string& pem) {
  return pem.substr(0, pem.size() / 2);
}

std::string leaf_pem() {
  return test::localhost_identity().certificate_chain_pem;
}

std::string leaf_key_pem() {
  return test::localhost_identity().private_key_pem;
}

using Setter = std::function<void(std::error_code&)>;

// Each setter of `context`, named, reporting through an error code.
std::vector<std::pair<const char*, Setter>> every_setter(
    Context<membio::server>& context) {
  return {
      {"certificate",
       [&](auto& c) { context.use_certificate_chain_pem(leaf_pem(), c); }},
      {"key", [&](auto& c) { context.use_private_key_pem(leaf_key_pem(), c); }},
      {"identity",
       [&](auto& c) {
         context.use_identity_pem(leaf_pem(), leaf_key_pem(), c);
       }},
      {"cert file",
       [&](auto& c) {
         context.use_certificate_chain_file("x.pem", FileFormat::pem, c);
       }},
      {"key file",
       [&](auto& c) {
         context.use_private_key_file("x.pem", FileFormat::pem, c);
       }},
      {"trust pem", [&](auto& c) { context.trust_pem(leaf_pem(), c); }},
      {"trust file", [&](auto& c) { context.trust_file("x.pem", c); }},
      {"trust dir", [&](auto& c) { context.trust_directory("/tmp", c); }},
      {"trust system", [&](auto& c) { context.trust_system_default(c); }},
      {"versions",
       [&](auto& c) {
         context.set_protocol_versions(TlsVersion::tls1_2, TlsVersion::tls1_3,
                                       c);
       }},
      {"ciphers", [&](auto& c) { context.set_tls12_ciphers("DEFAULT", c); }},
      {"suites",
       [&](auto& c) {
         context.set_tls13_ciphersuites("TLS_AES_128_GCM_SHA256", c);
       }},
      {"groups", [&](auto& c) { context.set_groups("P-256", c); }}};
}

// A full handshake between new channels of the contexts, with the server's
// tickets read and an orderly close; returns the client's session.
membio::Session session_from(const Context<membio::client>& client_context,
                             const Context<membio::server>& server_context) {
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  membio::Loopback loopback(client, server);

  REQUIRE(loopback.send_to_client("tickets") == "tickets");
  membio::Session session = membio::current_session(client);
  loopback.close();
  return session;
}

// What a connection offering `session`, and `early` as early data unless it
// is empty, came to.
struct Resumption {
  bool resumed = false;
  membio::EarlyData early_data = membio::EarlyData::not_sent;
};

Resumption resume(const Context<membio::client>& client_context,
                  const Context<membio::server>& server_context,
                  const membio::Session& session, std::string_view early = "") {
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  membio::restore_session(client, session);
  if (!early.empty()) (void)membio::write_early_plaintext(client, early);
  membio::Loopback loopback(client, server);

  loopback.handshake();
  loopback.close();
  return {client.resumed(), client.early_data()};
}

}  // namespace

TEST_CASE("contexts are move-only", "[context][move]") {
  using Server = Context<membio::server>;
  using Client = Context<membio::client>;

  static_assert(!std::is_copy_constructible_v<Server>);
  static_assert(!std::is_copy_assignable_v<Client>);
  static_assert(std::is_nothrow_move_constructible_v<Server>);
  static_assert(std::is_nothrow_move_assignable_v<Client>);

  SUCCEED("checked at compile time");
}

TEST_CASE("a client context verifies the peer by default, a server does not",
          "[context][verify]") {
  const Context<membio::client> client;
  const Context<membio::server> server;

  CHECK(client.verifies_peer());
  CHECK_FALSE(server.verifies_peer());
  CHECK(client.native_handle() != nullptr);
  CHECK(client.last_error_message().empty());
}

TEST_CASE("server identity from PEM text completes a handshake",
          "[context][identity]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  INFO(test::name_of(version));
  Context<membio::server> server;

  server.use_identity_pem(leaf_pem(), leaf_key_pem());
  const Outcome outcome = connect(test::client_context(version), server);

  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
  CHECK(outcome.protocol == test::name_of(version));
  CHECK(server.last_error_message().empty());
}

TEST_CASE("malformed certificate PEM throws an error naming the operation",
          "[context][identity][errors]") {
  const auto [pem, reason] = GENERATE(table<std::string, std::string>(
      {{"this is not a certificate", "no start line"},
       {"", "no start line"},
       {truncated(leaf_pem()), "bad end line"}}));
  Context<membio::server> context;

  try {
    context.use_certificate_chain_pem(pem);
    FAIL("malformed PEM was accepted");
  } catch (const membio::error& thrown) {
    INFO(thrown.what());
    CHECK_THAT(thrown.what(), StartsWith("use certificate chain pem: "));
    CHECK_THAT(thrown.what(), ContainsSubstring(reason));
    CHECK_THAT(thrown.what(), ContainsSubstring("PEM routines"));
    CHECK(std::string(thrown.code().category().name()) == "openssl");
    CHECK(context.last_error_message() == thrown.what());
  }
}

TEST_CASE("malformed certificate PEM is catchable as std::system_error",
          "[context][identity][errors]") {
  Context<membio::server> context;

  CHECK_THROWS_AS(context.use_certificate_chain_pem("junk"), std::system_error);
  CHECK_THROWS_AS(context.use_identity_pem("junk", leaf_key_pem()),
                  std::system_error);
}

TEST_CASE("malformed certificate PEM reports the same text via error_code",
          "[context][identity][errors]") {
  const std::string pem =
      GENERATE(std::string("garbage"), std::string(), truncated(leaf_pem()));
  Context<membio::server> throwing;
  Context<membio::server> reporting;
  std::string thrown_message;

  try {
    throwing.use_certificate_chain_pem(pem);
  } catch (const membio::error& thrown) {
    thrown_message = thrown.what();
  }
  std::error_code code;
  reporting.use_certificate_chain_pem(pem, code);

  INFO(reporting.last_error_message());
  CHECK(code);
  CHECK(std::string(code.category().name()) == "openssl");
  CHECK_FALSE(thrown_message.empty());
  CHECK(reporting.last_error_message() == thrown_message);
}

TEST_CASE("malformed private key PEM is an error naming the operation",
          "[context][identity][errors]") {
  Context<membio::server> context;
  context.use_certificate_chain_pem(leaf_pem());
  std::error_code code;

  context.use_private_key_pem("not a key", code);

  INFO(context.last_error_message());
  CHECK(code);
  CHECK(std::string(code.category().name()) == "openssl");
  CHECK_THAT(context.last_error_message(), StartsWith("use private key pem: "));
  CHECK_THROWS_AS(context.use_private_key_pem(""), membio::error);
}

TEST_CASE("a private key that does not match the certificate is refused",
          "[context][identity][errors]") {
  const membio::Identity other = test::test_ca().issue();
  Context<membio::server> context;
  std::error_code code;

  context.use_identity_pem(leaf_pem(), other.private_key_pem, code);

  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(), StartsWith("use identity pem: "));
  CHECK_THAT(context.last_error_message(),
             ContainsSubstring("key values mismatch"));

  context.use_certificate_chain_pem(leaf_pem());
  CHECK_THROWS_AS(context.use_private_key_pem(other.private_key_pem),
                  membio::error);
  CHECK_THAT(context.last_error_message(), StartsWith("use private key pem: "));
}

TEST_CASE("a private key of another type than the certificate is refused",
          "[context][identity][errors]") {
  membio::CertificateOptions options;
  options.key_type = membio::KeyType::rsa_2048;
  const membio::Identity rsa = test::test_ca().issue(options);
  Context<membio::server> context;
  std::error_code code;

  context.use_identity_pem(leaf_pem(), rsa.private_key_pem, code);

  INFO("message: " << context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(), StartsWith("use identity pem: "));
  CHECK_THAT(context.last_error_message(), ContainsSubstring("mismatch"));
}

TEST_CASE("a chain that does not match the key loaded before it is refused",
          "[context][identity][errors]") {
  membio::CertificateOptions options;
  options.key_type =
      GENERATE(membio::KeyType::ec_p256, membio::KeyType::rsa_2048);
  INFO((options.key_type == membio::KeyType::ec_p256 ? "EC other"
                                                     : "RSA other"));
  const membio::Identity other = test::test_ca().issue(options);
  const TempDir directory;
  write_text(directory.file("other.pem"), other.certificate_chain_pem);
  write_der_certificate(directory.file("other.der"),
                        other.certificate_chain_pem);
  Context<membio::server> server;
  server.use_private_key_pem(leaf_key_pem());
  std::error_code code;

  SECTION("from PEM text") {
    server.use_certificate_chain_pem(other.certificate_chain_pem, code);
  }
  SECTION("from a PEM file") {
    server.use_certificate_chain_file(directory.file("other.pem"),
                                      FileFormat::pem, code);
  }
  SECTION("from a DER file") {
    server.use_certificate_chain_file(directory.file("other.der"),
                                      FileFormat::der, code);
  }

  INFO(server.last_error_message());
  CHECK(code);
  CHECK_THAT(server.last_error_message(), ContainsSubstring("mismatch"));
  CHECK_THAT(server.last_error_message(),
             ContainsSubstring("the private key loaded before does not match "
                               "this certificate"));

  // The key is still there: its own certificate completes the identity.
  server.use_certificate_chain_pem(leaf_pem());
  const Outcome outcome = connect(test::client_context(), server);
  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
}

TEST_CASE("a key loaded before its certificate completes a handshake",
          "[context][identity][files]") {
  const TempDir directory;
  write_text(directory.file("leaf.pem"), leaf_pem());
  write_der_certificate(directory.file("leaf.der"), leaf_pem());
  Context<membio::server> server;
  server.use_private_key_pem(leaf_key_pem());

  SECTION("from PEM text") { server.use_certificate_chain_pem(leaf_pem()); }
  SECTION("from a PEM file") {
    server.use_certificate_chain_file(directory.file("leaf.pem"),
                                      FileFormat::pem);
  }
  SECTION("from a DER file") {
    server.use_certificate_chain_file(directory.file("leaf.der"),
                                      FileFormat::der);
  }

  const Outcome outcome = connect(test::client_context(), server);
  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
}

TEST_CASE("a key file that does not match the loaded certificate is refused",
          "[context][identity][files][errors]") {
  const membio::Identity other = test::test_ca().issue();
  const TempDir directory;
  write_text(directory.file("other.key"), other.private_key_pem);
  write_der_key(directory.file("other.key.der"), other.private_key_pem);
  Context<membio::server> server;
  server.use_certificate_chain_pem(leaf_pem());
  std::error_code code;

  const FileFormat format = GENERATE(FileFormat::pem, FileFormat::der);
  server.use_private_key_file(
      directory.file(format == FileFormat::pem ? "other.key" : "other.key.der"),
      format, code);

  INFO(server.last_error_message());
  CHECK(code);
  CHECK_THAT(server.last_error_message(),
             ContainsSubstring("key values mismatch"));
}

TEST_CASE("a context OpenSSL cannot make reports OpenSSL's reason",
          "[context][errors]") {
  // No provider offers algorithms with this property, so SSL_CTX_new finds
  // no cipher; the guard puts the default back whatever happens.
  struct Properties {
    Properties() { EVP_set_default_properties(nullptr, "membio.absent=yes"); }
    ~Properties() { EVP_set_default_properties(nullptr, ""); }
  };
  std::string message;

  {
    const Properties unusable;
    try {
      const Context<membio::server> context;
    } catch (const membio::error& thrown) {
      message = thrown.what();
    }
  }

  CHECK_THAT(message, StartsWith("context: "));
  CHECK_THAT(message, ContainsSubstring("SSL routines"));
}

TEST_CASE("a failed certificate chain load keeps the earlier identity",
          "[context][identity][errors]") {
  Context<membio::server> server = test::server_context();
  const std::string broken_chain =
      test::test_ca().issue().certificate_chain_pem + truncated(leaf_pem());
  std::error_code code;

  server.use_certificate_chain_pem(broken_chain, code);
  REQUIRE(code);
  INFO(server.last_error_message());

  Outcome outcome;
  REQUIRE_NOTHROW(outcome = connect(test::client_context(), server));
  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
}

TEST_CASE("server identity from PEM files completes a handshake",
          "[context][identity][files]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  INFO(test::name_of(version));
  const TempDir directory;
  write_text(directory.file("leaf.pem"), leaf_pem());
  write_text(directory.file("leaf.key"), leaf_key_pem());

  Context<membio::server> server;
  server.use_certificate_chain_file(directory.file("leaf.pem"),
                                    FileFormat::pem);
  server.use_private_key_file(directory.file("leaf.key"), FileFormat::pem);
  const Outcome outcome = connect(test::client_context(version), server);

  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
  CHECK(outcome.protocol == test::name_of(version));
}

TEST_CASE("server identity from DER files completes a handshake",
          "[context][identity][files]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  INFO(test::name_of(version));
  const TempDir directory;
  write_der_certificate(directory.file("leaf.der"), leaf_pem());
  write_der_key(directory.file("leaf.key.der"), leaf_key_pem());

  Context<membio::server> server;
  server.use_certificate_chain_file(directory.file("leaf.der"),
                                    FileFormat::der);
  server.use_private_key_file(directory.file("leaf.key.der"), FileFormat::der);
  const Outcome outcome = connect(test::client_context(version), server);

  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
  CHECK(outcome.protocol == test::name_of(version));
}

TEST_CASE("a missing identity file is an error naming its path",
          "[context][identity][files][errors]") {
  const TempDir directory;
  const std::string missing = directory.file("missing.pem");
  Context<membio::server> context;
  std::error_code code;

  context.use_certificate_chain_file(missing, FileFormat::pem, code);
  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(), ContainsSubstring(missing));

  context.use_certificate_chain_file(missing, FileFormat::der, code);
  CHECK(code);
  CHECK_THAT(context.last_error_message(), ContainsSubstring(missing));

  context.use_private_key_file(missing, FileFormat::pem, code);
  CHECK(code);
  CHECK_THAT(context.last_error_message(), ContainsSubstring(missing));
}

TEST_CASE("a missing identity file throws with its path in the message",
          "[context][identity][files][errors]") {
  const TempDir directory;
  const std::string missing = directory.file("absent.key");
  Context<membio::server> context;

  try {
    context.use_private_key_file(missing, FileFormat::der);
    FAIL("a missing key file was accepted");
  } catch (const std::system_error& thrown) {
    INFO(thrown.what());
    CHECK_THAT(thrown.what(), StartsWith("use private key file " + missing));
    CHECK_THAT(thrown.what(), ContainsSubstring("No such file"));
  }
}

TEST_CASE("roots trusted from PEM text verify the server", "[context][trust]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  INFO(test::name_of(version));
  Context<membio::client> client = test::bare_client_context(version);

  client.trust_pem(test::test_ca().certificate_pem());
  const Outcome outcome = connect(client, test::server_context(version));

  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
}

TEST_CASE("roots trusted from a PEM file verify the server",
          "[context][trust][files]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  INFO(test::name_of(version));
  const TempDir directory;
  write_text(directory.file("roots.pem"), test::test_ca().certificate_pem());
  Context<membio::client> client = test::bare_client_context(version);

  client.trust_file(directory.file("roots.pem"));
  const Outcome outcome = connect(client, test::server_context(version));

  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
}

TEST_CASE("roots trusted from a hashed directory verify the server",
          "[context][trust][files]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  INFO(test::name_of(version));
  const TempDir directory;
  const std::string root = test::test_ca().certificate_pem();
  write_text(directory.file(hashed_name(root)), root);
  Context<membio::client> client = test::bare_client_context(version);

  client.trust_directory(directory.path());
  const Outcome outcome = connect(client, test::server_context(version));

  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
}

TEST_CASE("a hashed directory without the issuer does not verify the server",
          "[context][trust][files]") {
  const TempDir directory;
  const std::string stranger =
      membio::CertificateAuthority("stranger CA").certificate_pem();
  write_text(directory.file(hashed_name(stranger)), stranger);
  Context<membio::client> client =
      test::bare_client_context(TlsVersion::tls1_3);

  client.trust_directory(directory.path());
  const Outcome outcome = connect(client, test::server_context());

  INFO(outcome.client_message);
  CHECK(outcome.code);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("unable to get local issuer certificate"));
}

TEST_CASE("a missing trust file is an error naming its path",
          "[context][trust][files][errors]") {
  const TempDir directory;
  const std::string missing = directory.file("roots.pem");
  Context<membio::client> context;
  std::error_code code;

  context.trust_file(missing, code);

  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(),
             StartsWith("trust file " + missing + ": "));
  CHECK_THROWS_AS(context.trust_file(missing), membio::error);
}

TEST_CASE("trusting the system default roots succeeds", "[context][trust]") {
  Context<membio::client> context;
  std::error_code code = membio::errc::closed;

  CHECK_NOTHROW(context.trust_system_default());
  context.trust_system_default(code);

  CHECK_FALSE(code);
  CHECK(context.last_error_message().empty());
  CHECK(context.verifies_peer());
}

TEST_CASE("the system default roots do not include the test CA",
          "[context][trust]") {
  Context<membio::client> client =
      test::bare_client_context(TlsVersion::tls1_3);

  client.trust_system_default();
  const Outcome outcome = connect(client, test::server_context());

  INFO(outcome.client_message);
  CHECK(outcome.code);
  CHECK_THAT(outcome.client_message,
             ContainsSubstring("certificate verify failed"));
}

TEST_CASE("trust_pem with malformed text is an error naming the operation",
          "[context][trust][errors]") {
  const std::string pem =
      GENERATE(std::string("garbage"), std::string(), truncated(leaf_pem()));
  Context<membio::client> context;
  std::error_code code;

  context.trust_pem(pem, code);

  INFO(context.last_error_message());
  CHECK(code);
  CHECK(std::string(code.category().name()) == "openssl");
  CHECK_THAT(context.last_error_message(), StartsWith("trust pem: "));
  CHECK_THAT(context.last_error_message(), ContainsSubstring("PEM routines"));
  CHECK_THROWS_AS(context.trust_pem(pem), membio::error);
}

TEST_CASE("a failed trust_pem adds none of its roots",
          "[context][trust][errors]") {
  Context<membio::client> client =
      test::bare_client_context(TlsVersion::tls1_3);
  const std::string partly_broken =
      test::test_ca().certificate_pem() + truncated(leaf_pem());
  std::error_code code;

  client.trust_pem(partly_broken, code);
  REQUIRE(code);
  const Outcome outcome = connect(client, test::server_context());

  INFO("handshake: " << outcome.client_message);
  CHECK(outcome.code);
}

TEST_CASE("a minimum version above the maximum is an invalid argument",
          "[context][versions][errors]") {
  Context<membio::client> context;
  std::error_code code;

  context.set_protocol_versions(TlsVersion::tls1_3, TlsVersion::tls1_2, code);

  CHECK(code == membio::errc::invalid_argument);
  CHECK_THAT(context.last_error_message(),
             StartsWith("set protocol versions: "));
  CHECK(SSL_CTX_get_min_proto_version(context.native_handle()) ==
        TLS1_2_VERSION);
  CHECK_THROWS_AS(
      context.set_protocol_versions(TlsVersion::tls1_3, TlsVersion::tls1_2),
      membio::error);
}

TEST_CASE("TLS 1.2 only and TLS 1.3 only peers cannot connect",
          "[context][versions]") {
  const auto [client_version, server_version] =
      GENERATE(std::pair{TlsVersion::tls1_2, TlsVersion::tls1_3},
               std::pair{TlsVersion::tls1_3, TlsVersion::tls1_2});

  const Outcome outcome = connect(test::client_context(client_version),
                                  test::server_context(server_version));

  INFO("client: " << outcome.client_message);
  INFO("server: " << outcome.server_message);
  CHECK(outcome.code);
  CHECK(std::string(outcome.code.category().name()) == "openssl");
  CHECK_THAT(outcome.server_message, ContainsSubstring("unsupported protocol"));
  CHECK_THAT(outcome.client_message, ContainsSubstring("protocol version"));
  CHECK(outcome.protocol.empty());
}

TEST_CASE("the default minimum version refuses a TLS 1.1 client",
          "[context][versions]") {
  Context<membio::client> client = test::client_context();
  SSL_CTX* native = client.native_handle();
  SSL_CTX_set_security_level(native, 0);
  REQUIRE(SSL_CTX_set_min_proto_version(native, TLS1_VERSION) == 1);
  REQUIRE(SSL_CTX_set_max_proto_version(native, TLS1_1_VERSION) == 1);
  Context<membio::server> server;
  server.use_identity_pem(leaf_pem(), leaf_key_pem());

  const Outcome outcome = connect(client, server);

  INFO("client: " << outcome.client_message);
  INFO("server: " << outcome.server_message);
  CHECK(outcome.code);
  CHECK_THAT(outcome.server_message, ContainsSubstring("unsupported protocol"));
}

TEST_CASE("default versions negotiate TLS 1.3 and still accept TLS 1.2",
          "[context][versions]") {
  Context<membio::client> client;
  client.trust_pem(test::test_ca().certificate_pem());
  Context<membio::server> server;
  server.use_identity_pem(leaf_pem(), leaf_key_pem());

  const Outcome latest = connect(client, server);
  const Outcome older =
      connect(test::client_context(TlsVersion::tls1_2), server);

  INFO(latest.client_message << " / " << older.client_message);
  CHECK(latest.protocol == "TLSv1.3");
  CHECK(older.protocol == "TLSv1.2");
}

TEST_CASE("a TLS 1.3 cipher suite set on both ends is negotiated",
          "[context][ciphers]") {
  const std::string suite =
      GENERATE(std::string("TLS_CHACHA20_POLY1305_SHA256"),
               std::string("TLS_AES_128_GCM_SHA256"));
  Context<membio::client> client = test::client_context(TlsVersion::tls1_3);
  Context<membio::server> server = test::server_context(TlsVersion::tls1_3);

  client.set_tls13_ciphersuites(suite);
  server.set_tls13_ciphersuites(suite);
  const Outcome outcome = connect(client, server);

  INFO(outcome.client_message);
  CHECK(outcome.protocol == "TLSv1.3");
  CHECK(outcome.cipher == suite);
}

TEST_CASE("a TLS 1.2 cipher set on both ends is negotiated",
          "[context][ciphers]") {
  const std::string cipher =
      GENERATE(std::string("ECDHE-ECDSA-AES128-GCM-SHA256"),
               std::string("ECDHE-ECDSA-CHACHA20-POLY1305"));
  Context<membio::client> client = test::client_context(TlsVersion::tls1_2);
  Context<membio::server> server = test::server_context(TlsVersion::tls1_2);

  client.set_tls12_ciphers(cipher);
  server.set_tls12_ciphers(cipher);
  const Outcome outcome = connect(client, server);

  INFO(outcome.client_message);
  CHECK(outcome.protocol == "TLSv1.2");
  CHECK(outcome.cipher == cipher);
}

// TLS 1.2 also checks the server's ECDSA P-256 key against the groups, so a
// list that prefers P-384 must still name P-256.
TEST_CASE("a group set on both ends is negotiated", "[context][groups]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  const auto [group, reported] = GENERATE(table<std::string, std::string>(
      {{"P-256", "secp256r1"}, {"P-384:P-256", "secp384r1"}}));
  INFO(test::name_of(version) << " " << group);
  Context<membio::client> client = test::client_context(version);
  Context<membio::server> server = test::server_context(version);

  client.set_groups(group);
  server.set_groups(group);
  const Outcome outcome = connect(client, server);

  INFO(outcome.client_message);
  CHECK(outcome.protocol == test::name_of(version));
  CHECK(outcome.group == reported);
}

TEST_CASE("unknown cipher, cipher suite and group names are errors",
          "[context][ciphers][groups][errors]") {
  Context<membio::server> context;
  std::error_code code;

  context.set_tls12_ciphers("NO-SUCH-CIPHER", code);
  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(),
             StartsWith("set tls12 ciphers NO-SUCH-CIPHER: "));

  context.set_tls13_ciphersuites("TLS_NO_SUCH_SUITE", code);
  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(),
             StartsWith("set tls13 ciphersuites TLS_NO_SUCH_SUITE: "));

  context.set_groups("NO-SUCH-GROUP", code);
  INFO(context.last_error_message());
  CHECK(code);
  CHECK_THAT(context.last_error_message(),
             StartsWith("set groups NO-SUCH-GROUP: "));
  CHECK_THROWS_AS(context.set_groups("NO-SUCH-GROUP"), membio::error);
}

TEST_CASE("a failed setter keeps the earlier groups", "[context][groups]") {
  Context<membio::client> client = test::client_context();
  client.set_groups("P-384");
  std::error_code code;

  client.set_groups("NO-SUCH-GROUP", code);
  const Outcome outcome = connect(client, test::server_context());

  REQUIRE(code);
  INFO(outcome.client_message);
  CHECK(outcome.group == "secp384r1");
}

TEST_CASE("the last error message is cleared by a later success",
          "[context][errors]") {
  Context<membio::client> context;
  std::error_code code;

  context.set_groups("NO-SUCH-GROUP", code);
  REQUIRE_FALSE(context.last_error_message().empty());
  context.set_groups("P-256", code);

  CHECK_FALSE(code);
  CHECK(context.last_error_message().empty());
}

TEST_CASE("a moved-from context reports empty_object from its setters",
          "[context][move][errors]") {
  Context<membio::server> original;
  const Context<membio::server> target = std::move(original);

  for (const auto& [name, setter] : every_setter(original)) {
    std::error_code code;
    setter(code);
    INFO(name << ": " << original.last_error_message());
    CHECK(code == membio::errc::empty_object);
    CHECK_THAT(original.last_error_message(), ContainsSubstring("empty"));
  }
  CHECK(original.native_handle() == nullptr);
  CHECK(target.native_handle() != nullptr);
}

TEST_CASE("a moved-from context throws empty_object from throwing setters",
          "[context][move][errors]") {
  Context<membio::client> original;
  const Context<membio::client> target = std::move(original);

  try {
    original.trust_pem(test::test_ca().certificate_pem());
    FAIL("a moved-from context accepted a root");
  } catch (const membio::error& thrown) {
    INFO(thrown.what());
    CHECK(thrown.code() == membio::errc::empty_object);
    CHECK_THAT(thrown.what(), StartsWith("trust pem: "));
  }
  CHECK_FALSE(original.verifies_peer());
}

TEST_CASE("a channel cannot be made from a moved-from context",
          "[context][move][errors]") {
  Context<membio::client> client = test::client_context();
  Context<membio::server> server = test::server_context();
  const Context<membio::client> client_target = std::move(client);
  const Context<membio::server> server_target = std::move(server);

  try {
    membio::Channel<membio::client> channel(client, "localhost");
    FAIL("a channel was made from a moved-from client context");
  } catch (const membio::error& thrown) {
    INFO(thrown.what());
    CHECK(thrown.code() == membio::errc::empty_object);
  }
  CHECK_THROWS_AS(membio::Channel<membio::server>(server), membio::error);
}

TEST_CASE("a moved-to context keeps its configuration", "[context][move]") {
  Context<membio::client> client = test::client_context();
  Context<membio::server> server = test::server_context();

  Context<membio::client> client_target = std::move(client);
  Context<membio::server> server_target;
  server_target = std::move(server);
  const Outcome outcome = connect(client_target, server_target);

  INFO(outcome.client_message);
  CHECK_FALSE(outcome.code);
  CHECK(outcome.protocol == "TLSv1.3");
}

TEST_CASE("a session cache after disable_resumption resumes sessions again",
          "[context][resumption]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(test::name_of(version));
  const Context<membio::client> client = test::client_context(version);
  Context<membio::server> server = test::server_context(version);
  server.disable_resumption();
  server.use_session_cache(16);

  const membio::Session session = session_from(client, server);

  REQUIRE(session);
  CHECK(resume(client, server, session).resumed);
}

TEST_CASE("with early data on, a ticket resumes once and only at its server",
          "[context][resumption][early_data]") {
  const membio::TicketKey key = membio::TicketKey::generate();
  const auto early_data_server = [&key] {
    Context<membio::server> context = test::server_context();
    context.use_ticket_keys({key});
    context.enable_early_data(1024, [](std::string_view) { return true; });
    return context;
  };
  const Context<membio::client> client = test::client_context();
  const Context<membio::server> server = early_data_server();
  const membio::Session session = session_from(client, server);

  SECTION("a first resumption without early data uses the ticket up") {
    CHECK(resume(client, server, session).resumed);
    const Resumption again = resume(client, server, session, "GET /");
    CHECK_FALSE(again.resumed);
    CHECK(again.early_data == membio::EarlyData::rejected);
  }

  SECTION("a fresh server with the same ticket key does not resume it") {
    const Context<membio::server> restarted = early_data_server();
    const Resumption elsewhere = resume(client, restarted, session, "GET /");
    CHECK_FALSE(elsewhere.resumed);
    CHECK(elsewhere.early_data == membio::EarlyData::rejected);

    const Resumption home = resume(client, server, session, "GET /");
    CHECK(home.resumed);
    CHECK(home.early_data == membio::EarlyData::accepted);
  }
}
