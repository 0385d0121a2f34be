// Loopback: a client and a server channel connected in one process, for
// tests, demos and simulations.
#ifndef MEMBIO_LOOPBACK_HPP
#define MEMBIO_LOOPBACK_HPP

#include <algorithm>
#include <cstddef>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "capture.hpp"
#include "channel.hpp"
#include "error.hpp"
#include "io.hpp"
#include "role.hpp"
#include "status.hpp"

namespace membio {

/// Pumps ciphertext between a client and a server channel that live in the
/// same process, the way a network would, until both handshakes finish or
/// one fails; then carries plaintext each way and closes both ends.
///
///     membio::Loopback loopback(client, server);
///     loopback.handshake();
///     std::string got = loopback.send_to_server("ping");
///     loopback.close();
///
/// With a fragment size, ciphertext is delivered in pieces of at most that
/// many bytes, and the receiver's handshake is driven after each piece, as a
/// slow or fragmenting network would make it.
///
/// The loopback refers to the two channels and does not own them; they must
/// outlive it. A pair that stops making progress is reported as
/// `errc::stalled` instead of spinning. `record` keeps a capture of all the
/// ciphertext it moves, for Wireshark.
class Loopback {
 public:
  /// Connects `client` and `server`; `fragment_size` 0 delivers whole
  /// flights.
  Loopback(Channel<client>& client, Channel<server>& server,
           std::size_t fragment_size = 0) noexcept
      : client_(client), server_(server), fragment_size_(fragment_size) {}

  /// Records in `capture` every flight delivered from now on, each whole
  /// and in the order delivered, as the sender's `drain` returned it; the
  /// alert of a failing side too. The caller installs `capture.key_log()`
  /// on a context before the handshake, so that the file can be decrypted,
  /// and closes the capture when done. A failure to record (the file cannot
  /// be written, the capture is closed) fails the loopback call that
  /// delivered the flight, with the capture's error and message.
  ///
  ///     membio::Capture capture("loopback.pcapng");
  ///     client_context.on_key_log(capture.key_log());
  ///     membio::Loopback loopback(client, server);
  ///     loopback.record(capture);
  ///
  /// The loopback refers to the capture and does not own it; it must
  /// outlive the loopback.
  void record(Capture& capture) noexcept { capture_ = &capture; }

  /// Moves all pending ciphertext both ways once; returns how many bytes
  /// moved. Errors are those of `feed`, `handshake`, `drain`, and those of
  /// the capture given to `record`.
  std::size_t shuttle(std::error_code& code) {
    failed_.clear();
    return exchange(code);
  }

  std::size_t shuttle() {
    std::error_code code;
    const std::size_t moved = shuttle(code);
    raise(code);
    return moved;
  }

  /// Runs both handshakes to the end. When one side fails, its alert is
  /// still delivered so that the other side records the failure too; the
  /// first error is reported. `errc::stalled` when neither side can move.
  void handshake(std::error_code& code) {
    failed_.clear();
    for (;;) {
      const Status client_status = step(client_, code);
      if (code) return;
      const Status server_status = step(server_, code);
      if (code) return;

      if (client_status == Status::done && server_status == Status::done) {
        return;
      }
      if (exchange(code) == 0 && !code) {
        code = errc::stalled;
        failed_ = "handshake: " + code.message();
      }
      if (code) return;
    }
  }

  void handshake() {
    std::error_code code;
    handshake(code);
    raise(code);
  }

  /// Writes `plaintext` on the client, delivers it, and returns all that the
  /// server has read since the last `send_to_server`; runs the handshake
  /// first if it is not done. Both sides read, as real peers would.
  std::string send_to_server(ConstBytes plaintext, std::error_code& code) {
    return send(client_, plaintext, server_inbox_, code);
  }

  std::string send_to_server(ConstBytes plaintext) {
    std::error_code code;
    std::string received = send_to_server(plaintext, code);
    raise(code);
    return received;
  }

  /// Writes `plaintext` on the server, delivers it, and returns all that the
  /// client has read since the last `send_to_client`; runs the handshake
  /// first if it is not done. Both sides read, as real peers would.
  std::string send_to_client(ConstBytes plaintext, std::error_code& code) {
    return send(server_, plaintext, client_inbox_, code);
  }

  std::string send_to_client(ConstBytes plaintext) {
    std::error_code code;
    std::string received = send_to_client(plaintext, code);
    raise(code);
    return received;
  }

  /// Closes both ends the orderly way: the client sends close_notify, the
  /// server reads it and answers with its own, and the client reads that.
  /// Afterwards both channels report `CloseState::closed`.
  void close(std::error_code& code) {
    failed_.clear();
    if (closes(client_, code)) closes(server_, code);
  }

  void close() {
    std::error_code code;
    close(code);
    raise(code);
  }

