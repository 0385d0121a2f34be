// The operations on a channel: feed and drain ciphertext, drive the
// handshake, write and read plaintext, close.
#ifndef MEMBIO_IO_HPP
#define MEMBIO_IO_HPP

#include <cstddef>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "bytes.hpp"
#include "channel.hpp"
#include "detail/engine.hpp"
#include "error.hpp"
#include "role.hpp"
#include "status.hpp"

// Any operation may finish the handshake, not only `handshake`: writes,
// reads and `close` drive it as far as the fed input allows, so check
// `Channel::handshake_done()` after each of them, not only after
// `handshake`.
//
// Every operation comes in two overloads: one reports failures through a
// `std::error_code&` and never throws (for code built without exceptions),
// the other throws `membio::error`, whose what() is the channel's
// `last_error_message()`. A fatal error (OpenSSL's, or `errc::truncated`)
// is kept: every later call reports it again, while `drain` still hands out
// the alert OpenSSL queued, so the peer learns why. Each call that reaches
// OpenSSL starts and ends with the thread's OpenSSL error queue empty;
// calls that only move bytes (feed, drain, the zero-copy calls, a small
// write gathered for later) leave the queue alone.

namespace membio {
namespace detail {

template <Role R>
void throw_if_failed(const Channel<R>& channel, const char* operation,
                     const std::error_code& code) {
  if (!code) return;

  const ChannelCore* core = ChannelAccess::core(channel);
  throw_if_error(code, core && !core->message.empty()
                           ? core->message
                           : std::string(operation) + ": " + code.message());
}

}  // namespace detail

/// Gives the channel ciphertext that arrived from the peer: any number of
/// bytes, split anywhere (one byte, part of a record, many records). The
/// bytes are copied; the caller's buffer is free again on return. Nothing is
/// decrypted until the next `handshake` or `read_plaintext`.
///
/// Errors: `errc::input_ended` after `feed_eof` (not fatal); a fatal error
/// reported earlier.
template <Role R>
void feed(Channel<R>& channel, ConstBytes ciphertext, std::error_code& code) {
  detail::feed(detail::ChannelAccess::core(channel), ciphertext, code);
}

template <Role R>
void feed(Channel<R>& channel, ConstBytes ciphertext) {
  std::error_code code;
  feed(channel, ciphertext, code);
  detail::throw_if_failed(channel, "feed", code);
}

/// Tells the channel that the transport has ended: nothing more will
/// arrive. Once the fed bytes are read, `read_plaintext` reports `closed` if
/// the peer had sent close_notify, or `errc::truncated` if not, so that a cut
/// connection is never taken for a complete one.
template <Role R>
void feed_eof(Channel<R>& channel, std::error_code& code) {
  detail::feed_eof(detail::ChannelAccess::core(channel), code);
}

template <Role R>
void feed_eof(Channel<R>& channel) {
  std::error_code code;
  feed_eof(channel, code);
  detail::throw_if_failed(channel, "feed eof", code);
}

/// How many bytes of ciphertext wait to be drained; 0 for an empty channel.
/// Seals the small writes gathered so far (see `write_plaintext`) first.
template <Role R>
std::size_t pending_ciphertext(Channel<R>& channel) {
  return detail::pending_output(detail::ChannelAccess::core(channel));
}

/// Copies up to `buffer.size()` bytes of pending ciphertext into `buffer`
/// and returns how many; those bytes then belong to the caller alone and
/// the channel forgets them. Works after a fatal error, to deliver the alert.
///
/// Errors: `errc::empty_object` for a moved-from channel.
template <Role R>
std::size_t drain(Channel<R>& channel, MutableBytes buffer,
                  std::error_code& code) {
  return detail::drain(detail::ChannelAccess::core(channel), buffer, code);
}

template <Role R>
std::size_t drain(Channel<R>& channel, MutableBytes buffer) {
  std::error_code code;
  const std::size_t size = drain(channel, buffer, code);
  detail::throw_if_failed(channel, "drain", code);
  return size;
}

/// Appends all pending ciphertext to `out` (a std::string, std::vector of
/// bytes, or any resizable contiguous byte container) and returns how many
/// bytes it appended.
template <Role R, class ByteContainer>
std::size_t drain_into(Channel<R>& channel, ByteContainer& out,
                       std::error_code& code) {
  static_assert(detail::is_byte_container_v<ByteContainer>,
                "drain_into needs a contiguous container of bytes");
  const std::size_t old_size = out.size();
  out.resize(old_size + pending_ciphertext(channel));

  const std::size_t size = drain(
      channel, MutableBytes(std::data(out) + old_size, out.size() - old_size),
      code);
  out.resize(old_size + size);
  return size;
}

template <Role R, class ByteContainer>
std::size_t drain_into(Channel<R>& channel, ByteContainer& out) {
  std::error_code code;
  const std::size_t size = drain_into(channel, out, code);
  detail::throw_if_failed(channel, "drain", code);
  return size;
}

/// Returns all pending ciphertext in a new vector.
template <Role R>
std::vector<unsigned char> drain_all(Channel<R>& channel) {
  std::vector<unsigned char> out;
  drain_into(channel, out);
  return out;
}

/// Zero-copy receive, step one: returns writable space for up to `size`
/// bytes inside the channel's input buffer, for the transport to fill
/// (e.g. `recv` into it); then `commit_incoming` says how many it filled.
/// The space may be smaller than asked, never larger than the input limit
/// leaves. It stays valid until `commit_incoming`, or until a call that
/// may read input (anything but `drain`, `drain_into`, `pending_ciphertext`,
/// `outgoing_view` and `consume_outgoing`, which only touch the output, so
/// that a loop may send between the two steps); a commit after such a call
/// fails.
///
/// Errors (not fatal): `errc::input_limit` when the input is full;
/// `errc::input_ended` after `feed_eof`.
template <Role R>
MutableBytes incoming_space(Channel<R>& channel, std::size_t size,
                            std::error_code& code) {
  return detail::incoming_space(detail::ChannelAccess::core(channel), size,
                                code);
}

template <Role R>
MutableBytes incoming_space(Channel<R>& channel, std::size_t size) {
  std::error_code code;
  const MutableBytes space = incoming_space(channel, size, code);
  detail::throw_if_failed(channel, "incoming space", code);
  return space;
}

/// Zero-copy receive, step two: the first `size` bytes of the space the
/// last `incoming_space` returned now hold ciphertext from the peer, as if
/// they had been fed.
///
/// Errors (not fatal): `errc::invalid_argument` when `size` exceeds that
/// space or another call came in between.
template <Role R>
void commit_incoming(Channel<R>& channel, std::size_t size,
                     std::error_code& code) {
  detail::commit_incoming(detail::ChannelAccess::core(channel), size, code);
}

template <Role R>
void commit_incoming(Channel<R>& channel, std::size_t size) {
  std::error_code code;
  commit_incoming(channel, size, code);
  detail::throw_if_failed(channel, "commit incoming", code);
}

/// Zero-copy send, step one: a read-only view of all pending ciphertext,
/// inside the channel, for the transport to send from; then
/// `consume_outgoing` says how much it took. Seals gathered small writes
/// first. The view stays valid until `consume_outgoing` or any other call
/// on this channel, whichever comes first. Works after a fatal error, to
/// deliver the alert.
template <Role R>
ConstBytes outgoing_view(Channel<R>& channel, std::error_code& code) {
  return detail::outgoing_view(detail::ChannelAccess::core(channel), code);
}

template <Role R>
ConstBytes outgoing_view(Channel<R>& channel) {
  std::error_code code;
  const ConstBytes view = outgoing_view(channel, code);
  detail::throw_if_failed(channel, "outgoing view", code);
  return view;
}

/// Zero-copy send, step two: drops the first `size` bytes of the pending
/// ciphertext, which the transport has sent.
///
/// Errors (not fatal): `errc::invalid_argument` when `size` exceeds what is
/// pending.
template <Role R>
void consume_outgoing(Channel<R>& channel, std::size_t size,
                      std::error_code& code) {
  detail::consume_outgoing(detail::ChannelAccess::core(channel), size, code);
}

template <Role R>
void consume_outgoing(Channel<R>& channel, std::size_t size) {
  std::error_code code;
  consume_outgoing(channel, size, code);
  detail::throw_if_failed(channel, "consume outgoing", code);
}

/// Seals the small writes gathered so far into records now, without
/// draining; for a caller that needs each message in records of its own.
/// Returns `send_output` when ciphertext waits.
template <Role R>
Status flush(Channel<R>& channel, std::error_code& code) {
  return detail::flush(detail::ChannelAccess::core(channel), code);
}

template <Role R>
Status flush(Channel<R>& channel) {
  std::error_code code;
  const Status status = flush(channel, code);
  detail::throw_if_failed(channel, "flush", code);
  return status;
}

/// Drives the handshake as far as the fed ciphertext allows and says what
/// to do next: `send_output` (drain, send, call again), `need_input` (feed
/// what arrives, call again), `done`, or `closed` (the peer closed during
/// the handshake). Calling it after the handshake is harmless and reports
/// `send_output` while anything waits to be drained.
///
/// Errors (fatal): OpenSSL's, e.g. "certificate verify failed" with the
/// verification result and the alert sent; `errc::no_server_name`;
/// `errc::truncated`. On error the status is `closed`; drain the alert.
template <Role R>
Status handshake(Channel<R>& channel, std::error_code& code) {
  return detail::handshake(detail::ChannelAccess::core(channel), code);
}

template <Role R>
Status handshake(Channel<R>& channel) {
  std::error_code code;
  const Status status = handshake(channel, code);
  detail::throw_if_failed(channel, "handshake", code);
  return status;
}

/// Writes plaintext of any size; it is all accepted or the call fails.
/// Before the handshake is done the bytes are queued and sealed as soon as
/// it is. After, writes smaller than a record are gathered and sealed
/// together, into as few records as possible, when the caller drains (or
/// calls `flush`, or a write fills a record): many small writes between
/// two drains cost about what one large write does, and the byte stream is
/// the same. `Context::set_write_coalescing(false)` seals each write at
/// once instead. The plaintext is copied. Returns what to do next, usually
/// `send_output`.
///
/// Errors: `errc::closed` after `close` and `errc::output_limit` over the
/// channel's limits (neither fatal, nothing taken); fatal ones from the
/// handshake this call drives.
template <Role R>
Status write_plaintext(Channel<R>& channel, ConstBytes plaintext,
                       std::error_code& code) {
  return detail::write_plaintext(detail::ChannelAccess::core(channel),
                                 plaintext, code);
}

template <Role R>
Status write_plaintext(Channel<R>& channel, ConstBytes plaintext) {
  std::error_code code;
  const Status status = write_plaintext(channel, plaintext, code);
  detail::throw_if_failed(channel, "write", code);
  return status;
}

/// Reads decrypted plaintext into `buffer`, driving the handshake first if
/// needed. Returns the size read with `done`, or 0 with `need_input` ("no
/// data yet", not an error), `send_output`, or `closed` once the peer's
/// close_notify has arrived. Records that carry no data (TLS 1.3 session
/// tickets, key updates, warnings) are consumed silently; their replies, if
/// any, wait in the output. While the undrained output is at the channel's
/// outgoing limit, a read takes no further record and returns
/// `send_output`: a peer that asks for replies (key updates) and never
/// takes them cannot grow the output without end. After this side's
/// close_notify nothing more is sent: OpenSSL's answers are dropped.
///
/// Errors (fatal): OpenSSL's, e.g. "decryption failed or bad record mac";
/// `errc::truncated` after `feed_eof` without the peer's close_notify. Not
/// fatal: `errc::invalid_argument` for an empty buffer.
template <Role R>
ReadResult read_plaintext(Channel<R>& channel, MutableBytes buffer,
                          std::error_code& code) {
  return detail::read_plaintext(detail::ChannelAccess::core(channel), buffer,
                                code);
}

template <Role R>
ReadResult read_plaintext(Channel<R>& channel, MutableBytes buffer) {
  std::error_code code;
  const ReadResult result = read_plaintext(channel, buffer, code);
  detail::throw_if_failed(channel, "read", code);
  return result;
}

/// Reads all the plaintext available now and appends it to `out`; returns
/// the status of the last read: `need_input`, `send_output` or `closed`.
template <Role R, class ByteContainer>
Status read_plaintext_into(Channel<R>& channel, ByteContainer& out,
                           std::error_code& code) {
  static_assert(detail::is_byte_container_v<ByteContainer>,
                "read_plaintext_into needs a contiguous container of bytes");
  unsigned char chunk[16384];

  for (;;) {
    const ReadResult result = read_plaintext(channel, chunk, code);
    if (code || result.status != Status::done) return result.status;
    out.insert(out.end(), chunk, chunk + result.size);
  }
}

template <Role R, class ByteContainer>
Status read_plaintext_into(Channel<R>& channel, ByteContainer& out) {
  std::error_code code;
  const Status status = read_plaintext_into(channel, out, code);
  detail::throw_if_failed(channel, "read", code);
  return status;
}

/// Sends close_notify without waiting for the peer's: drain it and send it.
/// Reading goes on working until the peer's close_notify arrives; writing
/// ends here. Called before the handshake is done, the close is sent once it
/// is (after any queued plaintext). Calling it again does nothing more.
template <Role R>
Status close(Channel<R>& channel, std::error_code& code) {
  return detail::close(detail::ChannelAccess::core(channel), code);
}

template <Role R>
Status close(Channel<R>& channel) {
  std::error_code code;
  const Status status = close(channel, code);
  detail::throw_if_failed(channel, "close", code);
  return status;
}

}  // namespace membio

#endif  // MEMBIO_IO_HPP
