// Tests of certificate.hpp: names, serial, validity, fingerprint, alt names,
// PEM round trips and shared ownership.
#include <membio/certificate.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <array>
#include <cctype>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#include "harness.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using std::chrono::seconds;
using std::chrono::system_clock;

membio::Certificate parse(const std::string& pem) {
  std::error_code code;
  membio::Certificate certificate = membio::Certificate::from_pem(pem, code);

  INFO(code.message());
  REQUIRE_FALSE(code);
  REQUIRE(certificate);
  return certificate;
}

membio::Certificate localhost_leaf() {
  return parse(membio::test::localhost_identity().certificate_chain_pem);
}

membio::Certificate issued_with(std::vector<std::string> alt_names) {
  membio::CertificateOptions options;
  options.alt_names = std::move(alt_names);
  return parse(membio::test::test_ca().issue(options).certificate_chain_pem);
}

bool is_upper_hex(const std::string& text) {
  for (const char digit : text) {
    if (!std::isxdigit(static_cast<unsigned char>(digit)) ||
        std::islower(static_cast<unsigned char>(digit))) {
      return false;
    }
  }
  return !text.empty();
}

// How far apart two instants are, in whole seconds, whichever comes first.
long long seconds_apart(system_clock::time_point a,
                        system_clock::time_point b) {
  const auto gap = std::chrono::duration_cast<seconds>(a > b ? a - b : b - a);
  return gap.count();
}

}  // namespace

TEST_CASE("certificate names its subject and its issuer's subject",
          "[certificate][names]") {
  const membio::Certificate leaf = localhost_leaf();
  const membio::Certificate authority = membio::test::test_ca().certificate();

  CHECK(leaf.subject() == "CN=localhost");
  CHECK(authority.subject() == "CN=membio test CA");
  CHECK(leaf.issuer() == authority.subject());
  CHECK(authority.issuer() == authority.subject());
}

TEST_CASE("certificate writes special characters of a name in RFC 2253 form",
          "[certificate][names]") {
  membio::CertificateOptions options;
  options.common_name = "Example, Inc.";

  const membio::Certificate leaf =
      parse(membio::test::test_ca().issue(options).certificate_chain_pem);

  CHECK(leaf.subject() == "CN=Example\\, Inc.");
}

TEST_CASE("serial number is upper-case hex that matches OpenSSL's view",
          "[certificate][serial]") {
  const membio::Certificate leaf = localhost_leaf();

  const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf.native_handle());
  BIGNUM* number = ASN1_INTEGER_to_BN(serial, nullptr);
  char* hex = BN_bn2hex(number);
  const std::string expected = hex;
  OPENSSL_free(hex);
  BN_free(number);

  INFO(leaf.serial_number());
  CHECK(is_upper_hex(leaf.serial_number()));
  CHECK(leaf.serial_number() == expected);
}

TEST_CASE("validity period matches the options the certificate was made with",
          "[certificate][validity]") {
  membio::CertificateOptions options;
  options.valid_from = -std::chrono::hours(2);
  options.valid_for = std::chrono::hours(48);

  const system_clock::time_point now = system_clock::now();
  const membio::Certificate leaf =
      parse(membio::test::test_ca().issue(options).certificate_chain_pem);

  const system_clock::time_point start = now + options.valid_from;
  CHECK(seconds_apart(leaf.not_before(), start) <= 2);
  CHECK(seconds_apart(leaf.not_after(), start + options.valid_for) <= 2);
  CHECK(leaf.not_before() < now);
  CHECK(leaf.not_after() > now);
}

TEST_CASE("sha256 fingerprint equals OpenSSL's digest of the certificate",
          "[certificate][fingerprint]") {
  const membio::Certificate leaf = localhost_leaf();

  std::array<unsigned char, 32> expected{};
  unsigned int size = 0;
  REQUIRE(X509_digest(leaf.native_handle(), EVP_sha256(), expected.data(),
                      &size) == 1);

  CHECK(size == expected.size());
  CHECK(leaf.sha256_fingerprint() == expected);
  CHECK(leaf.sha256_fingerprint() != std::array<unsigned char, 32>{});
}

TEST_CASE("sha256 fingerprint hex is 32 upper-case pairs joined by colons",
          "[certificate][fingerprint]") {
  const membio::Certificate leaf = localhost_leaf();
  const std::array<unsigned char, 32> digest = leaf.sha256_fingerprint();

  const std::string text = leaf.sha256_fingerprint_hex();

  INFO(text);
  REQUIRE(text.size() == 95);
  for (std::size_t pair = 0; pair < digest.size(); ++pair) {
    const std::string digits = text.substr(pair * 3, 2);
    CHECK(is_upper_hex(digits));
    CHECK(std::stoul(digits, nullptr, 16) == digest[pair]);
    if (pair + 1 < digest.size()) CHECK(text[pair * 3 + 2] == ':');
  }
}

