// Tests of capture.hpp: the pcapng file a Capture writes is read back here,
// block by block and packet by packet, and checked against what was fed.
#include <membio/capture.hpp>
#include <membio/loopback.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "harness.hpp"

namespace {

using membio::Capture;
using membio::CaptureOptions;
using membio::Role;
using membio::Status;
using membio::TlsVersion;
using membio::test::Pair;
using Bytes = std::vector<unsigned char>;
using Catch::Matchers::ContainsSubstring;

template <Role R>
using Channel = membio::Channel<R>;

constexpr std::uint32_t section_header = 0x0a0d0d0a;
constexpr std::uint32_t interface_description = 1;
constexpr std::uint32_t enhanced_packet = 6;
constexpr std::uint32_t decryption_secrets = 0x0000000a;
constexpr std::uint32_t tls_key_log = 0x544c534b;

constexpr std::uint8_t fin = 0x01;
constexpr std::uint8_t syn = 0x02;
constexpr std::uint8_t push = 0x08;
constexpr std::uint8_t ack = 0x10;

std::uint32_t little_endian(const Bytes& bytes, std::size_t at,
                            std::size_t size = 4) {
  std::uint32_t value = 0;
  for (std::size_t index = size; index-- > 0;) {
    value = value << 8 | bytes.at(at + index);
  }
  return value;
}

std::uint32_t big_endian(const Bytes& bytes, std::size_t at,
                         std::size_t size = 4) {
  std::uint32_t value = 0;
  for (std::size_t index = 0; index < size; ++index) {
    value = value << 8 | bytes.at(at + index);
  }
  return value;
}

// One pcapng block: its type and the bytes between the two lengths.
struct Block {
  std::uint32_t type = 0;
  Bytes body;
};

// Splits a pcapng file into blocks, checking each block's frame: both
// lengths equal, a multiple of 4, inside the file.
std::vector<Block> read_blocks(const std::string& file) {
  const Bytes bytes(file.begin(), file.end());
  std::vector<Block> blocks;

  for (std::size_t at = 0; at < bytes.size();) {
    const std::uint32_t length = little_endian(bytes, at + 4);
    REQUIRE(length >= 12);
    REQUIRE(length % 4 == 0);
    REQUIRE(at + length <= bytes.size());
    REQUIRE(little_endian(bytes, at + length - 4) == length);

    blocks.push_back(
        {little_endian(bytes, at),
         Bytes(bytes.begin() + static_cast<long>(at + 8),
               bytes.begin() + static_cast<long>(at + length - 4))});
    at += length;
  }
  return blocks;
}

// The checksum check of RFC 1071: summing every 16-bit word, the checksum
// field included, gives all ones.
bool checksum_holds(const Bytes& bytes) {
  std::uint32_t sum = 0;
  for (std::size_t index = 0; index < bytes.size(); index += 2) {
    const std::uint32_t low = index + 1 < bytes.size() ? bytes[index + 1] : 0;
    sum += static_cast<std::uint32_t>(bytes[index]) << 8 | low;
  }

  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

// What one Enhanced Packet Block holds, taken apart.
struct Packet {
  std::uint64_t microseconds = 0;
  std::array<unsigned char, 4> source{};
  std::array<unsigned char, 4> destination{};
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::uint32_t sequence = 0;
  std::uint32_t acknowledgement = 0;
  std::uint8_t flags = 0;
  std::uint16_t max_segment_option = 0;  // 0 without the option.
  bool ipv4_checksum_holds = false;
  bool tcp_checksum_holds = false;
  Bytes payload;
};

Packet read_packet(const Block& block) {
  REQUIRE(block.type == enhanced_packet);
  const Bytes& body = block.body;
  const std::uint32_t captured = little_endian(body, 12);
  REQUIRE(little_endian(body, 0) == 0);  // Interface 0.
  REQUIRE(little_endian(body, 16) == captured);
  REQUIRE(20 + (captured + 3) / 4 * 4 == body.size());

  const Bytes frame(body.begin() + 20, body.begin() + 20 + captured);
  REQUIRE(big_endian(frame, 12, 2) == 0x0800);
  const Bytes ipv4(frame.begin() + 14, frame.begin() + 34);
  REQUIRE(ipv4[0] == 0x45);
  REQUIRE(ipv4[9] == 6);
  REQUIRE(big_endian(ipv4, 2, 2) == frame.size() - 14);

  Packet packet;
  packet.microseconds =
      std::uint64_t{little_endian(body, 4)} << 32 | little_endian(body, 8);
  std::copy(ipv4.begin() + 12, ipv4.begin() + 16, packet.source.begin());
  std::copy(ipv4.begin() + 16, ipv4.begin() + 20, packet.destination.begin());
  packet.ipv4_checksum_holds = checksum_holds(ipv4);

  const Bytes tcp(frame.begin() + 34, frame.end());
  const std::size_t header = (tcp.at(12) >> 4) * 4u;
  packet.source_port = static_cast<std::uint16_t>(big_endian(tcp, 0, 2));
  packet.destination_port = static_cast<std::uint16_t>(big_endian(tcp, 2, 2));
  packet.sequence = big_endian(tcp, 4);
  packet.acknowledgement = big_endian(tcp, 8);
  packet.flags = tcp.at(13);
  if (header == 24 && tcp.at(20) == 2) {
    packet.max_segment_option =
        static_cast<std::uint16_t>(big_endian(tcp, 22, 2));
  }
  packet.payload.assign(tcp.begin() + static_cast<long>(header), tcp.end());

  Bytes pseudo(ipv4.begin() + 12, ipv4.begin() + 20);
  pseudo.insert(pseudo.end(),
                {0, 6, static_cast<unsigned char>(tcp.size() >> 8),
                 static_cast<unsigned char>(tcp.size() & 0xff)});
  pseudo.insert(pseudo.end(), tcp.begin(), tcp.end());
  packet.tcp_checksum_holds = checksum_holds(pseudo);
  return packet;
}

std::vector<Packet> read_packets(const std::string& file) {
  std::vector<Packet> packets;
  for (const Block& block : read_blocks(file)) {
    if (block.type == enhanced_packet) packets.push_back(read_packet(block));
  }
  return packets;
}

// The key log text of every Decryption Secrets Block, in file order.
std::string read_secrets(const std::string& file) {
  std::string secrets;
  for (const Block& block : read_blocks(file)) {
    if (block.type != decryption_secrets) continue;

    REQUIRE(little_endian(block.body, 0) == tls_key_log);
    const std::uint32_t size = little_endian(block.body, 4);
    REQUIRE(8 + (size + 3) / 4 * 4 == block.body.size());
    secrets.append(block.body.begin() + 8, block.body.begin() + 8 + size);
  }
  return secrets;
}

bool from_client(const Packet& packet) { return packet.source_port == 50000; }

// The payloads of one direction's packets, joined in file order.
Bytes reassemble(const std::vector<Packet>& packets, bool client_side) {
  Bytes stream;
  for (const Packet& packet : packets) {
    if (from_client(packet) != client_side) continue;
    stream.insert(stream.end(), packet.payload.begin(), packet.payload.end());
  }
  return stream;
}

// The content types of the TLS records in one direction's byte stream,
// which must hold whole records and nothing else.
std::vector<unsigned> record_types(const Bytes& stream) {
  std::vector<unsigned> types;
  std::size_t at = 0;
  while (at + 5 <= stream.size()) {
    types.push_back(stream[at]);
    at += 5 + big_endian(stream, at + 3, 2);
  }

  CHECK(at == stream.size());
  return types;
}

// The client random of the ClientHello a client's stream starts with, in
// lowercase hex as key log lines hold it.
std::string client_random_of(const Bytes& client_stream) {
  REQUIRE(client_stream.size() > 43);
  REQUIRE(client_stream[5] == 1);  // ClientHello

  std::string hex;
  for (std::size_t index = 11; index < 43; ++index) {
    char digits[3];
    std::snprintf(digits, sizeof digits, "%02x", client_stream[index]);
    hex += digits;
  }
  return hex;
}

// The first bytes of a ClientHello whose random is 32 times `fill`.
Bytes client_hello_start(unsigned char fill) {
  Bytes hello = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01,
                 0x00, 0x01, 0xfc, 0x03, 0x03};
  hello.insert(hello.end(), 32, fill);
  hello.insert(hello.end(), 20, 0x00);
  return hello;
}

std::string random_hex(unsigned char fill) {
  char hex[3];
  std::snprintf(hex, sizeof hex, "%02x", fill);
  std::string text;
  for (int index = 0; index < 32; ++index) text += hex;
  return text;
}

// Moves all that `from` has to send into `to`, recording it on the way;
// returns the bytes moved.
template <Role From, Role To>
std::size_t transfer(Channel<From>& from, Channel<To>& to, Capture& capture) {
  const Bytes flight = membio::drain_all(from);
  if (flight.empty()) return 0;

  if constexpr (From == Role::client) {
    capture.client_to_server(flight);
  } else {
    capture.server_to_client(flight);
  }
  membio::feed(to, flight);
  return flight.size();
}

// Runs a whole recorded connection: handshake, a message each way, close.
void run_recorded(Pair& pair, Capture& capture) {
  for (int round = 0; round < 20; ++round) {
    const Status client = membio::handshake(pair.client);
    std::size_t moved = transfer(pair.client, pair.server, capture);
    const Status server = membio::handshake(pair.server);
    moved += transfer(pair.server, pair.client, capture);
    if (client == Status::done && server == Status::done && moved == 0) break;
  }
  REQUIRE(pair.client.handshake_done());

  std::string received;
  (void)membio::write_plaintext(pair.client, "ping");
  transfer(pair.client, pair.server, capture);
  (void)membio::read_plaintext_into(pair.server, received);
  (void)membio::write_plaintext(pair.server, "pong");
  transfer(pair.server, pair.client, capture);
  (void)membio::read_plaintext_into(pair.client, received);
  CHECK(received == "pingpong");

  (void)membio::close(pair.client);
  transfer(pair.client, pair.server, capture);
  capture.close();
}

}  // namespace

