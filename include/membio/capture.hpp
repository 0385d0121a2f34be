// Capture: records one connection's ciphertext, and the secrets that decrypt
// it, as a pcapng file that Wireshark opens and decrypts by itself.
#ifndef MEMBIO_CAPTURE_HPP
#define MEMBIO_CAPTURE_HPP

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "bytes.hpp"
#include "error.hpp"
#include "hooks.hpp"
#include "version.hpp"

namespace membio {

/// One end of the TCP connection a capture shows: an IPv4 address and a
/// port. They only label the packets in the file; nothing is sent.
struct CaptureEndpoint {
  /// The address, most significant byte first: {10, 0, 0, 1}.
  std::array<std::uint8_t, 4> address{};

  /// The TCP port.
  std::uint16_t port = 0;
};

/// How a capture presents the connection.
struct CaptureOptions {
  /// The client's address and port.
  CaptureEndpoint client{{10, 0, 0, 1}, 50000};

  /// The server's address and port. Wireshark reads port 443 as TLS by
  /// itself; for another port, tell it with "Decode As".
  CaptureEndpoint server{{10, 0, 0, 2}, 443};

  /// The largest payload of one TCP packet (the maximum segment size),
  /// from 1 to 65495 bytes; longer chunks become several packets.
  std::size_t max_segment_size = 1460;
};

namespace detail {

// Bytes as the wire and the file hold them.
using Octets = std::vector<unsigned char>;

// A 65535-byte IPv4 packet less 20 bytes of IPv4 and 20 of TCP header.
inline constexpr std::size_t largest_segment = 65495;
inline constexpr std::uint32_t tcp_window = 65535;

// Packets wait for the secrets that decrypt them up to this many bytes of
// packet blocks; past it they are written without, so that a connection
// whose secrets never come costs bounded memory. A handshake, which is all
// that comes before the secrets of a healthy connection, is far smaller.
inline constexpr std::size_t most_held = 1024 * 1024;

inline constexpr std::uint8_t tcp_fin = 0x01;
inline constexpr std::uint8_t tcp_syn = 0x02;
inline constexpr std::uint8_t tcp_push = 0x08;
inline constexpr std::uint8_t tcp_ack = 0x10;

/// Appends `value` most significant byte first, as Ethernet, IPv4 and TCP
/// headers hold it.
template <class Unsigned>
void put_big_endian(Octets& out, Unsigned value) {
  for (int shift = 8 * (sizeof value - 1); shift >= 0; shift -= 8) {
    out.push_back(static_cast<unsigned char>(value >> shift & 0xff));
  }
}

/// Appends `value` least significant byte first. pcapng's own fields are
/// written so on every machine; the section header's byte-order magic
/// tells readers.
template <class Unsigned>
void put_little_endian(Octets& out, Unsigned value) {
  for (std::size_t shift = 0; shift < 8 * sizeof value; shift += 8) {
    out.push_back(static_cast<unsigned char>(value >> shift & 0xff));
  }
}

inline void put_bytes(Octets& out, ConstBytes bytes) {
  out.insert(out.end(), bytes.data(), bytes.data() + bytes.size());
}

/// pcapng aligns every field of variable length to 32 bits, with zeros.
inline void pad_to_32_bits(Octets& out) {
  out.resize((out.size() + 3) / 4 * 4);
}

/// Adds 16-bit words to a running Internet checksum sum (RFC 1071); an odd
/// last byte counts as the high half of a word.
inline std::uint32_t add_to_checksum(std::uint32_t sum, ConstBytes bytes) {
  const unsigned char* byte = bytes.data();
  for (std::size_t index = 0; index + 1 < bytes.size(); index += 2) {
    sum += static_cast<std::uint32_t>(byte[index] << 8 | byte[index + 1]);
  }

  if (bytes.size() % 2 == 1) {
    sum += static_cast<std::uint32_t>(byte[bytes.size() - 1] << 8);
  }
  return sum;
}

/// Folds the carries back into 16 bits and complements: the checksum.
inline std::uint16_t finish_checksum(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

/// Frames a block body: type, total length, body, total length again. The
/// body must already be padded to 32 bits.
inline Octets pcapng_block(std::uint32_t type, const Octets& body) {
  const auto total = static_cast<std::uint32_t>(body.size() + 12);

  Octets block;
  put_little_endian(block, type);
  put_little_endian(block, total);
  block.insert(block.end(), body.begin(), body.end());
  put_little_endian(block, total);
  return block;
}

/// The Section Header Block, naming membio as the writer, then the one
/// Interface Description Block: an Ethernet link whose snapshot length
/// (262144 bytes, tcpdump's) never cuts a frame.
inline Octets pcapng_file_header() {
  const std::string writer = "membio " + std::to_string(version_major) + "." +
                             std::to_string(version_minor) + "." +
                             std::to_string(version_patch);
  Octets section;
  put_little_endian<std::uint32_t>(section, 0x1a2b3c4d);  // Byte-order magic.
  put_little_endian<std::uint16_t>(section, 1);           // Version 1.0.
  put_little_endian<std::uint16_t>(section, 0);
  put_little_endian<std::uint64_t>(section, ~std::uint64_t{0});  // Unknown.
  put_little_endian<std::uint16_t>(section, 4);                  // shb_userappl
  put_little_endian(section, static_cast<std::uint16_t>(writer.size()));
  put_bytes(section, writer);
  pad_to_32_bits(section);
  put_little_endian<std::uint32_t>(section, 0);  // opt_endofopt

  Octets interface;
  put_little_endian<std::uint16_t>(interface, 1);  // LINKTYPE_ETHERNET
  put_little_endian<std::uint16_t>(interface, 0);
  put_little_endian<std::uint32_t>(interface, 262144);  // Snapshot length.

  Octets blocks = pcapng_block(0x0a0d0d0a, section);
  const Octets description = pcapng_block(1, interface);
  blocks.insert(blocks.end(), description.begin(), description.end());
  return blocks;
}

/// An Enhanced Packet Block holding a whole frame, seen at `microseconds`
/// since 1970 (pcapng's default resolution).
inline Octets enhanced_packet_block(std::uint64_t microseconds,
                                    const Octets& frame) {
  Octets body;
  put_little_endian<std::uint32_t>(body, 0);  // Interface 0.
  put_little_endian(body, static_cast<std::uint32_t>(microseconds >> 32));
  put_little_endian(body, static_cast<std::uint32_t>(microseconds));
  put_little_endian(body, static_cast<std::uint32_t>(frame.size()));
  put_little_endian(body, static_cast<std::uint32_t>(frame.size()));
  put_bytes(body, frame);
  pad_to_32_bits(body);
  return pcapng_block(6, body);
}

/// A Decryption Secrets Block holding TLS key log lines ("TLSK"), each
/// ending in a newline.
inline Octets decryption_secrets_block(std::string_view key_log) {
  Octets body;
  put_little_endian<std::uint32_t>(body, 0x544c534b);
  put_little_endian(body, static_cast<std::uint32_t>(key_log.size()));
  put_bytes(body, key_log);
  pad_to_32_bits(body);
  return pcapng_block(0x0000000a, body);
}

/// One direction of the made-up TCP connection.
struct TcpFlow {
  CaptureEndpoint source;
  CaptureEndpoint destination;
  std::uint32_t next_sequence = 0;  // Of the next byte this side sends.
  std::uint32_t acknowledged = 0;   // How far the other side acknowledged.
  std::uint16_t next_ip_id = 0;
};

/// Ethernet addresses are made from the IPv4 address, behind 02:00, which
/// marks them locally administered: no real card has them.
inline void put_mac_address(Octets& out, const CaptureEndpoint& endpoint) {
  out.push_back(0x02);
  out.push_back(0x00);
  out.insert(out.end(), endpoint.address.begin(), endpoint.address.end());
}

inline void put_ethernet_header(Octets& frame, const TcpFlow& flow) {
  put_mac_address(frame, flow.destination);
  put_mac_address(frame, flow.source);
  put_big_endian<std::uint16_t>(frame, 0x0800);  // IPv4
}

inline void put_ipv4_header(Octets& frame, TcpFlow& flow,
                            std::size_t tcp_size) {
  const std::size_t start = frame.size();
  frame.push_back(0x45);  // Version 4, a 20-byte header.
  frame.push_back(0);
  put_big_endian(frame, static_cast<std::uint16_t>(20 + tcp_size));
  put_big_endian(frame, flow.next_ip_id++);
  put_big_endian<std::uint16_t>(frame, 0x4000);  // Don't fragment.
  frame.push_back(64);                           // Time to live.
  frame.push_back(6);                            // TCP
  put_big_endian<std::uint16_t>(frame, 0);       // Checksum, set below.
  put_bytes(frame, ConstBytes(flow.source.address));
  put_bytes(frame, ConstBytes(flow.destination.address));

  const std::uint16_t checksum =
      finish_checksum(add_to_checksum(0, ConstBytes(frame.data() + start, 20)));
  frame[start + 10] = static_cast<unsigned char>(checksum >> 8);
  frame[start + 11] = static_cast<unsigned char>(checksum & 0xff);
}

/// The TCP checksum covers a pseudo-header of addresses, protocol and
/// length, then the whole segment.
inline std::uint16_t tcp_checksum(const TcpFlow& flow, const Octets& segment) {
  Octets pseudo;
  put_bytes(pseudo, ConstBytes(flow.source.address));
  put_bytes(pseudo, ConstBytes(flow.destination.address));
  put_big_endian<std::uint16_t>(pseudo, 6);  // TCP
  put_big_endian(pseudo, static_cast<std::uint16_t>(segment.size()));

  return finish_checksum(add_to_checksum(add_to_checksum(0, pseudo), segment));
}

/// A TCP segment from `flow`'s side. A SYN carries the maximum segment
/// size as its one option.
inline Octets tcp_segment(const TcpFlow& flow, std::uint32_t acknowledgement,
                          std::uint8_t flags, ConstBytes payload,
                          std::uint16_t max_segment) {
  const bool syn = (flags & tcp_syn) != 0;
  Octets segment;
  put_big_endian(segment, flow.source.port);
  put_big_endian(segment, flow.destination.port);
  put_big_endian(segment, flow.next_sequence);
  put_big_endian<std::uint32_t>(segment,
                                (flags & tcp_ack) ? acknowledgement : 0);
  segment.push_back(syn ? 0x60 : 0x50);  // Header length in 32-bit words.
  segment.push_back(flags);
  put_big_endian(segment, static_cast<std::uint16_t>(tcp_window));
  put_big_endian<std::uint32_t>(segment, 0);  // Checksum, urgent pointer.

  if (syn) {
    segment.push_back(2);  // Maximum segment size, 4 bytes long.
    segment.push_back(4);
    put_big_endian(segment, max_segment);
  }
  put_bytes(segment, payload);

  const std::uint16_t checksum = tcp_checksum(flow, segment);
  segment[16] = static_cast<unsigned char>(checksum >> 8);
  segment[17] = static_cast<unsigned char>(checksum & 0xff);
  return segment;
}

/// Frames the two byte streams of one connection as TCP over IPv4 over
/// Ethernet, in pcapng packet blocks: the three-way handshake, the data cut
/// to the segment size, the close. Both directions' sequence and
/// acknowledgement numbers follow the bytes exactly.
class TcpFramer {
 public:
  explicit TcpFramer(const CaptureOptions& options)
      // Fixed initial sequence numbers: the same bytes make the same
      // capture, apart from the times.
      : client_{options.client, options.server, 0x10000000, 0x10000000, 0},
        server_{options.server, options.client, 0x20000000, 0x20000000, 0},
        max_segment_(static_cast<std::uint16_t>(options.max_segment_size)) {}

  /// SYN, SYN/ACK, ACK.
  void connect(Octets& blocks) {
    send(client_, server_, tcp_syn, {}, blocks);
    send(server_, client_, tcp_syn | tcp_ack, {}, blocks);
    send(client_, server_, tcp_ack, {}, blocks);
  }

  /// The bytes one side sent, as segments no longer than the maximum; the
  /// last one of the chunk is pushed.
  void carry(bool from_client, ConstBytes payload, Octets& blocks) {
    TcpFlow& from = from_client ? client_ : server_;
    TcpFlow& to = from_client ? server_ : client_;

    std::size_t offset = 0;
    while (offset < payload.size()) {
      const std::size_t size =
          std::min<std::size_t>(max_segment_, payload.size() - offset);
      // A sender keeps at most a window of bytes unacknowledged: a real
      // receiver would have acknowledged before the sender sent more.
      if (from.next_sequence - from.acknowledged + size > tcp_window) {
        send(to, from, tcp_ack, {}, blocks);
      }

      const bool last = offset + size == payload.size();
      const auto flags =
          static_cast<std::uint8_t>(last ? tcp_ack | tcp_push : tcp_ack);
      send(from, to, flags, ConstBytes(payload.data() + offset, size), blocks);
      offset += size;
    }
  }

  /// The client's FIN, the server's FIN, the client's last ACK.
  void disconnect(Octets& blocks) {
    send(client_, server_, tcp_fin | tcp_ack, {}, blocks);
    send(server_, client_, tcp_fin | tcp_ack, {}, blocks);
    send(client_, server_, tcp_ack, {}, blocks);
  }

 private:
  void send(TcpFlow& from, TcpFlow& to, std::uint8_t flags, ConstBytes payload,
            Octets& blocks) {
    const Octets segment =
        tcp_segment(from, to.next_sequence, flags, payload, max_segment_);
    Octets frame;
    put_ethernet_header(frame, from);
    put_ipv4_header(frame, from, segment.size());
    frame.insert(frame.end(), segment.begin(), segment.end());

    const Octets block = enhanced_packet_block(timestamp(), frame);
    blocks.insert(blocks.end(), block.begin(), block.end());

    // SYN and FIN each take one sequence number, as a byte would.
    const bool counts_one = (flags & (tcp_syn | tcp_fin)) != 0;
    from.next_sequence +=
        static_cast<std::uint32_t>(payload.size() + (counts_one ? 1 : 0));
    if (flags & tcp_ack) to.acknowledged = to.next_sequence;
  }

  // The time of recording, made strictly increasing so that the packets'
  // order in time is the order of the file.
  std::uint64_t timestamp() {
    const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    last_timestamp_ =
        std::max(static_cast<std::uint64_t>(now.count()), last_timestamp_ + 1);
    return last_timestamp_;
  }

  TcpFlow client_;
  TcpFlow server_;
  std::uint16_t max_segment_;
  std::uint64_t last_timestamp_ = 0;
};

/// Sorts key log lines for one connection: keeps those that carry the
/// client random of the ClientHello the client sent, and tells when all
/// the secrets that decrypt the connection are in.
class KeyLogGate {
 public:
  /// Collects the start of what the client sends: a handshake record whose
  /// 5-byte header, 4-byte handshake header and 2-byte version come before
  /// the 32-byte random.
  void note_client_bytes(ConstBytes ciphertext) {
    const std::size_t size =
        std::min(hello_size - hello_.size(), ciphertext.size());
    put_bytes(hello_, ConstBytes(ciphertext.data(), size));
  }

  /// Keeps the lines of this connection until `take_unwritten`. While no
  /// ClientHello has been seen, every line counts as this connection's.
  void add(const std::vector<std::string>& lines) {
    const std::string random = client_random_hex();
    for (const std::string& line : lines) {
      if (!random.empty() && field(line, 1) != random) continue;

      const std::string_view label = field(line, 0);
      client_random_ = client_random_ || label == "CLIENT_RANDOM";
      client_traffic_ = client_traffic_ || label == "CLIENT_TRAFFIC_SECRET_0";
      server_traffic_ = server_traffic_ || label == "SERVER_TRAFFIC_SECRET_0";
      unwritten_ += line + '\n';
    }
  }

  /// Whether the secrets for the whole connection are in: TLS 1.2's master
  /// secret, or both of TLS 1.3's application traffic secrets (the
  /// handshake secrets are logged before them).
  bool complete() const noexcept {
    return client_random_ || (client_traffic_ && server_traffic_);
  }

  /// The kept lines not yet written, each ending in a newline.
  std::string take_unwritten() { return std::exchange(unwritten_, {}); }

 private:
  static constexpr std::size_t hello_size = 5 + 4 + 2 + 32;

  // The random in lowercase hex, as OpenSSL logs it; empty until the first
  // bytes of a ClientHello are in.
  std::string client_random_hex() const {
    if (hello_.size() < hello_size || hello_[0] != 22 || hello_[5] != 1) {
      return "";
    }

    static const char digits[] = "0123456789abcdef";
    std::string hex;
    for (std::size_t index = hello_size - 32; index < hello_size; ++index) {
      hex += digits[hello_[index] >> 4];
      hex += digits[hello_[index] & 0xf];
    }
    return hex;
  }

  // The space-separated field of a line at `index`; empty past the last.
  static std::string_view field(std::string_view line, int index) {
    for (; index > 0 && line.find(' ') != std::string_view::npos; --index) {
      line.remove_prefix(line.find(' ') + 1);
    }
    return index > 0 ? std::string_view() : line.substr(0, line.find(' '));
  }

  Octets hello_;
  std::string unwritten_;
  bool client_random_ = false;
  bool client_traffic_ = false;
  bool server_traffic_ = false;
};

/// Where the file's bytes go: a file the capture opened, or a stream that
/// the caller owns.
class PcapngSink {
 public:
  /// Opens (creates or empties) the file at `path`; a failure leaves the
  /// sink closed and sets `code` from errno.
  PcapngSink(const std::string& path, std::error_code& code) : name_(path) {
    errno = 0;
    file_.reset(std::fopen(path.c_str(), "wb"));
    if (!file_) code = errno_or_io_error();
  }

  explicit PcapngSink(std::ostream& stream)
      : stream_(&stream), name_("output stream") {}

  /// The path, or "output stream", for error messages.
  const std::string& name() const noexcept { return name_; }

  void write(const Octets& bytes, std::error_code& code) {
    if (bytes.empty()) return;

    errno = 0;
    if (file_) {
      if (std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) !=
          bytes.size()) {
        code = errno_or_io_error();
      }
    } else if (!stream_->write(reinterpret_cast<const char*>(bytes.data()),
                               static_cast<std::streamsize>(bytes.size()))) {
      code = std::make_error_code(std::errc::io_error);
    }
  }

  /// Flushes a stream, or closes the file: a full disk may show only here.
  void finish(std::error_code& code) {
    errno = 0;
    if (file_) {
      if (std::fclose(file_.release()) != 0) code = errno_or_io_error();
    } else if (stream_ && !stream_->flush()) {
      code = std::make_error_code(std::errc::io_error);
    }
  }

 private:
  static std::error_code errno_or_io_error() {
    return {errno ? errno : EIO, std::generic_category()};
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_{nullptr, &std::fclose};
  std::ostream* stream_ = nullptr;
  std::string name_;
};

/// What a capture and the key log callbacks it made share. A callback may
/// run on the thread of any channel whose context holds it, so both take
/// the lock.
struct CaptureState {
  CaptureState(PcapngSink sink_in, const CaptureOptions& options)
      : sink(std::move(sink_in)), tcp(options) {}

  std::mutex lock;
  std::vector<std::string> arrived;  // Key log lines not yet sorted.
  bool closed = false;

  PcapngSink sink;
  TcpFramer tcp;
  KeyLogGate keys;
  Octets held;  // Packet blocks waiting for the secrets that decrypt them.

  std::error_code failure;  // The first write error; every later call too.
  std::string failure_message;
};

}  // namespace detail

/// Records one TLS connection's ciphertext in both directions as a pcapng
/// file that Wireshark and tshark open and decrypt with nothing else: the
/// ciphertext is framed as a TCP connection (handshake, segments, close)
/// between two made-up endpoints, and the connection's key log lines go
/// into the file as Decryption Secrets Blocks.
///
///     membio::Capture capture("connection.pcapng");
///     client_context.on_key_log(capture.key_log());
///     ...
///     std::vector<unsigned char> flight = membio::drain_all(client);
///     capture.client_to_server(flight);
///     send_to_server(flight);
///     ...
///     capture.close();
///
/// Whoever moves the ciphertext records it: after each `drain` on the
/// client, `client_to_server`; after each on the server,
/// `server_to_client`; in the order the bytes were sent. A capture does no
/// I/O besides its file, and sees only what it is given.
///
/// Wireshark reads a file front to back and decrypts a record only with
/// its secret already read. A key log line, though, often comes after the
/// records it decrypts were sent (a TLS 1.3 client learns its handshake
/// secrets only from the server's reply). So the capture holds the packets
/// in memory until this connection's secrets are in (TLS 1.2's master
/// secret, or both of TLS 1.3's application traffic secrets), then writes
/// the secrets followed by the packets; later packets go straight to the
/// file, after any later secrets.
///
/// Errors: a file that cannot be written (e.g. `std::errc::no_space_on_device`
/// in the generic category), reported with its path, and by every later
/// call, since the file then lacks packets; `errc::closed` after `close`;
/// `errc::empty_object` for a moved-from capture.
///
/// The file holds the connection's secrets: whoever has it can read the
/// plaintext. Record only to debug, never in production.
///
/// Limitations:
/// - Until the secrets are in, the packets wait in memory, up to 1 MiB of
///   them. When the secrets never come (no channel of the connection has
///   `key_log()` installed, or the handshake fails), each 1 MiB is written
///   as it fills, and Wireshark shows those records undecrypted. Install
///   the key log before the handshake.
/// - Only secrets of the client random in the first ClientHello are kept,
///   so that a context shared by many connections adds no other
///   connection's secrets. A TLS 1.2 renegotiation sends its ClientHello
///   encrypted, so its new secrets are not kept and Wireshark cannot
///   decrypt what follows it.
/// - The TCP and IP headers are made up: only the TLS bytes are real, and
///   packet times are those of recording.
///
/// Thread safety: a capture belongs to one thread at a time; the callbacks
/// of `key_log()` may run on any thread. Move-only; a moved-from capture is
/// empty and its calls report `errc::empty_object`.
class Capture {
 public:
  /// Creates (or empties) the file at `path`, writes the pcapng headers
  /// and starts the TCP handshake. Throws `membio::error` naming the path
  /// when the file cannot be created or written, and with
  /// `errc::invalid_argument` for a segment size out of range.
  explicit Capture(const std::string& path,
                   const CaptureOptions& options = {}) {
    check(options);

    std::error_code code;
    detail::PcapngSink sink(path, code);
    detail::throw_if_error(code, "capture " + path + ": " + code.message());
    start(std::move(sink), options);
  }

