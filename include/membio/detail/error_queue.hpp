// The thread's OpenSSL error queue: emptied around each operation, and read
// into one readable line when an operation fails.
#ifndef MEMBIO_DETAIL_ERROR_QUEUE_HPP
#define MEMBIO_DETAIL_ERROR_QUEUE_HPP

#include <string>
#include <system_error>

#include "../error.hpp"
#include "openssl.hpp"

namespace membio::detail {

/// Empties the thread's error queue when an operation starts and when it
/// ends, so that an entry left by one channel can never turn a harmless
/// "want read" of another into a fatal error.
///
/// Every operation that calls into OpenSSL opens one before its first
/// call. Those that only move bytes between the caller and the channel's
/// queues (feed, drain of sealed bytes, the zero-copy calls, a small write
/// gathered for later) call nothing that reads or fills the error queue,
/// and leave it alone: the two checks cost more than such a call itself.
///
/// ERR_clear_error walks and resets every slot of the queue even when it is
/// empty; a peek first keeps the common case, an empty queue, cheap.
class ErrorQueueScope {
 public:
  ErrorQueueScope() noexcept { clear(); }
  ~ErrorQueueScope() { clear(); }

  ErrorQueueScope(const ErrorQueueScope&) = delete;
  ErrorQueueScope& operator=(const ErrorQueueScope&) = delete;

 private:
  static void clear() noexcept {
    if (ERR_peek_error() != 0) ERR_clear_error();
  }
};

/// Removes, when it ends, whatever OpenSSL queued since it began, and leaves
/// older entries alone. Accessors use it: reading a field of a malformed
/// certificate must not leave errors for the caller's next OpenSSL call, nor
/// erase errors the caller has yet to look at.
class ErrorQueueMark {
 public:
  ErrorQueueMark() noexcept { ERR_set_mark(); }
  ~ErrorQueueMark() { ERR_pop_to_mark(); }

  ErrorQueueMark(const ErrorQueueMark&) = delete;
  ErrorQueueMark& operator=(const ErrorQueueMark&) = delete;
};

/// Wraps one packed OpenSSL code as an error code of the "openssl" category.
inline std::error_code openssl_error(unsigned long code) noexcept {
  return {static_cast<int>(code), openssl_category()};
}

/// Empties the queue, appending each entry to `text` as "reason (library)"
/// with OpenSSL's extra data in brackets; returns the earliest entry, which
/// is the cause, or an empty code when the queue was empty.
inline std::error_code take_openssl_errors(std::string& text) {
  std::error_code earliest;
  const char* data = nullptr;
  int flags = 0;

  while (const unsigned long code =
             ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    if (!earliest) earliest = openssl_error(code);

    if (!text.empty()) text += "; ";
    text += openssl_error(code).message();

    if ((flags & ERR_TXT_STRING) && data && *data) {
      text += " [";
      text += data;
      text += "]";
    }
  }
  return earliest;
}

/// Ends an operation that OpenSSL failed: sets `code` to the earliest queued
/// error (or to `fallback` when OpenSSL queued none) and returns the message
/// "operation: reasons".
inline std::string fail_from_queue(const char* operation, std::error_code& code,
                                   std::error_code fallback) {
  std::string reasons;
  code = take_openssl_errors(reasons);
  if (!code) code = fallback;
  if (reasons.empty()) reasons = code.message();
  return std::string(operation) + ": " + reasons;
}

}  // namespace membio::detail

#endif  // MEMBIO_DETAIL_ERROR_QUEUE_HPP
