// Tests of credentials.hpp: self-signed identities and the throwaway
// certificate authority.
#include <membio/credentials.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <memory>
#include <string>
#include <system_error>

#include "harness.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using membio::TlsVersion;

struct KeyFree {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

Key parse_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Key key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);

  REQUIRE(key);
  return key;
}

membio::Certificate parse_certificate(const std::string& pem) {
  std::error_code code;
  membio::Certificate certificate = membio::Certificate::from_pem(pem, code);

  REQUIRE_FALSE(code);
  return certificate;
}

// Connects a server using `identity` to a client trusting `root_pem`.
void connect(const membio::Identity& identity, const std::string& root_pem,
             TlsVersion version) {
  membio::Context<membio::server> server_context;
  server_context.use_identity_pem(identity.certificate_chain_pem,
                                  identity.private_key_pem);
  membio::Context<membio::client> client_context;
  client_context.trust_pem(root_pem);
  client_context.set_protocol_versions(version, version);

  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  membio::Loopback(client, server).handshake();

  CHECK(client.handshake_done());
  CHECK(server.handshake_done());
  CHECK(client.protocol_version() == membio::test::name_of(version));
}

}  // namespace

TEST_CASE("self-signed identity defaults to an EC P-256 key",
          "[credentials][self-signed]") {
  const membio::Identity identity = membio::make_self_signed();

  const Key key = parse_key(identity.private_key_pem);
  char group[64] = {};
  std::size_t size = 0;
  REQUIRE(EVP_PKEY_get_group_name(key.get(), group, sizeof group, &size) == 1);

  CHECK(EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC);
  CHECK(EVP_PKEY_is_a(key.get(), "EC"));
  CHECK(std::string(group) == "prime256v1");
}

TEST_CASE("self-signed identity makes an RSA 2048 key when asked",
          "[credentials][self-signed]") {
  membio::CertificateOptions options;
  options.key_type = membio::KeyType::rsa_2048;

  const membio::Identity identity = membio::make_self_signed(options);
  const Key key = parse_key(identity.private_key_pem);

  CHECK(EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA);
  CHECK(EVP_PKEY_is_a(key.get(), "RSA"));
  CHECK(EVP_PKEY_get_bits(key.get()) == 2048);
}

TEST_CASE("self-signed key belongs to its certificate",
          "[credentials][self-signed]") {
  const membio::Identity identity = membio::make_self_signed();

  const Key key = parse_key(identity.private_key_pem);
  const membio::Certificate certificate =
      parse_certificate(identity.certificate_chain_pem);

  CHECK(X509_check_private_key(certificate.native_handle(), key.get()) == 1);
}

TEST_CASE("self-signed certificate is its own issuer and may act as a root",
          "[credentials][self-signed]") {
  const membio::Certificate certificate =
      parse_certificate(membio::make_self_signed().certificate_chain_pem);

  CHECK(certificate.subject() == "CN=localhost");
  CHECK(certificate.issuer() == certificate.subject());
  CHECK(X509_check_ca(certificate.native_handle()) != 0);
}

TEST_CASE("self-signed identity serves a client that trusts its certificate",
          "[credentials][self-signed][handshake]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  INFO(membio::test::name_of(version));

  const membio::Identity identity = membio::make_self_signed();

  connect(identity, identity.certificate_chain_pem, version);
}

TEST_CASE("self-signed RSA identity serves a client that trusts it",
          "[credentials][self-signed][handshake]") {
  membio::CertificateOptions options;
  options.key_type = membio::KeyType::rsa_2048;
  const membio::Identity identity = membio::make_self_signed(options);

  connect(identity, identity.certificate_chain_pem, TlsVersion::tls1_2);
  connect(identity, identity.certificate_chain_pem, TlsVersion::tls1_3);
}

