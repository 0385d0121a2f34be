// libFuzzer target: a client and a server channel, fresh for each input,
// joined by two wires that the input drives as a program (see Op): feed,
// drain, read, write, key update, renegotiate, close, feed_eof, shuttle,
// flush, the zero-copy calls, resumption on a new pair with early data, and
// corrupt the bytes in flight (flip, insert, drop), each on the side and
// with the sizes the program chooses; any step may be repeated.
//
// Invariants checked after every step, besides the per-call ones of Watch:
// - plaintext read is always a prefix of what the peer wrote, byte for
//   byte, corrupted wires or not (TLS lets nothing forged through), and a
//   server that took early data reads all of it before the rest;
// - a side fails only when its input was corrupted or ended early, its
//   peer failed first (and sent an alert), or it wrote more early data than
//   the session allows;
// - a refusal that leaves a channel usable is one of the documented codes;
// - a channel's output stays within its limit, give or take record
//   overhead, one flight and the messages its caller asked for, however
//   much the peer sends while nothing drains it;
// - the zero-copy calls refuse a commit or a consume larger than offered,
//   and move exactly the bytes they say;
// - when nothing went wrong, pumping both sides to rest (at the end, and
//   before a resumption) delivers every byte written, both handshakes
//   finish, every close_notify arrives, both sides export the same keying
//   material and agree on resumption and early data; a session resumes on
//   the server that issued it, unless that server refuses replays and has
//   honoured its ticket already.
//
// Randomness and the clock are fixed per input (see Random and time), so
// an input replays exactly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"

namespace membio::fuzz {
namespace {

template <Role R>
constexpr Role peer_of = R == Role::client ? Role::server : Role::client;

// The byte streams that readers check: each side's writes, and the
// client's early data.
enum class Writer : std::uint8_t { client, server, client_early };

template <Role R>
constexpr Writer writer_of =
    R == Role::client ? Writer::client : Writer::server;

// The offset-th byte of a stream.
std::uint8_t pattern(Writer writer, std::uint64_t offset) {
  std::uint64_t mixed = offset * 3 + static_cast<std::uint64_t>(writer);
  mixed = (mixed ^ (mixed >> 31)) * 0x94d049bb133111ebu;
  return static_cast<std::uint8_t>(mixed >> 56);
}

Limits small_limits() {
  Limits limits;
  limits.max_incoming_ciphertext = 64 * 1024;
  limits.max_outgoing_ciphertext = 64 * 1024;
  limits.max_queued_plaintext = 16 * 1024;
  return limits;
}

// How far past max_outgoing_ciphertext a channel's output may go while its
// caller does not drain it. Plaintext under the limit grows by at most 256
// bytes a record when sealed (header, tag, padding); handshake messages
// and alerts are never refused: one flight of them (under 2 KiB here, plus
// at most max_early_data of early data) and one message for each request
// the caller made itself (a key update, close, renegotiation or
// certificate request, each under 512 bytes).
constexpr std::size_t record_overhead = 256;
constexpr std::size_t flight_size = 8 * 1024;
constexpr std::size_t own_message_size = 512;

std::size_t output_bound(std::size_t own_messages) {
  const std::size_t limit = small_limits().max_outgoing_ciphertext;
  return limit + (limit / 16384 + 2) * record_overhead + flight_size +
         own_messages * own_message_size;
}

// Steps one input may run, repetitions included, so that no input takes
// longer than libFuzzer's timeout.
constexpr std::size_t max_steps = 1 << 16;

Context<client> sequence_client(std::uint8_t kind, bool coalesce) {
  Context<client> context = make_client_context();
  context.set_limits(small_limits());
  context.set_write_coalescing(coalesce);
  if (kind == SequenceHeader::tls13) {
    context.set_protocol_versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
    return context;
  }

  context.set_protocol_versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
  context.set_tls12_ciphers(
      kind == SequenceHeader::tls12_gcm   ? "ECDHE-ECDSA-AES128-GCM-SHA256"
      : kind == SequenceHeader::tls12_cbc ? "ECDHE-ECDSA-AES256-SHA384"
                                          : "ECDHE-ECDSA-CHACHA20-POLY1305");
  return context;
}

// A server that asks for no certificate during the handshake, so that
// asking after it means something, with small limits, so that programs
// reach them. Its tickets hold the whole session: any number of channels
// resume from one.
Context<server> sequence_server(bool coalesce) {
  Context<server> context = make_server_context(identities().ec, false);
  context.set_limits(small_limits());
  context.set_write_coalescing(coalesce);
  return context;
}

// A server that takes early data with OpenSSL's replay protection, which
// makes each TLS 1.3 ticket a reference into its session cache, honoured
// once. Made for each input that asks for it, so that no input finds
// another's sessions in the cache.
Context<server> replay_protected_server(bool coalesce) {
  Context<server> context = sequence_server(coalesce);
  SSL_CTX_set_session_cache_mode(context.native_handle(),
                                 SSL_SESS_CACHE_SERVER);
  context.enable_early_data(max_early_data,
                            [](std::string_view) { return true; });
  return context;
}

// Eight clients, chosen by the header (the kind, then four more without
// write coalescing), and the two shared servers, with and without it.
struct SequenceContexts {
  Context<client> clients[8] = {
      sequence_client(0, true),  sequence_client(1, true),
      sequence_client(2, true),  sequence_client(3, true),
      sequence_client(0, false), sequence_client(1, false),
      sequence_client(2, false), sequence_client(3, false)};
  Context<server> servers[2] = {sequence_server(true), sequence_server(false)};
};

const SequenceContexts& sequence_contexts() {
  static const SequenceContexts made = [] {
    (void)contexts();  // installs the fixed random bytes
    SequenceContexts contexts;
    for (std::size_t index = 0; index < 8; ++index) {
      warm_up(contexts.clients[index], contexts.servers[index / 4]);
    }
    return contexts;
  }();
  return made;
}

// The input, read one byte at a time; past its end every byte is 0.
class Program {
 public:
  Program(const std::uint8_t* data, std::size_t size)
      : data_(data), size_(size) {}

