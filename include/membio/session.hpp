// Session resumption and early data on the client: save an established
// session to bytes, restore it into a new channel, send 0-RTT data.
#ifndef MEMBIO_SESSION_HPP
#define MEMBIO_SESSION_HPP

#include <system_error>
#include <vector>

#include "bytes.hpp"
#include "channel.hpp"
#include "detail/engine.hpp"
#include "detail/handle.hpp"
#include "error.hpp"
#include "io.hpp"
#include "status.hpp"

namespace membio {
namespace detail {

using SessionHandle =
    std::unique_ptr<SSL_SESSION, Deleter<SSL_SESSION, SSL_SESSION_free>>;

}  // namespace detail

/// Saves the client's current session as bytes that `restore_session`
/// takes back, in this process or another.
///
/// The bytes hold the session's master secret: whoever has them can
/// resume the session as this client and decrypt its early data. Store
/// them like a password, and drop them when the session expires.
///
/// With TLS 1.3 the session arrives in tickets after the handshake: read
/// from the channel (`read_plaintext`) once the server's tickets are fed,
/// then save. Errors: `errc::no_session` when nothing is resumable yet.
inline std::vector<unsigned char> save_session(const Channel<client>& channel,
                                               std::error_code& code) {
  detail::ErrorQueueScope scope;
  code.clear();
  SSL* ssl = channel.native_handle();
  if (!ssl) {
    code = errc::empty_object;
    return {};
  }

  const detail::SessionHandle session(SSL_get1_session(ssl));
  if (!session || !SSL_SESSION_is_resumable(session.get())) {
    code = errc::no_session;
    return {};
  }

  std::vector<unsigned char> bytes(
      static_cast<std::size_t>(i2d_SSL_SESSION(session.get(), nullptr)));
  unsigned char* out = bytes.data();
  i2d_SSL_SESSION(session.get(), &out);
  return bytes;
}

inline std::vector<unsigned char> save_session(const Channel<client>& channel) {
  std::error_code code;
  std::vector<unsigned char> bytes = save_session(channel, code);
  detail::throw_if_error(code, "save session: " + code.message());
  return bytes;
}

/// Offers a saved session for the client's handshake, before it starts.
/// The server may still decline; `Channel::resumed()` tells afterwards.
/// Errors: OpenSSL's for bytes that are not a session;
/// `errc::wrong_handshake_state` once the handshake has started.
inline void restore_session(Channel<client>& channel, ConstBytes saved,
                            std::error_code& code) {
  detail::ErrorQueueScope scope;
  detail::ChannelCore* core = detail::ChannelAccess::core(channel);
  if (!detail::begin(core, "restore session", code)) return;
  if (!SSL_in_before(core->ssl.get())) {
    detail::refuse(*core, "restore session", errc::wrong_handshake_state, code,
                   "the handshake has already started");
    return;
  }

  const unsigned char* in = saved.data();
  const detail::SessionHandle session(
      d2i_SSL_SESSION(nullptr, &in, static_cast<long>(saved.size())));
  if (!session || SSL_set_session(core->ssl.get(), session.get()) != 1) {
    detail::refuse_from_queue(*core, "restore session", code);
  }
}

inline void restore_session(Channel<client>& channel, ConstBytes saved) {
  std::error_code code;
  restore_session(channel, saved, code);
  detail::throw_if_failed(channel, "restore session", code);
}

/// Sends TLS 1.3 early data (0-RTT) with the client's first flight, before
/// the handshake: the channel must have a restored session whose server
/// allows early data. Call it before `handshake`, as often as needed; then
/// drive the handshake as usual. Afterwards `Channel::early_data()` says
/// whether the server took it; if it was rejected, write it again with
/// `write_plaintext`.
///
/// Early data can be replayed by an attacker: send only what is safe to
/// repeat. Errors: OpenSSL's, e.g. when the session allows no early data.
inline Status write_early_plaintext(Channel<client>& channel,
                                    ConstBytes plaintext,
                                    std::error_code& code) {
  detail::ErrorQueueScope scope;
  detail::ChannelCore* core = detail::ChannelAccess::core(channel);
  if (!detail::begin(core, "write early data", code)) return Status::closed;

  std::size_t written = 0;
  if (SSL_write_early_data(core->ssl.get(), plaintext.data(), plaintext.size(),
                           &written) == 1) {
    return detail::progress(*core);
  }

  // Refused before OpenSSL started (no early data allowed) or once the
  // handshake is under way, the channel goes on; refused in the middle
  // (too much early data), OpenSSL has ended the connection with an alert,
  // and so does the channel.
  const bool misplaced =
      core->handshake_done ||
      ERR_GET_REASON(ERR_peek_error()) == ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED;
  if (misplaced) {
    ERR_clear_error();
    detail::refuse(*core, "write early data", errc::wrong_handshake_state, code,
                   "early data goes before the handshake, on a channel "
                   "with a restored session that allows it");
  } else if (SSL_in_before(core->ssl.get())) {
    detail::refuse_from_queue(*core, "write early data", code);
  } else {
    std::error_code cause;
    std::string message =
        detail::describe_failure(*core, "write early data", cause);
    detail::fail(*core, cause ? cause : errc::invalid_argument,
                 std::move(message), code);
  }
  return Status::closed;
}

inline Status write_early_plaintext(Channel<client>& channel,
                                    ConstBytes plaintext) {
  std::error_code code;
  const Status status = write_early_plaintext(channel, plaintext, code);
  detail::throw_if_failed(channel, "write early data", code);
  return status;
}

}  // namespace membio

#endif  // MEMBIO_SESSION_HPP