  /// Writes the capture to `stream`, which must outlive the capture (or its
  /// `close`); `close` flushes it but leaves it open. Throws as above.
  explicit Capture(std::ostream& stream, const CaptureOptions& options = {}) {
    check(options);
    start(detail::PcapngSink(stream), options);
  }

  Capture(Capture&&) noexcept = default;

  /// Closes this capture as `close` does, ignoring errors, then takes over
  /// `other`'s.
  Capture& operator=(Capture&& other) noexcept {
    if (this != &other) {
      std::error_code ignored;
      close(ignored);
      state_ = std::move(other.state_);
      message_ = std::move(other.message_);
    }
    return *this;
  }

  /// Closes the capture as `close` does, ignoring errors; call `close`
  /// first to learn of them.
  ~Capture() {
    std::error_code ignored;
    close(ignored);
  }

  /// Makes a key log callback that adds each line to this capture, for
  /// `Context::on_key_log`. Install it on the context of either end before
  /// the handshake; on both, each secret is stored twice, which Wireshark
  /// does not mind. The callback does nothing once the capture is closed,
  /// moved from or gone, so the context may outlive the capture.
  KeyLogCallback key_log() const {
    std::weak_ptr<detail::CaptureState> weak = state_;
    return [weak](std::string_view line) {
      const std::shared_ptr<detail::CaptureState> state = weak.lock();
      if (!state) return;

      const std::lock_guard<std::mutex> guard(state->lock);
      if (!state->closed) state->arrived.emplace_back(line);
    };
  }