TEST_CASE("certificate authority issues a leaf signed by its key",
          "[credentials][authority]") {
  const membio::CertificateAuthority authority("issuing CA");

  const membio::Identity identity = authority.issue();
  const membio::Certificate leaf =
      parse_certificate(identity.certificate_chain_pem);
  EVP_PKEY* authority_key =
      X509_get0_pubkey(authority.certificate().native_handle());

  CHECK(leaf.issuer() == "CN=issuing CA");
  CHECK(leaf.issuer() == authority.certificate().subject());
  CHECK(X509_verify(leaf.native_handle(), authority_key) == 1);
  CHECK(X509_check_ca(leaf.native_handle()) == 0);
}

TEST_CASE("a leaf from one authority does not verify against another",
          "[credentials][authority]") {
  const membio::CertificateAuthority other("other CA");

  const membio::Certificate leaf = parse_certificate(
      membio::test::localhost_identity().certificate_chain_pem);
  EVP_PKEY* other_key = X509_get0_pubkey(other.certificate().native_handle());

  CHECK(X509_verify(leaf.native_handle(), other_key) != 1);
}

TEST_CASE("certificate authority's root is a self-signed CA",
          "[credentials][authority]") {
  const membio::Certificate root = membio::test::test_ca().certificate();

  CHECK(root.subject() == "CN=membio test CA");
  CHECK(root.issuer() == root.subject());
  CHECK(X509_check_ca(root.native_handle()) != 0);
  CHECK(membio::test::test_ca().certificate_pem() == root.to_pem());
}

TEST_CASE("issued leaves get different serial numbers and keys",
          "[credentials][authority]") {
  const membio::CertificateAuthority& authority = membio::test::test_ca();

  const membio::Identity first = authority.issue();
  const membio::Identity second = authority.issue();

  const std::string first_serial =
      parse_certificate(first.certificate_chain_pem).serial_number();
  const std::string second_serial =
      parse_certificate(second.certificate_chain_pem).serial_number();
  CHECK_FALSE(first_serial.empty());
  CHECK(first_serial != second_serial);
  CHECK(first.private_key_pem != second.private_key_pem);
}

TEST_CASE("an issued leaf carries the name and alt names of its options",
          "[credentials][authority]") {
  membio::CertificateOptions options;
  options.common_name = "api.example.com";
  options.alt_names = {"DNS:api.example.com", "IP:10.0.0.7"};

  const membio::Certificate leaf = parse_certificate(
      membio::test::test_ca().issue(options).certificate_chain_pem);

  CHECK(leaf.subject() == "CN=api.example.com");
  const std::vector<std::string> expected = {"DNS:api.example.com",
                                             "IP:10.0.0.7"};
  CHECK(leaf.subject_alt_names() == expected);
}

TEST_CASE("an RSA certificate authority issues leaves that verify",
          "[credentials][authority]") {
  const membio::CertificateAuthority authority("RSA CA",
                                               membio::KeyType::rsa_2048);

  const membio::Identity identity = authority.issue();
  const membio::Certificate leaf =
      parse_certificate(identity.certificate_chain_pem);
  EVP_PKEY* authority_key =
      X509_get0_pubkey(authority.certificate().native_handle());

  CHECK(EVP_PKEY_get_base_id(authority_key) == EVP_PKEY_RSA);
  CHECK(X509_verify(leaf.native_handle(), authority_key) == 1);
  connect(identity, authority.certificate_pem(), TlsVersion::tls1_3);
}

TEST_CASE("a malformed alt name throws membio error", "[credentials][errors]") {
  membio::CertificateOptions options;
  options.alt_names = {"BOGUS:x"};

  CHECK_THROWS_AS(membio::make_self_signed(options), membio::error);
  try {
    (void)membio::test::test_ca().issue(options);
    FAIL("issue accepted a malformed alt name");
  } catch (const membio::error& thrown) {
    INFO(thrown.what());
    CHECK_THAT(thrown.what(), ContainsSubstring("extension"));
    CHECK_THAT(thrown.what(), ContainsSubstring("BOGUS"));
    CHECK(std::string(thrown.code().category().name()) == "openssl");
  }
}