TEST_CASE("subject alt names list the DNS and IP entries of a leaf",
          "[certificate][alt-names]") {
  const membio::Certificate leaf = localhost_leaf();

  const std::vector<std::string> expected = {"DNS:localhost", "IP:127.0.0.1"};
  CHECK(leaf.subject_alt_names() == expected);
}

TEST_CASE("subject alt names list IPv6, email and URI entries",
          "[certificate][alt-names]") {
  const membio::Certificate leaf =
      issued_with({"IP:::1", "IP:2001:db8::5", "email:ops@example.com",
                   "URI:https://example.com/"});

  const std::vector<std::string> expected = {
      "IP:0:0:0:0:0:0:0:1", "IP:2001:db8:0:0:0:0:0:5", "email:ops@example.com",
      "URI:https://example.com/"};
  CHECK(leaf.subject_alt_names() == expected);
}

TEST_CASE("a certificate without alt names lists none",
          "[certificate][alt-names]") {
  CHECK(issued_with({}).subject_alt_names().empty());
  CHECK(membio::test::test_ca().certificate().subject_alt_names().empty());
}

TEST_CASE("to_pem round-trips through from_pem", "[certificate][pem]") {
  const membio::Certificate leaf = localhost_leaf();

  const std::string pem = leaf.to_pem();
  const membio::Certificate again = parse(pem);

  CHECK_THAT(pem, ContainsSubstring("-----BEGIN CERTIFICATE-----"));
  CHECK(again.native_handle() != leaf.native_handle());
  CHECK(X509_cmp(again.native_handle(), leaf.native_handle()) == 0);
  CHECK(again.sha256_fingerprint() == leaf.sha256_fingerprint());
  CHECK(again.to_pem() == pem);
}

TEST_CASE("from_pem takes the first certificate of several",
          "[certificate][pem]") {
  const std::string leaf_pem =
      membio::test::localhost_identity().certificate_chain_pem;
  const std::string chain =
      leaf_pem + membio::test::test_ca().certificate_pem();

  const membio::Certificate first = parse(chain);

  CHECK(first.subject() == "CN=localhost");
}

TEST_CASE("from_pem reports malformed text and returns an empty certificate",
          "[certificate][pem][errors]") {
  const std::string whole =
      membio::test::localhost_identity().certificate_chain_pem;
  const std::string pem =
      GENERATE_COPY(std::string("not a certificate"), std::string(),
                    whole.substr(0, whole.size() / 2));
  std::error_code code = membio::errc::closed;

  const membio::Certificate parsed = membio::Certificate::from_pem(pem, code);

  INFO("input: " << pem);
  INFO("error: " << code.message());
  CHECK(code);
  CHECK(std::string(code.category().name()) == "openssl");
  CHECK_FALSE(code.message().empty());
  CHECK_FALSE(parsed);
  CHECK(parsed.native_handle() == nullptr);
}

TEST_CASE("from_pem clears an earlier error on success", "[certificate][pem]") {
  std::error_code code = membio::errc::closed;

  const membio::Certificate parsed = membio::Certificate::from_pem(
      membio::test::localhost_identity().certificate_chain_pem, code);

  CHECK_FALSE(code);
  CHECK(parsed);
}

TEST_CASE("copies of a certificate share the same OpenSSL object",
          "[certificate][ownership]") {
  const membio::Certificate leaf = localhost_leaf();
  membio::Certificate assigned = membio::test::test_ca().certificate();

  const membio::Certificate copy = leaf;
  assigned = leaf;
  const membio::Certificate& alias = assigned;
  assigned = alias;

  CHECK(copy.native_handle() == leaf.native_handle());
  CHECK(assigned.native_handle() == leaf.native_handle());
  CHECK(assigned.subject() == "CN=localhost");
}

TEST_CASE("a moved-from certificate is empty and the target owns it",
          "[certificate][ownership]") {
  membio::Certificate source = localhost_leaf();
  X509* const object = source.native_handle();

  const membio::Certificate target = std::move(source);

  CHECK(target.native_handle() == object);
  CHECK_FALSE(source);  // NOLINT(bugprone-use-after-move): checked on purpose
}

TEST_CASE("a certificate keeps its own reference to the OpenSSL object",
          "[certificate][ownership]") {
  const membio::Certificate owner = localhost_leaf();
  X509* borrowed = X509_dup(owner.native_handle());

  // The caller drops its reference; the object lives on in `held` alone.
  const membio::Certificate held(borrowed);
  X509_free(borrowed);

  CHECK(held.native_handle() == borrowed);
  CHECK(held.subject() == "CN=localhost");
  CHECK(held.sha256_fingerprint() == owner.sha256_fingerprint());
}

TEST_CASE("an empty certificate gives empty values", "[certificate][empty]") {
  const membio::Certificate empty;

  CHECK_FALSE(empty);
  CHECK(empty.subject().empty());
  CHECK(empty.issuer().empty());
  CHECK(empty.serial_number().empty());
  CHECK(empty.subject_alt_names().empty());
  CHECK(empty.to_pem().empty());
  CHECK(empty.not_before() == system_clock::time_point());
  CHECK(membio::Certificate(nullptr).native_handle() == nullptr);
}
