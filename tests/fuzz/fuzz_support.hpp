// Shared by the fuzz targets and the corpus generator: reproducible
// randomness, fixed identities, the contexts each target uses, the format of
// their inputs, and the checks that stop the fuzzer when they fail.
#ifndef MEMBIO_TESTS_FUZZ_SUPPORT_HPP
#define MEMBIO_TESTS_FUZZ_SUPPORT_HPP

// RAND_set_rand_method is deprecated in OpenSSL 3.0, yet RAND_bytes and
// RAND_priv_bytes still obey it, and every key, nonce and random field of a
// handshake comes from them: it makes handshakes reproducible without a
// provider of our own. This must come before the first OpenSSL header, so
// each fuzz source includes this header first.
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif

#include <membio/membio.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

// OpenSSL 3.0 reads the clock with time() alone: when a session was made,
// how old a ticket is (early data is refused past ten seconds of skew) and
// whether it expired, whether a certificate is valid. Defined here, this
// time() replaces the C library's for the whole process (the sanitizers'
// own is weak), so that a ticket recorded into a seed, or made by one step
// of an input, is as old in every run. Each fuzz program is one source file
// that includes this header, so the definition appears once per program.
extern "C" std::time_t time(std::time_t* out) noexcept {
  const std::time_t fixed = 1893456000;  // 2030-01-01T00:00:00Z
  if (out) *out = fixed;
  return fixed;
}

