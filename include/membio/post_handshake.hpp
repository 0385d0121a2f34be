// Handshake messages on an established connection: TLS 1.3 key updates and
// post-handshake client authentication, TLS 1.2 renegotiation.
#ifndef MEMBIO_POST_HANDSHAKE_HPP
#define MEMBIO_POST_HANDSHAKE_HPP

#include <system_error>

#include "channel.hpp"
#include "context.hpp"
#include "detail/engine.hpp"
#include "error.hpp"
#include "io.hpp"
#include "role.hpp"
#include "status.hpp"

namespace membio {

/// Which keys a TLS 1.3 key update renews.
enum class KeyUpdate {
  /// This side's sending keys only.
  this_side,

  /// This side's, and the peer is asked to renew its own in return.
  both_sides,
};

namespace detail {

// Checks that a post-handshake operation may run now: an established,
// unclosed channel.
inline bool established(ChannelCore* core, const char* operation,
                        std::error_code& code) {
  if (!begin_after_handshake(core, operation, code)) return false;
  if (core->close_requested) {
    refuse(*core, operation, errc::closed, code);
    return false;
  }
  return true;
}

// Sends the handshake message an SSL_* request queued. OpenSSL sends it
// from the next SSL_do_handshake or SSL_write; this is the former.
inline Status send_handshake_message(ChannelCore& core, const char* operation,
                                     std::error_code& code) {
  const int result = SSL_do_handshake(core.ssl.get());
  if (result != 1 && classify(core, operation, result, code) == Step::failed) {
    return Status::closed;
  }
  return progress(core);
}

inline bool is_tls13(const ChannelCore& core) noexcept {
  return SSL_version(core.ssl.get()) == TLS1_3_VERSION;
}

// Checks the states in which OpenSSL would accept a renegotiation request
// yet never finish it, or finish it by failing the connection.
inline bool may_renegotiate(ChannelCore& core, std::error_code& code) {
  SSL* ssl = core.ssl.get();

  // A peer that sent close_notify sends nothing more, so it cannot answer;
  // and a new handshake would make OpenSSL forget that close_notify came.
  if (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) {
    refuse(core, "renegotiate", errc::closed, code,
           "the peer has closed; it will not answer a new handshake");
    return false;
  }

  // A second request made before the first ends would start a handshake
  // that waits for a HelloRequest no one sends.
  if (SSL_renegotiate_pending(ssl) || SSL_in_init(ssl)) {
    refuse(core, "renegotiate", errc::wrong_handshake_state, code,
           "a renegotiation is already running");
    return false;
  }

  // OpenSSL takes application data in the middle of a handshake only
  // inside SSL_read; the handshake step this call makes would meet the
  // unread records and fail the connection with "unexpected record".
  if (!core.incoming.empty() || SSL_has_pending(ssl)) {
    refuse(core, "renegotiate", errc::wrong_handshake_state, code,
           "input fed earlier is still unread; read until read_plaintext "
           "asks for input, then renegotiate");
    return false;
  }
  return true;
}

}  // namespace detail

/// Renews this side's TLS 1.3 traffic keys, and with `both_sides` asks the
/// peer to renew its own; drain and send the KeyUpdate message. The peer's
/// side is handled by its `read_plaintext`, with no call on its part.
///
/// Errors (not fatal): `errc::unsupported_by_version` on TLS 1.2;
/// `errc::wrong_handshake_state` before the handshake; `errc::closed`.
template <Role R>
Status request_key_update(Channel<R>& channel, KeyUpdate which,
                          std::error_code& code) {
  detail::ErrorQueueScope scope;
  detail::ChannelCore* core = detail::ChannelAccess::core(channel);
  if (!detail::established(core, "key update", code)) return Status::closed;
  if (!detail::is_tls13(*core)) {
    detail::refuse(*core, "key update", errc::unsupported_by_version, code,
                   "key updates need TLS 1.3 (TLS 1.2 renegotiates)");
    return Status::closed;
  }

  const int type = which == KeyUpdate::both_sides
                       ? SSL_KEY_UPDATE_REQUESTED
                       : SSL_KEY_UPDATE_NOT_REQUESTED;
  if (SSL_key_update(core->ssl.get(), type) != 1) {
    detail::refuse_from_queue(*core, "key update", code);
    return Status::closed;
  }
  return detail::send_handshake_message(*core, "key update", code);
}

template <Role R>
Status request_key_update(Channel<R>& channel, KeyUpdate which) {
  std::error_code code;
  const Status status = request_key_update(channel, which, code);
  detail::throw_if_failed(channel, "key update", code);
  return status;
}

/// Starts a TLS 1.2 renegotiation: a new handshake inside the connection.
/// Drain and send what it produces; both sides complete it through their
/// usual `read_plaintext` calls, and writes made meanwhile wait in order.
/// Both contexts must have called `enable_renegotiation`; a peer that
/// refuses ends the renegotiation with an alert (the initiator then fails
/// with OpenSSL's "no renegotiation").
///
/// Errors (not fatal): `errc::unsupported_by_version` on TLS 1.3; OpenSSL's
/// "no renegotiation" when this side's context does not allow it;
/// `errc::wrong_handshake_state` while a renegotiation runs or while fed
/// input is unread (read it first); `errc::closed` once the peer has sent
/// close_notify. If the peer closes while a renegotiation this side started
/// is still running, the renegotiation can never end: plaintext written
/// meanwhile, or a close, then fails the channel with `errc::closed` rather
/// than wait for ever.
template <Role R>
Status renegotiate(Channel<R>& channel, std::error_code& code) {
  detail::ErrorQueueScope scope;
  detail::ChannelCore* core = detail::ChannelAccess::core(channel);
  if (!detail::established(core, "renegotiate", code)) return Status::closed;
  if (detail::is_tls13(*core)) {
    detail::refuse(*core, "renegotiate", errc::unsupported_by_version, code,
                   "TLS 1.3 has no renegotiation (it has key updates)");
    return Status::closed;
  }

  if (!detail::may_renegotiate(*core, code)) return Status::closed;

  // Small writes gathered so far leave first, under the current keys,
  // rather than wait behind the new handshake.
  if (!detail::flush_queued(*core, "renegotiate", code)) return Status::closed;

  if (SSL_renegotiate(core->ssl.get()) != 1) {
    detail::refuse_from_queue(*core, "renegotiate", code);
    return Status::closed;
  }
  return detail::send_handshake_message(*core, "renegotiate", code);
}

template <Role R>
Status renegotiate(Channel<R>& channel) {
  std::error_code code;
  const Status status = renegotiate(channel, code);
  detail::throw_if_failed(channel, "renegotiate", code);
  return status;
}

/// Asks an established TLS 1.3 client for its certificate (post-handshake
/// authentication); the client's context must `allow_post_handshake_auth`.
/// Drain and send the request; the client answers from its
/// `read_plaintext`, and the server checks the answer in its own
/// `read_plaintext`, against its trusted roots. Then `peer_certificate()`
/// holds it. With `ClientCertificate::required`, a client that sends none
/// fails the server's read.
///
/// Errors (not fatal): `errc::invalid_argument` for
/// `ClientCertificate::none`, which would ask for nothing;
/// `errc::unsupported_by_version` on TLS 1.2; OpenSSL's "extension not
/// received" when the client does not allow it.
inline Status request_client_certificate(Channel<server>& channel,
                                         ClientCertificate mode,
                                         std::error_code& code) {
  detail::ErrorQueueScope scope;
  detail::ChannelCore* core = detail::ChannelAccess::core(channel);
  const char* operation = "request client certificate";
  if (!detail::established(core, operation, code)) return Status::closed;
  if (mode == ClientCertificate::none) {
    detail::refuse(*core, operation, errc::invalid_argument, code,
                   "ClientCertificate::none requests nothing; use optional "
                   "or required");
    return Status::closed;
  }
  if (!detail::is_tls13(*core)) {
    detail::refuse(*core, operation, errc::unsupported_by_version, code,
                   "post-handshake authentication needs TLS 1.3");
    return Status::closed;
  }

  int verify = SSL_VERIFY_PEER | SSL_VERIFY_POST_HANDSHAKE;
  if (mode == ClientCertificate::required) {
    verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_set_verify(core->ssl.get(), verify, &detail::verify_trampoline);
  if (SSL_verify_client_post_handshake(core->ssl.get()) != 1) {
    detail::refuse_from_queue(*core, operation, code);
    return Status::closed;
  }
  return detail::send_handshake_message(*core, operation, code);
}

inline Status request_client_certificate(Channel<server>& channel,
                                         ClientCertificate mode) {
  std::error_code code;
  const Status status = request_client_certificate(channel, mode, code);
  detail::throw_if_failed(channel, "request client certificate", code);
  return status;
}

}  // namespace membio

#endif  // MEMBIO_POST_HANDSHAKE_HPP
