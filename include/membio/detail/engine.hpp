// The state machine behind a channel: one SSL, its two memory BIOs, and the
// steps that turn OpenSSL's results into a Status or an error.
#ifndef MEMBIO_DETAIL_ENGINE_HPP
#define MEMBIO_DETAIL_ENGINE_HPP

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "../bytes.hpp"
#include "../error.hpp"
#include "../limits.hpp"
#include "../status.hpp"
#include "byte_queue.hpp"
#include "callbacks.hpp"
#include "error_queue.hpp"
#include "handle.hpp"
#include "openssl.hpp"

namespace membio::detail {

/// Everything one channel owns. It lives on the heap so that the pointer
/// OpenSSL keeps in the SSL's app data survives moves of the Channel.
struct ChannelCore : ChannelNotes {
  // Declared before `ssl` so that they outlive the BIOs that point at them.
  ByteQueue incoming;  // Ciphertext from the peer, not yet decrypted.
  ByteQueue outgoing;  // Ciphertext for the peer, not yet drained.

  SslHandle ssl;
  Limits limits;  // The context's, as they were when the channel was made.
  bool coalesce_writes = true;
  std::size_t space_offered = 0;  // What the last incoming_space handed out.

  bool handshake_done = false;
  bool close_requested = false;
  bool input_ended = false;
  bool truncated = false;
  bool needs_server_name = false;
  bool early_data_done = false;  // Server: early data read to its end.

  // Plaintext not sealed yet: written before the handshake finished or
  // while a TLS 1.2 renegotiation runs, or small writes gathered so that
  // they share records. Sealed as soon as it can be, or when drained.
  std::vector<unsigned char> queued_plaintext;

  // Server: early data (0-RTT) received, not yet read by the caller. Its
  // size is bounded by the context's early data limit.
  std::vector<unsigned char> early_plaintext;

  std::error_code failure;      // Sticky once set: the channel is dead.
  std::string failure_message;  // Why, in full.
  std::string message;          // The last failed call's message.

  ChannelCore() = default;
  ChannelCore(const ChannelCore&) = delete;
  ChannelCore& operator=(const ChannelCore&) = delete;

