// Context<Role>: the configuration many channels share; owns an SSL_CTX.
#ifndef MEMBIO_CONTEXT_HPP
#define MEMBIO_CONTEXT_HPP

#include <climits>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/callbacks.hpp"
#include "detail/error_queue.hpp"
#include "detail/handle.hpp"
#include "detail/openssl.hpp"
#include "error.hpp"
#include "hooks.hpp"
#include "role.hpp"

namespace membio {

/// A TLS protocol version; membio speaks TLS 1.2 and TLS 1.3.
enum class TlsVersion { tls1_2 = TLS1_2_VERSION, tls1_3 = TLS1_3_VERSION };

/// How a certificate or key file is encoded.
enum class FileFormat { pem = SSL_FILETYPE_PEM, der = SSL_FILETYPE_ASN1 };

namespace detail {

// Passwords are not supported yet, so an encrypted key must fail instead of
// OpenSSL's default of prompting on the terminal.
inline int refuse_password(char*, int, int, void*) { return -1; }

// A memory BIO over caller-owned text; OpenSSL takes the size as an int.
inline BioHandle text_bio(std::string_view text) {
  if (text.size() > INT_MAX) return nullptr;
  return BioHandle(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// True when the last error is the "no start line" that ends every PEM read
// loop; it is then removed so that it does not count as a failure.
inline bool pem_ended_cleanly() noexcept {
  const unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) != ERR_LIB_PEM ||
      ERR_GET_REASON(last) != PEM_R_NO_START_LINE) {
    return false;
  }
  ERR_clear_error();
  return true;
}

}  // namespace detail

/// The configuration that channels of one role share: identity, trusted
/// roots, protocol versions, cipher suites, groups and verification.
///
/// A new client context verifies the server's certificate chain and, through
/// the server name each channel is given, its host name; it trusts no root
/// until told (`trust_pem`, `trust_file`, `trust_directory`,
/// `trust_system_default`). A new server context needs a certificate and key
/// before its channels can handshake. Both allow TLS 1.2 and TLS 1.3 and
/// refuse renegotiation.
///
/// Each setter has a throwing overload (raising `membio::error`) and one
/// reporting through `std::error_code&`; a failed setter leaves the earlier
/// configuration in place.
///
/// Thread safety: configure a context from one thread, then share it freely;
/// channels may be made from it on many threads at once. A channel holds its
/// own reference to the SSL_CTX, so it may outlive the Context. Move-only; a
/// moved-from context is empty and its setters report `errc::empty_object`.
template <Role R>
class Context {
 public:
  /// Makes a context with membio's defaults; throws `membio::error` when
  /// OpenSSL cannot allocate one.
  Context() : context_(SSL_CTX_new(method())) {
    detail::ErrorQueueScope scope;
    std::error_code code;

    if (!context_ || !attach_state()) {
      message_ =
          detail::fail_from_queue("context", code, errc::invalid_argument);
      detail::throw_if_error(code, message_);
    }
    apply_defaults();
  }

  Context(Context&&) noexcept = default;
  Context& operator=(Context&&) noexcept = default;

  /// Uses a certificate chain in PEM text: the leaf first, then any
  /// intermediates. Load the chain before its key: a chain loaded after a
  /// key it does not match makes OpenSSL drop that key.
  void use_certificate_chain_pem(std::string_view pem, std::error_code& code) {
    configure("use certificate chain pem", code,
              [pem](SSL_CTX* context) { return load_chain(context, pem); });
  }