TEST_CASE("a capture starts with a section header and one Ethernet interface",
          "[capture][pcapng]") {
  std::ostringstream file;
  Capture(file).close();

  const std::vector<Block> blocks = read_blocks(file.str());
  REQUIRE(blocks.size() >= 2);
  CHECK(blocks[0].type == section_header);
  CHECK(little_endian(blocks[0].body, 0) == 0x1a2b3c4d);
  CHECK(little_endian(blocks[0].body, 4, 2) == 1);
  CHECK(little_endian(blocks[0].body, 6, 2) == 0);

  CHECK(blocks[1].type == interface_description);
  CHECK(little_endian(blocks[1].body, 0, 2) == 1);  // LINKTYPE_ETHERNET
  CHECK(little_endian(blocks[1].body, 4) >= 65535);
  for (std::size_t index = 2; index < blocks.size(); ++index) {
    CHECK(blocks[index].type == enhanced_packet);
  }
}

TEST_CASE("a capture opens with a TCP handshake and ends with FIN each way",
          "[capture][tcp]") {
  std::ostringstream file;
  Capture(file).close();

  const std::vector<Packet> packets = read_packets(file.str());
  REQUIRE(packets.size() == 6);
  CHECK(packets[0].flags == syn);
  CHECK(packets[0].max_segment_option == 1460);
  CHECK(packets[1].flags == (syn | ack));
  CHECK(packets[1].acknowledgement == packets[0].sequence + 1);
  CHECK(packets[2].flags == ack);
  CHECK(packets[2].acknowledgement == packets[1].sequence + 1);

  CHECK(packets[3].flags == (fin | ack));
  CHECK(from_client(packets[3]));
  CHECK(packets[4].flags == (fin | ack));
  CHECK(packets[4].acknowledgement == packets[3].sequence + 1);
  CHECK(packets[5].flags == ack);
  CHECK(packets[5].acknowledgement == packets[4].sequence + 1);
}