 private:
  // Drives a side's handshake; once it is done, reports `done` even when
  // ciphertext is still pending, since shuttling follows anyway.
  template <Role R>
  Status step(Channel<R>& channel, std::error_code& code) {
    const Status status = membio::handshake(channel, code);
    if (code) {
      note_failure(channel);
      deliver_alert(channel);
    }
    return channel.handshake_done() ? Status::done : status;
  }

  // After one side failed, hands its alert to the other side and lets that
  // side process it, so that both record why the connection ended.
  template <Role R>
  void deliver_alert(Channel<R>& failed) {
    std::error_code ignored;
    if constexpr (R == Role::client) {
      deliver(failed, server_, ignored);
      (void)membio::handshake(server_, ignored);
    } else {
      deliver(failed, client_, ignored);
      (void)membio::handshake(client_, ignored);
    }
  }

  template <Role From, Role To>
  std::size_t deliver(Channel<From>& from, Channel<To>& to,
                      std::error_code& code) {
    const std::vector<unsigned char> flight = drain_all_or_empty(from, code);
    if (!code) record_flight<From>(flight, code);
    const std::size_t piece = fragment_size_
                                  ? fragment_size_
                                  : std::max<std::size_t>(flight.size(), 1);

    for (std::size_t offset = 0; offset < flight.size() && !code;
         offset += piece) {
      const std::size_t size = std::min(piece, flight.size() - offset);
      feed(to, ConstBytes(flight.data() + offset, size), code);
      if (!code && fragment_size_ && !to.handshake_done()) {
        (void)membio::handshake(to, code);
        if (code) deliver_alert(to);
      }
    }
    if (code) note_failure(to);
    return flight.size();
  }

  // Hands a flight to the capture, if there is one, as the direction of
  // its sender; the capture's message explains its failures.
  template <Role From>
  void record_flight(const std::vector<unsigned char>& flight,
                     std::error_code& code) {
    if (!capture_ || flight.empty()) return;

    if constexpr (From == Role::client) {
      capture_->client_to_server(flight, code);
    } else {
      capture_->server_to_client(flight, code);
    }
    if (code && failed_.empty()) failed_ = capture_->last_error_message();
  }

  template <Role R>
  std::vector<unsigned char> drain_all_or_empty(Channel<R>& channel,
                                                std::error_code& code) {
    std::vector<unsigned char> flight;
    drain_into(channel, flight, code);
    return flight;
  }

  template <Role From>
  std::string send(Channel<From>& from, ConstBytes plaintext,
                   std::string& inbox, std::error_code& code) {
    if (!client_.handshake_done() || !server_.handshake_done()) {
      handshake(code);
      if (code) return {};
    }

    failed_.clear();
    (void)write_plaintext(from, plaintext, code);
    if (code) {
      note_failure(from);
      return {};
    }

    while (exchange(code) > 0 && !code && read_both(code)) {
    }
    if (!code) read_both(code);
    return std::exchange(inbox, {});
  }

  // Reads all that both sides can read into their inboxes. Both sides read,
  // as a real program's would, so that handshake messages after the
  // handshake (renegotiation, tickets, key updates) progress on both.
  bool read_both(std::error_code& code) {
    client_status_ = read_plaintext_into(client_, client_inbox_, code);
    if (code) {
      note_failure(client_);
      return false;
    }

    server_status_ = read_plaintext_into(server_, server_inbox_, code);
    if (code) note_failure(server_);
    return !code;
  }

  // The closer sends close_notify and the other side reads until it sees
  // it; returns false on an error. Data read meanwhile stays in the inboxes.
  template <Role From>
  bool closes(Channel<From>& closer, std::error_code& code) {
    (void)membio::close(closer, code);
    if (code) {
      note_failure(closer);
      return false;
    }

    const Status& other =
        From == Role::client ? server_status_ : client_status_;
    for (;;) {
      const std::size_t moved = exchange(code);
      if (code || !read_both(code)) return false;
      if (other == Status::closed) return true;

      if (moved == 0) {
        code = errc::stalled;
        failed_ = "close: " + code.message();
        return false;
      }
    }
  }

  // Moves all pending ciphertext both ways once; returns the bytes moved.
  std::size_t exchange(std::error_code& code) {
    const std::size_t to_server = deliver(client_, server_, code);
    if (code) return to_server;
    return to_server + deliver(server_, client_, code);
  }

  template <Role R>
  void note_failure(const Channel<R>& channel) {
    if (failed_.empty()) failed_ = channel.last_error_message();
  }

  void raise(const std::error_code& code) {
    detail::throw_if_error(code, failed_);
  }

  Channel<client>& client_;
  Channel<server>& server_;
  std::size_t fragment_size_;
  Capture* capture_ = nullptr;  // Of record(); none by default.
  std::string failed_;          // The first failure's message, for what().

  // Plaintext each side has read and no send_to_* has returned yet.
  std::string client_inbox_;
  std::string server_inbox_;
  Status client_status_ = Status::need_input;
  Status server_status_ = Status::need_input;
};

}  // namespace membio

#endif  // MEMBIO_LOOPBACK_HPP
