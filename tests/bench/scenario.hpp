// What a workload negotiates (version, certificate key, cipher), the same
// for every implementation, and the throwaway credentials it uses.
#ifndef MEMBIO_BENCH_SCENARIO_HPP
#define MEMBIO_BENCH_SCENARIO_HPP

#include <membio/credentials.hpp>

#include <map>
#include <string>

namespace membio::bench {

enum class Version { tls1_2, tls1_3 };

/// The record cipher. With TLS 1.2 only AES-128-GCM is used, as
/// ECDHE-ECDSA-AES128-GCM-SHA256.
enum class Cipher { aes_128_gcm, aes_256_gcm, chacha20_poly1305 };

/// The key exchange is always X25519. The server's certificate and the
/// authority that signs it share a key type, so the client verifies two
/// signatures of that type: the handshake's and the certificate's.
struct Scenario {
  Version version = Version::tls1_3;
  KeyType key_type = KeyType::ec_p256;
  Cipher cipher = Cipher::aes_128_gcm;
};

/// An authority the client trusts and a leaf for "localhost" it issued.
struct Credentials {
  std::string authority_pem;
  std::string chain_pem;
  std::string key_pem;
};

/// The credentials for a key type, made once per run: RSA keys are slow to
/// make.
inline const Credentials& credentials_for(KeyType key_type) {
  static std::map<KeyType, Credentials> made;
  const auto found = made.find(key_type);
  if (found != made.end()) return found->second;

  const CertificateAuthority authority("membio bench CA", key_type);
  CertificateOptions leaf;
  leaf.key_type = key_type;
  const Identity identity = authority.issue(leaf);
  return made[key_type] = {authority.certificate_pem(),
                           identity.certificate_chain_pem,
                           identity.private_key_pem};
}

/// The name every client asks for and verifies.
inline constexpr const char* server_name = "localhost";

/// OpenSSL's name of the TLS 1.3 suite of a cipher.
inline const char* openssl_tls13_suite(Cipher cipher) {
  switch (cipher) {
    case Cipher::aes_128_gcm:
      return "TLS_AES_128_GCM_SHA256";
    case Cipher::aes_256_gcm:
      return "TLS_AES_256_GCM_SHA384";
    case Cipher::chacha20_poly1305:
      return "TLS_CHACHA20_POLY1305_SHA256";
  }
  return "";
}

/// OpenSSL's name of the one TLS 1.2 suite used.
inline constexpr const char* openssl_tls12_suite =
    "ECDHE-ECDSA-AES128-GCM-SHA256";

/// The suite the scenario negotiates, by OpenSSL's name.
inline std::string expected_suite(const Scenario& scenario) {
  return scenario.version == Version::tls1_3
             ? openssl_tls13_suite(scenario.cipher)
             : openssl_tls12_suite;
}

/// The key-exchange groups, by OpenSSL's names. X25519 is the one used;
/// TLS 1.2 also needs P-256 listed, since there the client's groups also
/// say which curves its peer's ECDSA certificate may use.
inline const char* openssl_groups(const Scenario& scenario) {
  return scenario.version == Version::tls1_3 ? "X25519" : "X25519:P-256";
}

/// A short name for tables: "AES-128-GCM".
inline const char* cipher_name(Cipher cipher) {
  switch (cipher) {
    case Cipher::aes_128_gcm:
      return "AES-128-GCM";
    case Cipher::aes_256_gcm:
      return "AES-256-GCM";
    case Cipher::chacha20_poly1305:
      return "ChaCha20-Poly1305";
  }
  return "";
}

}  // namespace membio::bench

#endif  // MEMBIO_BENCH_SCENARIO_HPP