TEST_CASE("a capture shows the configured addresses and ports",
          "[capture][tcp]") {
  CaptureOptions options;
  options.client = {{192, 168, 7, 1}, 40001};
  options.server = {{172, 16, 0, 9}, 8443};
  std::ostringstream file;
  Capture capture(file, options);
  capture.client_to_server("hello");
  capture.close();

  for (const Packet& packet : read_packets(file.str())) {
    const bool client_side = packet.source_port == 40001;
    CHECK((client_side ? packet.destination_port : packet.source_port) == 8443);
    CHECK((client_side ? packet.source : packet.destination) ==
          std::array<unsigned char, 4>{192, 168, 7, 1});
    CHECK((client_side ? packet.destination : packet.source) ==
          std::array<unsigned char, 4>{172, 16, 0, 9});
  }
}

TEST_CASE("every packet of a capture has valid IPv4 and TCP checksums",
          "[capture][tcp]") {
  std::ostringstream file;
  Capture capture(file);
  capture.client_to_server("odd");
  capture.server_to_client(Bytes(3001, 0xff));
  capture.client_to_server(Bytes(1, 0x00));
  capture.close();

  const std::vector<Packet> packets = read_packets(file.str());
  REQUIRE(packets.size() > 6);
  for (const Packet& packet : packets) {
    CHECK(packet.ipv4_checksum_holds);
    CHECK(packet.tcp_checksum_holds);
  }
}

