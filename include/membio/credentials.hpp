// Throwaway credentials made in memory: a self-signed certificate, or a small
// certificate authority that signs leaves, for tests and demos.
#ifndef MEMBIO_CREDENTIALS_HPP
#define MEMBIO_CREDENTIALS_HPP

#include <chrono>
#include <string>
#include <vector>

#include "certificate.hpp"
#include "detail/error_queue.hpp"
#include "detail/handle.hpp"
#include "detail/openssl.hpp"
#include "error.hpp"

namespace membio {

/// The kind of key a throwaway certificate gets.
enum class KeyType { ec_p256, rsa_2048 };

/// What a throwaway certificate says about its subject.
struct CertificateOptions {
  /// The subject's common name.
  std::string common_name = "localhost";

  /// Subject alternative names in OpenSSL's configuration syntax: "DNS:name"
  /// or "IP:address". Clients verify host names against these.
  std::vector<std::string> alt_names = {"DNS:localhost", "IP:127.0.0.1"};

  /// The key's algorithm.
  KeyType key_type = KeyType::ec_p256;

  /// The start of validity, relative to now; negative means in the past, so
  /// that clocks a little behind still accept the certificate.
  std::chrono::seconds valid_from = -std::chrono::hours(1);

  /// How long the certificate stays valid after its start.
  std::chrono::seconds valid_for = std::chrono::hours(24 * 30);
};

/// A certificate chain and its private key, both in PEM text, ready for
/// `Context::use_identity_pem`. The key is unencrypted: treat it as a secret.
struct Identity {
  std::string certificate_chain_pem;
  std::string private_key_pem;
};

namespace detail {

inline void throw_credentials_error(const char* operation) {
  std::error_code code;
  const std::string message =
      fail_from_queue(operation, code, errc::invalid_argument);
  throw_if_error(code, message);
}

inline PkeyHandle generate_key(KeyType type) {
  PkeyHandle key(type == KeyType::rsa_2048
                     ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                     : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) throw_credentials_error("generate key");
  return key;
}

inline std::string key_to_pem(EVP_PKEY* key) {
  BioHandle bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                       nullptr, nullptr) != 1) {
    throw_credentials_error("write private key");
  }

  char* text = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &text);
  return std::string(text, static_cast<std::size_t>(size));
}

inline void add_extension(X509* certificate, X509* issuer, int nid,
                          const std::string& value) {
  X509V3_CTX v3{};
  X509V3_set_ctx(&v3, issuer, certificate, nullptr, nullptr, 0);

  const X509ExtensionHandle extension(
      X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    throw_credentials_error("add certificate extension");
  }
}

inline std::string joined(const std::vector<std::string>& parts) {
  std::string text;
  for (const std::string& part : parts)
    text += (text.empty() ? "" : ",") + part;
  return text;
}

inline void set_serial_and_validity(X509* certificate,
                                    const CertificateOptions& options) {
  BignumHandle serial(BN_new());
  const bool ok =
      serial &&
      BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate)) &&
      X509_gmtime_adj(X509_getm_notBefore(certificate),
                      static_cast<long>(options.valid_from.count())) &&
      X509_gmtime_adj(
          X509_getm_notAfter(certificate),
          static_cast<long>((options.valid_from + options.valid_for).count()));
  if (!ok) throw_credentials_error("set serial and validity");
}

// Makes a certificate for `key`, signed by `issuer_key` under `issuer` (or
// by itself when `issuer` is null), with a CA's or a leaf's extensions.
inline X509Handle make_certificate(const CertificateOptions& options,
                                   EVP_PKEY* key, X509* issuer,
                                   EVP_PKEY* issuer_key, bool is_ca) {
  X509Handle certificate(X509_new());
  if (!certificate || !X509_set_version(certificate.get(), X509_VERSION_3)) {
    throw_credentials_error("make certificate");
  }
  set_serial_and_validity(certificate.get(), options);

  X509_NAME* subject = X509_get_subject_name(certificate.get());
  const auto* name =
      reinterpret_cast<const unsigned char*>(options.common_name.c_str());
  if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, name, -1, -1,
                                  0) ||
      !X509_set_issuer_name(certificate.get(),
                            issuer ? X509_get_subject_name(issuer) : subject) ||
      !X509_set_pubkey(certificate.get(), key)) {
    throw_credentials_error("make certificate");
  }

  X509* signer = issuer ? issuer : certificate.get();
  add_extension(certificate.get(), signer, NID_basic_constraints,
                is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_extension(certificate.get(), signer, NID_subject_key_identifier, "hash");
  add_extension(certificate.get(), signer, NID_authority_key_identifier,
                "keyid:always");
  if (is_ca) {
    add_extension(certificate.get(), signer, NID_key_usage,
                  "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    add_extension(certificate.get(), signer, NID_ext_key_usage,
                  "serverAuth,clientAuth");
  }
  if (!options.alt_names.empty()) {
    add_extension(certificate.get(), signer, NID_subject_alt_name,
                  joined(options.alt_names));
  }

  if (X509_sign(certificate.get(), issuer_key ? issuer_key : key,
                EVP_sha256()) <= 0) {
    throw_credentials_error("sign certificate");
  }
  return certificate;
}

}  // namespace detail

