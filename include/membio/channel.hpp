// Channel<Role>: one TLS connection over two memory buffers; owns the SSL.
#ifndef MEMBIO_CHANNEL_HPP
#define MEMBIO_CHANNEL_HPP

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "certificate.hpp"
#include "context.hpp"
#include "detail/engine.hpp"
#include "detail/error_queue.hpp"
#include "detail/handle.hpp"
#include "detail/openssl.hpp"
#include "error.hpp"
#include "role.hpp"
#include "status.hpp"

namespace membio {

template <Role R>
class Channel;

/// A TLS alert, as the last one sent or received on a channel.
struct Alert {
  /// True if this side sent it, false if the peer did.
  bool sent = false;

  /// True for a fatal alert, which ends the connection; false for a
  /// warning (close_notify is a warning).
  bool fatal = false;

  /// The alert's number (e.g. 42 for bad_certificate).
  int description = 0;

  /// OpenSSL's text for it (e.g. "bad certificate").
  std::string text;
};

/// What became of TLS 1.3 early data (0-RTT) on a channel.
enum class EarlyData {
  /// None was sent (or the server does not take any).
  not_sent,

  /// The client sent some and the server refused it: the server never saw
  /// it, so a client that still wants it delivered must write it again.
  rejected,

  /// The client sent some and the server took it.
  accepted,
};

namespace detail {

/// The name of a signature algorithm's key type, as TLS people say it.
inline std::string signature_type_name(int type) {
  switch (type) {
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_RSA_PSS:
      return "RSA-PSS";
    case EVP_PKEY_EC:
      return "ECDSA";
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_ED448:
      return "Ed448";
    default:
      return OBJ_nid2sn(type);
  }
}

/// Lets the free functions of io.hpp reach a channel's core.
struct ChannelAccess {
  template <Role R>
  static ChannelCore* core(const Channel<R>& channel) noexcept {
    return channel.core_.get();
  }
};

}  // namespace detail

/// One TLS connection that never touches a socket. The caller moves the
/// ciphertext: `feed` gives it what arrived from the peer, `drain` takes
/// what must be sent. `handshake`, `write_plaintext`, `read_plaintext` and
/// `close` (in io.hpp) do the rest and say what is needed next.
///
///     membio::Channel<membio::client> channel(context, "example.com");
///     membio::Status status;
///     while ((status = membio::handshake(channel)) != membio::Status::done) {
///       if (status == membio::Status::send_output) {
///         send_to_peer(membio::drain_all(channel));
///       } else {
///         membio::feed(channel, receive_from_peer());
///       }
///     }
///
/// A channel does no I/O, starts no threads, sets no timers and never
/// retries: the caller's loop does all of that.
///
/// Thread safety: a channel belongs to one thread at a time. Move-only; a
/// moved-from channel is empty and its operations report
/// `errc::empty_object`.
template <Role R>
class Channel {
 public:
  /// Makes a channel from `context`. A client channel made this way sends no
  /// server name; if its context verifies the peer, the handshake fails with
  /// `errc::no_server_name`. Throws `membio::error` when the context is
  /// empty, when a server context has no certificate and key
  /// (`errc::no_certificate`), or when OpenSSL cannot allocate.
  explicit Channel(const Context<R>& context) {
    std::string message;
    const std::error_code code = open(context, message);
    detail::throw_if_error(code, message);
  }

  /// Makes a client channel that sends `server_name` (SNI) and verifies the
  /// server's certificate against it: a DNS name, or an IPv4 or IPv6
  /// address, which is checked against the certificate's IP entries and not
  /// sent. Throws `membio::error` as above, and with
  /// `errc::invalid_argument` for an empty name.
  template <Role Q = R, std::enable_if_t<Q == Role::client, int> = 0>
  Channel(const Context<R>& context, std::string_view server_name) {
    std::string message;
    std::error_code code = open(context, message);
    if (!code) code = set_server_name(server_name, message);
    detail::throw_if_error(code, message);
  }

  /// Makes a channel as the constructor does, without throwing: for code
  /// built without exceptions. Returns no channel, and sets `code`, where
  /// the constructor would throw.
  static std::optional<Channel> make(const Context<R>& context,
                                     std::error_code& code) {
    std::string ignored;
    Channel channel;
    code = channel.open(context, ignored);
    if (code) return std::nullopt;
    return channel;
  }

  template <Role Q = R, std::enable_if_t<Q == Role::client, int> = 0>
  static std::optional<Channel> make(const Context<R>& context,
                                     std::string_view server_name,
                                     std::error_code& code) {
    std::optional<Channel> channel = make(context, code);
    std::string ignored;
    if (channel) code = channel->set_server_name(server_name, ignored);
    if (code) return std::nullopt;
    return channel;
  }

