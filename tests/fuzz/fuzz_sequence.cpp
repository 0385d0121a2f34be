// libFuzzer target: a client and a server channel, fresh for each input,
// joined by two wires that the input drives as a program (see Op): feed,
// drain, read, write, key update, renegotiate, close, feed_eof, shuttle,
// and corrupt the bytes in flight (flip, insert, drop), each on the side and
// with the sizes the program chooses.
//
// Invariants checked after every step, besides the per-call ones of Watch:
// - plaintext read is always a prefix of what the peer wrote, byte for
//   byte, corrupted wires or not (TLS lets nothing forged through);
// - a side fails only when its input was corrupted or ended early, or its
//   peer failed first (and sent an alert);
// - a refusal that leaves a channel usable is one of the documented codes;
// - when nothing went wrong, pumping both sides to rest at the end delivers
//   every byte written, both handshakes finish, every close_notify arrives,
//   and both sides export the same keying material.
//
// Randomness is fixed per input (see Random), so an input replays exactly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"

namespace membio::fuzz {
namespace {

template <Role R>
constexpr Role peer_of = R == Role::client ? Role::server : Role::client;

// The offset-th byte that `writer` writes; readers check every byte.
std::uint8_t pattern(Role writer, std::uint64_t offset) {
  std::uint64_t mixed = offset * 2 + (writer == Role::server ? 1 : 0);
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

Context<client> sequence_client(std::uint8_t kind) {
  Context<client> context = make_client_context();
  context.set_limits(small_limits());
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

// Four clients, chosen by the header; one server that asks for no
// certificate during the handshake, so that asking after it means
// something. Small limits, so that programs reach them.
struct SequenceContexts {
  Context<client> clients[4] = {sequence_client(0), sequence_client(1),
                                sequence_client(2), sequence_client(3)};
  Context<server> server_context = [] {
    Context<server> context = make_server_context(identities().ec, false);
    context.set_limits(small_limits());
    return context;
  }();
};

const SequenceContexts& sequence_contexts() {
  static const SequenceContexts made = [] {
    (void)contexts();  // installs the fixed random bytes
    SequenceContexts contexts;
    for (const Context<client>& client : contexts.clients) {
      warm_up(client, contexts.server_context);
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

  std::size_t next_u16() noexcept {
    const std::size_t high = next();
    return high << 8 | next();
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
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
  bool corrupted = false;               // Bytes on their way in were altered...
  bool corrupted_early = false;         // ... before both handshakes were done.
  bool ended = false;                   // feed_eof was called.
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

class Sequence {
 public:
  Sequence(std::uint8_t header, const SequenceContexts& contexts)
      : client_{Channel<client>(contexts.clients[header & 3], "localhost")},
        server_{Channel<server>(contexts.server_context)} {
    if (!(header & SequenceHeader::connected)) return;

    std::error_code code;
    Loopback(client_.channel, server_.channel).handshake(code);
    require(!code, "the pinned handshake succeeds");
  }

  void run(Program& program) {
    while (!program.done()) {
      const std::uint8_t opcode = program.next();
      const auto op =
          static_cast<Op>((opcode & 0x0f) % static_cast<unsigned>(Op::count));
      const auto argument = static_cast<std::uint8_t>((opcode >> 4) & 7);
      if (opcode & 0x80) {
        step<server>(op, argument, program);
      } else {
        step<client>(op, argument, program);
      }
      check_causes();
    }
    if (untouched()) settle();
  }

 private:
  template <Role R>
  Side<R>& side() {
    if constexpr (R == Role::client) {
      return client_;
    } else {
      return server_;
    }
  }

  template <Role R>
  void step(Op op, std::uint8_t argument, Program& program) {
    switch (op) {
      case Op::feed:
        return (void)feed_some<R>(program.next());
      case Op::drain:
        return (void)drain_some<R>(program.next());
      case Op::read:
        return read_once<R>(program.next());
      case Op::read_all:
        return (void)read_all<R>();
      case Op::write:
        return write_some<R>(program.next_u16() % 20001);
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
        return corrupt<R>(argument, program);
      case Op::renegotiate:
        return renegotiate_once<R>();
      case Op::request_cert:
        return request_certificate(argument);
      case Op::inspect:
        return inspect_side<R>();
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

  template <Role R>
  std::size_t drain_some(std::size_t wanted) {
    Side<R>& self = side<R>();
    const std::size_t pending = pending_ciphertext(self.channel);
    std::vector<unsigned char> flight(wanted == 0 ? pending : wanted);

    std::error_code code;
    const std::size_t size = drain(self.channel, flight, code);
    require(!code && ERR_peek_error() == 0, "drain never fails");
    require(size == std::min(flight.size(), pending), "drain gives it all");
    require(pending_ciphertext(self.channel) == pending - size,
            "drained bytes leave the channel");

    std::vector<unsigned char>& wire = side<peer_of<R>>().incoming;
    wire.insert(wire.end(), flight.begin(),
                flight.begin() + static_cast<long>(size));
    return size;
  }

  // Checks plaintext against what the peer wrote.
  template <Role R>
  void received(const unsigned char* plaintext, std::size_t size) {
    Side<R>& self = side<R>();
    const Side<peer_of<R>>& peer = side<peer_of<R>>();
    for (std::size_t index = 0; index < size; ++index) {
      require(plaintext[index] == pattern(peer_of<R>, self.received + index),
              "plaintext read is what the peer wrote");
    }
    self.received += size;
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
    received<R>(buffer.data(), result.size);
  }

  template <Role R>
  std::size_t read_all() {
    Side<R>& self = side<R>();
    std::vector<unsigned char> plaintext;

    std::error_code code;
    const Status status = read_plaintext_into(self.channel, plaintext, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
    received<R>(plaintext.data(), plaintext.size());
    return plaintext.size();
  }

  template <Role R>
  void write_some(std::size_t size) {
    Side<R>& self = side<R>();
    std::vector<unsigned char> plaintext(size);
    for (std::size_t index = 0; index < size; ++index) {
      plaintext[index] = pattern(R, self.written + index);
    }

    std::error_code code;
    const Status status = write_plaintext(self.channel, plaintext, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
    if (!code) self.written += size;
    if (!code || self.channel.failure()) self.attempted += size;
  }

  template <Role R>
  void handshake_once() {
    Side<R>& self = side<R>();
    std::error_code code;
    const Status status = handshake(self.channel, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
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
    return side<R>().channel.handshake_done() ? 1 : 0;
  }

  template <Role R>
  void key_update(std::uint8_t argument) {
    Side<R>& self = side<R>();
    const KeyUpdate which =
        argument & 1 ? KeyUpdate::both_sides : KeyUpdate::this_side;

    std::error_code code;
    const Status status = request_key_update(self.channel, which, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
  }

  template <Role R>
  void close_once() {
    Side<R>& self = side<R>();
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
  void corrupt(std::uint8_t mode, Program& program) {
    std::vector<unsigned char>& wire = side<R>().incoming;
    const std::size_t offset = program.next_u16();
    const auto value = static_cast<unsigned char>(program.next());
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
    if (!client_.channel.handshake_done() ||
        !server_.channel.handshake_done()) {
      side<R>().corrupted_early = true;
    }
  }

  template <Role R>
  void renegotiate_once() {
    Side<R>& self = side<R>();
    std::error_code code;
    const Status status = renegotiate(self.channel, code);
    self.watch.after(code, status);
    check_refusal<R>(code);
  }

  void request_certificate(std::uint8_t argument) {
    const ClientCertificate mode = argument & 1 ? ClientCertificate::required
                                                : ClientCertificate::optional;
    std::error_code code;
    const Status status =
        request_client_certificate(server_.channel, mode, code);
    server_.watch.after(code, status);
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

  // A side may fail only when its input was corrupted or ended early, or
  // after its peer failed (and told it with an alert). During the first
  // handshake, corrupting what its peer receives counts too: a ClientHello
  // altered on its way may be taken by the server, whose answer then no
  // longer fits the client's transcript. After it, records are
  // authenticated, and only their receiver can see a change.
  template <Role R>
  bool may_fail() {
    const Side<R>& self = side<R>();
    const Side<peer_of<R>>& peer = side<peer_of<R>>();
    return self.corrupted || peer.corrupted_early || self.ended ||
           peer.channel.failure() || stranded<R>();
  }

  void check_causes() {
    require(!client_.channel.failure() || may_fail<client>(),
            "the client fails only for a cause");
    require(!server_.channel.failure() || may_fail<server>(),
            "the server fails only for a cause");
  }

  bool untouched() {
    return !client_.corrupted && !server_.corrupted && !client_.ended &&
           !server_.ended && !client_.channel.failure() &&
           !server_.channel.failure();
  }

  // Pumps both sides until nothing moves, then checks that everything
  // arrived.
  void settle() {
    for (int round = 0; round < 256; ++round) {
      if (shuttle() == 0 && at_rest()) break;
    }
    require(
        client_.channel.handshake_done() && server_.channel.handshake_done(),
        "a connection left alone finishes its handshake");
    require(at_rest(), "a connection left alone comes to rest");
    require(stranded<server>() || client_.received == server_.written,
            "a connection left alone delivers every byte the server wrote");
    require(stranded<client>() || server_.received == client_.written,
            "a connection left alone delivers every byte the client wrote");
    check_closes<client>();
    check_closes<server>();
    check_exporters();
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
    return client_.incoming.empty() && server_.incoming.empty() &&
           pending_ciphertext(client_.channel) == 0 &&
           pending_ciphertext(server_.channel) == 0;
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
    if (SSL_in_init(client_.channel.native_handle()) ||
        SSL_in_init(server_.channel.native_handle())) {
      return;
    }

    std::error_code client_code;
    std::error_code server_code;
    const auto client_keys = export_keying_material(
        client_.channel, "EXPERIMENTAL membio fuzz", 32, client_code);
    const auto server_keys = export_keying_material(
        server_.channel, "EXPERIMENTAL membio fuzz", 32, server_code);
    require(!client_code && !server_code && client_keys == server_keys,
            "both sides export the same keying material");
  }

  Side<client> client_;
  Side<server> server_;
};

}  // namespace
}  // namespace membio::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)membio::fuzz::sequence_contexts();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace membio::fuzz;
  const SequenceContexts& contexts = sequence_contexts();
  Program program(data, size);
  const std::uint8_t header = program.next();

  Random::reset();
  Random::use(Stream::client);
  Sequence sequence(header, contexts);
  sequence.run(program);
  return 0;
}