  bool done() const noexcept { return offset_ >= size_; }

  std::uint8_t next() noexcept { return done() ? 0 : data_[offset_++]; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
};

// How many argument bytes each operation takes, in the order of Op.
constexpr std::uint8_t operand_counts[] = {1, 1, 1, 0, 2, 0, 0, 0, 0, 0,
                                           3, 0, 0, 0, 0, 1, 1, 0, 1, 1};
static_assert(std::size(operand_counts) == static_cast<std::size_t>(Op::count),
              "one operand count per operation");

// One step of the program, decoded, so that it can run many times.
struct Instruction {
  Op op = Op::count;
  Role side = Role::client;
  std::uint8_t argument = 0;
  std::uint8_t operands[3] = {0, 0, 0};

  std::size_t u8() const noexcept { return operands[0]; }

  std::size_t u16() const noexcept {
    return std::size_t{operands[0]} << 8 | operands[1];
  }

  static Instruction decode(Program& program) {
    const std::uint8_t opcode = program.next();
    Instruction instruction;
    instruction.op =
        static_cast<Op>((opcode & 0x1f) % static_cast<unsigned>(Op::count));
    instruction.argument = static_cast<std::uint8_t>((opcode >> 5) & 3);
    instruction.side = opcode & 0x80 ? Role::server : Role::client;

    const std::uint8_t count =
        operand_counts[static_cast<std::size_t>(instruction.op)];
    for (std::uint8_t index = 0; index < count; ++index) {
      instruction.operands[index] = program.next();
    }
    return instruction;
  }
};

// One end: its channel, and what the program did to it.
template <Role R>
struct Side {
  explicit Side(Channel<R> made) : channel(std::move(made)) {}

