// Keying material exported from an established connection, and the channel
// bindings built on it.
#ifndef MEMBIO_EXPORTER_HPP
#define MEMBIO_EXPORTER_HPP

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "bytes.hpp"
#include "channel.hpp"
#include "detail/engine.hpp"
#include "error.hpp"
#include "io.hpp"
#include "role.hpp"

namespace membio {

/// A channel binding type (RFC 5056): a value both ends of one TLS
/// connection share and no other connection has.
enum class ChannelBinding {
  /// RFC 9266: 32 bytes exported with the label "EXPORTER-Channel-Binding"
  /// and an empty context value, as the RFC says. TLS 1.3 treats an empty
  /// context as none; TLS 1.2 does not, and its value is that of
  /// `export_keying_material(channel, label, ConstBytes(), 32)`, not of the
  /// overload without a context. Defined for TLS 1.3, and for TLS 1.2 with
  /// the extended master secret (which OpenSSL negotiates by default) and
  /// with renegotiation off (membio's default).
  tls_exporter,

  /// RFC 5929: the first Finished message of the latest handshake. TLS 1.2
  /// only.
  tls_unique,
};

namespace detail {

// TLS 1.3 derives exported bytes with HKDF-Expand, which yields at most
// 255 hash lengths; TLS 1.2's PRF has no such bound.
inline std::size_t longest_export(SSL* ssl) {
  if (SSL_version(ssl) != TLS1_3_VERSION) return SIZE_MAX / 2;

  const EVP_MD* digest =
      SSL_CIPHER_get_handshake_digest(SSL_get_current_cipher(ssl));
  return digest ? 255 * static_cast<std::size_t>(EVP_MD_get_size(digest)) : 0;
}

inline std::vector<unsigned char> export_material(ChannelCore* core,
                                                  std::string_view label,
                                                  const ConstBytes* context,
                                                  std::size_t length,
                                                  std::error_code& code) {
  ErrorQueueScope scope;
  if (!begin_after_handshake(core, "export keying material", code)) return {};

  const std::size_t most = longest_export(core->ssl.get());
  if (length == 0 || length > most) {
    refuse(*core, "export keying material", errc::invalid_argument, code,
           ("length must be 1 to " + std::to_string(most) + " bytes").c_str());
    return {};
  }

  const std::string name(label);
  std::vector<unsigned char> material(length);
  const int ok = SSL_export_keying_material(
      core->ssl.get(), material.data(), material.size(), name.c_str(),
      name.size(), context ? context->data() : nullptr,
      context ? context->size() : 0, context ? 1 : 0);
  if (ok != 1) {
    refuse_from_queue(*core, "export keying material", code);
    return {};
  }
  return material;
}

// Why a channel binding of `type` is not defined on this connection, or
// null when it is. Without the extended master secret an attacker can make
// two TLS 1.2 connections share their secrets (RFC 7627); with
// renegotiation enabled RFC 9266 leaves tls-exporter undefined, since a
// renegotiation would change what the value binds.
inline const char* binding_undefined(SSL* ssl, ChannelBinding type) {
  if (SSL_version(ssl) == TLS1_3_VERSION) {
    return type == ChannelBinding::tls_unique
               ? "tls-unique is not defined for TLS 1.3"
               : nullptr;
  }

  if (SSL_get_extms_support(ssl) != 1) {
    return "TLS 1.2 without the extended master secret binds nothing "
           "(RFC 7627)";
  }
  if (type == ChannelBinding::tls_exporter &&
      !(SSL_get_options(ssl) & SSL_OP_NO_RENEGOTIATION)) {
    return "tls-exporter is not defined for TLS 1.2 with renegotiation "
           "enabled (RFC 9266)";
  }
  return nullptr;
}

// tls-unique is the first Finished of the latest handshake: the client's
// in a full handshake, the server's in a resumed one.
inline std::vector<unsigned char> first_finished(SSL* ssl) {
  const bool resumed = SSL_session_reused(ssl) == 1;
  const bool ours_first = SSL_is_server(ssl) ? resumed : !resumed;

  unsigned char finished[EVP_MAX_MD_SIZE];
  const std::size_t size =
      ours_first ? SSL_get_finished(ssl, finished, sizeof finished)
                 : SSL_get_peer_finished(ssl, finished, sizeof finished);
  return std::vector<unsigned char>(finished, finished + size);
}

}  // namespace detail

/// Derives `length` bytes of keying material from the connection's secrets
/// (RFC 5705, RFC 8446 section 7.5) with `label` and `context`; the peer
/// derives the same bytes from the same label and context. Labels should be
/// registered ones or start with "EXPERIMENTAL".
///
/// Errors (not fatal): `errc::wrong_handshake_state` before the handshake
/// is done; OpenSSL's for a label or length it refuses.
template <Role R>
std::vector<unsigned char> export_keying_material(const Channel<R>& channel,
                                                  std::string_view label,
                                                  ConstBytes context,
                                                  std::size_t length,
                                                  std::error_code& code) {
  return detail::export_material(detail::ChannelAccess::core(channel), label,
                                 &context, length, code);
}

template <Role R>
std::vector<unsigned char> export_keying_material(const Channel<R>& channel,
                                                  std::string_view label,
                                                  ConstBytes context,
                                                  std::size_t length) {
  std::error_code code;
  std::vector<unsigned char> material =
      export_keying_material(channel, label, context, length, code);
  detail::throw_if_failed(channel, "export keying material", code);
  return material;
}

/// The same with no context at all, which TLS 1.2 tells apart from an
/// empty context (TLS 1.3 does not).
template <Role R>
std::vector<unsigned char> export_keying_material(const Channel<R>& channel,
                                                  std::string_view label,
                                                  std::size_t length,
                                                  std::error_code& code) {
  return detail::export_material(detail::ChannelAccess::core(channel), label,
                                 nullptr, length, code);
}

template <Role R>
std::vector<unsigned char> export_keying_material(const Channel<R>& channel,
                                                  std::string_view label,
                                                  std::size_t length) {
  std::error_code code;
  std::vector<unsigned char> material =
      export_keying_material(channel, label, length, code);
  detail::throw_if_failed(channel, "export keying material", code);
  return material;
}

/// The channel binding value of `type` for this connection.
///
/// Errors (not fatal): `errc::wrong_handshake_state` before the handshake
/// is done; `errc::unsupported_by_version` for tls-unique on TLS 1.3, for
/// either type on TLS 1.2 without the extended master secret, where an
/// attacker can make two connections share the value, and for tls-exporter
/// on TLS 1.2 when this side's context called `enable_renegotiation`.
template <Role R>
std::vector<unsigned char> channel_binding(const Channel<R>& channel,
                                           ChannelBinding type,
                                           std::error_code& code) {
  detail::ErrorQueueScope scope;
  detail::ChannelCore* core = detail::ChannelAccess::core(channel);
  if (!detail::begin_after_handshake(core, "channel binding", code)) return {};

  if (const char* reason = detail::binding_undefined(core->ssl.get(), type)) {
    detail::refuse(*core, "channel binding", errc::unsupported_by_version, code,
                   reason);
    return {};
  }

  if (type == ChannelBinding::tls_unique) {
    return detail::first_finished(core->ssl.get());
  }
  return export_keying_material(channel, "EXPORTER-Channel-Binding",
                                ConstBytes(), 32, code);
}

template <Role R>
std::vector<unsigned char> channel_binding(const Channel<R>& channel,
                                           ChannelBinding type) {
  std::error_code code;
  std::vector<unsigned char> value = channel_binding(channel, type, code);
  detail::throw_if_failed(channel, "channel binding", code);
  return value;
}

}  // namespace membio

#endif  // MEMBIO_EXPORTER_HPP