TEST_CASE("a capture's sequence and acknowledgement numbers follow the bytes",
          "[capture][tcp]") {
  std::ostringstream file;
  Capture capture(file);
  capture.client_to_server(Bytes(517, 1));
  capture.server_to_client(Bytes(4000, 2));
  capture.server_to_client(Bytes(90, 3));
  capture.client_to_server(Bytes(80, 4));
  capture.client_to_server(Bytes{});
  capture.close();

  const std::vector<Packet> packets = read_packets(file.str());
  std::map<bool, std::uint32_t> next;  // Of the next byte, per side.
  next[true] = packets.at(0).sequence;
  next[false] = packets.at(1).sequence;
  for (const Packet& packet : packets) {
    const bool side = from_client(packet);
    CHECK(packet.sequence == next[side]);
    if (packet.flags & ack) CHECK(packet.acknowledgement == next[!side]);

    const bool counts_one = (packet.flags & (syn | fin)) != 0;
    next[side] += static_cast<std::uint32_t>(packet.payload.size()) +
                  (counts_one ? 1u : 0u);
  }
}

TEST_CASE("a capture's packet times never go backwards", "[capture][pcapng]") {
  std::ostringstream file;
  Capture capture(file);
  for (int index = 0; index < 50; ++index) capture.client_to_server("x");
  capture.close();

  const std::vector<Packet> packets = read_packets(file.str());
  for (std::size_t index = 1; index < packets.size(); ++index) {
    CHECK(packets[index].microseconds > packets[index - 1].microseconds);
  }
}

TEST_CASE("a capture cuts a 100 KiB transfer into segments of at most the MSS",
          "[capture][tcp]") {
  const std::size_t max_segment = GENERATE(1460, 536, 7);
  CaptureOptions options;
  options.max_segment_size = max_segment;
  Bytes sent(100 * 1024);
  for (std::size_t index = 0; index < sent.size(); ++index) {
    sent[index] = static_cast<unsigned char>(index * 7 + index / 251);
  }

  std::ostringstream file;
  Capture capture(file, options);
  capture.server_to_client(sent);
  capture.close();

  const std::vector<Packet> packets = read_packets(file.str());
  std::size_t data_packets = 0;
  std::size_t pushed = 0;  // Only the chunk's last segment is pushed.
  for (const Packet& packet : packets) {
    CHECK(packet.payload.size() <= max_segment);
    if (!packet.payload.empty()) ++data_packets;
    if (packet.flags & push) ++pushed;
  }
  CHECK(data_packets == (sent.size() + max_segment - 1) / max_segment);
  CHECK(pushed == 1);
  CHECK(reassemble(packets, false) == sent);
  CHECK(reassemble(packets, true).empty());
}

TEST_CASE("a capture acknowledges before a sender exceeds the TCP window",
          "[capture][tcp]") {
  std::ostringstream file;
  Capture capture(file);
  capture.client_to_server(Bytes(300 * 1024, 0x5a));
  capture.close();

  std::map<bool, std::uint32_t> acknowledged;
  for (const Packet& packet : read_packets(file.str())) {
    const bool side = from_client(packet);
    if (packet.flags & ack) acknowledged[!side] = packet.acknowledgement;
    if (side && !packet.payload.empty()) {
      CHECK(packet.sequence + packet.payload.size() - acknowledged[true] <=
            65535);
    }
  }
}