  Channel<R> channel;
  Watch<R> watch{channel};
  std::vector<unsigned char> incoming;  // Drained from the peer, not fed.
  std::uint64_t written = 0;            // Plaintext bytes accepted by writes.
  std::uint64_t attempted = 0;          // Those plus a fatally failed write's.
  std::uint64_t received = 0;           // Plaintext bytes read.
  std::uint64_t early_written = 0;      // Client: early data taken.
  std::uint64_t early_received = 0;     // Server: early data read.
  std::size_t own_messages = 0;  // Requests since the output was last empty.
  bool corrupted = false;        // Bytes on their way in were altered...
  bool corrupted_early = false;  // ... before both handshakes were done.
  bool ended = false;            // feed_eof was called.
  bool early_overflow = false;   // Client: more early data than allowed.
};

// A refusal that leaves the channel usable must be one of these.
bool documented_refusal(const std::error_code& code) {
  if (code.category() == openssl_category()) return true;
  const errc conditions[] = {errc::closed,
                             errc::input_ended,
                             errc::input_limit,
                             errc::output_limit,
                             errc::invalid_argument,
                             errc::wrong_handshake_state,
                             errc::unsupported_by_version,
                             errc::no_session};
  return std::any_of(std::begin(conditions), std::end(conditions),
                     [&code](errc condition) { return code == condition; });
}

// What the current pair's client was offered promises of its handshake.
enum class Expect { nothing, resumption, full_handshake };

using Ticket = std::vector<unsigned char>;

Ticket ticket_of(const Session& session) {
  const unsigned char* ticket = nullptr;
  std::size_t size = 0;
  SSL_SESSION_get0_ticket(session.native_handle(), &ticket, &size);
  return Ticket(ticket, ticket + size);
}

class Sequence {
 public:
  Sequence(std::uint8_t header, const Context<client>& client_context,
           const Context<server>& server_context, bool replay_protected)
      : client_context_(client_context),
        server_context_(server_context),
        replay_protected_(replay_protected) {
    new_pair();
    if (!(header & SequenceHeader::connected)) return;

    std::error_code code;
    Loopback(client_->channel, server_->channel).handshake(code);
    require(!code, "the pinned handshake succeeds");
  }

  // Runs each step, a repeated one as often as it says, within max_steps.
  // A repeated repeat runs once, and so does a resumption, which costs a
  // handshake or two.
  void run(Program& program) {
    std::size_t budget = max_steps;
    while (!program.done() && budget > 0) {
      Instruction instruction = Instruction::decode(program);
      std::size_t times = 1;
      if (instruction.op == Op::repeat) {
        const std::size_t repeats = (instruction.u8() + 1)
                                    << (2 * instruction.argument);
        instruction = Instruction::decode(program);
        if (instruction.op != Op::resume) times = repeats;
      }

      for (; times > 0 && budget > 0; --times, --budget) {
        if (instruction.side == Role::server) {
          step<server>(instruction);
        } else {
          step<client>(instruction);
        }
        check_causes();
      }
    }
    if (untouched()) settle();
  }

 private:
  template <Role R>
  Side<R>& side() {
    if constexpr (R == Role::client) {
      return *client_;
    } else {
      return *server_;
    }
  }

  template <Role R>
  void step(const Instruction& instruction) {
    dispatch<R>(instruction);

    // Measuring the output seals what writes gathered; a write that leaves
    // it gathered is measured by the next step on its side.
    const bool gathered =
        instruction.op == Op::write && (instruction.argument & 1);
    if (!gathered) check_output<R>();
    if (instruction.op == Op::shuttle) check_output<peer_of<R>>();
  }

  template <Role R>
  void dispatch(const Instruction& instruction) {
    const std::uint8_t argument = instruction.argument;
    switch (instruction.op) {
      case Op::feed:
        return (void)feed_some<R>(instruction.u8());
      case Op::drain:
        return (void)drain_some<R>(instruction.u8());
      case Op::read:
        return read_once<R>(instruction.u8());
      case Op::read_all:
        return (void)read_all<R>();
      case Op::write:
        return write_some<R>(instruction.u16() % 20001, argument & 1);
      case Op::handshake:
        return handshake_once<R>();
      case Op::shuttle:
        return (void)shuttle();
      case Op::key_update:
        return key_update<R>(argument);
      case Op::close:
        return close_once<R>();
      case Op::feed_eof:
        return end_input<R>();
      case Op::corrupt:
        return corrupt<R>(argument, instruction);
      case Op::renegotiate:
        return renegotiate_once<R>();
      case Op::request_cert:
        return request_certificate(argument);
      case Op::inspect:
        return inspect_side<R>();
      case Op::flush:
        return flush_once<R>();
      case Op::incoming_space:
        return fill_incoming<R>(argument, instruction.u8() * instruction.u8());
      case Op::outgoing_view:
        return send_outgoing<R>(argument, instruction.u8() * instruction.u8());
      case Op::resume:
        return resume(argument);
      case Op::write_early:
        return write_early(instruction.u8() * 16);
      case Op::repeat:
      case Op::count:
        break;
    }
  }

  // After a call that returned `code`: a refusal that left the channel
  // usable must be a documented one.
  template <Role R>
  void check_refusal(const std::error_code& code) {
    if (code && !side<R>().channel.failure()) {
      require(documented_refusal(code), "a refusal is a documented one");
    }
  }