  /// Records ciphertext the client sent to the server (what a `drain` on
  /// the client returned), split into packets of at most the segment size.
  /// The bytes are copied. Errors: see the class.
  void client_to_server(ConstBytes ciphertext, std::error_code& code) {
    record(true, ciphertext, "capture client to server", code);
  }

  void client_to_server(ConstBytes ciphertext) {
    std::error_code code;
    client_to_server(ciphertext, code);
    detail::throw_if_error(code, message_);
  }

  /// Records ciphertext the server sent to the client; as
  /// `client_to_server`.
  void server_to_client(ConstBytes ciphertext, std::error_code& code) {
    record(false, ciphertext, "capture server to client", code);
  }

  void server_to_client(ConstBytes ciphertext) {
    std::error_code code;
    server_to_client(ciphertext, code);
    detail::throw_if_error(code, message_);
  }

  /// Ends the TCP connection (FIN each way), writes what was held, and
  /// closes the file (or flushes the stream). Calling it again does nothing
  /// more and reports the same error, if any.
  void close(std::error_code& code) {
    code.clear();
    if (!state_) {
      return refuse("capture close", errc::empty_object, empty, code);
    }

    const std::lock_guard<std::mutex> guard(state_->lock);
    if (!state_->closed) {
      state_->closed = true;
      if (!state_->failure) {
        state_->tcp.disconnect(state_->held);
        release(true, "capture close");
      }
      finish("capture close");
    }
    report_failure(code);
  }

