// The C functions OpenSSL calls back, and the state they reach: per context
// (the user's callbacks) and per channel (what the callbacks observed).
#ifndef MEMBIO_DETAIL_CALLBACKS_HPP
#define MEMBIO_DETAIL_CALLBACKS_HPP

#include <array>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "../hooks.hpp"
#include "../limits.hpp"
#include "../ticket_key.hpp"
#include "handle.hpp"
#include "openssl.hpp"

namespace membio::detail {

/// A SHA-256 digest: fingerprints and public-key pins.
using Sha256 = std::array<unsigned char, 32>;

/// A certificate, its key and its chain, as a server presents them.
struct ServedIdentity {
  X509Handle leaf;
  PkeyHandle key;
  OwningX509StackHandle chain;  // The intermediates; may be null.
};

/// What a context keeps beside its SSL_CTX. It lives in the SSL_CTX's
/// ex_data and dies with it, so channels that outlive their Context still
/// reach it.
struct ContextState {
  Limits limits;
  bool coalesce_writes = true;
  VerifyCallback verify_callback;

  std::vector<Sha256> pins;  // Accepted public keys; empty means no pinning.
  bool pins_replace_chain = false;  // Pins alone decide, not the chain.

  // Answers a client's server name: SSL_TLSEXT_ERR_OK to go on (after
  // switching the SSL_CTX if it wants), or an alert to refuse.
  std::function<int(SSL*, std::string_view)> server_name_callback;

  // Server: the complete identities its SSL_CTX holds, one per key type,
  // for other contexts' server name callbacks to adopt. Reading them from
  // the SSL_CTX itself would mean moving its current certificate, which
  // handshakes on other threads read at the same time.
  std::vector<ServedIdentity> identities;

  std::vector<std::string> alpn_preference;  // Server: its order of choice.
  bool alpn_refuse_mismatch = true;

  std::function<bool(std::string_view server_name)> early_data_callback;

  // Server: the TLS 1.3 ticket count disable_resumption replaced with 0,
  // for use_session_cache to put back; empty once the count is set again.
  std::optional<std::size_t> ticket_count_before_disable;

  KeyLogCallback key_log;
  MessageCallback message_trace;

  // Ticket keys change while other threads' handshakes read them.
  std::shared_mutex ticket_lock;
  std::vector<TicketKey> ticket_keys;  // The first one encrypts.
};

/// What OpenSSL's callbacks observed on one channel; the channel points its
/// SSL's app data here.
struct ChannelNotes {
  std::string callback_failure;
  int alert = -1;  // Level in the high byte, description in the low one.
  bool alert_sent = false;
  unsigned key_updates_received = 0;
};

// The text OpenSSL 3.0 lacks for a few TLS 1.3 alerts.
inline const char* alert_text(int alert) noexcept {
  switch (alert & 0xff) {
    case 86:
      return "inappropriate fallback";
    case 109:
      return "missing extension";
    case 116:
      return "certificate required";
    default:
      return SSL_alert_desc_string_long(alert);
  }
}

inline void free_context_state(void*, void* state, CRYPTO_EX_DATA*, int, long,
                               void*) {
  delete static_cast<ContextState*>(state);
}

inline int context_state_index() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr, &free_context_state);
  return index;
}

inline ContextState* context_state(const SSL_CTX* context) noexcept {
  return static_cast<ContextState*>(
      SSL_CTX_get_ex_data(context, context_state_index()));
}

inline ContextState* context_state_of(const SSL* ssl) noexcept {
  return ssl ? context_state(SSL_get_SSL_CTX(ssl)) : nullptr;
}

inline ChannelNotes* channel_notes(const SSL* ssl) noexcept {
  return static_cast<ChannelNotes*>(SSL_get_app_data(ssl));
}

// Runs a user callback. Exceptions must not cross OpenSSL's C frames, so one
// thrown here counts as a refusal and its text is kept for the error
// message of the channel's failing call.
template <class Call>
bool ask_user(const char* what, ChannelNotes* notes, Call call) {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  try {
    return call();
  } catch (const std::exception& thrown) {
    if (notes) {
      notes->callback_failure = std::string(what) + " threw: " + thrown.what();
    }
  } catch (...) {
    if (notes) notes->callback_failure = std::string(what) + " threw";
  }
  return false;
#else
  (void)what;
  (void)notes;
  return call();
#endif
}