TEST_CASE("a capture's secrets block holds the key log lines before any packet",
          "[capture][secrets]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  const bool server_logs = GENERATE(false, true);
  CAPTURE(membio::test::name_of(version), server_logs);

  Pair pair(version);
  std::ostringstream file;
  Capture capture(file);
  std::string lines;
  const membio::KeyLogCallback into_capture = capture.key_log();
  const membio::KeyLogCallback log = [&](std::string_view line) {
    lines += std::string(line) + '\n';
    into_capture(line);
  };
  if (server_logs) {
    pair.server_context.on_key_log(log);
  } else {
    pair.client_context.on_key_log(log);
  }
  run_recorded(pair, capture);

  REQUIRE_FALSE(lines.empty());
  CHECK(read_secrets(file.str()) == lines);
  const std::vector<Block> blocks = read_blocks(file.str());
  CHECK(blocks.at(2).type == decryption_secrets);
}

TEST_CASE("the byte streams in a capture's packets are those recorded",
          "[capture][tcp]") {
  Pair pair(TlsVersion::tls1_3);
  std::ostringstream file;
  Capture capture(file);
  Bytes client_sent;
  Bytes server_sent;

  for (int round = 0; round < 10; ++round) {
    Bytes flight = membio::drain_all(pair.client);
    capture.client_to_server(flight);
    membio::feed(pair.server, flight);
    client_sent.insert(client_sent.end(), flight.begin(), flight.end());
    (void)membio::handshake(pair.server);

    flight = membio::drain_all(pair.server);
    capture.server_to_client(flight);
    membio::feed(pair.client, flight);
    server_sent.insert(server_sent.end(), flight.begin(), flight.end());
    (void)membio::handshake(pair.client);
  }
  capture.close();

  REQUIRE(pair.client.handshake_done());
  const std::vector<Packet> packets = read_packets(file.str());
  CHECK(reassemble(packets, true) == client_sent);
  CHECK(reassemble(packets, false) == server_sent);
}

TEST_CASE("a loopback records every flight it delivers, both ways",
          "[capture][loopback]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  const std::size_t fragment_size = GENERATE(0, 5);
  CAPTURE(membio::test::name_of(version), fragment_size);

  Pair pair(version);
  std::ostringstream file;
  Capture capture(file);
  pair.client_context.on_key_log(capture.key_log());
  membio::Loopback loopback(pair.client, pair.server, fragment_size);
  loopback.record(capture);

  CHECK(loopback.send_to_server("ping") == "ping");
  CHECK(loopback.send_to_client("pong") == "pong");
  loopback.close();
  capture.close();

  const std::vector<Packet> packets = read_packets(file.str());
  const Bytes client_stream = reassemble(packets, true);
  const Bytes server_stream = reassemble(packets, false);
  const std::vector<unsigned> client_records = record_types(client_stream);
  const std::vector<unsigned> server_records = record_types(server_stream);
  CHECK(client_records.at(0) == 22);  // The ClientHello's handshake.
  CHECK(server_records.at(0) == 22);
  CHECK(client_records.size() >= 3);  // Finished, "ping", close_notify.
  CHECK(server_records.size() >= 3);

  const std::string secrets = read_secrets(file.str());
  CHECK_THAT(secrets, ContainsSubstring(client_random_of(client_stream)));
  CHECK(read_blocks(file.str()).at(2).type == decryption_secrets);
}

TEST_CASE("a loopback fails when its capture cannot record",
          "[capture][loopback][errors]") {
  Pair pair;
  std::ostringstream file;
  Capture capture(file);
  capture.close();
  membio::Loopback loopback(pair.client, pair.server);
  loopback.record(capture);

  SECTION("as an error code") {
    std::error_code code;
    loopback.handshake(code);
    CHECK(code == membio::errc::closed);
  }
  SECTION("as an exception naming the capture's reason") {
    CHECK_THROWS_WITH(loopback.handshake(),
                      ContainsSubstring("capture client to server: capture "
                                        "is closed"));
  }
}