  void close() {
    std::error_code code;
    close(code);
    detail::throw_if_error(code, message_);
  }

  /// The message of the last failed call, e.g. "capture client to server:
  /// out.pcapng: No space left on device"; empty after a success.
  const std::string& last_error_message() const noexcept { return message_; }

  /// Whether this capture owns a file or stream (false once moved from).
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  static void check(const CaptureOptions& options) {
    if (options.max_segment_size == 0 ||
        options.max_segment_size > detail::largest_segment) {
      detail::throw_if_error(
          errc::invalid_argument,
          "capture: maximum segment size must be from 1 to 65495 bytes");
    }
  }

  void start(detail::PcapngSink sink, const CaptureOptions& options) {
    auto state =
        std::make_shared<detail::CaptureState>(std::move(sink), options);
    std::error_code code;
    state->sink.write(detail::pcapng_file_header(), code);
    detail::throw_if_error(
        code, "capture " + state->sink.name() + ": " + code.message());

    // The handshake waits with the packets that follow it.
    state->tcp.connect(state->held);
    state_ = std::move(state);
  }

  void record(bool from_client, ConstBytes ciphertext, const char* operation,
              std::error_code& code) {
    code.clear();
    if (!state_) return refuse(operation, errc::empty_object, empty, code);

    const std::lock_guard<std::mutex> guard(state_->lock);
    if (state_->failure) return report_failure(code);
    if (state_->closed) {
      return refuse(operation, errc::closed, "capture is closed", code);
    }

    if (from_client) state_->keys.note_client_bytes(ciphertext);
    state_->tcp.carry(from_client, ciphertext, state_->held);
    release(false, operation);
    report_failure(code);
  }

