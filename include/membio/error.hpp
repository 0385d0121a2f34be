// Error codes: membio's own conditions, OpenSSL's packed codes, the exception.
#ifndef MEMBIO_ERROR_HPP
#define MEMBIO_ERROR_HPP

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

#include "detail/openssl.hpp"

namespace membio {

/// Conditions that membio itself detects, as opposed to OpenSSL's errors.
///
/// The values are part of the API: released ones never change.
enum class errc {
  /// The transport ended before the peer sent close_notify, so the data
  /// received may have been cut short by an attacker or a failure.
  truncated = 1,

  /// The operation needs an open channel, but this one sent close_notify.
  closed = 2,

  /// The object was moved from and owns nothing.
  empty_object = 3,

  /// A client that verifies its peer was given no server name to check.
  no_server_name = 4,

  /// An argument was outside what the operation accepts.
  invalid_argument = 5,

  /// Two channels were pumped, but neither had anything left to send.
  stalled = 6,

  /// A user callback threw or rejected; the message says which.
  callback_failed = 7,

  /// A server context has no certificate or no private key.
  no_certificate = 8,

  /// Ciphertext was fed after `feed_eof` said the input had ended.
  input_ended = 9,

  /// The operation needs a finished handshake, or one not yet started.
  wrong_handshake_state = 10,

  /// The negotiated protocol version does not have this feature.
  unsupported_by_version = 11,

  /// The channel has no session that could be resumed.
  no_session = 12,

  /// Feeding more would pass `Limits::max_incoming_ciphertext`.
  input_limit = 13,

  /// Writing more would pass `Limits::max_outgoing_ciphertext` or
  /// `Limits::max_queued_plaintext`.
  output_limit = 14,

  /// The peer sent close_notify before the handshake finished, so the
  /// connection never opened.
  closed_in_handshake = 15,
};

/// The category of `membio::errc`; its name is "membio".
inline const std::error_category& membio_category() noexcept {
  class Category final : public std::error_category {
   public:
    const char* name() const noexcept override { return "membio"; }

    std::string message(int value) const override {
      switch (static_cast<errc>(value)) {
        case errc::truncated:
          return "connection truncated: transport ended without close_notify";
        case errc::closed:
          return "channel already sent close_notify";
        case errc::empty_object:
          return "object is empty (moved from)";
        case errc::no_server_name:
          return "no server name to verify the peer against";
        case errc::invalid_argument:
          return "invalid argument";
        case errc::stalled:
          return "no progress: neither side has anything to send";
        case errc::callback_failed:
          return "user callback failed";
        case errc::no_certificate:
          return "server context has no certificate or private key";
        case errc::input_ended:
          return "input already ended";
        case errc::wrong_handshake_state:
          return "not possible at this stage of the handshake";
        case errc::unsupported_by_version:
          return "not available in the negotiated protocol version";
        case errc::no_session:
          return "no resumable session";
        case errc::input_limit:
          return "input limit reached: read plaintext before feeding more";
        case errc::output_limit:
          return "output limit reached: drain before writing more";
        case errc::closed_in_handshake:
          return "peer sent close_notify before the handshake finished";
      }
      return "unknown membio error " + std::to_string(value);
    }
  };

  static const Category category;
  return category;
}

/// The category of OpenSSL's packed error codes (from `ERR_get_error`); its
/// name is "openssl" and its messages give OpenSSL's reason and library.
inline const std::error_category& openssl_category() noexcept {
  class Category final : public std::error_category {
   public:
    const char* name() const noexcept override { return "openssl"; }

    std::string message(int value) const override {
      // The reason strings load when OpenSSL initialises; a message asked
      // for before anything else used OpenSSL must not come out as a number.
      OPENSSL_init_ssl(
          OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
          nullptr);
      const auto code =
          static_cast<unsigned long>(static_cast<unsigned int>(value));
      const char* library = ERR_lib_error_string(code);
      std::string text = reason_of(code);
      if (library) text += std::string(" (") + library + ")";
      return text;
    }

   private:
    // A system error carries errno as its reason, which OpenSSL 3.0 does not
    // describe; the C library does.
    static std::string reason_of(unsigned long code) {
      if (ERR_SYSTEM_ERROR(code)) {
        return std::generic_category().message(ERR_GET_REASON(code));
      }

      const char* reason = ERR_reason_error_string(code);
      return reason ? reason : "error " + std::to_string(ERR_GET_REASON(code));
    }
  };

  static const Category category;
  return category;
}

/// Makes an error code of the membio category.
inline std::error_code make_error_code(errc condition) noexcept {
  return {static_cast<int>(condition), membio_category()};
}

/// The exception the throwing overloads raise.
///
/// `code()` is the same error the `std::error_code&` overload reports;
/// `what()` is the whole story: the operation, every entry of OpenSSL's error
/// queue, and the alert or verification failure where there is one, e.g.
/// "handshake: certificate verify failed (SSL routines); verify: hostname
/// mismatch; alert sent: bad certificate".
class error : public std::system_error {
 public:
  error(std::error_code code, const std::string& message)
      : std::system_error(code, message), message_(message) {}

  const char* what() const noexcept override { return message_.what(); }

 private:
  // runtime_error copies without throwing, which an exception must.
  std::runtime_error message_;
};

namespace detail {

/// Raises `membio::error` when `code` holds an error; the throwing overloads
/// end with it. Where exceptions are disabled it aborts instead, so code built
/// without exceptions must use the `std::error_code&` overloads.
inline void throw_if_error(const std::error_code& code,
                           [[maybe_unused]] const std::string& message) {
  if (!code) return;

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  throw error(code, message.empty() ? code.message() : message);
#else
  std::abort();
#endif
}

}  // namespace detail

}  // namespace membio

template <>
struct std::is_error_code_enum<membio::errc> : std::true_type {};

#endif  // MEMBIO_ERROR_HPP