// Runs a user callback that only watches the connection. Exceptions must
// not cross OpenSSL's C frames, and a watcher's failure is no reason to end
// the connection it watches, so one thrown here is dropped: it neither
// fails the handshake nor shows in any error message.
template <class Call>
void observe(Call call) noexcept {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  try {
    call();
  } catch (...) {
    return;
  }
#else
  call();
#endif
}

// Applies the public-key pins to one certificate's verdict. With pins on top
// of the chain, the peer's own key must also be pinned; with pins alone,
// only that decides, whatever the chain and the name say.
inline int apply_pins(const ContextState& state, int openssl_accepts,
                      X509_STORE_CTX* store, ChannelNotes* notes) {
  if (state.pins.empty()) return openssl_accepts;

  if (X509_STORE_CTX_get_error_depth(store) > 0) {
    return state.pins_replace_chain ? 1 : openssl_accepts;
  }

  const Sha256 key =
      Certificate(X509_STORE_CTX_get_current_cert(store)).public_key_sha256();
  for (const Sha256& pin : state.pins) {
    if (pin == key) {
      if (state.pins_replace_chain) X509_STORE_CTX_set_error(store, X509_V_OK);
      return state.pins_replace_chain ? 1 : openssl_accepts;
    }
  }

  if (notes) notes->callback_failure = "peer public key is not pinned";
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

// Lets the pins, then the user's verify callback, confirm or override
// OpenSSL's verdict on one certificate of the peer's chain.
inline int verify_trampoline(int openssl_accepts, X509_STORE_CTX* store) {
  const auto* ssl = static_cast<const SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const ContextState* state = context_state_of(ssl);
  if (!state) return openssl_accepts;

  ChannelNotes* notes = channel_notes(ssl);
  const int pinned = apply_pins(*state, openssl_accepts, store, notes);
  if (!state->verify_callback) return pinned;

  const int error = X509_STORE_CTX_get_error(store);
  const VerifyStep step{Certificate(X509_STORE_CTX_get_current_cert(store)),
                        X509_STORE_CTX_get_error_depth(store), pinned == 1,
                        error, X509_verify_cert_error_string(error)};
  if (ask_user("verify callback", notes,
               [&] { return state->verify_callback(step); })) {
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  }

  if (error == X509_V_OK) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    if (notes && notes->callback_failure.empty()) {
      notes->callback_failure = "verify callback rejected the peer";
    }
  }
  return 0;
}

// Records the alerts OpenSSL sends and receives, so that an error message
// can say which alert ended the connection.
inline void info_trampoline(const SSL* ssl, int where, int value) {
  ChannelNotes* notes = channel_notes(ssl);
  if (!notes || !(where & SSL_CB_ALERT)) return;

  notes->alert = value;
  notes->alert_sent = (where & SSL_CB_WRITE) != 0;
}

// Counts the KeyUpdate messages the peer sends, which OpenSSL answers itself
// and has no other way to tell, and hands the messages to the context's
// trace. OpenSSL also reports record headers and TLS 1.3 inner content
// types here, which are not messages, and change_cipher_spec only when
// sent, so those are left out.
inline void message_trampoline(int write_p, int, int content_type,
                               const void* message, std::size_t size, SSL* ssl,
                               void*) {
  // OpenSSL calls this for every record's header too: return before any
  // lookup for what is neither a handshake message nor an alert.
  const bool handshake = content_type == SSL3_RT_HANDSHAKE && size > 0;
  if (!handshake && content_type != SSL3_RT_ALERT) return;

  ChannelNotes* notes = channel_notes(ssl);
  const auto* bytes = static_cast<const unsigned char*>(message);
  if (notes && !write_p && handshake && bytes[0] == SSL3_MT_KEY_UPDATE) {
    ++notes->key_updates_received;
  }

  const ContextState* state = context_state_of(ssl);
  if (!state || !state->message_trace) return;
  const ProtocolMessage traced{write_p != 0, content_type,
                               handshake ? bytes[0] : -1,
                               ConstBytes(message, size)};
  observe([&] { state->message_trace(traced); });
}