  // Writes the held packets after the secrets that decrypt them, once all
  // of this connection's secrets are in; at close, or once the held
  // packets reach their bound, after whatever secrets came.
  void release(bool closing, const char* operation) {
    detail::CaptureState& state = *state_;
    state.keys.add(std::exchange(state.arrived, {}));
    const bool full = state.held.size() >= detail::most_held;
    if (!closing && !full && !state.keys.complete()) return;

    std::error_code code;
    const std::string secrets = state.keys.take_unwritten();
    if (!secrets.empty()) {
      state.sink.write(detail::decryption_secrets_block(secrets), code);
    }
    if (!code) state.sink.write(state.held, code);
    state.held.clear();
    if (code) fail(operation, code);
  }

  void finish(const char* operation) {
    std::error_code code;
    state_->sink.finish(code);
    if (code) fail(operation, code);
  }

  // Keeps the first write error: the file lacks packets from then on.
  void fail(const char* operation, const std::error_code& code) {
    if (state_->failure) return;

    state_->failure = code;
    state_->failure_message = std::string(operation) + ": " +
                              state_->sink.name() + ": " + code.message();
  }

  void report_failure(std::error_code& code) {
    code = state_->failure;
    message_ = code ? state_->failure_message : std::string();
  }

  void refuse(const char* operation, errc condition, const char* reason,
              std::error_code& code) {
    code = condition;
    message_ = std::string(operation) + ": " + reason;
  }

  static constexpr const char* empty = "capture is empty (moved from)";

  std::shared_ptr<detail::CaptureState> state_;
  std::string message_;  // Of the last failed call.
};

}  // namespace membio

#endif  // MEMBIO_CAPTURE_HPP