TEST_CASE("a capture holds packets until the connection's secrets arrive",
          "[capture][secrets]") {
  std::ostringstream file;
  Capture capture(file);
  const std::size_t header_size = file.str().size();
  const membio::KeyLogCallback log = capture.key_log();

  capture.client_to_server(client_hello_start(0xab));
  capture.server_to_client(Bytes(2000, 0x17));
  CHECK(file.str().size() == header_size);

  log("CLIENT_RANDOM " + random_hex(0xab) + " 0011");
  CHECK(file.str().size() == header_size);
  capture.client_to_server(Bytes(10, 0x17));
  CHECK(file.str().size() > header_size);

  const std::vector<Block> blocks = read_blocks(file.str());
  REQUIRE(blocks.size() > 3);
  CHECK(blocks[2].type == decryption_secrets);
  CHECK(read_secrets(file.str()) ==
        "CLIENT_RANDOM " + random_hex(0xab) + " 0011\n");

  SECTION("later packets are written at once") {
    const std::size_t size = file.str().size();
    capture.server_to_client(Bytes(10, 0x17));
    CHECK(file.str().size() > size);
  }
}

TEST_CASE("a capture holds TLS 1.3 packets until both traffic secrets arrive",
          "[capture][secrets]") {
  std::ostringstream file;
  Capture capture(file);
  const std::size_t header_size = file.str().size();
  const membio::KeyLogCallback log = capture.key_log();
  const std::string random = random_hex(0x01);

  capture.client_to_server(client_hello_start(0x01));
  log("SERVER_HANDSHAKE_TRAFFIC_SECRET " + random + " 01");
  log("CLIENT_HANDSHAKE_TRAFFIC_SECRET " + random + " 02");
  log("SERVER_TRAFFIC_SECRET_0 " + random + " 03");
  capture.server_to_client(Bytes(100, 0x17));
  CHECK(file.str().size() == header_size);

  log("CLIENT_TRAFFIC_SECRET_0 " + random + " 04");
  capture.client_to_server(Bytes(100, 0x17));
  CHECK(read_secrets(file.str()).size() > 0);
  CHECK(read_blocks(file.str()).at(2).type == decryption_secrets);
}

TEST_CASE("a capture leaves out key log lines of other connections",
          "[capture][secrets]") {
  std::ostringstream file;
  Capture capture(file);
  const membio::KeyLogCallback log = capture.key_log();

  capture.client_to_server(client_hello_start(0x11));
  log("CLIENT_RANDOM " + random_hex(0x22) + " 99");
  log("CLIENT_RANDOM " + random_hex(0x11) + " 01");
  capture.close();

  CHECK(read_secrets(file.str()) ==
        "CLIENT_RANDOM " + random_hex(0x11) + " 01\n");
}

TEST_CASE("closing a capture writes held packets even when no secrets came",
          "[capture][close]") {
  std::ostringstream file;
  Capture capture(file);
  capture.client_to_server(client_hello_start(0x33));
  capture.server_to_client("reply");
  capture.close();

  const std::vector<Packet> packets = read_packets(file.str());
  CHECK(packets.size() == 3 + 2 + 3);
  CHECK(read_secrets(file.str()).empty());
}

TEST_CASE("a capture whose secrets never come holds at most 1 MiB",
          "[capture][secrets]") {
  std::ostringstream file;
  Capture capture(file);
  const std::size_t header_size = file.str().size();
  capture.client_to_server(client_hello_start(0x44));

  // Half a megabyte still waits for the secrets; once the held packet
  // blocks (data and headers) pass 1 MiB, they are written.
  const Bytes chunk(64 * 1024, 0x17);
  for (int sent = 0; sent < 8; ++sent) capture.server_to_client(chunk);
  CHECK(file.str().size() == header_size);
  for (int sent = 8; sent < 16; ++sent) capture.server_to_client(chunk);
  CHECK(file.str().size() > header_size + 1024 * 1024);

  // What was written stays in order: the byte stream reads back whole.
  capture.server_to_client(chunk);
  capture.close();
  const std::vector<Packet> packets = read_packets(file.str());
  CHECK(reassemble(packets, false) == Bytes(17 * chunk.size(), 0x17));
  CHECK(read_secrets(file.str()).empty());
}

TEST_CASE("the destructor closes the capture", "[capture][close]") {
  std::ostringstream file;
  { Capture capture(file); }

  const std::vector<Packet> packets = read_packets(file.str());
  REQUIRE(packets.size() == 6);
  CHECK(packets[3].flags == (fin | ack));
}