  void use_certificate_chain_pem(std::string_view pem) {
    std::error_code code;
    use_certificate_chain_pem(pem, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses a private key in PEM text (PKCS#8 or traditional, unencrypted).
  /// When a certificate is loaded, a key that does not match it is an error.
  void use_private_key_pem(std::string_view pem, std::error_code& code) {
    configure("use private key pem", code, [pem](SSL_CTX* context) {
      const detail::BioHandle bio = detail::text_bio(pem);
      return bio && install_key(context, bio.get(), FileFormat::pem);
    });
  }

  void use_private_key_pem(std::string_view pem) {
    std::error_code code;
    use_private_key_pem(pem, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses a certificate chain and its private key, both PEM text, and checks
  /// that they belong together.
  void use_identity_pem(std::string_view chain_pem, std::string_view key_pem,
                        std::error_code& code) {
    use_certificate_chain_pem(chain_pem, code);
    if (!code) use_private_key_pem(key_pem, code);
  }

  void use_identity_pem(std::string_view chain_pem, std::string_view key_pem) {
    std::error_code code;
    use_identity_pem(chain_pem, key_pem, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses a certificate file: with `FileFormat::pem`, a chain (leaf first);
  /// with `FileFormat::der`, the leaf alone.
  void use_certificate_chain_file(const std::string& path, FileFormat format,
                                  std::error_code& code) {
    configure(("use certificate file " + path).c_str(), code,
              [&path, format](SSL_CTX* context) {
                return format == FileFormat::pem
                           ? SSL_CTX_use_certificate_chain_file(
                                 context, path.c_str()) == 1
                           : SSL_CTX_use_certificate_file(
                                 context, path.c_str(), SSL_FILETYPE_ASN1) == 1;
              });
  }

  void use_certificate_chain_file(const std::string& path, FileFormat format) {
    std::error_code code;
    use_certificate_chain_file(path, format, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses a private key file in PEM or DER form (unencrypted).
  void use_private_key_file(const std::string& path, FileFormat format,
                            std::error_code& code) {
    configure(("use private key file " + path).c_str(), code,
              [&path, format](SSL_CTX* context) {
                const detail::BioHandle bio(BIO_new_file(path.c_str(), "rb"));
                return bio && install_key(context, bio.get(), format);
              });
  }

  void use_private_key_file(const std::string& path, FileFormat format) {
    std::error_code code;
    use_private_key_file(path, format, code);
    detail::throw_if_error(code, message_);
  }

  /// Trusts the root certificates in PEM text (one or more).
  void trust_pem(std::string_view pem, std::error_code& code) {
    configure("trust pem", code, [pem](SSL_CTX* context) {
      return add_trusted(SSL_CTX_get_cert_store(context), pem);
    });
  }

  void trust_pem(std::string_view pem) {
    std::error_code code;
    trust_pem(pem, code);
    detail::throw_if_error(code, message_);
  }

  /// Trusts the root certificates in a PEM file.
  void trust_file(const std::string& path, std::error_code& code) {
    configure(("trust file " + path).c_str(), code, [&path](SSL_CTX* context) {
      return SSL_CTX_load_verify_file(context, path.c_str()) == 1;
    });
  }

  void trust_file(const std::string& path) {
    std::error_code code;
    trust_file(path, code);
    detail::throw_if_error(code, message_);
  }

  /// Trusts the roots in a directory prepared by `openssl rehash`; OpenSSL
  /// reads the files it needs during each verification.
  void trust_directory(const std::string& path, std::error_code& code) {
    // OpenSSL reads the directory only while verifying; check it now so
    // that a wrong path is reported here and not as an untrusted peer.
    std::error_code missing;
    if (!std::filesystem::is_directory(path, missing)) {
      code =
          missing ? missing : std::make_error_code(std::errc::not_a_directory);
      message_ = "trust directory " + path + ": " + code.message();
      return;
    }

    configure(("trust directory " + path).c_str(), code,
              [&path](SSL_CTX* context) {
                return SSL_CTX_load_verify_dir(context, path.c_str()) == 1;
              });
  }

  void trust_directory(const std::string& path) {
    std::error_code code;
    trust_directory(path, code);
    detail::throw_if_error(code, message_);
  }

  /// Trusts the system's default roots (OpenSSL's default file and
  /// directory, or those named by SSL_CERT_FILE and SSL_CERT_DIR).
  void trust_system_default(std::error_code& code) {
    configure("trust system default", code, [](SSL_CTX* context) {
      return SSL_CTX_set_default_verify_paths(context) == 1;
    });
  }

  void trust_system_default() {
    std::error_code code;
    trust_system_default(code);
    detail::throw_if_error(code, message_);
  }

  /// Limits the protocol versions; the default is TLS 1.2 to TLS 1.3.
  void set_protocol_versions(TlsVersion minimum, TlsVersion maximum,
                             std::error_code& code) {
    if (minimum > maximum) {
      report("set protocol versions", code, errc::invalid_argument,
             "minimum version is above maximum");
      return;
    }

    configure("set protocol versions", code, [=](SSL_CTX* context) {
      return SSL_CTX_set_min_proto_version(context,
                                           static_cast<int>(minimum)) &&
             SSL_CTX_set_max_proto_version(context, static_cast<int>(maximum));
    });
  }

  void set_protocol_versions(TlsVersion minimum, TlsVersion maximum) {
    std::error_code code;
    set_protocol_versions(minimum, maximum, code);
    detail::throw_if_error(code, message_);
  }

  /// Sets the TLS 1.2 cipher list in OpenSSL's syntax, e.g.
  /// "ECDHE-ECDSA-AES128-GCM-SHA256"; wraps `SSL_CTX_set_cipher_list`.
  void set_tls12_ciphers(const std::string& list, std::error_code& code) {
    configure(("set tls12 ciphers " + list).c_str(), code,
              [&list](SSL_CTX* context) {
                return SSL_CTX_set_cipher_list(context, list.c_str()) == 1;
              });
  }

  void set_tls12_ciphers(const std::string& list) {
    std::error_code code;
    set_tls12_ciphers(list, code);
    detail::throw_if_error(code, message_);
  }

  /// Sets the TLS 1.3 cipher suites, colon-separated, e.g.
  /// "TLS_AES_128_GCM_SHA256"; wraps `SSL_CTX_set_ciphersuites`.
  void set_tls13_ciphersuites(const std::string& list, std::error_code& code) {
    configure(("set tls13 ciphersuites " + list).c_str(), code,
              [&list](SSL_CTX* context) {
                return SSL_CTX_set_ciphersuites(context, list.c_str()) == 1;
              });
  }

  void set_tls13_ciphersuites(const std::string& list) {
    std::error_code code;
    set_tls13_ciphersuites(list, code);
    detail::throw_if_error(code, message_);
  }

  /// Sets the key-exchange groups in order of preference, colon-separated,
  /// e.g. "X25519:P-256"; wraps `SSL_CTX_set1_groups_list`.
  void set_groups(const std::string& list, std::error_code& code) {
    configure(("set groups " + list).c_str(), code, [&list](SSL_CTX* context) {
      return SSL_CTX_set1_groups_list(context, list.c_str()) == 1;
    });
  }

  void set_groups(const std::string& list) {
    std::error_code code;
    set_groups(list, code);
    detail::throw_if_error(code, message_);
  }

  /// Calls `callback` for each certificate of the peer's chain with
  /// OpenSSL's verdict, which it may confirm or override. A client context
  /// verifies by default; a server context only sees client certificates it
  /// asked for. An empty callback restores OpenSSL's own verdicts.
  void on_verify(VerifyCallback callback) {
    if (context_) {
      detail::context_state(context_.get())->verify_callback =
          std::move(callback);
    }
  }

  /// Turns off every check of the server's certificate: its chain, its
  /// validity and its host name. Any server, including an attacker in the
  /// middle, is then accepted. For tests and for transports secured
  /// otherwise.
  template <Role Q = R, std::enable_if_t<Q == R && Q == Role::client, int> = 0>
  void insecure_skip_verification() noexcept {
    if (context_) {
      SSL_CTX_set_verify(context_.get(), SSL_VERIFY_NONE,
                         &detail::verify_trampoline);
    }
  }

  /// Whether channels of this context check the peer's certificate.
  bool verifies_peer() const noexcept {
    return context_ &&
           (SSL_CTX_get_verify_mode(context_.get()) & SSL_VERIFY_PEER) != 0;
  }

  /// The message of the last failed setter: the operation and OpenSSL's
  /// reasons, e.g. "trust file ca.pem: No such file or directory (system
  /// library)". Empty after a success.
  const std::string& last_error_message() const noexcept { return message_; }

  /// The OpenSSL object, still owned by this context; null when empty.
  SSL_CTX* native_handle() const noexcept { return context_.get(); }

 private:
  static const SSL_METHOD* method() noexcept {
    return R == Role::client ? TLS_client_method() : TLS_server_method();
  }

  bool attach_state() {
    auto state = std::make_unique<detail::ContextState>();
    if (!SSL_CTX_set_ex_data(context_.get(), detail::context_state_index(),
                             state.get())) {
      return false;
    }
    state.release();  // Now owned by the SSL_CTX, freed with it.
    return true;
  }

  void apply_defaults() noexcept {
    SSL_CTX* context = context_.get();
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION);
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION);

    // Idle channels give their record buffers back to the allocator.
    SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);

    const int verify = R == Role::client ? SSL_VERIFY_PEER : SSL_VERIFY_NONE;
    SSL_CTX_set_verify(context, verify, &detail::verify_trampoline);
  }

  // Runs one OpenSSL configuration step with a clean error queue and turns
  // its failure into `code` and `message_`.
  template <class Step>
  void configure(const char* operation, std::error_code& code, Step step) {
    detail::ErrorQueueScope scope;
    code.clear();
    message_.clear();

    if (!context_) {
      report(operation, code, errc::empty_object, "");
      return;
    }
    if (!step(context_.get())) {
      message_ =
          detail::fail_from_queue(operation, code, errc::invalid_argument);
    }
  }

  void report(const char* operation, std::error_code& code, errc condition,
              const std::string& detail) {
    code = condition;
    message_ = std::string(operation) + ": " +
               (detail.empty() ? code.message() : detail);
  }

  // Reads a key and installs it once it is known to match the certificate,
  // if one is loaded. OpenSSL compares a key only with a certificate of the
  // same type, so an RSA key would slip past an EC certificate without this.
  static bool install_key(SSL_CTX* context, BIO* bio, FileFormat format) {
    const detail::PkeyHandle key(
        format == FileFormat::pem
            ? PEM_read_bio_PrivateKey(bio, nullptr, &detail::refuse_password,
                                      nullptr)
            : d2i_PrivateKey_bio(bio, nullptr));
    if (!key) return false;

    X509* leaf = SSL_CTX_get0_certificate(context);
    if (leaf && X509_check_private_key(leaf, key.get()) != 1) return false;
    return SSL_CTX_use_PrivateKey(context, key.get()) == 1;
  }

  // Reads every certificate of PEM text; false unless there is at least one
  // and the text ends cleanly, so that nothing half-read gets installed.
  static bool read_certificates(std::string_view pem,
                                std::vector<detail::X509Handle>& out) {
    const detail::BioHandle bio = detail::text_bio(pem);
    if (!bio) return false;

    while (detail::X509Handle next{
        PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr)}) {
      out.push_back(std::move(next));
    }
    return !out.empty() && detail::pem_ended_cleanly();
  }

  static bool load_chain(SSL_CTX* context, std::string_view pem) {
    std::vector<detail::X509Handle> certificates;
    if (!read_certificates(pem, certificates)) return false;

    const detail::X509StackHandle chain(sk_X509_new_null());
    if (!chain) return false;
    for (std::size_t index = 1; index < certificates.size(); ++index) {
      if (!sk_X509_push(chain.get(), certificates[index].get())) return false;
    }

    // Both calls take their own references; the handles free ours.
    return SSL_CTX_use_certificate(context, certificates.front().get()) == 1 &&
           SSL_CTX_set1_chain(context, chain.get()) == 1;
  }

  static bool add_trusted(X509_STORE* store, std::string_view pem) {
    std::vector<detail::X509Handle> roots;
    if (!read_certificates(pem, roots)) return false;

    for (const detail::X509Handle& root : roots) {
      if (X509_STORE_add_cert(store, root.get()) != 1) return false;
    }
    return true;
  }

  detail::SslCtxHandle context_;
  std::string message_;
};

}  // namespace membio

#endif  // MEMBIO_CONTEXT_HPP