  // SSL_free drops the session of a connection that did not send
  // close_notify, as TLS 1.0 required. Since TLS 1.1 a connection that
  // merely ended without it may keep its session; one that failed or was
  // cut short still loses it.
  ~ChannelCore() {
    if (ssl && handshake_done && !failure) {
      SSL_set_shutdown(ssl.get(),
                       SSL_get_shutdown(ssl.get()) | SSL_SENT_SHUTDOWN);
    }
  }
};

/// The most plaintext one TLS record carries.
inline constexpr std::size_t kRecordSize = 16384;

/// How one OpenSSL call ended, once `SSL_get_error` has been read.
enum class Step { want_input, peer_closed, failed };

/// Starts an operation: refuses an empty channel and a failed one, whose
/// first error every later call repeats.
inline bool begin(ChannelCore* core, const char* operation,
                  std::error_code& code) {
  code.clear();
  if (!core) {
    code = errc::empty_object;
    return false;
  }

  core->message.clear();
  // What a callback said of an earlier call is forgotten, and so is the
  // space incoming_space offered: any other call ends a zero-copy receive.
  core->callback_failure.clear();
  core->space_offered = 0;
  if (core->failure) {
    code = core->failure;
    core->message = std::string(operation) +
                    ": channel failed earlier: " + core->failure_message;
    return false;
  }
  return true;
}

/// Ends an operation with an error that leaves the channel usable.
inline void refuse(ChannelCore& core, const char* operation, errc condition,
                   std::error_code& code, const char* detail = nullptr) {
  code = condition;
  core.message = std::string(operation) + ": " +
                 (detail ? std::string(detail) : code.message());
}

/// `begin` for an operation that needs the handshake done: until it is,
/// the call is refused and the channel stays usable.
inline bool begin_after_handshake(ChannelCore* core, const char* operation,
                                  std::error_code& code) {
  if (!begin(core, operation, code)) return false;
  if (!core->handshake_done) {
    refuse(*core, operation, errc::wrong_handshake_state, code,
           "the handshake is not done");
    return false;
  }
  return true;
}

/// Ends an operation with an OpenSSL error that leaves the channel usable,
/// e.g. a request the protocol version does not allow.
inline void refuse_from_queue(ChannelCore& core, const char* operation,
                              std::error_code& code) {
  core.message = fail_from_queue(operation, code, errc::invalid_argument);
}

/// Ends an operation with a fatal error, which the channel keeps.
inline void fail(ChannelCore& core, std::error_code cause, std::string message,
                 std::error_code& code) {
  code = cause;
  core.failure = cause;
  core.failure_message = std::move(message);
  core.message = core.failure_message;
}

/// Builds the message of a fatal OpenSSL failure from the error queue,
/// emptying it, plus what the callbacks saw: the verification result, a
/// callback's failure, and the fatal alert sent or received.
inline std::string describe_failure(ChannelCore& core, const char* operation,
                                    std::error_code& cause) {
  std::string text;
  cause = take_openssl_errors(text);
  const auto add = [&text](const std::string& part) {
    text += text.empty() ? part : "; " + part;
  };

  const long verify = SSL_get_verify_result(core.ssl.get());
  if (verify != X509_V_OK &&
      (SSL_get_verify_mode(core.ssl.get()) & SSL_VERIFY_PEER)) {
    add(std::string("verify: ") + X509_verify_cert_error_string(verify));
  }

  if (!core.callback_failure.empty()) add(core.callback_failure);

  if (core.alert >= 0 && (core.alert >> 8) == SSL3_AL_FATAL) {
    add(std::string(core.alert_sent ? "alert sent: " : "alert received: ") +
        alert_text(core.alert));
  }
  return std::string(operation) + ": " + text;
}

/// Ends an operation whose input stopped without close_notify.
inline void fail_truncated(ChannelCore& core, const char* operation,
                           std::error_code& code) {
  std::string reasons;
  take_openssl_errors(reasons);
  core.truncated = true;

  std::string message = std::string(operation) + ": " +
                        make_error_code(errc::truncated).message();
  if (!reasons.empty()) message += " (" + reasons + ")";
  fail(core, errc::truncated, std::move(message), code);
}

/// Turns the result of an SSL call that did not succeed into a Step; on a
/// failure, records it.
inline Step classify(ChannelCore& core, const char* operation, int result,
                     std::error_code& code) {
  switch (SSL_get_error(core.ssl.get(), result)) {
    case SSL_ERROR_WANT_READ:
      return Step::want_input;

    case SSL_ERROR_ZERO_RETURN:
      return Step::peer_closed;

    case SSL_ERROR_SYSCALL:
      // The queues make no system calls: this is the end of the input, or
      // a queue that could not grow.
      if (core.input_ended) {
        fail_truncated(core, operation, code);
      } else {
        fail(core, std::make_error_code(std::errc::not_enough_memory),
             std::string(operation) + ": out of memory for ciphertext", code);
      }
      return Step::failed;

    case SSL_ERROR_SSL:
      // The reason is looked up only here: reading the error queue costs
      // about as much as the rest of a read that finds no data.
      if (core.input_ended && ERR_GET_REASON(ERR_peek_error()) ==
                                  SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        fail_truncated(core, operation, code);
        return Step::failed;
      }
      break;

    default:
      // WANT_WRITE cannot happen (a memory BIO takes every write), and the
      // other values need features membio does not turn on; fail loudly
      // rather than wait for input that would not help.
      break;
  }

  std::error_code cause;
  std::string message = describe_failure(core, operation, cause);
  if (!cause) cause = errc::invalid_argument;
  fail(core, cause, std::move(message), code);
  return Step::failed;
}

/// Whether plaintext waits that a drain would seal into records now.
inline bool has_sealable_plaintext(const ChannelCore& core) noexcept {
  return core.handshake_done && !core.queued_plaintext.empty() &&
         !SSL_in_init(core.ssl.get());
}

/// What the caller must do while the channel waits.
inline Status waiting_status(const ChannelCore& core) noexcept {
  if (!core.outgoing.empty() || has_sealable_plaintext(core)) {
    return Status::send_output;
  }
  if (SSL_get_shutdown(core.ssl.get()) & SSL_RECEIVED_SHUTDOWN) {
    return Status::closed;
  }
  return Status::need_input;
}

/// What the caller must do after an operation that did not fail.
inline Status progress(const ChannelCore& core) noexcept {
  const Status waiting = waiting_status(core);
  if (waiting != Status::need_input || !core.handshake_done) return waiting;
  return Status::done;
}

/// Seals plaintext into records in the outgoing BIO. Partial writes are off
/// and a memory BIO takes everything, so success means every byte went in.
/// Sets `blocked` and writes nothing while a TLS 1.2 renegotiation waits
/// for the peer; returns false on a fatal error.
inline bool seal(ChannelCore& core, const char* operation,
                 const unsigned char* plaintext, std::size_t size,
                 bool& blocked, std::error_code& code) {
  std::size_t written = 0;
  blocked = false;
  const int result = SSL_write_ex(core.ssl.get(), plaintext, size, &written);
  if (result == 1) return true;

  blocked = classify(core, operation, result, code) != Step::failed;
  return blocked;
}

/// Seals the queued plaintext, unless a renegotiation still holds it back.
inline bool flush_queued(ChannelCore& core, const char* operation,
                         std::error_code& code) {
  // OpenSSL leaves SSL_in_init while a server reads early data, before
  // its handshake is done; sealing then is refused.
  if (!core.handshake_done || core.queued_plaintext.empty() ||
      SSL_in_init(core.ssl.get())) {
    return true;
  }

  bool blocked = false;
  if (!seal(core, operation, core.queued_plaintext.data(),
            core.queued_plaintext.size(), blocked, code)) {
    return false;
  }
  if (!blocked) std::vector<unsigned char>().swap(core.queued_plaintext);
  return true;
}

/// Classifies a handshake step that did not finish. A close_notify then ends
/// the channel: the handshake can never complete, so the plaintext queued
/// for it could never be sent, and a channel waiting for input would wait
/// forever.
inline bool handshake_step(ChannelCore& core, const char* operation, int result,
                           std::error_code& code) {
  const Step step = classify(core, operation, result, code);
  if (step != Step::peer_closed) return step != Step::failed;

  std::string message = std::string(operation) + ": " +
                        make_error_code(errc::closed_in_handshake).message();
  if (!core.queued_plaintext.empty()) {
    message += "; " + std::to_string(core.queued_plaintext.size()) +
               " bytes of plaintext written before it were not sent";
  }
  fail(core, errc::closed_in_handshake, std::move(message), code);
  return false;
}

/// Server: reads the client's early data (0-RTT) until its end, keeping it
/// for `read_plaintext`. OpenSSL wants this before the rest of the
/// handshake.
inline bool read_early_data(ChannelCore& core, const char* operation,
                            std::error_code& code) {
  unsigned char chunk[4096];
  for (;;) {
    std::size_t size = 0;
    const int result =
        SSL_read_early_data(core.ssl.get(), chunk, sizeof chunk, &size);
    if (result == SSL_READ_EARLY_DATA_SUCCESS) {
      core.early_plaintext.insert(core.early_plaintext.end(), chunk,
                                  chunk + size);
      continue;
    }
    if (result == SSL_READ_EARLY_DATA_FINISH) {
      core.early_data_done = true;
      return true;
    }
    return handshake_step(core, operation, 0, code);
  }
}

/// From now on OpenSSL gives its record buffers back whenever the channel
/// is idle, and does so at once. Only now: releasing them between the
/// flights of the handshake would allocate them again for each flight.
inline void release_buffers_when_idle(ChannelCore& core) noexcept {
  SSL_set_mode(core.ssl.get(), SSL_MODE_RELEASE_BUFFERS);
  (void)SSL_free_buffers(core.ssl.get());  // Fails harmlessly if in use.
}

/// From now on records wait in the input while the output is at its
/// bound: the answers OpenSSL writes to what it reads (key updates, a
/// renegotiation) cannot grow the output past it, and the caller, told to
/// send, drains or stops feeding once the input fills. Only now: handshake
/// flights are never held back.
inline void hold_back_input_when_output_full(ChannelCore& core) noexcept {
  core.incoming.held_back_by = &core.outgoing;
  core.incoming.hold_back_at = core.limits.max_outgoing_ciphertext;
}

/// Drives the handshake one step as far as the fed input allows.
inline bool drive_handshake(ChannelCore& core, const char* operation,
                            std::error_code& code) {
  if (core.needs_server_name) {
    fail(core, errc::no_server_name,
         std::string(operation) +
             ": no server name to verify the peer against; give the "
             "client channel one, or skip verification on its context",
         code);
    return false;
  }

  const bool wants_early_data = SSL_is_server(core.ssl.get()) &&
                                !core.early_data_done &&
                                SSL_get_max_early_data(core.ssl.get()) > 0;
  if (wants_early_data) {
    if (!read_early_data(core, operation, code)) return false;
    if (!core.early_data_done) return true;
  }

  const int result = SSL_do_handshake(core.ssl.get());
  if (result == 1) {
    core.handshake_done = true;
    release_buffers_when_idle(core);
    hold_back_input_when_output_full(core);
    return true;
  }
  return handshake_step(core, operation, result, code);
}

/// Whether a renegotiation holds back writes or a close that can never go:
/// the peer sent close_notify while it ran, and sends nothing after that.
inline bool renegotiation_cut_off(const ChannelCore& core) noexcept {
  const bool waiting = !core.queued_plaintext.empty() || core.close_requested;
  return waiting && SSL_in_init(core.ssl.get()) &&
         (SSL_get_shutdown(core.ssl.get()) & SSL_RECEIVED_SHUTDOWN);
}

inline void fail_cut_off(ChannelCore& core, const char* operation,
                         std::error_code& code) {
  std::string message =
      std::string(operation) +
      ": the peer closed in the middle of a renegotiation, which can no "
      "longer end";
  if (!core.queued_plaintext.empty()) {
    message += "; " + std::to_string(core.queued_plaintext.size()) +
               " bytes of plaintext written meanwhile were not sent";
  }
  fail(core, errc::closed, std::move(message), code);
}

/// Moves the connection as far as the input allows: the handshake, then
/// the plaintext queued before it finished, then a close the caller asked
/// for. Returns false on a fatal error.
inline bool advance(ChannelCore& core, const char* operation,
                    std::error_code& code) {
  if (!core.handshake_done && !drive_handshake(core, operation, code)) {
    return false;
  }
  if (!core.handshake_done) return true;

  if (renegotiation_cut_off(core)) {
    fail_cut_off(core, operation, code);
    return false;
  }
  if (!flush_queued(core, operation, code)) return false;

  // The close waits for queued plaintext and for a renegotiation to end,
  // since OpenSSL refuses to shut down in the middle of a handshake.
  const bool close_waits =
      !core.queued_plaintext.empty() || SSL_in_init(core.ssl.get()) ||
      (SSL_get_shutdown(core.ssl.get()) & SSL_SENT_SHUTDOWN);
  if (!core.close_requested || close_waits) return true;
  const int result = SSL_shutdown(core.ssl.get());
  if (result < 0 && classify(core, operation, result, code) == Step::failed) {
    return false;
  }

  // Nothing may follow close_notify; OpenSSL would still answer key updates.
  core.outgoing.discards_writes =
      (SSL_get_shutdown(core.ssl.get()) & SSL_SENT_SHUTDOWN) != 0;
  return true;
}

/// Whether `size` more bytes fit under `limit` on top of `waiting`. When
/// nothing waits, any size fits: the caller holds those bytes already, and
/// one call of any size must work.
inline bool fits(std::size_t size, std::size_t waiting,
                 std::size_t limit) noexcept {
  return waiting == 0 || size <= limit - std::min(waiting, limit);
}

/// How many more bytes the input may take under the channel's limit.
inline std::size_t incoming_room(const ChannelCore& core) noexcept {
  const std::size_t limit = core.limits.max_incoming_ciphertext;
  return limit - std::min(core.incoming.size(), limit);
}

inline void feed(ChannelCore* core, ConstBytes ciphertext,
                 std::error_code& code) {
  if (!begin(core, "feed", code)) return;
  if (core->input_ended) {
    refuse(*core, "feed", errc::input_ended, code,
           "input already ended: feed_eof was called");
    return;
  }

  if (!fits(ciphertext.size(), core->incoming.size(),
            core->limits.max_incoming_ciphertext)) {
    refuse(*core, "feed", errc::input_limit, code);
    return;
  }

  if (!core->incoming.append(ciphertext.data(), ciphertext.size())) {
    fail(*core, std::make_error_code(std::errc::not_enough_memory),
         "feed: out of memory", code);
  }
}

inline void feed_eof(ChannelCore* core, std::error_code& code) {
  if (!begin(core, "feed eof", code)) return;

  // From now on an empty input reads as the end of the stream instead of
  // "no data yet".
  core->incoming.ended = true;
  core->input_ended = true;
}

/// Seals the plaintext gathered by write coalescing, so that all output is
/// ciphertext; a failure is kept as the channel's fatal error. Only this
/// step of a drain calls OpenSSL, and so empties the error queue.
inline void seal_gathered(ChannelCore& core, const char* operation) {
  if (core.failure || !has_sealable_plaintext(core)) return;

  ErrorQueueScope scope;
  std::error_code ignored;  // Kept in core.failure, reported by later calls.
  flush_queued(core, operation, ignored);
}

inline std::size_t drain(ChannelCore* core, MutableBytes buffer,
                         std::error_code& code) {
  code.clear();
  if (!core) {
    code = errc::empty_object;
    return 0;
  }

  seal_gathered(*core, "drain");
  const std::size_t size = std::min(buffer.size(), core->outgoing.size());
  if (size) std::memcpy(buffer.data(), core->outgoing.data(), size);
  core->outgoing.consume(size);
  return size;
}

inline std::size_t pending_output(ChannelCore* core) {
  if (!core) return 0;

  seal_gathered(*core, "drain");
  return core->outgoing.size();
}

inline MutableBytes incoming_space(ChannelCore* core, std::size_t size,
                                   std::error_code& code) {
  if (!begin(core, "incoming space", code)) return {};
  if (core->input_ended) {
    refuse(*core, "incoming space", errc::input_ended, code);
    return {};
  }

  const std::size_t room = std::min(size, incoming_room(*core));
  if (room == 0) {
    refuse(*core, "incoming space",
           size ? errc::input_limit : errc::invalid_argument, code);
    return {};
  }

  unsigned char* space = core->incoming.prepare(room);
  if (!space) {
    fail(*core, std::make_error_code(std::errc::not_enough_memory),
         "incoming space: out of memory", code);
    return {};
  }
  core->space_offered = room;
  return {space, room};
}

inline void commit_incoming(ChannelCore* core, std::size_t size,
                            std::error_code& code) {
  code.clear();
  if (!core) {
    code = errc::empty_object;
    return;
  }

  const std::size_t offered = core->space_offered;
  if (!begin(core, "commit incoming", code)) return;
  if (size > offered) {
    refuse(*core, "commit incoming", errc::invalid_argument, code,
           "more bytes than the last incoming_space offered, or another "
           "call came in between");
    return;
  }
  core->incoming.commit(size);
}

inline ConstBytes outgoing_view(ChannelCore* core, std::error_code& code) {
  code.clear();
  if (!core) {
    code = errc::empty_object;
    return {};
  }

  seal_gathered(*core, "outgoing view");
  return {core->outgoing.data(), core->outgoing.size()};
}

inline void consume_outgoing(ChannelCore* core, std::size_t size,
                             std::error_code& code) {
  code.clear();
  if (!core) {
    code = errc::empty_object;
    return;
  }

  if (size > core->outgoing.size()) {
    refuse(*core, "consume outgoing", errc::invalid_argument, code,
           "more bytes than the outgoing view holds");
    return;
  }
  core->outgoing.consume(size);
}

inline Status flush(ChannelCore* core, std::error_code& code) {
  ErrorQueueScope scope;
  if (!begin(core, "flush", code) || !flush_queued(*core, "flush", code)) {
    return Status::closed;
  }
  return progress(*core);
}

inline Status handshake(ChannelCore* core, std::error_code& code) {
  ErrorQueueScope scope;
  if (!begin(core, "handshake", code) || !advance(*core, "handshake", code)) {
    return Status::closed;
  }
  return progress(*core);
}

/// Seals as many full records as the gathered plaintext fills, keeping the
/// rest gathered.
inline bool seal_whole_records(ChannelCore& core, const char* operation,
                               std::error_code& code) {
  std::vector<unsigned char>& queued = core.queued_plaintext;
  const std::size_t whole = queued.size() - queued.size() % kRecordSize;
  if (whole == 0) return true;

  bool blocked = false;
  if (!seal(core, operation, queued.data(), whole, blocked, code)) return false;
  if (blocked) return true;

  queued.erase(queued.begin(), queued.begin() + static_cast<long>(whole));
  if (queued.empty()) std::vector<unsigned char>().swap(queued);
  return true;
}

/// Adds plaintext to the gathered bytes. The first bytes reserve a whole
/// record, so that the small writes that fill it do not grow the buffer
/// step by step.
inline void gather(std::vector<unsigned char>& queued, ConstBytes plaintext) {
  if (queued.empty()) queued.reserve(std::max(kRecordSize, plaintext.size()));
  queued.insert(queued.end(), plaintext.data(),
                plaintext.data() + plaintext.size());
}

/// Whether `size` more bytes of plaintext fit under the channel's bounds:
/// the queue while the handshake runs, the undrained output after.
inline bool within_output_limits(const ChannelCore& core,
                                 std::size_t size) noexcept {
  const Limits& limits = core.limits;
  const std::size_t queued = core.queued_plaintext.size();
  const std::size_t waiting = queued + core.outgoing.size();

  const bool held = !core.handshake_done || SSL_in_init(core.ssl.get());
  if (held && !fits(size, queued, limits.max_queued_plaintext)) return false;
  return fits(size, waiting, limits.max_outgoing_ciphertext);
}

/// The part of a write that calls OpenSSL: seals the plaintext, or queues
/// it and moves the connection on.
inline Status write_through_openssl(ChannelCore& core, ConstBytes plaintext,
                                    bool open, std::error_code& code) {
  ErrorQueueScope scope;

  // An empty write still starts the handshake, as any write does.
  if (plaintext.empty()) {
    return advance(core, "write", code) ? progress(core) : Status::closed;
  }

  // Straight into records when nothing waits ahead of these bytes and
  // they fill a record, or gathering is off.
  std::vector<unsigned char>& queued = core.queued_plaintext;
  if (open && queued.empty() &&
      (plaintext.size() >= kRecordSize || !core.coalesce_writes)) {
    bool blocked = false;
    if (!seal(core, "write", plaintext.data(), plaintext.size(), blocked,
              code)) {
      return Status::closed;
    }
    if (!blocked) return progress(core);
  }

  gather(queued, plaintext);

  // Small writes wait to share records with the next ones: whole records
  // are sealed as soon as they fill, the rest when the caller drains.
  if (open && core.coalesce_writes) {
    return seal_whole_records(core, "write", code) ? progress(core)
                                                   : Status::closed;
  }
  return advance(core, "write", code) ? progress(core) : Status::closed;
}

inline Status write_plaintext(ChannelCore* core, ConstBytes plaintext,
                              std::error_code& code) {
  if (!begin(core, "write", code)) return Status::closed;
  if (core->close_requested) {
    refuse(*core, "write", errc::closed, code);
    return Status::closed;
  }

  if (!within_output_limits(*core, plaintext.size())) {
    refuse(*core, "write", errc::output_limit, code);
    return progress(*core);
  }

  // A small write on an open connection only joins the gathered plaintext.
  // It calls nothing in OpenSSL that could leave an error, so it skips the
  // error queue, whose checks cost more than the write itself.
  const bool open = core->handshake_done && !SSL_in_init(core->ssl.get());
  std::vector<unsigned char>& queued = core->queued_plaintext;
  const bool joins = open && core->coalesce_writes && !plaintext.empty() &&
                     queued.size() < kRecordSize &&
                     plaintext.size() < kRecordSize - queued.size();
  if (!joins) return write_through_openssl(*core, plaintext, open, code);

  gather(queued, plaintext);
  return Status::send_output;
}

/// Hands out early data the server kept, oldest first.
inline ReadResult take_early_data(ChannelCore& core, MutableBytes buffer) {
  std::vector<unsigned char>& early = core.early_plaintext;
  const std::size_t size = std::min(buffer.size(), early.size());

  std::copy(early.begin(), early.begin() + static_cast<long>(size),
            buffer.data());
  early.erase(early.begin(), early.begin() + static_cast<long>(size));
  if (early.empty()) std::vector<unsigned char>().swap(early);
  return {size, Status::done, true};
}

inline ReadResult read_plaintext(ChannelCore* core, MutableBytes buffer,
                                 std::error_code& code) {
  ErrorQueueScope scope;
  if (!begin(core, "read", code)) return {0, Status::closed};
  if (buffer.empty()) {
    refuse(*core, "read", errc::invalid_argument, code, "buffer is empty");
    return {0, Status::closed};
  }

  if (!advance(*core, "read", code)) return {0, Status::closed};
  if (!core->early_plaintext.empty()) return take_early_data(*core, buffer);
  if (!core->handshake_done) return {0, waiting_status(*core)};

  std::size_t size = 0;
  const int result =
      SSL_read_ex(core->ssl.get(), buffer.data(), buffer.size(), &size);
  const Step step =
      result == 1 ? Step::want_input : classify(*core, "read", result, code);
  if (step == Step::failed) return {0, Status::closed};

  // A renegotiation this read finished releases the writes and the close
  // that waited for it. After the peer's close_notify, output this read
  // made (an answer to a post-handshake message) may still wait, so the
  // status says so before it says closed.
  if (!advance(*core, "read", code)) return {0, Status::closed};
  if (result == 1) return {size, Status::done};
  return {0, waiting_status(*core)};
}

inline Status close(ChannelCore* core, std::error_code& code) {
  ErrorQueueScope scope;
  if (!begin(core, "close", code)) return Status::closed;

  core->close_requested = true;
  if (!advance(*core, "close", code)) return Status::closed;
  return progress(*core);
}

inline CloseState close_state(const ChannelCore* core) noexcept {
  if (!core) return CloseState::failed;
  if (core->truncated) return CloseState::truncated;
  if (core->failure) return CloseState::failed;

  const int shutdown = SSL_get_shutdown(core->ssl.get());
  const bool sent = (shutdown & SSL_SENT_SHUTDOWN) != 0;
  const bool received = (shutdown & SSL_RECEIVED_SHUTDOWN) != 0;
  if (sent && received) return CloseState::closed;
  if (sent) return CloseState::close_sent;
  if (received) return CloseState::close_received;
  return CloseState::open;
}

}  // namespace membio::detail

#endif  // MEMBIO_DETAIL_ENGINE_HPP