  Channel(Channel&&) noexcept = default;
  Channel& operator=(Channel&&) noexcept = default;

  /// Whether the handshake has finished.
  bool handshake_done() const noexcept {
    return core_ && core_->handshake_done;
  }

  /// How far the connection has closed.
  CloseState close_state() const noexcept {
    return detail::close_state(core_.get());
  }

  /// The fatal error that ended the channel, or an empty code.
  std::error_code failure() const noexcept {
    return core_ ? core_->failure : make_error_code(errc::empty_object);
  }

  /// The message of the last failed operation on this channel, e.g.
  /// "handshake: certificate verify failed (SSL routines); verify: hostname
  /// mismatch; alert sent: bad certificate". Callers of the
  /// `std::error_code&` overloads read the details here.
  std::string last_error_message() const {
    return core_ ? core_->message : std::string();
  }

  /// The negotiated protocol version as OpenSSL names it ("TLSv1.3"), or an
  /// empty string before the handshake is done.
  std::string protocol_version() const {
    return handshake_done() ? SSL_get_version(ssl()) : "";
  }

  /// The negotiated cipher suite as OpenSSL names it
  /// ("TLS_AES_256_GCM_SHA384"), or an empty string before the handshake.
  std::string cipher_suite() const {
    const SSL_CIPHER* cipher =
        handshake_done() ? SSL_get_current_cipher(ssl()) : nullptr;
    return cipher ? SSL_CIPHER_get_name(cipher) : "";
  }

  /// The key-exchange group as OpenSSL 3.0 names it ("x25519", "secp256r1"), or
  /// an empty string before the handshake or when none was used.
  std::string key_exchange_group() const {
    const int group = handshake_done() ? SSL_get_negotiated_group(ssl()) : 0;
    const char* name = group ? SSL_group_to_name(ssl(), group) : nullptr;
    return name ? name : "";
  }

  /// The server name: the one a client sends, or the one a server received;
  /// empty when there is none.
  std::string server_name() const {
    const char* name =
        core_ ? SSL_get_servername(ssl(), TLSEXT_NAMETYPE_host_name) : nullptr;
    return name ? name : "";
  }

  /// The application protocol the server chose (ALPN), e.g. "h2"; empty
  /// when none was.
  std::string alpn_protocol() const {
    const unsigned char* name = nullptr;
    unsigned int size = 0;
    if (core_) SSL_get0_alpn_selected(ssl(), &name, &size);
    return name ? std::string(reinterpret_cast<const char*>(name), size) : "";
  }

  /// Whether the handshake resumed an earlier session.
  bool resumed() const noexcept {
    return handshake_done() && SSL_session_reused(ssl()) == 1;
  }

  /// The algorithm of the peer's handshake signature, as "ECDSA+SHA256",
  /// "RSA-PSS+SHA256" or "Ed25519"; empty when the peer signed nothing
  /// (e.g. a client without a certificate, or a resumed session).
  std::string peer_signature_algorithm() const {
    int type = NID_undef;
    int hash = NID_undef;
    if (!core_ || !SSL_get_peer_signature_type_nid(ssl(), &type)) return "";
    SSL_get_peer_signature_nid(ssl(), &hash);

    const std::string name = detail::signature_type_name(type);
    if (type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448) return name;
    return name + "+" + (hash != NID_undef ? OBJ_nid2sn(hash) : "?");
  }

  /// The last alert sent or received, close_notify included; none before
  /// any alert.
  std::optional<Alert> last_alert() const {
    if (!core_ || core_->alert < 0) return std::nullopt;

    const int value = core_->alert;
    return Alert{core_->alert_sent, (value >> 8) == SSL3_AL_FATAL, value & 0xff,
                 detail::alert_text(value)};
  }

  /// How many TLS 1.3 KeyUpdate messages the peer has sent. OpenSSL answers
  /// one that asks for an update in return with this side's next write.
  unsigned key_updates_received() const noexcept {
    return core_ ? core_->key_updates_received : 0;
  }

  /// Bytes of memory the channel's own buffers hold now: ciphertext fed
  /// and not yet decrypted or sealed and not yet drained, plaintext waiting
  /// to be sealed, early data not yet read. An idle established channel
  /// holds none. OpenSSL's state for the connection comes on top: about
  /// 14 KiB once idle (README, Performance), not counted here.
  std::size_t buffer_memory() const noexcept {
    if (!core_) return 0;
    return core_->incoming.capacity() + core_->outgoing.capacity() +
           core_->queued_plaintext.capacity() +
           core_->early_plaintext.capacity();
  }