/// Makes a self-signed certificate and its key. A peer trusts it by
/// trusting the certificate itself
/// (`trust_pem(identity.certificate_chain_pem)`). It is marked as a CA so that
/// OpenSSL accepts it as its own trust anchor.
///
/// Throws `membio::error` when OpenSSL fails, e.g. on a malformed alt name.
inline Identity make_self_signed(const CertificateOptions& options = {}) {
  detail::ErrorQueueScope scope;
  const detail::PkeyHandle key = detail::generate_key(options.key_type);
  const detail::X509Handle certificate = detail::make_certificate(
      options, key.get(), nullptr, nullptr, /*is_ca=*/true);
  return {Certificate(certificate.get()).to_pem(),
          detail::key_to_pem(key.get())};
}

/// A small certificate authority held in memory: a self-signed root, or an
/// intermediate below one, whose key signs leaf certificates, so tests can
/// build real chains.
class CertificateAuthority {
 public:
  /// Makes a root; throws `membio::error` when OpenSSL fails.
  explicit CertificateAuthority(std::string common_name = "membio test CA",
                                KeyType key_type = KeyType::ec_p256) {
    detail::ErrorQueueScope scope;
    const CertificateOptions options =
        authority_options(std::move(common_name), key_type);

    key_ = detail::generate_key(key_type);
    certificate_ = detail::make_certificate(options, key_.get(), nullptr,
                                            nullptr, /*is_ca=*/true);
  }

  /// This authority's certificate in PEM text. For a root, this is what
  /// peers trust.
  std::string certificate_pem() const {
    return Certificate(certificate_.get()).to_pem();
  }

  /// This authority's certificate.
  Certificate certificate() const { return Certificate(certificate_.get()); }

  /// Makes an intermediate authority signed by this one. The leaves it
  /// issues carry it (and any intermediates above it) in their chains, so
  /// that peers trusting only the root can verify them.
  CertificateAuthority make_intermediate(
      std::string common_name, KeyType key_type = KeyType::ec_p256) const {
    detail::ErrorQueueScope scope;
    const CertificateOptions options =
        authority_options(std::move(common_name), key_type);

    detail::PkeyHandle key = detail::generate_key(key_type);
    detail::X509Handle certificate = detail::make_certificate(
        options, key.get(), certificate_.get(), key_.get(), /*is_ca=*/true);
    std::string chain = Certificate(certificate.get()).to_pem() + chain_pem_;
    return CertificateAuthority(std::move(key), std::move(certificate),
                                std::move(chain));
  }

  /// Issues a leaf certificate signed by this authority. Its chain holds the
  /// leaf, then the intermediates up to the root, without the root itself,
  /// which peers already trust.
  Identity issue(const CertificateOptions& options = {}) const {
    detail::ErrorQueueScope scope;
    const detail::PkeyHandle key = detail::generate_key(options.key_type);
    const detail::X509Handle leaf = detail::make_certificate(
        options, key.get(), certificate_.get(), key_.get(), /*is_ca=*/false);
    return {Certificate(leaf.get()).to_pem() + chain_pem_,
            detail::key_to_pem(key.get())};
  }

 private:
  CertificateAuthority(detail::PkeyHandle key, detail::X509Handle certificate,
                       std::string chain_pem) noexcept
      : key_(std::move(key)),
        certificate_(std::move(certificate)),
        chain_pem_(std::move(chain_pem)) {}

  static CertificateOptions authority_options(std::string common_name,
                                              KeyType key_type) {
    CertificateOptions options;
    options.common_name = std::move(common_name);
    options.alt_names.clear();
    options.key_type = key_type;
    options.valid_for = std::chrono::hours(24 * 365);
    return options;
  }

  detail::PkeyHandle key_;
  detail::X509Handle certificate_;
  std::string chain_pem_;  // This authority and those above it, not the root.
};

}  // namespace membio

#endif  // MEMBIO_CREDENTIALS_HPP