  template <Role R>
  void check_output() {
    check_output<R>(pending_ciphertext(side<R>().channel));
  }

  template <Role R>
  void check_output(std::size_t pending) {
    Side<R>& self = side<R>();
    if (pending == 0) self.own_messages = 0;
    require(pending <= output_bound(self.own_messages),
            "the output stays within its limit while nothing drains it");
  }

  // Feeds up to `wanted` bytes in flight (0: all); returns how many went.
  template <Role R>
  std::size_t feed_some(std::size_t wanted) {
    Side<R>& self = side<R>();
    const std::size_t size = wanted == 0
                                 ? self.incoming.size()
                                 : std::min(wanted, self.incoming.size());

    std::error_code code;
    feed(self.channel, ConstBytes(self.incoming.data(), size), code);
    self.watch.after(code);
    check_refusal<R>(code);
    if (code) return 0;
    self.incoming.erase(self.incoming.begin(),
                        self.incoming.begin() + static_cast<long>(size));
    return size;
  }

  // Puts bytes side R sent on the wire to its peer.
  template <Role R>
  void send(const unsigned char* bytes, std::size_t size) {
    std::vector<unsigned char>& wire = side<peer_of<R>>().incoming;
    wire.insert(wire.end(), bytes, bytes + size);
  }

  template <Role R>
  std::size_t drain_some(std::size_t wanted) {
    Side<R>& self = side<R>();
    const std::size_t pending = pending_ciphertext(self.channel);
    check_output<R>(pending);
    std::vector<unsigned char> flight(wanted == 0 ? pending : wanted);

    std::error_code code;
    const std::size_t size = drain(self.channel, flight, code);
    require(!code && ERR_peek_error() == 0, "drain never fails");
    require(size == std::min(flight.size(), pending), "drain gives it all");
    require(pending_ciphertext(self.channel) == pending - size,
            "drained bytes leave the channel");
    send<R>(flight.data(), size);
    return size;
  }

  // Whether the next byte side R reads is the client's early data: on a
  // server that took it, until all of it is read.
  template <Role R>
  bool reads_early() {
    if constexpr (R == Role::client) {
      return false;
    } else {
      return server_->channel.early_data() == EarlyData::accepted &&
             server_->early_received < client_->early_written;
    }
  }

  // Checks plaintext against what the peer wrote; `early` is what the read
  // said of its bytes, when it said.
  template <Role R>
  void received(ConstBytes plaintext, std::optional<bool> early) {
    Side<R>& self = side<R>();
    const Side<peer_of<R>>& peer = side<peer_of<R>>();
    for (std::size_t index = 0; index < plaintext.size(); ++index) {
      const bool from_early = reads_early<R>();
      require(!early || *early == from_early,
              "a read says whether its bytes are early data");
      const std::uint8_t expected =
          from_early ? pattern(Writer::client_early, self.early_received++)
                     : pattern(writer_of<peer_of<R>>, self.received++);
      require(plaintext.data()[index] == expected,
              "plaintext read is what the peer wrote");
    }
    require(self.received <= peer.attempted, "no more is read than written");
  }

  template <Role R>
  void read_once(std::size_t wanted) {
    Side<R>& self = side<R>();
    std::vector<unsigned char> buffer(wanted == 0 ? 16384 : wanted);

    std::error_code code;
    const ReadResult result = read_plaintext(self.channel, buffer, code);
    self.watch.after(code, result, buffer.size());
    check_refusal<R>(code);
    received<R>(ConstBytes(buffer.data(), result.size), result.early_data);
  }