namespace membio::fuzz {

/// Stops the process when an invariant does not hold; libFuzzer reports the
/// input as a crash and saves it.
inline void require(bool holds, const char* invariant) {
  if (holds) return;
  std::fprintf(stderr, "membio fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

/// Whose random bytes OpenSSL draws next. Each side of a connection has its
/// own stream, so that the flights recorded from one side stay valid when
/// the other side is replayed alone: its draws do not depend on the peer's.
enum class Stream { client, server };

/// A RAND_METHOD that gives OpenSSL a fixed sequence of bytes (SplitMix64)
/// per stream, restarted by `reset` before each input, so that the same
/// input always takes the same path. Fuzzing only: the bytes are public.
class Random {
 public:
  static void install() {
    static const RAND_METHOD method = {&seed, &bytes, nullptr,
                                       &add,  &bytes, &status};
    require(RAND_set_rand_method(&method) == 1, "install the fixed random");
  }

  static void reset() noexcept {
    states_[0] = 0x636c69656e74;  // "client"
    states_[1] = 0x736572766572;  // "server"
  }

  static void use(Stream stream) noexcept {
    current_ = stream == Stream::client ? 0 : 1;
  }

 private:
  static int bytes(unsigned char* out, int size) {
    std::uint64_t& state = states_[current_];
    for (int index = 0; index < size; ++index) {
      state += 0x9e3779b97f4a7c15u;
      std::uint64_t mixed = state;
      mixed = (mixed ^ (mixed >> 30)) * 0xbf58476d1ce4e5b9u;
      mixed = (mixed ^ (mixed >> 27)) * 0x94d049bb133111ebu;
      out[index] = static_cast<unsigned char>(mixed ^ (mixed >> 31));
    }
    return 1;
  }

  static int seed(const void*, int) { return 1; }
  static int add(const void*, int, double) { return 1; }
  static int status() { return 1; }

  inline static std::uint64_t states_[2] = {0, 0};
  inline static int current_ = 0;
};

/// A self-signed certificate for "localhost" and its key, the same bytes in
/// every run: the key comes from the fixed random bytes and the validity is
/// fixed (2020 to 2099), so handshakes recorded at build time replay later.
inline Identity fixed_identity(KeyType type, const char* common_name) {
  detail::ErrorQueueScope scope;
  Random::reset();
  Random::use(Stream::server);
  const detail::PkeyHandle key = detail::generate_key(type);
  const detail::X509Handle certificate(X509_new());
  require(certificate != nullptr, "allocate a certificate");

  X509* x509 = certificate.get();
  X509_NAME* name = X509_get_subject_name(x509);
  const auto* text = reinterpret_cast<const unsigned char*>(common_name);
  const bool ok =
      X509_set_version(x509, X509_VERSION_3) &&
      ASN1_INTEGER_set(X509_get_serialNumber(x509), 1) &&
      ASN1_TIME_set_string_X509(X509_getm_notBefore(x509), "20200101000000Z") &&
      ASN1_TIME_set_string_X509(X509_getm_notAfter(x509), "20991231235959Z") &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, text, -1, -1, 0) &&
      X509_set_issuer_name(x509, name) && X509_set_pubkey(x509, key.get());
  require(ok, "fill in the fixed certificate");

  detail::add_extension(x509, x509, NID_basic_constraints, "critical,CA:TRUE");
  detail::add_extension(x509, x509, NID_subject_key_identifier, "hash");
  detail::add_extension(x509, x509, NID_subject_alt_name, "DNS:localhost");
  require(X509_sign(x509, key.get(), EVP_sha256()) > 0, "sign the certificate");
  return {Certificate(x509).to_pem(), detail::key_to_pem(key.get())};
}

/// The two identities every fuzz context uses: an EC P-256 one (also the
/// client's) and an RSA 2048 one.
struct Identities {
  Identity ec = fixed_identity(KeyType::ec_p256, "membio fuzz EC");
  Identity rsa = fixed_identity(KeyType::rsa_2048, "membio fuzz RSA");
};

inline const Identities& identities() {
  static const Identities made;
  return made;
}

/// The key every fuzz server seals its tickets with: fixed, so that a
/// ticket sealed in one run, or by one server, opens in another.
inline TicketKey fixed_ticket_key() {
  TicketKey key;
  key.name.fill(0x6e);
  key.aes_key.fill(0x61);
  key.hmac_key.fill(0x68);
  return key;
}

/// The most early data (0-RTT) a fuzz server takes from one client.
inline constexpr std::uint32_t max_early_data = 2048;

/// The server side fuzz_server runs and the corpus generator records
/// against: both versions, a client certificate asked for when
/// `ask_certificate`, ALPN, renegotiation allowed, and resumption by
/// tickets sealed with the fixed key.
///
/// OpenSSL's session cache is off: a TLS 1.2 client that sends no ticket
/// extension gets a session ID, and the cached session would let a later
/// input resume it, so that an input would run differently after another.
/// Tickets carry the whole session and keep every input independent.
inline Context<server> make_server_context(const Identity& identity,
                                           bool ask_certificate = true) {
  Context<server> context;
  context.use_identity_pem(identity.certificate_chain_pem,
                           identity.private_key_pem);
  context.trust_pem(identities().ec.certificate_chain_pem);
  if (ask_certificate) {
    context.request_client_certificate(ClientCertificate::optional);
  }
  context.set_alpn_protocols({"h2", "http/1.1"},
                             AlpnMismatch::continue_without);
  context.set_groups("X25519:P-256");
  context.enable_renegotiation();
  context.use_ticket_keys({fixed_ticket_key()});
  SSL_CTX_set_session_cache_mode(context.native_handle(), SSL_SESS_CACHE_OFF);
  return context;
}

/// Lets clients that resume send early data, and takes a ticket's early
/// data however often it comes. OpenSSL's replay protection would keep each
/// TLS 1.3 ticket in the session cache and honour it once, so an input
/// would resume the first time it runs and not the next; fuzz_sequence
/// fuzzes that protection with a server context of its own per input.
inline void accept_replayed_early_data(Context<server>& context) {
  context.enable_early_data(max_early_data,
                            [](std::string_view) { return true; });
  SSL_CTX_set_options(context.native_handle(), SSL_OP_NO_ANTI_REPLAY);
}

/// The client side fuzz_client runs: both versions, trusts both
/// identities, has the EC one for servers that ask, offers ALPN, allows
/// post-handshake authentication and renegotiation.
inline Context<client> make_client_context() {
  Context<client> context;
  context.trust_pem(identities().ec.certificate_chain_pem +
                    identities().rsa.certificate_chain_pem);
  context.use_identity_pem(identities().ec.certificate_chain_pem,
                           identities().ec.private_key_pem);
  context.set_alpn_protocols({"h2", "http/1.1"});
  context.allow_post_handshake_auth();
  context.enable_renegotiation();
  return context;
}

/// The servers fuzz_server runs: make_server_context's, taking early data.
inline Context<server> make_early_data_server(const Identity& identity) {
  Context<server> context = make_server_context(identity);
  accept_replayed_early_data(context);
  return context;
}

/// The contexts fuzz_server and fuzz_client use, and the session that
/// fuzz_client's resuming inputs offer, made once per process.
struct Contexts {
  Context<server> ec_server = make_early_data_server(identities().ec);
  Context<server> rsa_server = make_early_data_server(identities().rsa);
  Context<client> verifying_client = make_client_context();
  Context<client> insecure_client = [] {
    Context<client> context = make_client_context();
    context.insecure_skip_verification();
    return context;
  }();
  Session session;
};

/// Runs a whole connection over `client` and `server` once, so that
/// OpenSSL's lazy one-time set-up has happened before anything is recorded
/// or replayed: a first handshake must draw the same random bytes as every
/// later one.
inline void warm_up(const Context<client>& client_context,
                    const Context<server>& server_context) {
  Random::reset();
  Channel<client> client_channel(client_context, "localhost");
  Channel<server> server_channel(server_context);
  Loopback loopback(client_channel, server_channel);
  loopback.handshake();
  require(loopback.send_to_server("warm") == "warm", "warm-up round trip");
  loopback.close();
}

/// A session of `client_context` with `server_context`, in the newest
/// version both allow, made from the fixed random bytes and clock: the same
/// bytes in every process, so that a recorded resumption replays.
inline Session fixed_session(const Context<client>& client_context,
                             const Context<server>& server_context) {
  Random::reset();
  Channel<client> client_channel(client_context, "localhost");
  Channel<server> server_channel(server_context);
  Loopback loopback(client_channel, server_channel);
  loopback.handshake();

  // The tickets come before these bytes, so reading them takes the tickets.
  require(loopback.send_to_client("ticket") == "ticket", "tickets arrive");
  return current_session(client_channel);
}

/// Installs the fixed random bytes, then makes and warms up the contexts;
/// the first call does the work.
inline const Contexts& contexts() {
  static const Contexts made = [] {
    Random::install();
    Contexts contexts;
    warm_up(contexts.verifying_client, contexts.ec_server);
    warm_up(contexts.verifying_client, contexts.rsa_server);
    contexts.session =
        fixed_session(contexts.verifying_client, contexts.ec_server);
    return contexts;
  }();
  return made;
}

/// The early data fuzz_client's resuming inputs send with the ClientHello.
inline constexpr std::string_view early_message = "early data, replayable";

/// Makes fuzz_client's client send its first flight, which no input
/// changes: with `resume`, the fixed session offered and early_message
/// written as early data, then the ClientHello.
inline void start_client(Channel<client>& channel, bool resume) {
  std::error_code code;
  if (resume) {
    restore_session(channel, contexts().session, code);
    require(!code, "the fixed session restores");
    (void)write_early_plaintext(channel, early_message, code);
    require(!code, "early data goes with the ClientHello");
  }

  const Status status = handshake(channel, code);
  require(!code && status == Status::send_output, "ClientHello made");
}

/// The input of fuzz_server and fuzz_client: a header, then ciphertext.
///
///     byte 0      options: bits 0-2 how many piece sizes follow; then the
///                 flags below
///     next bytes  piece sizes, used in turn; 0 means all that is left
///     the rest    ciphertext from the peer, fed in pieces of those sizes
///
/// After each piece the channel is driven (handshake, then reads) until it
/// needs more input.
struct FedInput {
  static constexpr std::uint8_t end_with_eof = 0x08;  // feed_eof at the end
  static constexpr std::uint8_t echo = 0x10;          // write back what is read
  static constexpr std::uint8_t end_with_close = 0x20;  // close at the end
  // fuzz_server: the RSA server; fuzz_client: a client that skips
  // verification, so that a hostile certificate reaches the accessors.
  static constexpr std::uint8_t variant = 0x40;
  // fuzz_client: the client offers the fixed session and sends
  // early_message as early data.
  static constexpr std::uint8_t resume = 0x80;

  std::uint8_t options = 0;
  std::vector<std::size_t> piece_sizes;
  ConstBytes ciphertext;

  static FedInput parse(const std::uint8_t* data, std::size_t size) {
    FedInput input;
    if (size == 0) return input;
    input.options = data[0];

    const std::size_t count = std::min<std::size_t>(data[0] & 7, size - 1);
    input.piece_sizes.assign(data + 1, data + 1 + count);
    input.ciphertext = ConstBytes(data + 1 + count, size - 1 - count);
    return input;
  }

  /// Writes an input in this format; the corpus generator's seeds.
  static std::vector<std::uint8_t> encode(
      std::uint8_t options, const std::vector<std::uint8_t>& piece_sizes,
      const std::vector<std::uint8_t>& ciphertext) {
    std::vector<std::uint8_t> bytes;
    bytes.push_back(
        static_cast<std::uint8_t>((options & ~7) | (piece_sizes.size() & 7)));
    bytes.insert(bytes.end(), piece_sizes.begin(), piece_sizes.end());
    bytes.insert(bytes.end(), ciphertext.begin(), ciphertext.end());
    return bytes;
  }
};

/// Checks what a channel reports after each operation: the error queue is
/// empty, an error comes with a message, a fatal error is kept and
/// repeated, and the status agrees with the channel's state.
template <Role R>
class Watch {
 public:
  explicit Watch(Channel<R>& channel) : channel_(channel) {}

  /// After any operation but `drain`, which never repeats a failure.
  void after(const std::error_code& code) {
    require(ERR_peek_error() == 0, "the error queue is empty after a call");
    const std::error_code failure = channel_.failure();
    if (failure_) {
      require(failure == failure_, "a failure stays set");
      require(code == failure_, "a failed channel repeats its failure");
    } else if (failure) {
      require(code == failure, "the call that fails reports the failure");
    }
    if (code) {
      require(!channel_.last_error_message().empty(), "an error has a text");
    }

    const CloseState state = channel_.close_state();
    require(!failure || state == CloseState::failed ||
                state == CloseState::truncated,
            "a failed channel's close state says so");
    require((state == CloseState::truncated) ==
                (failure == make_error_code(errc::truncated)),
            "truncated is the close state of errc::truncated");
    failure_ = failure;
  }

  /// After an operation that returns a Status (a read only when it read
  /// nothing).
  void after(const std::error_code& code, Status status) {
    after(code);
    if (code) return;

    const bool pending = pending_ciphertext(channel_) > 0;
    require((status == Status::send_output) == pending,
            "send_output exactly when ciphertext waits");
    const CloseState state = channel_.close_state();
    require(status != Status::closed || state == CloseState::close_received ||
                state == CloseState::closed,
            "closed only once the peer's close_notify arrived");
    require(status != Status::done || channel_.handshake_done(),
            "done only after the handshake");
  }

  /// After a read into a buffer of `capacity` bytes.
  void after(const std::error_code& code, const ReadResult& result,
             std::size_t capacity) {
    require(result.size <= capacity, "a read fits its buffer");
    require((result.size > 0) == (result.status == Status::done),
            "a read returns done exactly when it read bytes");
    // Early data comes before the handshake is done, when resumed() still
    // says no: OpenSSL's own flag tells that the ClientHello resumed.
    require(!result.early_data ||
                (R == Role::server &&
                 channel_.early_data() == EarlyData::accepted &&
                 SSL_session_reused(channel_.native_handle()) == 1),
            "early data only reaches a server that took it and resumed");
    if (result.size > 0) {
      after(code);
      require(!code, "a read that returns bytes reports no error");
    } else {
      after(code, result.status);
    }
  }

  bool failed() const noexcept { return static_cast<bool>(failure_); }

 private:
  Channel<R>& channel_;
  std::error_code failure_;
};

/// Reads every field of a certificate, as a caller printing it would; a
/// peer's may be hostile. Each accessor must leave the error queue empty.
inline void inspect(const Certificate& certificate) {
  const auto clean = [](const char* accessor) {
    if (ERR_peek_error() == 0) return;
    std::fprintf(stderr, "membio fuzz: Certificate::%s\n", accessor);
    require(false, "a certificate accessor leaves the error queue empty");
  };
  (void)certificate.subject();
  clean("subject");
  (void)certificate.issuer();
  clean("issuer");
  (void)certificate.serial_number();
  clean("serial_number");
  (void)certificate.not_before();
  clean("not_before");
  (void)certificate.not_after();
  clean("not_after");
  (void)certificate.sha256_fingerprint_hex();
  clean("sha256_fingerprint_hex");
  (void)certificate.public_key_sha256();
  clean("public_key_sha256");
  (void)certificate.subject_alt_names();
  clean("subject_alt_names");
  (void)certificate.to_pem();
  clean("to_pem");
}

/// Calls every accessor of a channel, which must answer in any state and
/// leave the error queue empty.
template <Role R>
void inspect(const Channel<R>& channel) {
  (void)channel.close_state();
  (void)channel.failure();
  (void)channel.last_error_message();
  const bool versioned = !channel.protocol_version().empty();
  require(versioned == channel.handshake_done(),
          "a version exactly once the handshake is done");
  (void)channel.cipher_suite();
  (void)channel.key_exchange_group();
  (void)channel.server_name();
  (void)channel.alpn_protocol();
  (void)channel.resumed();
  (void)channel.peer_signature_algorithm();
  (void)channel.last_alert();
  (void)channel.key_updates_received();
  (void)channel.early_data();
  require(ERR_peek_error() == 0, "channel accessors leave the queue empty");

  inspect(channel.peer_certificate());
  for (const Certificate& certificate : channel.verified_chain()) {
    inspect(certificate);
  }
}

/// What a fed input achieved; the corpus generator checks its seeds by it.
struct FedOutcome {
  bool handshake_done = false;
  bool failed = false;
  std::size_t plaintext = 0;
};

/// Feeds a FedInput to a channel piece by piece, driving it after each
/// piece and checking every call.
template <Role R>
class FedDriver {
 public:
  FedDriver(Channel<R>& channel, const FedInput& input)
      : channel_(channel), input_(input), watch_(channel) {}

  FedOutcome run() {
    const unsigned char* next = input_.ciphertext.data();
    std::size_t left = input_.ciphertext.size();
    for (std::size_t piece = 0; left > 0 && !watch_.failed(); ++piece) {
      std::size_t size = left;
      if (!input_.piece_sizes.empty()) {
        const std::size_t chosen =
            input_.piece_sizes[piece % input_.piece_sizes.size()];
        size = chosen == 0 ? left : std::min(chosen, left);
      }
      feed_and_drive(ConstBytes(next, size));
      next += size;
      left -= size;
    }

    finish();
    return {channel_.handshake_done(), watch_.failed(), plaintext_};
  }

 private:
  void feed_and_drive(ConstBytes piece) {
    std::error_code code;
    feed(channel_, piece, code);
    watch_.after(code);
    fed_ += piece.size();
    if (!code) drive();
  }

  void finish() {
    std::error_code code;
    if (input_.options & FedInput::end_with_eof) {
      feed_eof(channel_, code);
      watch_.after(code);
      drive();
    }
    if (input_.options & FedInput::end_with_close) {
      const Status status = close(channel_, code);
      watch_.after(code, status);
      drain();
      drive();
    }

    // A failed channel repeats its failure to whatever comes next.
    const Status status = handshake(channel_, code);
    watch_.after(code, status);
    inspect(channel_);
  }

  // Handshake, then read, until the channel needs input; every round
  // consumes input or ends, so the bound only catches a loop that spins.
  void drive() {
    const std::size_t rounds = 64 + fed_;
    for (std::size_t round = 0; round < rounds; ++round) {
      std::error_code code;
      Status status = Status::need_input;
      if (channel_.handshake_done()) {
        status = read(code);
      } else {
        status = handshake(channel_, code);
        watch_.after(code, status);
      }
      drain();
      if (code || status == Status::need_input || status == Status::closed) {
        return;
      }
    }
    require(false, "the channel settles within a bounded number of calls");
  }

  Status read(std::error_code& code) {
    unsigned char buffer[4096];
    const ReadResult result = read_plaintext(channel_, buffer, code);
    watch_.after(code, result, sizeof buffer);
    plaintext_ += result.size;
    if (result.size == 0 || !(input_.options & FedInput::echo)) {
      return result.status;
    }

    std::error_code write_code;
    const Status status =
        write_plaintext(channel_, ConstBytes(buffer, result.size), write_code);
    watch_.after(write_code, status);
    if (write_code) code = write_code;
    return result.status;
  }

  void drain() {
    std::vector<unsigned char> flight;
    std::error_code code;
    drain_into(channel_, flight, code);
    require(!code && ERR_peek_error() == 0, "drain never fails");
    require(pending_ciphertext(channel_) == 0, "drain_into takes everything");
  }

  Channel<R>& channel_;
  const FedInput& input_;
  Watch<R> watch_;
  std::size_t fed_ = 0;
  std::size_t plaintext_ = 0;
};

/// The operations of a fuzz_sequence program. Each step is an opcode byte
/// (the operation in bits 0-4, modulo the count; a small argument in bits
/// 5-6; the side in bit 7: 0 client, 1 server), then the operation's own
/// argument bytes.
enum class Op : std::uint8_t {
  feed,            // 1 byte: how many bytes in flight to feed (0: all)
  drain,           // 1 byte: how many bytes to drain (0: all)
  read,            // 1 byte: buffer size (0: 16384)
  read_all,        // read_plaintext_into until it stops
  write,           // 2 bytes: size, big-endian, modulo 20001; argument
                   // bit 0: leave small writes gathered (no peek at the
                   // output, which would seal them)
  handshake,       //
  shuttle,         // drain, feed and drive both sides once
  key_update,      // argument bit 0: ask the peer to update too
  close,           //
  feed_eof,        //
  corrupt,         // argument: 0 flip, 1 insert, 2 drop; 2 bytes offset, 1
                   // value
  renegotiate,     //
  request_cert,    // server only; argument bit 0: required
  inspect,         // the accessors, an exporter, a saved session
  flush,           //
  incoming_space,  // 1 byte n: ask for n * n bytes, fill them from the
                   // bytes in flight, commit; argument 1: commit one more
                   // than offered, 2: drain in between, 3: handshake in
                   // between (the commit is then refused)
  outgoing_view,   // 1 byte n: send n * n bytes of the view (0: all);
                   // argument bit 0: first consume one more than the view
                   // holds (refused), bit 1: consume in two halves
  resume,          // client's session to a new pair; argument bit 0: as
                   // bytes, bit 1: first offer it to a channel for
                   // another name (refused)
  write_early,     // client only; 1 byte n: n * 16 bytes of early data
  repeat,          // 1 byte n: run the next step (n + 1) << (2 * argument)
                   // times
  count
};

/// The header byte of a fuzz_sequence program: bits 0-1 choose the client
/// (TLS 1.3, or TLS 1.2 with AES-GCM, AES-CBC or ChaCha20), bit 2 starts
/// from a finished handshake instead of none, bit 3 turns write coalescing
/// off, bit 4 chooses a server that takes early data and refuses replays,
/// made for this input alone.
struct SequenceHeader {
  static constexpr std::uint8_t tls13 = 0;
  static constexpr std::uint8_t tls12_gcm = 1;
  static constexpr std::uint8_t tls12_cbc = 2;
  static constexpr std::uint8_t tls12_chacha = 3;
  static constexpr std::uint8_t connected = 4;
  static constexpr std::uint8_t no_coalescing = 8;
  static constexpr std::uint8_t early_data_server = 16;
};

/// Writes fuzz_sequence programs; the corpus generator's seeds.
class ProgramWriter {
 public:
  explicit ProgramWriter(std::uint8_t header) : bytes_{header} {}

  ProgramWriter& step(Op op, Role side, std::uint8_t argument = 0) {
    bytes_.push_back(static_cast<std::uint8_t>(
        static_cast<unsigned>(op) | (argument & 3u) << 5 |
        (side == Role::server ? 0x80u : 0u)));
    return *this;
  }

  ProgramWriter& byte(std::uint8_t value) {
    bytes_.push_back(value);
    return *this;
  }

  ProgramWriter& write(Role side, std::uint16_t size,
                       std::uint8_t argument = 0) {
    step(Op::write, side, argument);
    byte(static_cast<std::uint8_t>(size >> 8));
    return byte(static_cast<std::uint8_t>(size & 0xff));
  }

  const std::vector<std::uint8_t>& bytes() const noexcept { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace membio::fuzz

#endif  // MEMBIO_TESTS_FUZZ_SUPPORT_HPP