inline int server_name_trampoline(SSL* ssl, int* alert, void*) {
  ContextState* state = context_state_of(ssl);
  if (!state || !state->server_name_callback) return SSL_TLSEXT_ERR_OK;

  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  int answer = SSL_TLSEXT_ERR_ALERT_FATAL;
  const bool answered =
      ask_user("server name callback", channel_notes(ssl), [&] {
        answer = state->server_name_callback(ssl, name ? name : "");
        return true;
      });
  if (!answered || answer != SSL_TLSEXT_ERR_OK) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

// Picks the first protocol of the server's preference that the client also
// offered.
inline int alpn_trampoline(SSL* ssl, const unsigned char** selected,
                           unsigned char* selected_size,
                           const unsigned char* offered,
                           unsigned int offered_size, void*) {
  const ContextState* state = context_state_of(ssl);
  if (!state || state->alpn_preference.empty()) return SSL_TLSEXT_ERR_NOACK;

  for (const std::string& wanted : state->alpn_preference) {
    for (unsigned int at = 0; at < offered_size; at += 1u + offered[at]) {
      const unsigned int size = offered[at];
      if (at + 1 + size > offered_size) break;
      if (size == wanted.size() &&
          std::memcmp(offered + at + 1, wanted.data(), size) == 0) {
        *selected = offered + at + 1;
        *selected_size = static_cast<unsigned char>(size);
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return state->alpn_refuse_mismatch ? SSL_TLSEXT_ERR_ALERT_FATAL
                                     : SSL_TLSEXT_ERR_NOACK;
}

inline int early_data_trampoline(SSL* ssl, void*) {
  const ContextState* state = context_state_of(ssl);
  if (!state || !state->early_data_callback) return 0;

  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return ask_user("early data callback", channel_notes(ssl),
                  [&] { return state->early_data_callback(name ? name : ""); })
             ? 1
             : 0;
}

inline void key_log_trampoline(const SSL* ssl, const char* line) {
  const ContextState* state = context_state_of(ssl);
  if (!state || !state->key_log) return;

  observe([&] { state->key_log(line); });
}

inline const TicketKey* find_ticket_key(const std::vector<TicketKey>& keys,
                                        const unsigned char* name) noexcept {
  for (const TicketKey& key : keys) {
    if (std::memcmp(name, key.name.data(), key.name.size()) == 0) return &key;
  }
  return nullptr;
}

// Seals and opens session tickets with the context's own keys: the first
// key encrypts new tickets; any key opens them, and a ticket under an older
// key is renewed. Returns what SSL_CTX_set_tlsext_ticket_key_evp_cb expects.
inline int ticket_key_trampoline(SSL* ssl, unsigned char* name,
                                 unsigned char* iv, EVP_CIPHER_CTX* cipher,
                                 EVP_MAC_CTX* mac, int encrypt) {
  ContextState* state = context_state_of(ssl);
  if (!state) return -1;
  const std::shared_lock<std::shared_mutex> guard(state->ticket_lock);
  if (state->ticket_keys.empty()) return -1;

  const TicketKey* key = &state->ticket_keys.front();
  if (encrypt) {
    std::memcpy(name, key->name.data(), key->name.size());
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
  } else {
    key = find_ticket_key(state->ticket_keys, name);
    if (!key) return 0;  // Unknown key: a full handshake follows.
  }

  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          "key", const_cast<unsigned char*>(key->hmac_key.data()),
          key->hmac_key.size()),
      OSSL_PARAM_construct_utf8_string("digest", digest, 0),
      OSSL_PARAM_construct_end()};
  const int ready = EVP_MAC_CTX_set_params(mac, params) == 1 &&
                    EVP_CipherInit_ex(cipher, EVP_aes_256_cbc(), nullptr,
                                      key->aes_key.data(), iv, encrypt) == 1;
  if (!ready) return -1;

  const bool current = key == &state->ticket_keys.front();
  return encrypt || current ? 1 : 2;
}

}  // namespace membio::detail

#endif  // MEMBIO_DETAIL_CALLBACKS_HPP