  /// What became of early data (0-RTT) on this connection.
  EarlyData early_data() const noexcept {
    switch (core_ ? SSL_get_early_data_status(ssl())
                  : SSL_EARLY_DATA_NOT_SENT) {
      case SSL_EARLY_DATA_ACCEPTED:
        return EarlyData::accepted;
      case SSL_EARLY_DATA_REJECTED:
        return EarlyData::rejected;
      default:
        return EarlyData::not_sent;
    }
  }

  /// The peer's own certificate; empty when it sent none.
  Certificate peer_certificate() const {
    return Certificate(core_ ? SSL_get0_peer_certificate(ssl()) : nullptr);
  }

  /// The peer's chain as verification built it, from the peer's certificate
  /// up to the trusted root; empty when the peer was not verified.
  std::vector<Certificate> verified_chain() const {
    std::vector<Certificate> chain;
    const bool verified = core_ && SSL_get_verify_result(ssl()) == X509_V_OK &&
                          SSL_get0_peer_certificate(ssl()) != nullptr;
    STACK_OF(X509)* stack = verified ? SSL_get0_verified_chain(ssl()) : nullptr;
    for (int index = 0; stack && index < sk_X509_num(stack); ++index) {
      chain.emplace_back(sk_X509_value(stack, index));
    }
    return chain;
  }

  /// The OpenSSL object, still owned by this channel; null when empty.
  /// Changing it behind membio's back voids membio's guarantees.
  SSL* native_handle() const noexcept { return core_ ? ssl() : nullptr; }

  /// Whether this channel owns a connection (false once moved from).
  explicit operator bool() const noexcept { return core_ != nullptr; }

 private:
  friend struct detail::ChannelAccess;

  SSL* ssl() const noexcept { return core_->ssl.get(); }

  Channel() = default;

  // Sets up the channel; on failure returns the error and leaves the
  // channel empty, with `message` saying why.
  std::error_code open(const Context<R>& context, std::string& message) {
    detail::ErrorQueueScope scope;
    SSL_CTX* shared = context.native_handle();
    if (!shared) return refuse(errc::empty_object, "context is empty", message);
    if (R == Role::server && (!SSL_CTX_get0_certificate(shared) ||
                              !SSL_CTX_get0_privatekey(shared))) {
      return refuse(errc::no_certificate,
                    "server context has no certificate or private key",
                    message);
    }

    auto core = std::make_unique<detail::ChannelCore>();
    core->limits = context.limits();
    core->coalesce_writes = context.coalesces_writes();
    core->ssl.reset(SSL_new(shared));
    detail::BioHandle incoming = detail::make_queue_bio(core->incoming);
    detail::BioHandle outgoing = detail::make_queue_bio(core->outgoing);
    if (!core->ssl || !incoming || !outgoing) return openssl_failure(message);

    // SSL_set_bio takes ownership of both BIOs; the queues stay the core's.
    SSL_set_bio(core->ssl.get(), incoming.release(), outgoing.release());

    SSL_set_app_data(core->ssl.get(),
                     static_cast<detail::ChannelNotes*>(core.get()));
    SSL_set_info_callback(core->ssl.get(), &detail::info_trampoline);
    SSL_set_msg_callback(core->ssl.get(), &detail::message_trampoline);
    if (R == Role::client) {
      SSL_set_connect_state(core->ssl.get());
      core->needs_server_name = context.needs_server_name();
    } else {
      SSL_set_accept_state(core->ssl.get());
    }
    core_ = std::move(core);
    return {};
  }

  std::error_code set_server_name(std::string_view name, std::string& message) {
    detail::ErrorQueueScope scope;
    if (name.empty() || name.find('\0') != std::string_view::npos) {
      return refuse(errc::invalid_argument, "server name is empty or has NUL",
                    message);
    }

    const std::string text(name);
    detail::Asn1OctetStringHandle address(a2i_IPADDRESS(text.c_str()));
    const bool ok = address
                        ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl()),
                                                        text.c_str()) == 1
                        : SSL_set_tlsext_host_name(ssl(), text.c_str()) == 1 &&
                              SSL_set1_host(ssl(), text.c_str()) == 1;
    if (!ok) return openssl_failure(message);
    core_->needs_server_name = false;
    return {};
  }

  static std::error_code refuse(errc condition, const char* detail,
                                std::string& message) {
    message = std::string("channel: ") + detail;
    return condition;
  }

  static std::error_code openssl_failure(std::string& message) {
    std::error_code code;
    message = detail::fail_from_queue("channel", code, errc::invalid_argument);
    return code;
  }

  std::unique_ptr<detail::ChannelCore> core_;
};

}  // namespace membio

#endif  // MEMBIO_CHANNEL_HPP
