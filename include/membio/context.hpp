// Context<Role>: the configuration many channels share; owns an SSL_CTX.
#ifndef MEMBIO_CONTEXT_HPP
#define MEMBIO_CONTEXT_HPP

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "bytes.hpp"
#include "detail/callbacks.hpp"
#include "detail/error_queue.hpp"
#include "detail/handle.hpp"
#include "detail/openssl.hpp"
#include "error.hpp"
#include "hooks.hpp"
#include "limits.hpp"
#include "role.hpp"
#include "ticket_key.hpp"

namespace membio {

/// A TLS protocol version; membio speaks TLS 1.2 and TLS 1.3.
enum class TlsVersion { tls1_2 = TLS1_2_VERSION, tls1_3 = TLS1_3_VERSION };

/// How a certificate or key file is encoded.
enum class FileFormat { pem = SSL_FILETYPE_PEM, der = SSL_FILETYPE_ASN1 };

/// Whether a server asks clients for a certificate.
enum class ClientCertificate {
  /// Never asks (the default).
  none,

  /// Asks; a client without one is accepted, one with a bad one is not.
  optional,

  /// Asks, and refuses a client that sends none.
  required,
};

/// What a server does when a client's ALPN list and its own share nothing.
enum class AlpnMismatch {
  /// Ends the handshake with the no_application_protocol alert.
  refuse,

  /// Goes on with no application protocol chosen.
  continue_without,
};

/// How public-key pins combine with certificate verification.
enum class PinMode {
  /// The chain and the name must verify, and the peer's key be pinned.
  with_chain,

  /// A pinned key is enough: the chain, its dates and the name are not
  /// checked. For peers known only by their key (self-signed, no name).
  instead_of_chain,
};

/// A password for an encrypted key or a PKCS#12 file: the text itself, or
/// a callable asked for it when it is needed. The copy kept here is wiped
/// when the object dies.
class Password {
 public:
  /// The password itself.
  Password(std::string_view text) : text_(text) {}  // NOLINT: implicit
  Password(const char* text) : text_(text) {}       // NOLINT: implicit

  /// A callable returning the password, asked once per use.
  template <class Ask,
            std::enable_if_t<std::is_invocable_r_v<std::string, Ask&> &&
                                 !std::is_convertible_v<Ask, std::string_view>,
                             int> = 0>
  Password(Ask ask) : ask_(std::move(ask)) {}  // NOLINT: implicit

  Password(const Password&) = delete;
  Password& operator=(const Password&) = delete;
  ~Password() { OPENSSL_cleanse(text_.data(), text_.size()); }

  /// Puts the password, from the text or from the callable, into `out`.
  /// Returns false if the callable threw; `failure()` then says why. Never
  /// throws, since OpenSSL calls it from C.
  bool text(std::string& out) const noexcept {
    failure_.clear();
    if (!ask_) {
      out = text_;
      return true;
    }

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    try {
      out = ask_();
      return true;
    } catch (const std::exception& thrown) {
      failure_ = std::string("password callback threw: ") + thrown.what();
    } catch (...) {
      failure_ = "password callback threw";
    }
    return false;
#else
    out = ask_();
    return true;
#endif
  }

  /// Why the last `text` call failed; empty if it did not.
  const std::string& failure() const noexcept { return failure_; }

 private:
  std::string text_;
  std::function<std::string()> ask_;
  mutable std::string failure_;
};

template <Role R>
class Context;

/// A server's answer to the name a client asked for (SNI).
class ServerNameAnswer {
 public:
  /// Go on with the context the channel was made from.
  static ServerNameAnswer accept() noexcept { return {}; }

  /// Go on with the certificates, keys and chains of `context` instead, as
  /// loaded through its setters, one per key type: the client gets one of
  /// them, never one of the channel's own context. The rest of the
  /// channel's settings (versions, verification, pins, ALPN, tickets) stay
  /// those of the context the channel was made from. `context` must stay
  /// alive while handshakes may pick it.
  static ServerNameAnswer use(const Context<Role::server>& context) noexcept;

  /// Refuse the connection with the unrecognized_name alert.
  static ServerNameAnswer refuse() noexcept {
    ServerNameAnswer answer;
    answer.refuse_ = true;
    return answer;
  }

 private:
  template <Role>
  friend class Context;