  template <Role R>
  std::size_t read_all() {
    Side<R>& self = side<R>();
    std::vector<unsigned char> plaintext;

    std::error_code code;
    const Status status = read_plaintext_into(self.channel, plaintext, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
    received<R>(plaintext, std::nullopt);
    return plaintext.size();
  }

  template <Role R>
  void write_some(std::size_t size, bool gather) {
    Side<R>& self = side<R>();
    std::vector<unsigned char> plaintext(size);
    for (std::size_t index = 0; index < size; ++index) {
      plaintext[index] = pattern(writer_of<R>, self.written + index);
    }

    std::error_code code;
    const Status status = write_plaintext(self.channel, plaintext, code);
    if (gather) {
      self.watch.after(code);
    } else {
      self.watch.after(code, status);
    }
    check_refusal<R>(code);
    if (!code) self.written += size;
    if (!code || self.channel.failure()) self.attempted += size;
  }

  // Early data always comes from the client, whichever side the step
  // names. More than the session allows fails the client: OpenSSL ends the
  // connection with an alert.
  void write_early(std::size_t size) {
    Side<client>& self = *client_;
    std::vector<unsigned char> plaintext(size);
    for (std::size_t index = 0; index < size; ++index) {
      plaintext[index] =
          pattern(Writer::client_early, self.early_written + index);
    }

    ++self.own_messages;
    const bool failed_before = static_cast<bool>(self.channel.failure());
    std::error_code code;
    const Status status = write_early_plaintext(self.channel, plaintext, code);
    self.watch.after(code, status);
    check_refusal<client>(code);
    if (!code) self.early_written += size;
    if (!failed_before && self.channel.failure()) {
      self.early_overflow = self.early_written + size > max_early_data;
    }
  }

  template <Role R>
  void handshake_once() {
    Side<R>& self = side<R>();
    std::error_code code;
    const Status status = handshake(self.channel, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
  }

  template <Role R>
  void flush_once() {
    Side<R>& self = side<R>();
    std::error_code code;
    const Status status = flush(self.channel, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
  }

  // Zero-copy receive: asks for space, fills it from the bytes in flight,
  // and commits them. The space must survive a drain in between; a
  // handshake in between, or a commit larger than the space, is refused,
  // and then the channel took none of the bytes.
  template <Role R>
  void fill_incoming(std::uint8_t mode, std::size_t wanted) {
    Side<R>& self = side<R>();
    std::error_code code;
    const MutableBytes space = incoming_space(self.channel, wanted, code);
    self.watch.after(code);
    check_refusal<R>(code);
    if (code) return;
    require(!space.empty() && space.size() <= wanted &&
                space.size() <= small_limits().max_incoming_ciphertext,
            "incoming_space offers at most what was asked and the limit");

    const std::size_t size = std::min(space.size(), self.incoming.size());
    if (mode == 2) drain_some<R>(0);
    std::copy_n(self.incoming.begin(), size, space.data());
    if (mode == 3) handshake_once<R>();
    const bool refused = mode == 1 || (mode == 3 && size > 0);

    commit_incoming(self.channel, mode == 1 ? space.size() + 1 : size, code);
    self.watch.after(code);
    check_refusal<R>(code);
    if (!self.channel.failure()) {
      require(refused == (code == errc::invalid_argument),
              "a commit is refused exactly when it exceeds the space or "
              "comes after a call that may read");
    }
    if (code) return;
    self.incoming.erase(self.incoming.begin(),
                        self.incoming.begin() + static_cast<long>(size));
  }

  // Zero-copy send: takes the view, sends `wanted` bytes of it (0: all)
  // and consumes them, checking that a refused consume drops nothing and
  // that a consume drops exactly its bytes.
  template <Role R>
  void send_outgoing(std::uint8_t mode, std::size_t wanted) {
    Side<R>& self = side<R>();
    const std::vector<unsigned char> seen = view_of<R>();
    check_output<R>(seen.size());
    require(pending_ciphertext(self.channel) == seen.size(),
            "the view holds all pending ciphertext");

    std::error_code code;
    if (mode & 1) {
      consume_outgoing(self.channel, seen.size() + 1, code);
      require(code == errc::invalid_argument && ERR_peek_error() == 0,
              "consuming more than the view holds is refused");
      require(view_of<R>() == seen, "a refused consume drops nothing");
    }

    const std::size_t size =
        wanted == 0 ? seen.size() : std::min(wanted, seen.size());
    const std::size_t first = mode & 2 ? size / 2 : size;
    consume_outgoing(self.channel, first, code);
    require(!code, "consuming part of the view works");
    consume_outgoing(self.channel, size - first, code);
    require(!code && ERR_peek_error() == 0, "consuming the rest works");

    const std::vector<unsigned char> rest(
        seen.begin() + static_cast<long>(size), seen.end());
    require(view_of<R>() == rest,
            "consume_outgoing drops exactly the bytes sent");
    send<R>(seen.data(), size);
  }

  // A copy of the view, taken before any other call makes it invalid.
  template <Role R>
  std::vector<unsigned char> view_of() {
    std::error_code code;
    const ConstBytes view = outgoing_view(side<R>().channel, code);
    require(!code && ERR_peek_error() == 0, "outgoing_view never fails");
    return std::vector<unsigned char>(view.data(), view.data() + view.size());
  }

  // Drains both sides, feeds each up to 16 KiB of what waits for it (a
  // quarter of its input limit), and drives each once: the handshake, or
  // reading all there is. Returns how much moved.
  std::size_t shuttle() {
    std::size_t moved = drain_some<client>(0) + drain_some<server>(0);
    moved += feed_some<client>(16384) + feed_some<server>(16384);
    return moved + drive<client>() + drive<server>();
  }

  template <Role R>
  std::size_t drive() {
    if (side<R>().channel.handshake_done()) return read_all<R>();
    handshake_once<R>();
    note_resumption();
    return side<R>().channel.handshake_done() ? 1 : 0;
  }

  template <Role R>
  void key_update(std::uint8_t argument) {
    Side<R>& self = side<R>();
    const KeyUpdate which =
        argument & 1 ? KeyUpdate::both_sides : KeyUpdate::this_side;

    ++self.own_messages;
    std::error_code code;
    const Status status = request_key_update(self.channel, which, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
  }

  template <Role R>
  void close_once() {
    Side<R>& self = side<R>();
    ++self.own_messages;
    std::error_code code;
    const Status status = close(self.channel, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
  }

  template <Role R>
  void end_input() {
    Side<R>& self = side<R>();
    std::error_code code;
    feed_eof(self.channel, code);
    self.watch.after(code);
    check_refusal<R>(code);
    if (!code) self.ended = true;
  }

  // Alters the bytes on their way into side R.
  template <Role R>
  void corrupt(std::uint8_t mode, const Instruction& instruction) {
    std::vector<unsigned char>& wire = side<R>().incoming;
    const std::size_t offset = instruction.u16();
    const auto value = static_cast<unsigned char>(instruction.operands[2]);
    if (wire.empty()) return;

    const auto at = wire.begin() + static_cast<long>(offset % wire.size());
    switch (mode % 3) {
      case 0:
        *at = static_cast<unsigned char>(*at ^ (value | 1));
        break;
      case 1:
        wire.insert(at, value);
        break;
      default:
        wire.erase(at, at + std::min<long>(1 + value % 16, wire.end() - at));
        break;
    }
    side<R>().corrupted = true;
    if (!client_->channel.handshake_done() ||
        !server_->channel.handshake_done()) {
      side<R>().corrupted_early = true;
    }
  }

  template <Role R>
  void renegotiate_once() {
    Side<R>& self = side<R>();
    ++self.own_messages;
    std::error_code code;
    const Status status = renegotiate(self.channel, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
    if (!code && !(client_resumed_ && server_resumed_)) {
      renegotiated_early_ = true;
    }
  }

  void request_certificate(std::uint8_t argument) {
    const ClientCertificate mode = argument & 1 ? ClientCertificate::required
                                                : ClientCertificate::optional;
    ++server_->own_messages;
    std::error_code code;
    const Status status =
        request_client_certificate(server_->channel, mode, code);
    server_->watch.after(code, status);
    check_refusal<server>(code);
  }

  // The accessors must answer in any state; the fallible ones report
  // documented errors.
  template <Role R>
  void inspect_side() {
    Side<R>& self = side<R>();
    const Channel<R>& channel = self.channel;
    inspect(channel);

    std::error_code code;
    const std::vector<unsigned char> material =
        export_keying_material(channel, "EXPERIMENTAL membio fuzz", 32, code);
    self.watch.after(code);
    check_refusal<R>(code);
    require(code || material.size() == 32, "exported keys have the size");

    (void)channel_binding(channel, ChannelBinding::tls_exporter, code);
    self.watch.after(code);
    check_refusal<R>(code);
    if constexpr (R == Role::client) {
      (void)save_session(channel, code);
      require(ERR_peek_error() == 0, "save_session leaves no error queued");
      check_refusal<R>(code);
    }
  }

  // Ends the current pair and starts a new one whose client offers the old
  // client's session. A pair that nothing went wrong with is first brought
  // to rest, so that its client has read its tickets, and must leave a
  // session that resumes, unless the server refuses replays and has
  // honoured that ticket already.
  void resume(std::uint8_t argument) {
    bool healthy = untouched();
    if (healthy) settle();
    healthy = healthy && !SSL_in_init(client_->channel.native_handle()) &&
              !SSL_in_init(server_->channel.native_handle());
    if (!offered_.empty() && server_resumed_.value_or(false)) {
      spent_.insert(offered_);
    }

    std::error_code code;
    const Session session = current_session(client_->channel, code);
    require(ERR_peek_error() == 0, "current_session leaves no error queued");
    check_refusal<client>(code);
    require(!healthy || session, "a pair at rest leaves a session");

    new_pair();
    if (session) offer(session, argument, healthy);
  }

  void new_pair() {
    client_.reset();
    server_.reset();
    client_.emplace(Channel<client>(client_context_, "localhost"));
    server_.emplace(Channel<server>(server_context_));
    expect_ = Expect::nothing;
    offered_.clear();
    client_resumed_.reset();
    server_resumed_.reset();
    renegotiated_early_ = false;
  }

  void offer(const Session& session, std::uint8_t argument, bool healthy) {
    std::error_code code;
    if (argument & 2) {
      Channel<client> stranger(client_context_, "membio.invalid");
      restore_session(stranger, session, code);
      require(code == errc::invalid_argument && !stranger.failure() &&
                  ERR_peek_error() == 0,
              "a session is refused to a channel for another name");
    }

    if (argument & 1) {
      const std::vector<unsigned char> bytes = session.to_bytes();
      const Session decoded = Session::from_bytes(bytes, code);
      require(!code && decoded.to_bytes() == bytes,
              "a session's bytes decode to the same session");
      restore_session(client_->channel, ConstBytes(bytes), code);
    } else {
      restore_session(client_->channel, session, code);
    }
    client_->watch.after(code);
    require(!code, "a session restores into a channel for its server");

    offered_ = ticket_of(session);
    const bool single_use =
        replay_protected_ && SSL_SESSION_get_protocol_version(
                                 session.native_handle()) == TLS1_3_VERSION;
    if (single_use && spent_.count(offered_)) {
      expect_ = Expect::full_handshake;
    } else if (healthy && !(single_use && tried_.count(offered_))) {
      expect_ = Expect::resumption;
    }
    tried_.insert(offered_);
  }

  // A side may fail only when its input was corrupted or ended early, it
  // wrote too much early data, or after its peer failed (and told it with
  // an alert). During the first handshake, corrupting what its peer
  // receives counts too: a ClientHello altered on its way may be taken by
  // the server, whose answer then no longer fits the client's transcript.
  // After it, records are authenticated, and only their receiver can see
  // a change.
  template <Role R>
  bool may_fail() {
    const Side<R>& self = side<R>();
    const Side<peer_of<R>>& peer = side<peer_of<R>>();
    return self.corrupted || peer.corrupted_early || self.ended ||
           self.early_overflow || peer.channel.failure() || stranded<R>();
  }

  void check_causes() {
    require(!client_->channel.failure() || may_fail<client>(),
            "the client fails only for a cause");
    require(!server_->channel.failure() || may_fail<server>(),
            "the server fails only for a cause");
    note_resumption();
  }

  // Notes whether each side's first handshake resumed, once it is done: a
  // TLS 1.2 renegotiation later answers `resumed()` for itself. Once both
  // are noted, a renegotiation changes neither; one started before, while
  // the client still finishes its handshake, may reach its own decision in
  // the call that finishes the server's, and then the first is unknown.
  void note_resumption() {
    if (!client_resumed_ && client_->channel.handshake_done()) {
      client_resumed_ = client_->channel.resumed();
    }
    if (!server_resumed_ && server_->channel.handshake_done()) {
      server_resumed_ = server_->channel.resumed();
    }
  }

  bool untouched() {
    return !client_->corrupted && !server_->corrupted && !client_->ended &&
           !server_->ended && !client_->channel.failure() &&
           !server_->channel.failure();
  }

  // Pumps both sides until nothing moves, then checks that everything
  // arrived.
  void settle() {
    for (int round = 0; round < 256; ++round) {
      if (shuttle() == 0 && at_rest()) break;
    }
    require(
        client_->channel.handshake_done() && server_->channel.handshake_done(),
        "a connection left alone finishes its handshake");
    require(at_rest(), "a connection left alone comes to rest");
    require(stranded<server>() || client_->received == server_->written,
            "a connection left alone delivers every byte the server wrote");
    require(stranded<client>() || server_->received == client_->written,
            "a connection left alone delivers every byte the client wrote");
    check_closes<client>();
    check_closes<server>();
    check_exporters();
    check_resumption();
  }

  // Whether side R's TLS 1.2 renegotiation was cut off by the peer's
  // close_notify. OpenSSL takes no handshake message after sending
  // close_notify, so the renegotiation can never end: membio fails side R
  // with errc::closed as soon as plaintext or a close waits for it, and
  // that failure counts as explained. The bytes it held are not delivered,
  // and its peer sees no close_notify from it.
  template <Role R>
  bool stranded() {
    SSL* ssl = side<R>().channel.native_handle();
    return side<R>().channel.handshake_done() && SSL_in_init(ssl) &&
           (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN);
  }

  bool at_rest() {
    return client_->incoming.empty() && server_->incoming.empty() &&
           pending_ciphertext(client_->channel) == 0 &&
           pending_ciphertext(server_->channel) == 0;
  }

  template <Role R>
  void check_closes() {
    if (stranded<R>() || stranded<peer_of<R>>()) return;
    const CloseState sent = side<R>().channel.close_state();
    const CloseState seen = side<peer_of<R>>().channel.close_state();
    if (sent == CloseState::close_sent || sent == CloseState::closed) {
      require(seen == CloseState::close_received || seen == CloseState::closed,
              "a close_notify sent arrives");
    }
  }

  void check_exporters() {
    if (SSL_in_init(client_->channel.native_handle()) ||
        SSL_in_init(server_->channel.native_handle())) {
      return;
    }

    std::error_code client_code;
    std::error_code server_code;
    const auto client_keys = export_keying_material(
        client_->channel, "EXPERIMENTAL membio fuzz", 32, client_code);
    const auto server_keys = export_keying_material(
        server_->channel, "EXPERIMENTAL membio fuzz", 32, server_code);
    require(!client_code && !server_code && client_keys == server_keys,
            "both sides export the same keying material");
  }

  // Early data is read whole when the server takes it and not at all when
  // it refuses it, and a resumed session's early data is taken: the only
  // server that allows it takes all it is offered.
  void check_resumption() {
    note_resumption();
    if (renegotiated_early_) return;
    const Channel<client>& client = client_->channel;
    const Channel<server>& server = server_->channel;
    const bool resumed = client_resumed_.value_or(false);
    require(resumed == server_resumed_.value_or(false),
            "both sides agree on resumption");
    require(client.early_data() == server.early_data(),
            "both sides agree on early data");

    const bool taken = server.early_data() == EarlyData::accepted;
    require(server_->early_received == (taken ? client_->early_written : 0),
            "early data arrives whole when taken and not at all when not");
    require(!resumed || client_->early_written == 0 || taken,
            "a resumed session's early data is taken");

    require(expect_ != Expect::resumption || resumed,
            "a session resumes on the server that issued it");
    require(expect_ != Expect::full_handshake || !resumed,
            "a server that refuses replays honours a ticket once");
  }

  const Context<client>& client_context_;
  const Context<server>& server_context_;
  const bool replay_protected_;
  std::optional<Side<client>> client_;
  std::optional<Side<server>> server_;

  // Resumption: the ticket the current client offered and what it
  // promises; the tickets offered so far, and those a server honoured.
  Ticket offered_;
  Expect expect_ = Expect::nothing;
  std::optional<bool> client_resumed_;  // Whether the first handshake did.
  std::optional<bool> server_resumed_;
  bool renegotiated_early_ = false;  // Before both of those were noted.
  std::set<Ticket> tried_;
  std::set<Ticket> spent_;
};

}  // namespace
}  // namespace membio::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)membio::fuzz::sequence_contexts();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace membio;
  using namespace membio::fuzz;
  const SequenceContexts& contexts = sequence_contexts();
  Program program(data, size);
  const std::uint8_t header = program.next();
  const bool coalesce = !(header & SequenceHeader::no_coalescing);

  Random::reset();
  Random::use(Stream::client);
  std::optional<Context<server>> own_server;
  if (header & SequenceHeader::early_data_server) {
    own_server.emplace(replay_protected_server(coalesce));
  }
  const Context<server>& server_context =
      own_server ? *own_server : contexts.servers[coalesce ? 0 : 1];

  Sequence sequence(header, contexts.clients[(header & 3) + (coalesce ? 0 : 4)],
                    server_context, own_server.has_value());
  sequence.run(program);
  return 0;
}
