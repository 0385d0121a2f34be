// Session resumption and early data on the client: keep an established
// session or save it to bytes, restore it into a new channel, send 0-RTT
// data.
#ifndef MEMBIO_SESSION_HPP
#define MEMBIO_SESSION_HPP

#include <algorithm>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bytes.hpp"
#include "certificate.hpp"
#include "channel.hpp"
#include "detail/callbacks.hpp"
#include "detail/engine.hpp"
#include "detail/handle.hpp"
#include "error.hpp"
#include "io.hpp"
#include "status.hpp"

namespace membio {
namespace detail {

using SessionHandle =
    std::unique_ptr<SSL_SESSION, Deleter<SSL_SESSION, SSL_SESSION_free>>;

/// Decodes a session from OpenSSL's encoding; on failure returns null and
/// sets `code` and `message` ("operation: reasons").
inline SessionHandle decode_session(ConstBytes saved, const char* operation,
                                    std::error_code& code,
                                    std::string& message) {
  code.clear();
  const unsigned char* in = saved.data();
  SessionHandle session(
      d2i_SSL_SESSION(nullptr, &in, static_cast<long>(saved.size())));
  if (!session) {
    message = fail_from_queue(operation, code, errc::invalid_argument);
  }
  return session;
}

/// Whether the server's certificate in `session` has the name or address
/// the channel verifies, as `SSL_set1_host` and `X509_VERIFY_PARAM_set1_ip`
/// set them; true when the channel checks neither.
inline bool session_names_match(SSL* ssl, X509* peer) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (const char* host = X509_VERIFY_PARAM_get0_host(param, 0)) {
    return X509_check_host(peer, host, 0,
                           X509_VERIFY_PARAM_get_hostflags(param),
                           nullptr) == 1;
  }

  const OpensslStringHandle address(X509_VERIFY_PARAM_get1_ip_asc(param));
  return !address || X509_check_ip_asc(peer, address.get(), 0) == 1;
}

/// Whether a verifying channel may resume `session`. A resumed handshake
/// verifies nothing, so a session saved for one server would otherwise be
/// taken for another (RFC 8446, 4.6.1): its certificate must have the
/// channel's name, and its key be pinned if the context pins keys. The
/// chain is not verified again: it was when the session was made.
inline bool session_fits(SSL* ssl, const SSL_SESSION* session) {
  if (!(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) return true;

  X509* peer = SSL_SESSION_get0_peer(const_cast<SSL_SESSION*>(session));
  if (!peer || !session_names_match(ssl, peer)) return false;

  const ContextState* state = context_state_of(ssl);
  if (!state || state->pins.empty()) return true;
  const Sha256 key = Certificate(peer).public_key_sha256();
  return std::find(state->pins.begin(), state->pins.end(), key) !=
         state->pins.end();
}

/// Gives the channel, before its handshake, its own copy of `session` to
/// offer: OpenSSL writes to the session it resumes, so channels must not
/// share one.
inline void offer_session(ChannelCore& core, const SSL_SESSION* session,
                          std::error_code& code) {
  if (!SSL_in_before(core.ssl.get())) {
    refuse(core, "restore session", errc::wrong_handshake_state, code,
           "the handshake has already started");
    return;
  }
  if (!SSL_SESSION_is_resumable(session)) {
    refuse(core, "restore session", errc::no_session, code,
           "the session can no longer be resumed");
    return;
  }
  if (!session_fits(core.ssl.get(), session)) {
    refuse(core, "restore session", errc::invalid_argument, code,
           "the session is for another server: its certificate does not "
           "have this channel's name or a pinned key");
    return;
  }

  const SessionHandle copy(SSL_SESSION_dup(session));
  if (!copy || SSL_set_session(core.ssl.get(), copy.get()) != 1) {
    refuse_from_queue(core, "restore session", code);
  }
}

}  // namespace detail

/// A client's session, kept decoded so that offering it to a new channel
/// parses nothing. `current_session` takes it from an established channel;
/// `to_bytes` and `from_bytes` carry it to another process or to storage.
///
/// A session holds the connection's master secret: whoever has it can
/// resume the session as this client and decrypt its early data. Keep it,
/// and its bytes, like a password, and drop them when the session expires.
///
/// Thread safety: a Session never changes once made, and each channel it is
/// restored into gets a copy of its own, so one Session may be restored into
/// channels on many threads at once. Copies are cheap: they share one
/// OpenSSL object, whose count of references is atomic.
class Session {
 public:
  /// An empty session, which `restore_session` refuses.
  Session() noexcept = default;

  /// Decodes bytes that `to_bytes` or `save_session` produced.
  /// Errors: OpenSSL's, for bytes that are not a session.
  static Session from_bytes(ConstBytes saved, std::error_code& code) {
    detail::ErrorQueueScope scope;
    std::string ignored;
    return Session(
        detail::decode_session(saved, "session from bytes", code, ignored));
  }

  static Session from_bytes(ConstBytes saved) {
    detail::ErrorQueueScope scope;
    std::error_code code;
    std::string message;
    Session session(
        detail::decode_session(saved, "session from bytes", code, message));
    detail::throw_if_error(code, message);
    return session;
  }

  Session(const Session& other) noexcept : handle_(share(other.get())) {}
  Session(Session&&) noexcept = default;