  SSL_CTX* switch_to_ = nullptr;
  bool refuse_ = false;
};

/// Chooses a server's answer from the name the client sent, or "" when it
/// sent none. Runs inside the handshake call on the channel's thread.
using ServerNameCallback =
    std::function<ServerNameAnswer(std::string_view server_name)>;

/// Decides whether a server accepts a client's early data (0-RTT), given
/// the name the client sent. See `Context<server>::enable_early_data`. An
/// exception it throws rejects the early data; the handshake goes on
/// without it, and only a failure of that same call mentions the throw.
using EarlyDataCallback = std::function<bool(std::string_view server_name)>;

namespace detail {

// Hands OpenSSL the password of the Password passed as `user`; without one,
// fails, so that OpenSSL never prompts on the terminal. A password longer
// than OpenSSL's buffer fails too instead of being cut.
inline int password_trampoline(char* buffer, int size, int, void* user) {
  std::string text;
  if (!user || !static_cast<const Password*>(user)->text(text)) return -1;

  const bool fits = text.size() <= static_cast<std::size_t>(size);
  if (fits) std::memcpy(buffer, text.data(), text.size());
  OPENSSL_cleanse(text.data(), text.size());
  return fits ? static_cast<int>(text.size()) : -1;
}

// Gives one connection another context's certificates, keys and chains,
// and nothing else of it: verification, ALPN and tickets stay the channel's
// own. OpenSSL keeps one certificate per key type and picks among them by
// what the client accepts, so the channel's own are cleared first: one of a
// type the other context lacks would still be chosen.
inline bool adopt_identity(SSL* ssl, SSL_CTX* other) {
  const ContextState* state = context_state(other);
  if (!state || state->identities.empty()) return false;

  SSL_certs_clear(ssl);
  for (const ServedIdentity& identity : state->identities) {
    if (SSL_use_certificate(ssl, identity.leaf.get()) != 1 ||
        SSL_use_PrivateKey(ssl, identity.key.get()) != 1 ||
        SSL_set1_chain(ssl, identity.chain.get()) != 1) {
      return false;
    }
  }
  return true;
}

// Keeps, for adopt_identity, what OpenSSL now holds for the key type the
// last identity step touched: a complete identity replaces the earlier one
// of that type; half of one (a certificate waiting for its key, or the
// reverse) removes it, as OpenSSL would not present it either. False when
// out of memory.
inline bool remember_identity(SSL_CTX* context) {
  ContextState* state = context_state(context);
  X509* leaf = SSL_CTX_get0_certificate(context);
  EVP_PKEY* key = SSL_CTX_get0_privatekey(context);
  EVP_PKEY* typed = key ? key : X509_get0_pubkey(leaf);
  if (!state || !typed) return true;

  const int type = EVP_PKEY_get_base_id(typed);
  std::vector<ServedIdentity>& identities = state->identities;
  identities.erase(
      std::remove_if(identities.begin(), identities.end(),
                     [type](const ServedIdentity& identity) {
                       return EVP_PKEY_get_base_id(identity.key.get()) == type;
                     }),
      identities.end());
  if (!leaf || !key) return true;

  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(context, &chain);
  OwningX509StackHandle intermediates(chain ? X509_chain_up_ref(chain)
                                            : nullptr);
  if (chain && !intermediates) return false;

  X509_up_ref(leaf);
  EVP_PKEY_up_ref(key);
  identities.push_back(
      {X509Handle(leaf), PkeyHandle(key), std::move(intermediates)});
  return true;
}

// Enables a member function only on one role's class; the first argument is
// the function's own defaulted parameter, so that naming it explicitly
// cannot reach the other role's functions.
template <Role Q, Role Actual, Role Wanted>
using only_for = std::enable_if_t<Q == Actual && Q == Wanted, int>;

// ALPN's wire format: each protocol name prefixed by its length.
inline bool encode_alpn(const std::vector<std::string>& protocols,
                        std::vector<unsigned char>& wire) {
  for (const std::string& protocol : protocols) {
    if (protocol.empty() || protocol.size() > 255) return false;
    wire.push_back(static_cast<unsigned char>(protocol.size()));
    wire.insert(wire.end(), protocol.begin(), protocol.end());
  }
  return !wire.empty();
}

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
  Context() {
    detail::ErrorQueueScope scope;
    std::error_code code;

    context_.reset(SSL_CTX_new(method()));
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
  /// intermediates. A chain whose leaf does not match a private key loaded
  /// before it, still waiting for its certificate, is an error ("key values
  /// mismatch") and changes nothing.
  void use_certificate_chain_pem(std::string_view pem, std::error_code& code) {
    configure_identity(
        "use certificate chain pem", code, [pem](SSL_CTX* context) {
          const detail::BioHandle bio = detail::text_bio(pem);
          return bio && load_chain(context, bio.get(), FileFormat::pem);
        });
  }

  void use_certificate_chain_pem(std::string_view pem) {
    std::error_code code;
    use_certificate_chain_pem(pem, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses a private key in PEM text (PKCS#8 or traditional). When a
  /// certificate is loaded, a key that does not match it is an error. An
  /// encrypted key needs the overload with a password.
  void use_private_key_pem(std::string_view pem, std::error_code& code) {
    load_key_pem(pem, nullptr, code);
  }

  void use_private_key_pem(std::string_view pem) {
    std::error_code code;
    load_key_pem(pem, nullptr, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses an encrypted private key in PEM text; a wrong password fails with
  /// OpenSSL's "bad decrypt".
  void use_private_key_pem(std::string_view pem, const Password& password,
                           std::error_code& code) {
    load_key_pem(pem, &password, code);
  }

  void use_private_key_pem(std::string_view pem, const Password& password) {
    std::error_code code;
    load_key_pem(pem, &password, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses a certificate chain and its private key, both PEM text, and checks
  /// that they belong together. Nothing changes unless both load.
  void use_identity_pem(std::string_view chain_pem, std::string_view key_pem,
                        std::error_code& code) {
    load_identity_pem(chain_pem, key_pem, nullptr, code);
  }

  void use_identity_pem(std::string_view chain_pem, std::string_view key_pem) {
    std::error_code code;
    load_identity_pem(chain_pem, key_pem, nullptr, code);
    detail::throw_if_error(code, message_);
  }

  /// The same with an encrypted key.
  void use_identity_pem(std::string_view chain_pem, std::string_view key_pem,
                        const Password& password, std::error_code& code) {
    load_identity_pem(chain_pem, key_pem, &password, code);
  }

  void use_identity_pem(std::string_view chain_pem, std::string_view key_pem,
                        const Password& password) {
    std::error_code code;
    load_identity_pem(chain_pem, key_pem, &password, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses the certificate, key and chain of a PKCS#12 file's contents (DER),
  /// protected by `password`.
  void use_pkcs12(ConstBytes der, const Password& password,
                  std::error_code& code) {
    configure_identity("use pkcs12", code, [der, &password](SSL_CTX* context) {
      const std::string_view bytes(reinterpret_cast<const char*>(der.data()),
                                   der.size());
      const detail::BioHandle bio = detail::text_bio(bytes);
      return bio && install_pkcs12(context, bio.get(), password);
    });
    note_password_failure(&password);
  }

  void use_pkcs12(ConstBytes der, const Password& password) {
    std::error_code code;
    use_pkcs12(der, password, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses the certificate, key and chain of a PKCS#12 file.
  void use_pkcs12_file(const std::string& path, const Password& password,
                       std::error_code& code) {
    configure_identity(
        ("use pkcs12 file " + path).c_str(), code,
        [&path, &password](SSL_CTX* context) {
          const detail::BioHandle bio(BIO_new_file(path.c_str(), "rb"));
          return bio && install_pkcs12(context, bio.get(), password);
        });
    note_password_failure(&password);
  }

  void use_pkcs12_file(const std::string& path, const Password& password) {
    std::error_code code;
    use_pkcs12_file(path, password, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses a certificate file: with `FileFormat::pem`, a chain (leaf first);
  /// with `FileFormat::der`, the leaf alone, with no intermediates. As with
  /// `use_certificate_chain_pem`, a leaf that does not match a key loaded
  /// before it is an error and changes nothing.
  void use_certificate_chain_file(const std::string& path, FileFormat format,
                                  std::error_code& code) {
    configure_identity(
        ("use certificate file " + path).c_str(), code,
        [&path, format](SSL_CTX* context) {
          const detail::BioHandle bio(BIO_new_file(path.c_str(), "rb"));
          return bio && load_chain(context, bio.get(), format);
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
    load_key_file(path, format, nullptr, code);
  }

  void use_private_key_file(const std::string& path, FileFormat format) {
    std::error_code code;
    load_key_file(path, format, nullptr, code);
    detail::throw_if_error(code, message_);
  }

  /// Uses an encrypted private key file in PEM form, or PKCS#8 DER.
  void use_private_key_file(const std::string& path, FileFormat format,
                            const Password& password, std::error_code& code) {
    load_key_file(path, format, &password, code);
  }

  void use_private_key_file(const std::string& path, FileFormat format,
                            const Password& password) {
    std::error_code code;
    load_key_file(path, format, &password, code);
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
    if (detail::ContextState* state = this->state()) {
      state->verify_callback = std::move(callback);
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

  /// Accepts a peer only if the SHA-256 of its SubjectPublicKeyInfo (see
  /// `Certificate::public_key_sha256`) is one of `pins`: on top of the
  /// chain's verification, or instead of it. An empty list turns pinning
  /// off. A client context applies this to servers; a server context to the
  /// client certificates it requests.
  void pin_public_keys(std::vector<std::array<unsigned char, 32>> pins,
                       PinMode mode) {
    if (detail::ContextState* state = this->state()) {
      state->pins = std::move(pins);
      state->pins_replace_chain = mode == PinMode::instead_of_chain;
    }
  }

  /// Whether channels must be given the server name to verify: a verifying
  /// client whose pins do not replace the chain.
  bool needs_server_name() const noexcept {
    const detail::ContextState* state = this->state();
    return R == Role::client && verifies_peer() && state &&
           !(state->pins_replace_chain && !state->pins.empty());
  }

  /// Lets `callback` answer the server name each client sends (SNI): go on,
  /// switch to another context's certificate, or refuse with the
  /// unrecognized_name alert.
  template <Role Q = R, detail::only_for<Q, R, Role::server> = 0>
  void on_server_name(ServerNameCallback callback) {
    detail::ContextState* state = this->state();
    if (!state) return;

    state->server_name_callback = [callback = std::move(callback)](
                                      SSL* ssl, std::string_view name) {
      const ServerNameAnswer answer = callback(name);
      if (answer.refuse_) return SSL_TLSEXT_ERR_ALERT_FATAL;
      if (answer.switch_to_ &&
          !detail::adopt_identity(ssl, answer.switch_to_)) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
      }
      return SSL_TLSEXT_ERR_OK;
    };
    SSL_CTX_set_tlsext_servername_callback(context_.get(),
                                           &detail::server_name_trampoline);
  }

  /// Asks clients for a certificate, verified against this context's
  /// trusted roots (`trust_pem` and the others).
  template <Role Q = R, detail::only_for<Q, R, Role::server> = 0>
  void request_client_certificate(ClientCertificate mode) noexcept {
    if (!context_) return;

    int verify = SSL_VERIFY_NONE;
    if (mode != ClientCertificate::none) verify = SSL_VERIFY_PEER;
    if (mode == ClientCertificate::required) {
      verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(context_.get(), verify, &detail::verify_trampoline);
  }

  /// Lets servers ask this client for its certificate after the handshake
  /// (TLS 1.3 post-handshake authentication); see
  /// `request_client_certificate(Channel<server>&)`.
  template <Role Q = R, detail::only_for<Q, R, Role::client> = 0>
  void allow_post_handshake_auth() noexcept {
    if (context_) SSL_CTX_set_post_handshake_auth(context_.get(), 1);
  }

  /// A client offers these application protocols (ALPN), most wanted
  /// first, e.g. {"h2", "http/1.1"}. Each name is 1 to 255 bytes.
  template <Role Q = R, detail::only_for<Q, R, Role::client> = 0>
  void set_alpn_protocols(const std::vector<std::string>& protocols,
                          std::error_code& code) {
    std::vector<unsigned char> wire;
    if (!detail::encode_alpn(protocols, wire)) {
      report("set alpn protocols", code, errc::invalid_argument,
             "each protocol name must be 1 to 255 bytes");
      return;
    }

    // SSL_CTX_set_alpn_protos returns 0 on success, unlike its neighbours.
    configure("set alpn protocols", code, [&wire](SSL_CTX* context) {
      return SSL_CTX_set_alpn_protos(context, wire.data(),
                                     static_cast<unsigned>(wire.size())) == 0;
    });
  }

  template <Role Q = R, detail::only_for<Q, R, Role::client> = 0>
  void set_alpn_protocols(const std::vector<std::string>& protocols) {
    std::error_code code;
    set_alpn_protocols(protocols, code);
    detail::throw_if_error(code, message_);
  }

  /// A server chooses, by its own order of preference, the first of these
  /// protocols that the client also offers; `mismatch` says what happens
  /// when there is none. A client that offers no ALPN gets none.
  template <Role Q = R, detail::only_for<Q, R, Role::server> = 0>
  void set_alpn_protocols(std::vector<std::string> preference,
                          AlpnMismatch mismatch = AlpnMismatch::refuse) {
    detail::ContextState* state = this->state();
    if (!state) return;

    state->alpn_preference = std::move(preference);
    state->alpn_refuse_mismatch = mismatch == AlpnMismatch::refuse;
    SSL_CTX_set_alpn_select_cb(context_.get(), &detail::alpn_trampoline,
                               nullptr);
  }

  /// How many TLS 1.3 session tickets a server sends after each full
  /// handshake (OpenSSL's default is 2); 0 sends none.
  template <Role Q = R, detail::only_for<Q, R, Role::server> = 0>
  void set_ticket_count(std::size_t count) noexcept {
    detail::ContextState* state = this->state();
    if (!state) return;

    state->ticket_count_before_disable.reset();
    SSL_CTX_set_num_tickets(context_.get(), count);
  }

  /// Seals session tickets with these keys instead of keys OpenSSL makes
  /// for this context alone, so that several servers, or a restarted one,
  /// accept each other's tickets. The first key seals new tickets; every
  /// key opens them, and a ticket sealed with a later key is renewed. To
  /// rotate, call again with a new key first and the old ones after it;
  /// channels on other threads see the change at their next ticket.
  ///
  /// Limitations: with early data enabled, OpenSSL's replay protection
  /// makes each TLS 1.3 ticket a single-use reference into this context's
  /// own session cache, so servers sharing keys then resume only their own
  /// sessions. Replay protection across servers would need a shared store
  /// of used tickets, which OpenSSL 3.0 cannot consult.
  template <Role Q = R, detail::only_for<Q, R, Role::server> = 0>
  void use_ticket_keys(std::vector<TicketKey> keys, std::error_code& code) {
    detail::ContextState* state = this->state();
    const bool valid = !keys.empty() && std::all_of(keys.begin(), keys.end(),
                                                    [](const TicketKey& key) {
                                                      return key.valid();
                                                    });
    if (!state || !valid) {
      report("use ticket keys", code,
             state ? errc::invalid_argument : errc::empty_object,
             state ? "need at least one key, none all zeros" : "");
      return;
    }

    {
      const std::unique_lock<std::shared_mutex> guard(state->ticket_lock);
      state->ticket_keys = std::move(keys);
    }
    configure("use ticket keys", code, [](SSL_CTX* context) {
      return SSL_CTX_set_tlsext_ticket_key_evp_cb(
                 context, &detail::ticket_key_trampoline) == 1;
    });
  }

  template <Role Q = R, detail::only_for<Q, R, Role::server> = 0>
  void use_ticket_keys(std::vector<TicketKey> keys) {
    std::error_code code;
    use_ticket_keys(std::move(keys), code);
    detail::throw_if_error(code, message_);
  }

  /// Keeps sessions in this context's memory (at most `capacity` of them)
  /// and hands clients only their IDs, instead of sealing the whole session
  /// into a ticket: TLS 1.2 resumes by session ID, TLS 1.3 by a ticket that
  /// is only a reference. Channels resume only through the same Context.
  /// After `disable_resumption`, this turns resumption on again, with the
  /// TLS 1.3 ticket count from before it.
  template <Role Q = R, detail::only_for<Q, R, Role::server> = 0>
  void use_session_cache(std::size_t capacity) noexcept {
    detail::ContextState* state = this->state();
    if (!state) return;

    if (state->ticket_count_before_disable) {
      SSL_CTX_set_num_tickets(context_.get(),
                              *state->ticket_count_before_disable);
      state->ticket_count_before_disable.reset();
    }
    SSL_CTX_set_options(context_.get(), SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(context_.get(), SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(context_.get(), static_cast<long>(capacity));
  }

  /// Turns resumption off: no tickets, no session cache, until
  /// `use_session_cache` turns it on again.
  template <Role Q = R, detail::only_for<Q, R, Role::server> = 0>
  void disable_resumption() noexcept {
    detail::ContextState* state = this->state();
    if (!state) return;

    if (!state->ticket_count_before_disable) {
      state->ticket_count_before_disable =
          SSL_CTX_get_num_tickets(context_.get());
    }
    SSL_CTX_set_options(context_.get(), SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(context_.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(context_.get(), 0);
  }

  /// Lets clients that resume a TLS 1.3 session send up to `max_bytes` of
  /// early data (0-RTT) with their first flight; `accept` decides per
  /// handshake. Off by default. The tickets that allow it are sent after
  /// handshakes made once this is on.
  ///
  /// To keep recorded early data from being replayed, OpenSSL then makes
  /// this context's TLS 1.3 tickets single-use and stateful: a ticket is a
  /// reference into this context's session cache, which the first
  /// resumption with it, with early data or without, removes. So a ticket
  /// resumes once, and only through this Context. Another server context,
  /// even one sharing `use_ticket_keys`, this server after a restart, a
  /// ticket already used (a replay), one pushed out of the full cache, and
  /// one issued before this call all get a full handshake instead, with
  /// the early data rejected; the client writes it again after the
  /// handshake. A client resumes its next connection with the session of
  /// its last one (`current_session`), not with one it saved earlier.
  ///
  /// What this cannot stop: a client whose connection broke may send the
  /// same request again in a new connection, and an attacker who holds back
  /// the server's answer can make it do so. Act on early data only when
  /// doing it twice is harmless (an idempotent read), or defer acting until
  /// `read_plaintext` reports data that is not early
  /// (`ReadResult::early_data` false).
  template <Role Q = R, detail::only_for<Q, R, Role::server> = 0>
  void enable_early_data(std::uint32_t max_bytes, EarlyDataCallback accept) {
    detail::ContextState* state = this->state();
    if (!state) return;

    state->early_data_callback = std::move(accept);
    SSL_CTX_set_max_early_data(context_.get(), max_bytes);
    SSL_CTX_set_recv_max_early_data(context_.get(), max_bytes);
    SSL_CTX_set_allow_early_data_cb(context_.get(),
                                    &detail::early_data_trampoline, nullptr);
  }

  /// Allows TLS 1.2 renegotiation, secure renegotiation (RFC 5746) only:
  /// either side may start one with `renegotiate`. Off by default; TLS 1.3
  /// has none (it has key updates).
  void enable_renegotiation() noexcept {
    if (!context_) return;

    SSL_CTX_clear_options(context_.get(), SSL_OP_NO_RENEGOTIATION);
    if (R == Role::server) {
      SSL_CTX_set_options(context_.get(), SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
    }
  }

  /// Hands each handshake's secrets to `callback` as NSS key log lines,
  /// for Wireshark; an empty callback turns it off. See `KeyLogCallback`:
  /// these lines decrypt the traffic.
  void on_key_log(KeyLogCallback callback) {
    detail::ContextState* state = this->state();
    if (!state) return;

    const bool enabled = static_cast<bool>(callback);
    state->key_log = std::move(callback);
    SSL_CTX_set_keylog_callback(
        context_.get(), enabled ? &detail::key_log_trampoline : nullptr);
  }

  /// Hands `callback` each handshake message and alert that channels of
  /// this context send or receive, as OpenSSL's message callback reports
  /// them; an empty callback turns it off. See `MessageCallback`.
  void on_message(MessageCallback callback) {
    if (detail::ContextState* state = this->state()) {
      state->message_trace = std::move(callback);
    }
  }

  /// Bounds what each channel made from now on may buffer; see `Limits`
  /// for each bound and its default. Channels made earlier keep theirs.
  void set_limits(const Limits& limits) noexcept {
    detail::ContextState* state = this->state();
    if (!state) return;

    state->limits = limits;
    SSL_CTX_set_max_cert_list(context_.get(),
                              static_cast<long>(limits.max_certificate_chain));
  }

  /// Whether channels made from now on gather small writes into shared
  /// records (on by default); see `write_plaintext`. Off, every write is
  /// sealed at once into records of its own, for callers that need one
  /// record per message; `flush` does that for one write at a time.
  void set_write_coalescing(bool enabled) noexcept {
    if (detail::ContextState* state = this->state()) {
      state->coalesce_writes = enabled;
    }
  }

  /// Whether channels made from now on gather small writes.
  bool coalesces_writes() const noexcept {
    const detail::ContextState* state = this->state();
    return !state || state->coalesce_writes;
  }

  /// The bounds channels made from now on get.
  Limits limits() const noexcept {
    const detail::ContextState* state = this->state();
    return state ? state->limits : Limits{};
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
  detail::ContextState* state() const noexcept {
    return context_ ? detail::context_state(context_.get()) : nullptr;
  }

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

    // A write held back by a renegotiation is retried from the queue, whose
    // storage may have moved by then.
    SSL_CTX_set_mode(context, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    const int verify = R == Role::client ? SSL_VERIFY_PEER : SSL_VERIFY_NONE;
    SSL_CTX_set_verify(context, verify, &detail::verify_trampoline);

    // A server that verifies clients must name its sessions' context, or
    // OpenSSL refuses to resume them.
    if (R == Role::server) {
      static const unsigned char id[] = "membio";
      SSL_CTX_set_session_id_context(context, id, sizeof id - 1);
    }
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

  // Runs a step that loads a certificate or a key, then records the
  // identity OpenSSL holds for server name callbacks that switch to this
  // context (see detail::adopt_identity).
  template <class Step>
  void configure_identity(const char* operation, std::error_code& code,
                          Step step) {
    configure(operation, code, [&step](SSL_CTX* context) {
      const bool loaded = step(context);
      return detail::remember_identity(context) && loaded;
    });
  }

  void report(const char* operation, std::error_code& code, errc condition,
              const std::string& detail) {
    code = condition;
    message_ = std::string(operation) + ": " +
               (detail.empty() ? code.message() : detail);
  }

  void load_key_pem(std::string_view pem, const Password* password,
                    std::error_code& code) {
    configure_identity(
        "use private key pem", code, [pem, password](SSL_CTX* context) {
          const detail::BioHandle bio = detail::text_bio(pem);
          return bio &&
                 install_key(context, bio.get(), FileFormat::pem, password);
        });
    note_password_failure(password);
  }

  void load_identity_pem(std::string_view chain_pem, std::string_view key_pem,
                         const Password* password, std::error_code& code) {
    configure_identity("use identity pem", code,
                       [chain_pem, key_pem, password](SSL_CTX* context) {
                         return install_identity(context, chain_pem, key_pem,
                                                 password);
                       });
    note_password_failure(password);
  }

  // A password callback's exception cannot cross OpenSSL; it is reported in
  // the message of the load it failed.
  void note_password_failure(const Password* password) {
    if (password && !password->failure().empty() && !message_.empty()) {
      message_ += "; " + password->failure();
    }
  }

  void load_key_file(const std::string& path, FileFormat format,
                     const Password* password, std::error_code& code) {
    configure_identity(
        ("use private key file " + path).c_str(), code,
        [&path, format, password](SSL_CTX* context) {
          const detail::BioHandle bio(BIO_new_file(path.c_str(), "rb"));
          return bio && install_key(context, bio.get(), format, password);
        });
    note_password_failure(password);
  }

  static detail::PkeyHandle read_key(BIO* bio, FileFormat format,
                                     const Password* password) {
    if (format == FileFormat::pem) {
      return detail::PkeyHandle(
          PEM_read_bio_PrivateKey(bio, nullptr, &detail::password_trampoline,
                                  const_cast<Password*>(password)));
    }

    // DER may be a plain key or an encrypted PKCS#8 one.
    detail::PkeyHandle key(d2i_PrivateKey_bio(bio, nullptr));
    if (key || !password) return key;
    (void)BIO_reset(bio);
    ERR_clear_error();
    return detail::PkeyHandle(
        d2i_PKCS8PrivateKey_bio(bio, nullptr, &detail::password_trampoline,
                                const_cast<Password*>(password)));
  }

  // Installs a key once it is known to match the loaded certificate, if
  // any. OpenSSL compares a key only with a certificate of the same type,
  // so an RSA key would slip past an EC certificate without this check.
  static bool install_key(SSL_CTX* context, BIO* bio, FileFormat format,
                          const Password* password) {
    const detail::PkeyHandle key = read_key(bio, format, password);
    if (!key) return false;

    X509* leaf = SSL_CTX_get0_certificate(context);
    if (leaf && X509_check_private_key(leaf, key.get()) != 1) return false;
    return SSL_CTX_use_PrivateKey(context, key.get()) == 1;
  }

  // Reads the key and every certificate, checks that they belong together,
  // and only then installs them, so that a failure changes nothing.
  static bool install_identity(SSL_CTX* context, std::string_view chain_pem,
                               std::string_view key_pem,
                               const Password* password) {
    std::vector<detail::X509Handle> certificates;
    if (!read_certificates(chain_pem, certificates)) return false;

    const detail::BioHandle key_bio = detail::text_bio(key_pem);
    const detail::PkeyHandle key =
        key_bio ? read_key(key_bio.get(), FileFormat::pem, password) : nullptr;
    if (!key ||
        X509_check_private_key(certificates.front().get(), key.get()) != 1) {
      return false;
    }
    return install_certificates(context, certificates) &&
           SSL_CTX_use_PrivateKey(context, key.get()) == 1;
  }

  static bool install_pkcs12(SSL_CTX* context, BIO* bio,
                             const Password& password) {
    const detail::Pkcs12Handle bundle(d2i_PKCS12_bio(bio, nullptr));
    if (!bundle) return false;

    EVP_PKEY* raw_key = nullptr;
    X509* raw_leaf = nullptr;
    STACK_OF(X509)* raw_chain = nullptr;
    std::string text;
    if (!password.text(text)) return false;
    const int parsed = PKCS12_parse(bundle.get(), text.c_str(), &raw_key,
                                    &raw_leaf, &raw_chain);
    OPENSSL_cleanse(text.data(), text.size());
    const detail::PkeyHandle key(raw_key);
    const detail::X509Handle leaf(raw_leaf);
    const detail::OwningX509StackHandle chain(raw_chain);

    return parsed == 1 && key && leaf &&
           X509_check_private_key(leaf.get(), key.get()) == 1 &&
           SSL_CTX_use_certificate(context, leaf.get()) == 1 &&
           SSL_CTX_use_PrivateKey(context, key.get()) == 1 &&
           (!chain || SSL_CTX_set1_chain(context, chain.get()) == 1);
  }

  // Reads every certificate of PEM text; false unless there is at least one
  // and the text ends cleanly, so that nothing half-read gets installed.
  static bool read_certificates(BIO* bio,
                                std::vector<detail::X509Handle>& out) {
    while (detail::X509Handle next{
        PEM_read_bio_X509_AUX(bio, nullptr, nullptr, nullptr)}) {
      out.push_back(std::move(next));
    }
    return !out.empty() && detail::pem_ended_cleanly();
  }

  static bool read_certificates(std::string_view pem,
                                std::vector<detail::X509Handle>& out) {
    const detail::BioHandle bio = detail::text_bio(pem);
    return bio && read_certificates(bio.get(), out);
  }

  // Reads a PEM chain, or a DER leaf, and installs it unless its leaf fails
  // to match a key that waits for its certificate.
  static bool load_chain(SSL_CTX* context, BIO* bio, FileFormat format) {
    std::vector<detail::X509Handle> certificates;
    if (format == FileFormat::pem) {
      if (!read_certificates(bio, certificates)) return false;
    } else {
      detail::X509Handle leaf(d2i_X509_bio(bio, nullptr));
      if (!leaf) return false;
      certificates.push_back(std::move(leaf));
    }

    return matches_waiting_key(context, certificates.front().get()) &&
           install_certificates(context, certificates);
  }

  // A key loaded before any certificate of its type waits for one. OpenSSL
  // would silently drop it for a leaf that does not match it, and the
  // failure would only show at the first handshake.
  static bool matches_waiting_key(SSL_CTX* context, X509* leaf) {
    EVP_PKEY* key = SSL_CTX_get0_privatekey(context);
    if (!key || SSL_CTX_get0_certificate(context)) return true;

    if (X509_check_private_key(leaf, key) == 1) return true;
    ERR_add_error_data(1,
                       "the private key loaded before does not match "
                       "this certificate");
    return false;
  }

  // Installs a leaf and the intermediates after it.
  static bool install_certificates(
      SSL_CTX* context, const std::vector<detail::X509Handle>& certificates) {
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

inline ServerNameAnswer ServerNameAnswer::use(
    const Context<Role::server>& context) noexcept {
  ServerNameAnswer answer;
  answer.switch_to_ = context.native_handle();
  answer.refuse_ = answer.switch_to_ == nullptr;
  return answer;
}

}  // namespace membio

#endif  // MEMBIO_CONTEXT_HPP
