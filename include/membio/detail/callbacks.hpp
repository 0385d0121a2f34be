// The C functions OpenSSL calls back, and the state they reach: per context
// (the user's callbacks) and per channel (what the callbacks observed).
#ifndef MEMBIO_DETAIL_CALLBACKS_HPP
#define MEMBIO_DETAIL_CALLBACKS_HPP

#include <exception>
#include <string>

#include "../hooks.hpp"
#include "openssl.hpp"

namespace membio::detail {

/// What a context keeps beside its SSL_CTX. It lives in the SSL_CTX's
/// ex_data and dies with it, so channels that outlive their Context still
/// reach it.
struct ContextState {
  VerifyCallback verify_callback;
};

/// What OpenSSL's callbacks observed on one channel; the channel points its
/// SSL's app data here.
struct ChannelNotes {
  std::string callback_failure;
  int alert = -1;  // Level in the high byte, description in the low one.
  bool alert_sent = false;
};

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

inline ChannelNotes* channel_notes(const SSL* ssl) noexcept {
  return static_cast<ChannelNotes*>(SSL_get_app_data(ssl));
}

// Runs the user's verify callback. Exceptions must not cross OpenSSL's C
// frames, so one thrown here rejects the peer and its text is kept for the
// handshake's error message.
inline bool ask_verify_callback(const VerifyCallback& callback,
                                const VerifyStep& step, ChannelNotes* notes) {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  try {
    return callback(step);
  } catch (const std::exception& thrown) {
    if (notes) {
      notes->callback_failure =
          std::string("verify callback threw: ") + thrown.what();
    }
  } catch (...) {
    if (notes) notes->callback_failure = "verify callback threw";
  }
  return false;
#else
  (void)notes;
  return callback(step);
#endif
}

// Lets the user's verify callback confirm or override OpenSSL's verdict on
// one certificate of the peer's chain.
inline int verify_trampoline(int openssl_accepts, X509_STORE_CTX* store) {
  const auto* ssl = static_cast<const SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const ContextState* state =
      ssl ? context_state(SSL_get_SSL_CTX(ssl)) : nullptr;
  if (!state || !state->verify_callback) return openssl_accepts;

  const int error = X509_STORE_CTX_get_error(store);
  const VerifyStep step{Certificate(X509_STORE_CTX_get_current_cert(store)),
                        X509_STORE_CTX_get_error_depth(store),
                        openssl_accepts == 1, error,
                        X509_verify_cert_error_string(error)};

  ChannelNotes* notes = channel_notes(ssl);
  if (ask_verify_callback(state->verify_callback, step, notes)) {
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

}  // namespace membio::detail

#endif  // MEMBIO_DETAIL_CALLBACKS_HPP