TEST_CASE("a capture written to a file reads back the same",
          "[capture][file]") {
  // A name of its own, so that test runs side by side do not collide.
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("membio_capture_test_" + std::to_string(std::random_device()()) +
       ".pcapng");
  {
    Capture capture(path.string());
    capture.client_to_server("hello");
    capture.close();
  }

  std::ifstream in(path, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  CHECK(read_blocks(file).at(0).type == section_header);
  CHECK(reassemble(read_packets(file), true) == Bytes{'h', 'e', 'l', 'l', 'o'});
}

TEST_CASE("a capture file that cannot be created names its path",
          "[capture][errors]") {
  const std::string path = "/nonexistent-membio-dir/out.pcapng";
  try {
    Capture capture(path);
    FAIL("no error");
  } catch (const membio::error& failure) {
    CHECK(failure.code() == std::errc::no_such_file_or_directory);
    CHECK_THAT(failure.what(), ContainsSubstring(path));
  }
}

TEST_CASE("a capture refuses a segment size out of range",
          "[capture][errors]") {
  const std::size_t max_segment = GENERATE(0, 65496);
  CaptureOptions options;
  options.max_segment_size = max_segment;
  std::ostringstream file;

  try {
    Capture capture(file, options);
    FAIL("no error");
  } catch (const membio::error& failure) {
    CHECK(failure.code() == membio::errc::invalid_argument);
  }
  CHECK(file.str().empty());
}

TEST_CASE("recording on a closed capture reports closed", "[capture][errors]") {
  std::ostringstream file;
  Capture capture(file);
  capture.close();
  capture.close();

  std::error_code code;
  capture.server_to_client("late", code);
  CHECK(code == membio::errc::closed);
  CHECK(capture.last_error_message() ==
        "capture server to client: capture is closed");
  CHECK_THROWS_AS(capture.client_to_server("late"), membio::error);
}

TEST_CASE("a moved-from capture reports empty_object", "[capture][errors]") {
  std::ostringstream file;
  Capture capture(file);
  Capture other(std::move(capture));
  CHECK_FALSE(capture);  // NOLINT: testing the moved-from state
  CHECK(other);

  std::error_code code;
  capture.client_to_server("x", code);  // NOLINT: moved from on purpose
  CHECK(code == membio::errc::empty_object);
  capture.close(code);
  CHECK(code == membio::errc::empty_object);
  capture.key_log()("CLIENT_RANDOM 00 00");
}

TEST_CASE("moving onto a capture closes the one it held", "[capture][close]") {
  std::ostringstream first;
  std::ostringstream second;
  Capture capture(first);
  capture = Capture(second);

  CHECK(read_packets(first.str()).size() == 6);
  std::error_code code;
  capture.client_to_server("x", code);
  CHECK_FALSE(code);
}

TEST_CASE("a capture reports a failed write in that call and every later one",
          "[capture][errors]") {
  std::ostringstream file;
  Capture capture(file);
  capture.client_to_server(client_hello_start(0x44));
  capture.key_log()("CLIENT_RANDOM " + random_hex(0x44) + " 01");
  file.setstate(std::ios::badbit);

  std::error_code code;
  capture.server_to_client("data", code);
  CHECK(code == std::errc::io_error);
  CHECK_THAT(capture.last_error_message(),
             ContainsSubstring("capture server to client: output stream"));

  capture.client_to_server("more", code);
  CHECK(code == std::errc::io_error);
  capture.close(code);
  CHECK(code == std::errc::io_error);
}

TEST_CASE("a capture reports a write failure of held packets at close",
          "[capture][errors]") {
  std::ostringstream file;
  Capture capture(file);
  file.setstate(std::ios::badbit);

  std::error_code code;
  capture.client_to_server("held", code);
  CHECK_FALSE(code);
  CHECK_THROWS_AS(capture.close(), membio::error);
}

TEST_CASE("the key log callback does nothing once the capture is gone",
          "[capture][secrets]") {
  membio::KeyLogCallback log;
  std::ostringstream file;
  {
    Capture capture(file);
    log = capture.key_log();
  }
  const std::string before = file.str();

  log("CLIENT_RANDOM " + random_hex(0x55) + " 01");
  CHECK(file.str() == before);
}