  Session& operator=(const Session& other) noexcept {
    handle_.reset(share(other.get()));
    return *this;
  }
  Session& operator=(Session&&) noexcept = default;

  /// The session in OpenSSL's encoding (DER), which `from_bytes` and
  /// `restore_session` take back; empty for an empty session.
  std::vector<unsigned char> to_bytes() const {
    if (!handle_) return {};

    std::vector<unsigned char> bytes(
        static_cast<std::size_t>(i2d_SSL_SESSION(get(), nullptr)));
    unsigned char* out = bytes.data();
    i2d_SSL_SESSION(get(), &out);
    return bytes;
  }

  /// Whether the session holds anything.
  explicit operator bool() const noexcept { return handle_ != nullptr; }

  /// The OpenSSL object, still owned by this session; null when empty. It
  /// is shared by the copies of this session: leave it unchanged.
  const SSL_SESSION* native_handle() const noexcept { return get(); }

 private:
  friend Session current_session(const Channel<client>&, std::error_code&);

  explicit Session(detail::SessionHandle owned) noexcept
      : handle_(std::move(owned)) {}

  SSL_SESSION* get() const noexcept { return handle_.get(); }

  // Takes one more reference to an OpenSSL session, which is counted.
  static SSL_SESSION* share(SSL_SESSION* session) noexcept {
    if (session) SSL_SESSION_up_ref(session);
    return session;
  }

  detail::SessionHandle handle_;
};

/// Takes the client's current session, to offer it to later channels with
/// `restore_session`.
///
/// With TLS 1.3 the session arrives in tickets after the handshake: read
/// from the channel (`read_plaintext`) once the server's tickets are fed,
/// then take it. Errors: `errc::no_session` when nothing is resumable yet.
inline Session current_session(const Channel<client>& channel,
                               std::error_code& code) {
  detail::ErrorQueueScope scope;
  code.clear();
  SSL* ssl = channel.native_handle();
  if (!ssl) {
    code = errc::empty_object;
    return {};
  }

  // A copy: the channel's own session is OpenSSL's to change, and it does
  // (freeing a connection that did not finish marks it not resumable).
  const SSL_SESSION* current = SSL_get0_session(ssl);
  if (!current || !SSL_SESSION_is_resumable(current)) {
    code = errc::no_session;
    return {};
  }

  detail::SessionHandle copy(SSL_SESSION_dup(current));
  if (!copy) code = std::make_error_code(std::errc::not_enough_memory);
  return Session(std::move(copy));
}

inline Session current_session(const Channel<client>& channel) {
  std::error_code code;
  Session session = current_session(channel, code);
  detail::throw_if_error(code, "current session: " + code.message());
  return session;
}

/// Saves the client's current session as bytes that `restore_session`
/// takes back, in this process or another; the same as
/// `current_session(channel).to_bytes()`. The bytes are as secret as the
/// session (see `Session`). Errors: as `current_session`.
inline std::vector<unsigned char> save_session(const Channel<client>& channel,
                                               std::error_code& code) {
  return current_session(channel, code).to_bytes();
}

inline std::vector<unsigned char> save_session(const Channel<client>& channel) {
  std::error_code code;
  std::vector<unsigned char> bytes = save_session(channel, code);
  detail::throw_if_error(code, "save session: " + code.message());
  return bytes;
}

/// Offers a session for the client's handshake, before it starts. The
/// server may still decline; `Channel::resumed()` tells afterwards. A
/// channel that verifies its peer takes only a session whose certificate
/// has its server name (and, if its context pins keys, a pinned key).
/// Errors, none fatal (the channel goes on to a full handshake):
/// `errc::invalid_argument` for an empty session or one for another
/// server; `errc::no_session` for one that can no longer be resumed;
/// `errc::wrong_handshake_state` once the handshake has started.
inline void restore_session(Channel<client>& channel, const Session& session,
                            std::error_code& code) {
  detail::ErrorQueueScope scope;
  detail::ChannelCore* core = detail::ChannelAccess::core(channel);
  if (!detail::begin(core, "restore session", code)) return;
  if (!session) {
    detail::refuse(*core, "restore session", errc::invalid_argument, code,
                   "the session is empty");
    return;
  }
  detail::offer_session(*core, session.native_handle(), code);
}

inline void restore_session(Channel<client>& channel, const Session& session) {
  std::error_code code;
  restore_session(channel, session, code);
  detail::throw_if_failed(channel, "restore session", code);
}

/// Offers a session saved as bytes: decodes them, then as above. Decoding
/// costs more than the rest of offering together (OpenSSL 3.0 decodes the
/// server's public key in it through its providers); to offer a session
/// many times, decode it once with `Session::from_bytes` and restore that.
/// Errors: OpenSSL's for bytes that are not a session, and those above.
inline void restore_session(Channel<client>& channel, ConstBytes saved,
                            std::error_code& code) {
  detail::ErrorQueueScope scope;
  detail::ChannelCore* core = detail::ChannelAccess::core(channel);
  if (!detail::begin(core, "restore session", code)) return;

  const detail::SessionHandle session =
      detail::decode_session(saved, "restore session", code, core->message);
  if (session) detail::offer_session(*core, session.get(), code);
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
