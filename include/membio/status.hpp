// What an operation asks of the caller next, and how far a channel has
// closed.
#ifndef MEMBIO_STATUS_HPP
#define MEMBIO_STATUS_HPP

#include <cstddef>

namespace membio {

/// What the caller must do after an operation. Never an error: errors come
/// through `std::error_code` or `membio::error`.
// clang-format 14 takes the attribute for a name and breaks the enum apart.
// clang-format off
enum class [[nodiscard]] Status {
  /// The operation is complete and no ciphertext waits to be sent.
  done,

  /// The channel needs ciphertext from the peer: `feed` what arrives, then
  /// call the operation again.
  need_input,

  /// Ciphertext waits to be sent: `drain` it to the peer, then call the
  /// operation again.
  send_output,

  /// The peer sent close_notify: no more plaintext will arrive.
  closed,
};
// clang-format on

/// What `read_plaintext` returns: how many bytes it read, and what to do
/// next when it read none.
struct [[nodiscard]] ReadResult {
  /// Plaintext bytes written into the caller's buffer.
  std::size_t size = 0;

  /// `done` when `size` > 0; otherwise `need_input`, `send_output` or
  /// `closed`.
  Status status = Status::need_input;

  /// Whether these bytes are TLS 1.3 early data (0-RTT), which an attacker
  /// may have replayed; see `Context<server>::enable_early_data`.
  bool early_data = false;
};

/// How far a channel has closed.
enum class CloseState {
  /// Neither side has sent close_notify.
  open,

  /// This side sent close_notify; the peer may still send data.
  close_sent,

  /// The peer sent close_notify; this side may still send data.
  close_received,

  /// Both sides sent close_notify: the connection ended cleanly.
  closed,

  /// The transport ended without the peer's close_notify: the data may have
  /// been cut short, so it must not be taken as complete.
  truncated,

  /// A fatal error ended the connection; see `Channel::failure`.
  failed,
};

/// The enumerator's name, e.g. "send_output".
constexpr const char* to_string(Status status) noexcept {
  switch (status) {
    case Status::done:
      return "done";
    case Status::need_input:
      return "need_input";
    case Status::send_output:
      return "send_output";
    case Status::closed:
      return "closed";
  }
  return "unknown";
}

/// The enumerator's name, e.g. "close_sent".
constexpr const char* to_string(CloseState state) noexcept {
  switch (state) {
    case CloseState::open:
      return "open";
    case CloseState::close_sent:
      return "close_sent";
    case CloseState::close_received:
      return "close_received";
    case CloseState::closed:
      return "closed";
    case CloseState::truncated:
      return "truncated";
    case CloseState::failed:
      return "failed";
  }
  return "unknown";
}

}  // namespace membio

#endif  // MEMBIO_STATUS_HPP
