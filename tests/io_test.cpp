// Tests of io.hpp: the free functions that move ciphertext and plaintext
// through a channel, driven by hand with small pump loops.
#include <membio/io.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using membio::CloseState;
using membio::ConstBytes;
using membio::MutableBytes;
using membio::Role;
using membio::Status;
using membio::TlsVersion;
using membio::test::deliver;
using membio::test::malformed_record;
using membio::test::Pair;
using membio::test::pattern;
using membio::test::read_all;
using Bytes = std::vector<unsigned char>;
using Splitter = std::function<std::size_t()>;

template <Role R>
using Channel = membio::Channel<R>;

constexpr unsigned char application_data_record = 23;

// Bytes that do not look like TLS at all: an unknown record type and
// version. OpenSSL fails on them without sending an alert.
Bytes garbage() { return Bytes(64, 0x78); }

// Writes `plaintext` on `from`, delivers it whole, and returns what `to`
// reads.
template <Role From, Role To>
std::string send(Channel<From>& from, Channel<To>& to,
                 const std::string& plaintext) {
  (void)membio::write_plaintext(from, plaintext);
  deliver(from, to);
  return read_all(to);
}

// Runs both handshakes to the end, moving whole flights.
void connect(Pair& pair) {
  for (int round = 0; round < 10; ++round) {
    (void)membio::handshake(pair.client);
    (void)membio::handshake(pair.server);

    const std::size_t moved =
        deliver(pair.client, pair.server) + deliver(pair.server, pair.client);
    if (moved == 0 && pair.client.handshake_done() &&
        pair.server.handshake_done()) {
      return;
    }
  }
  FAIL("the handshake did not finish in 10 rounds");
}

// Feeds `ciphertext` to `to` in pieces of `next_size()` bytes and calls
// `after_piece` after each piece.
template <Role R>
void feed_in_pieces(Channel<R>& to, const Bytes& ciphertext,
                    const Splitter& next_size,
                    const std::function<void()>& after_piece) {
  std::size_t offset = 0;
  while (offset < ciphertext.size()) {
    const std::size_t size = std::min(next_size(), ciphertext.size() - offset);
    membio::feed(to, ConstBytes(ciphertext.data() + offset, size));
    offset += size;
    after_piece();
  }
}

// Runs both handshakes, feeding each flight in pieces and driving the
// receiver after every piece, as a fragmenting network would.
void connect_in_pieces(Pair& pair, const Splitter& next_size) {
  for (int round = 0; round < 10; ++round) {
    (void)membio::handshake(pair.client);
    (void)membio::handshake(pair.server);

    const Bytes to_server = membio::drain_all(pair.client);
    feed_in_pieces(pair.server, to_server, next_size,
                   [&pair] { (void)membio::handshake(pair.server); });
    const Bytes to_client = membio::drain_all(pair.server);
    feed_in_pieces(pair.client, to_client, next_size,
                   [&pair] { (void)membio::handshake(pair.client); });

    if (to_server.empty() && to_client.empty() &&
        pair.client.handshake_done() && pair.server.handshake_done()) {
      return;
    }
  }
  FAIL("the fragmented handshake did not finish in 10 rounds");
}

// Writes `plaintext` on `from`, feeds it to `to` in pieces, reading after
// each piece, and returns all that `to` read.
template <Role From, Role To>
std::string send_in_pieces(Channel<From>& from, Channel<To>& to,
                           const std::string& plaintext,
                           const Splitter& next_size) {
  (void)membio::write_plaintext(from, plaintext);

  std::string received;
  feed_in_pieces(to, membio::drain_all(from), next_size,
                 [&] { (void)membio::read_plaintext_into(to, received); });
  return received;
}

// Counts the records of one content type in a stream of whole records.
std::size_t count_records(const Bytes& stream, unsigned char type) {
  std::size_t count = 0;
  std::size_t offset = 0;
  while (offset + 5 <= stream.size()) {
    if (stream[offset] == type) ++count;
    offset += 5 + (std::size_t{stream[offset + 3]} << 8 | stream[offset + 4]);
  }

  CHECK(offset == stream.size());
  return count;
}

// Checks that a handshake status tells the truth about the channel.
template <Role R>
void check_handshake_status(Channel<R>& channel, Status status) {
  INFO("status " << status);
  switch (status) {
    case Status::send_output:
      CHECK(membio::pending_ciphertext(channel) > 0);
      break;
    case Status::need_input:
      CHECK(membio::pending_ciphertext(channel) == 0);
      CHECK_FALSE(channel.handshake_done());
      break;
    case Status::done:
      CHECK(membio::pending_ciphertext(channel) == 0);
      CHECK(channel.handshake_done());
      break;
    case Status::closed:
      FAIL("a clean handshake reported closed");
  }
}

// Checks that a failure message names the operation and OpenSSL's reason
// for the code, so that a caller can tell what went wrong.
void check_openssl_message(const std::string& message,
                           const std::string& operation,
                           const std::error_code& code) {
  INFO("message: " << message);
  REQUIRE(code.category() == membio::openssl_category());

  const char* reason =
      ERR_reason_error_string(static_cast<unsigned long>(code.value()));
  REQUIRE(reason != nullptr);
  CHECK(message.rfind(operation + ": ", 0) == 0);
  CHECK(message.find(reason) != std::string::npos);
}

// Whether `text` contains `part`.
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a handshake driven by hand reports send_output, need_input, done",
          "[io][handshake]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);

  CHECK(membio::handshake(pair.client) == Status::send_output);
  const std::size_t hello_size = membio::pending_ciphertext(pair.client);
  CHECK(hello_size > 0);
  CHECK(membio::handshake(pair.client) == Status::send_output);
  CHECK(membio::pending_ciphertext(pair.client) == hello_size);
  CHECK(membio::handshake(pair.server) == Status::need_input);

  for (int round = 0; round < 10; ++round) {
    const Status client_status = membio::handshake(pair.client);
    check_handshake_status(pair.client, client_status);
    deliver(pair.client, pair.server);

    const Status server_status = membio::handshake(pair.server);
    check_handshake_status(pair.server, server_status);
    deliver(pair.server, pair.client);
    if (client_status == Status::done && server_status == Status::done) break;
  }

  CHECK(membio::handshake(pair.client) == Status::done);
  CHECK(membio::handshake(pair.server) == Status::done);
  CHECK(pair.client.protocol_version() == membio::test::name_of(version));
  CHECK(pair.server.protocol_version() == membio::test::name_of(version));
}

TEST_CASE("a channel reports no protocol version before its handshake",
          "[io][handshake]") {
  Pair pair;

  CHECK_FALSE(pair.client.handshake_done());
  CHECK(pair.client.protocol_version().empty());
  CHECK(pair.server.protocol_version().empty());
}

TEST_CASE("a server fed the hello one byte at a time answers after the last",
          "[io][handshake][fragments]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  const Bytes hello = membio::drain_all(pair.client);

  std::vector<Status> statuses;
  for (const unsigned char byte : hello) {
    membio::feed(pair.server, ConstBytes(&byte, 1));
    statuses.push_back(membio::handshake(pair.server));
  }

  CHECK(statuses.back() == Status::send_output);
  CHECK(std::count(statuses.begin(), statuses.end(), Status::need_input) ==
        static_cast<long>(hello.size() - 1));
}

TEST_CASE("a handshake and data fed one byte at a time arrive intact",
          "[io][fragments]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  const Splitter one_byte = [] { return std::size_t{1}; };

  connect_in_pieces(pair, one_byte);
  REQUIRE(pair.client.handshake_done());
  REQUIRE(pair.server.handshake_done());

  const std::string to_server = "to the server, one byte at a time";
  const std::string to_client = "to the client, one byte at a time";
  CHECK(send_in_pieces(pair.client, pair.server, to_server, one_byte) ==
        to_server);
  CHECK(send_in_pieces(pair.server, pair.client, to_client, one_byte) ==
        to_client);
}

TEST_CASE("a record split across two feeds is read once its rest arrives",
          "[io][fragments]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);
  const std::string message = "split record";

  (void)membio::write_plaintext(pair.client, message);
  const std::size_t record_size = deliver(pair.client, pair.server);
  REQUIRE(read_all(pair.server) == message);

  for (std::size_t split = 1; split < record_size; ++split) {
    INFO("split after " << split << " of " << record_size << " bytes");
    (void)membio::write_plaintext(pair.client, message);
    const Bytes record = membio::drain_all(pair.client);
    REQUIRE(record.size() == record_size);

    membio::feed(pair.server, ConstBytes(record.data(), split));
    unsigned char buffer[64];
    const membio::ReadResult partial =
        membio::read_plaintext(pair.server, buffer);
    CHECK(partial.size == 0);
    CHECK(partial.status == Status::need_input);

    membio::feed(pair.server,
                 ConstBytes(record.data() + split, record_size - split));
    CHECK(read_all(pair.server) == message);
  }
}

TEST_CASE("many records drained and fed together are all read in order",
          "[io][fragments]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);

  std::string expected;
  for (int index = 0; index < 20; ++index) {
    const std::string message = "message " + std::to_string(index) + "; ";
    (void)membio::write_plaintext(pair.client, message);
    CHECK(membio::flush(pair.client) == Status::send_output);
    expected += message;
  }

  const Bytes stream = membio::drain_all(pair.client);
  CHECK(count_records(stream, application_data_record) == 20);
  membio::feed(pair.server, stream);
  CHECK(read_all(pair.server) == expected);
}

TEST_CASE("small writes between two drains share one record",
          "[io][write][coalescing]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);

  std::string expected;
  for (int index = 0; index < 200; ++index) {
    const std::string message = "reply " + std::to_string(index) + "; ";
    CHECK(membio::write_plaintext(pair.client, message) == Status::send_output);
    expected += message;
  }

  const Bytes stream = membio::drain_all(pair.client);
  CHECK(count_records(stream, application_data_record) == 1);
  membio::feed(pair.server, stream);
  CHECK(read_all(pair.server) == expected);
}

TEST_CASE("gathered writes past a record fill whole records in order",
          "[io][write][coalescing]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);

  std::string expected;
  for (int index = 0; index < 1000; ++index) {
    const std::string message = pattern(100, static_cast<unsigned>(index));
    (void)membio::write_plaintext(pair.client, message);
    expected += message;
  }

  const Bytes stream = membio::drain_all(pair.client);
  CHECK(count_records(stream, application_data_record) <= 8);
  membio::feed(pair.server, stream);
  CHECK(read_all(pair.server) == expected);
}

TEST_CASE("a context without write coalescing seals each write at once",
          "[io][write][coalescing]") {
  membio::test::Pair pair;
  membio::Context<membio::client> context = membio::test::client_context();
  context.set_write_coalescing(false);
  CHECK_FALSE(context.coalesces_writes());
  Channel<Role::client> client(context, "localhost");
  membio::Loopback(client, pair.server).handshake();

  for (int index = 0; index < 5; ++index) {
    (void)membio::write_plaintext(client, "x");
  }
  CHECK(count_records(membio::drain_all(client), application_data_record) == 5);
}

TEST_CASE("a handshake and data fed in random fragments arrive intact",
          "[io][fragments]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const unsigned seed = GENERATE(1u, 2u, 3u);
  INFO(membio::test::name_of(version) << ", seed " << seed);
  Pair pair(version);
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::size_t> sizes(1, 300);
  const Splitter random_size = [&] { return sizes(random); };

  connect_in_pieces(pair, random_size);
  REQUIRE(pair.client.handshake_done());
  REQUIRE(pair.server.handshake_done());

  const std::string to_server = pattern(70000, seed);
  const std::string to_client = pattern(50000, seed + 100);
  CHECK((send_in_pieces(pair.client, pair.server, to_server, random_size) ==
         to_server));
  CHECK((send_in_pieces(pair.server, pair.client, to_client, random_size) ==
         to_client));
}

TEST_CASE("draining through a small buffer hands out the exact ciphertext",
          "[io][drain]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);
  const std::string message = pattern(1000);
  (void)membio::write_plaintext(pair.client, message);
  const std::size_t total = membio::pending_ciphertext(pair.client);
  REQUIRE(total > message.size());

  Bytes stream;
  unsigned char buffer[7];
  while (membio::pending_ciphertext(pair.client) > 0) {
    const std::size_t before = membio::pending_ciphertext(pair.client);
    const std::size_t size = membio::drain(pair.client, buffer);
    REQUIRE(size == std::min(before, sizeof buffer));
    REQUIRE(membio::pending_ciphertext(pair.client) == before - size);
    stream.insert(stream.end(), buffer, buffer + size);
  }

  CHECK(stream.size() == total);
  CHECK(membio::drain(pair.client, buffer) == 0);
  membio::feed(pair.server, stream);
  CHECK(read_all(pair.server) == message);
}

TEST_CASE("draining into an empty buffer takes nothing", "[io][drain]") {
  Pair pair;
  (void)membio::handshake(pair.client);
  const std::size_t pending = membio::pending_ciphertext(pair.client);
  std::error_code code;

  CHECK(membio::drain(pair.client, MutableBytes(), code) == 0);
  CHECK_FALSE(code);
  CHECK(membio::pending_ciphertext(pair.client) == pending);
}

TEST_CASE("a handshake flight drained three bytes at a time still connects",
          "[io][drain][handshake]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);

  (void)membio::handshake(pair.client);
  Bytes hello;
  unsigned char buffer[3];
  while (const std::size_t size = membio::drain(pair.client, buffer)) {
    hello.insert(hello.end(), buffer, buffer + size);
  }
  membio::feed(pair.server, hello);

  connect(pair);
  CHECK(pair.server.protocol_version() == membio::test::name_of(version));
}

TEST_CASE("drain_into appends the pending ciphertext to a string or vector",
          "[io][drain]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);

  SECTION("std::string") {
    (void)membio::write_plaintext(pair.client, "into a string");
    const std::size_t pending = membio::pending_ciphertext(pair.client);
    std::string out = "kept";

    CHECK(membio::drain_into(pair.client, out) == pending);
    CHECK(out.size() == 4 + pending);
    CHECK(out.compare(0, 4, "kept") == 0);
    CHECK(membio::pending_ciphertext(pair.client) == 0);

    membio::feed(pair.server, ConstBytes(out.data() + 4, pending));
    CHECK(read_all(pair.server) == "into a string");
  }

  SECTION("std::vector") {
    (void)membio::write_plaintext(pair.client, "into a vector");
    const std::size_t pending = membio::pending_ciphertext(pair.client);
    Bytes out = {1, 2, 3};

    CHECK(membio::drain_into(pair.client, out) == pending);
    CHECK(out.size() == 3 + pending);
    CHECK(Bytes(out.begin(), out.begin() + 3) == Bytes{1, 2, 3});
    CHECK(membio::pending_ciphertext(pair.client) == 0);

    membio::feed(pair.server, ConstBytes(out.data() + 3, pending));
    CHECK(read_all(pair.server) == "into a vector");
  }
}

TEST_CASE("drain_all takes every pending byte and leaves none", "[io][drain]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);
  (void)membio::write_plaintext(pair.server, "all of it");
  const std::size_t pending = membio::pending_ciphertext(pair.server);

  const Bytes flight = membio::drain_all(pair.server);
  CHECK(flight.size() == pending);
  CHECK(membio::pending_ciphertext(pair.server) == 0);
  CHECK(membio::drain_all(pair.server).empty());

  membio::feed(pair.client, flight);
  CHECK(read_all(pair.client) == "all of it");
}

TEST_CASE("a mebibyte written in one call is read back byte for byte",
          "[io][write][large]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);
  const std::string big = pattern(std::size_t{1} << 20, 7);

  CHECK(membio::write_plaintext(pair.client, big) == Status::send_output);
  const Bytes stream = membio::drain_all(pair.client);
  CHECK(count_records(stream, application_data_record) >= 64);

  membio::feed(pair.server, stream);
  std::string received;
  CHECK(membio::read_plaintext_into(pair.server, received) ==
        Status::need_input);
  CHECK(received.size() == big.size());
  CHECK((received == big));
}

TEST_CASE("a write one byte larger than a record is sealed into two",
          "[io][write]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);
  const std::string message = pattern(16385, 3);

  (void)membio::write_plaintext(pair.server, message);
  const Bytes stream = membio::drain_all(pair.server);
  CHECK(count_records(stream, application_data_record) == 2);

  membio::feed(pair.client, stream);
  CHECK((read_all(pair.client) == message));
}

TEST_CASE("reading before any data arrives returns nothing and no error",
          "[io][read]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  unsigned char buffer[64];
  std::error_code code;

  membio::ReadResult result = membio::read_plaintext(pair.server, buffer, code);
  CHECK_FALSE(code);
  CHECK(result.size == 0);
  CHECK(result.status == Status::need_input);

  connect(pair);
  result = membio::read_plaintext(pair.server, buffer, code);
  CHECK_FALSE(code);
  CHECK(result.size == 0);
  CHECK(result.status == Status::need_input);

  result = membio::read_plaintext(pair.client, buffer, code);
  CHECK_FALSE(code);
  CHECK(result.size == 0);
  CHECK(result.status == Status::need_input);
}

TEST_CASE("reading on a new client starts its handshake", "[io][read]") {
  Pair pair;
  unsigned char buffer[64];

  const membio::ReadResult result = membio::read_plaintext(pair.client, buffer);
  CHECK(result.size == 0);
  CHECK(result.status == Status::send_output);
  CHECK(membio::pending_ciphertext(pair.client) > 0);
}

TEST_CASE("reading into an empty buffer is refused and the channel goes on",
          "[io][read][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);
  (void)membio::write_plaintext(pair.client, "still works");
  deliver(pair.client, pair.server);
  std::error_code code;

  const membio::ReadResult result =
      membio::read_plaintext(pair.server, MutableBytes(), code);
  CHECK(code == membio::errc::invalid_argument);
  CHECK(result.size == 0);
  CHECK(contains(pair.server.last_error_message(), "read: "));

  CHECK_FALSE(pair.server.failure());
  CHECK(pair.server.close_state() == CloseState::open);
  CHECK(read_all(pair.server) == "still works");
  CHECK(send(pair.server, pair.client, "answer") == "answer");
}

TEST_CASE("writes interleaved both ways arrive in order on each side",
          "[io][write][read]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);

  std::string to_server;
  std::string to_client;
  for (int index = 0; index < 8; ++index) {
    const std::string from_client = "client " + std::to_string(index) + ";";
    const std::string from_server = "server " + std::to_string(index) + ";";
    (void)membio::write_plaintext(pair.client, from_client);
    (void)membio::write_plaintext(pair.server, from_server);
    to_server += from_client;
    to_client += from_server;
  }

  deliver(pair.client, pair.server);
  deliver(pair.server, pair.client);
  CHECK(read_all(pair.server) == to_server);
  CHECK(read_all(pair.client) == to_client);
}

TEST_CASE("plaintext written before the handshake arrives after it",
          "[io][write][handshake]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);

  CHECK(membio::write_plaintext(pair.client, "early from the client") ==
        Status::send_output);
  CHECK(membio::write_plaintext(pair.server, "early from the server") ==
        Status::need_input);
  CHECK_FALSE(pair.client.handshake_done());

  connect(pair);
  CHECK(read_all(pair.server) == "early from the client");
  CHECK(read_all(pair.client) == "early from the server");
}

TEST_CASE("a client that only writes and closes ends cleanly with the server",
          "[io][write][close]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  const std::string payload = pattern(40000, 5);
  (void)membio::write_plaintext(pair.client, payload);
  (void)membio::close(pair.client);

  std::string received;
  Status server_status = Status::need_input;
  for (int round = 0; round < 10 && server_status != Status::closed; ++round) {
    (void)membio::handshake(pair.client);
    deliver(pair.client, pair.server);
    server_status = membio::read_plaintext_into(pair.server, received);
    deliver(pair.server, pair.client);
  }

  REQUIRE(server_status == Status::closed);
  CHECK((received == payload));
  CHECK(pair.server.close_state() == CloseState::close_received);
  CHECK(pair.client.close_state() == CloseState::close_sent);

  CHECK(membio::close(pair.server) == Status::send_output);
  deliver(pair.server, pair.client);

  std::error_code code;
  std::string after_close;
  CHECK(membio::read_plaintext_into(pair.client, after_close, code) ==
        Status::closed);
  CHECK_FALSE(code);
  CHECK(after_close.empty());
  CHECK(pair.client.close_state() == CloseState::closed);
  CHECK(pair.server.close_state() == CloseState::closed);
}

namespace {

// One side closes first; the other still writes, and the first still
// reads, until the other closes too.
template <Role First, Role Second>
void check_close_sequence(Channel<First>& first, Channel<Second>& second) {
  CHECK(first.close_state() == CloseState::open);
  CHECK(membio::close(first) == Status::send_output);
  CHECK(first.close_state() == CloseState::close_sent);
  deliver(first, second);

  std::string received;
  CHECK(membio::read_plaintext_into(second, received) == Status::closed);
  CHECK(received.empty());
  CHECK(second.close_state() == CloseState::close_received);
  CHECK(send(second, first, "after your close") == "after your close");

  std::error_code code;
  CHECK(membio::write_plaintext(first, "too late", code) == Status::closed);
  CHECK(code == membio::errc::closed);
  CHECK(first.last_error_message() ==
        "write: " + membio::make_error_code(membio::errc::closed).message());
  CHECK_FALSE(first.failure());
  CHECK(first.close_state() == CloseState::close_sent);

  (void)membio::close(second);
  CHECK(second.close_state() == CloseState::closed);
  deliver(second, first);
  CHECK(membio::read_plaintext_into(first, received) == Status::closed);
  CHECK(first.close_state() == CloseState::closed);
}

}  // namespace

TEST_CASE("close_notify each way moves the close states to closed",
          "[io][close]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);

  SECTION("client closes first") {
    check_close_sequence(pair.client, pair.server);
  }
  SECTION("server closes first") {
    check_close_sequence(pair.server, pair.client);
  }
}

TEST_CASE("calling close again sends nothing more", "[io][close]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);

  const unsigned char alert_record = version == TlsVersion::tls1_3 ? 23 : 21;

  (void)membio::close(pair.client);
  const Bytes first_close = membio::drain_all(pair.client);
  CHECK(count_records(first_close, alert_record) == 1);

  CHECK(membio::close(pair.client) == Status::done);
  CHECK(membio::pending_ciphertext(pair.client) == 0);
}

TEST_CASE("a reader reports truncation when input ends without close_notify",
          "[io][close][truncation]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);
  (void)membio::write_plaintext(pair.server, "cut short");
  deliver(pair.server, pair.client);
  membio::feed_eof(pair.client);

  std::string received;
  std::error_code code;
  (void)membio::read_plaintext_into(pair.client, received, code);
  INFO("message: " << pair.client.last_error_message());
  CHECK(received == "cut short");
  CHECK(code == membio::errc::truncated);
  CHECK(pair.client.close_state() == CloseState::truncated);
  CHECK(contains(pair.client.last_error_message(), "read: "));
  CHECK(contains(pair.client.last_error_message(), "truncated"));
  CHECK(pair.client.failure() == membio::errc::truncated);

  unsigned char buffer[16];
  (void)membio::read_plaintext(pair.client, buffer, code);
  CHECK(code == membio::errc::truncated);
  CHECK(contains(pair.client.last_error_message(), "failed earlier"));
}

TEST_CASE("end of input after close_notify reads as a clean close",
          "[io][close][truncation]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);
  (void)membio::write_plaintext(pair.server, "complete");
  (void)membio::close(pair.server);
  deliver(pair.server, pair.client);
  membio::feed_eof(pair.client);

  std::string received;
  std::error_code code;
  CHECK(membio::read_plaintext_into(pair.client, received, code) ==
        Status::closed);
  CHECK_FALSE(code);
  CHECK(received == "complete");
  CHECK(pair.client.close_state() == CloseState::close_received);
  CHECK_FALSE(pair.client.failure());
}

TEST_CASE("feeding after feed_eof is refused without ending the channel",
          "[io][truncation][errors]") {
  Pair pair;
  connect(pair);
  membio::feed_eof(pair.client);
  (void)membio::write_plaintext(pair.server, "too late");
  std::error_code code;

  membio::feed(pair.client, membio::drain_all(pair.server), code);
  CHECK(code == membio::errc::input_ended);
  CHECK(contains(pair.client.last_error_message(), "feed: "));
  CHECK_FALSE(pair.client.failure());
  CHECK(pair.client.close_state() == CloseState::open);
}

TEST_CASE("input that ends during the handshake reports truncation",
          "[io][handshake][truncation]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  std::error_code code;

  SECTION("server before any input") {
    membio::feed_eof(pair.server);
    CHECK(membio::handshake(pair.server, code) == Status::closed);
    CHECK(code == membio::errc::truncated);
    CHECK(pair.server.close_state() == CloseState::truncated);
    CHECK(contains(pair.server.last_error_message(), "handshake: "));
  }

  SECTION("client in the middle of the server's flight") {
    (void)membio::handshake(pair.client);
    deliver(pair.client, pair.server);
    (void)membio::handshake(pair.server);
    const Bytes flight = membio::drain_all(pair.server);
    membio::feed(pair.client, ConstBytes(flight.data(), flight.size() / 2));
    membio::feed_eof(pair.client);

    CHECK(membio::handshake(pair.client, code) == Status::closed);
    CHECK(code == membio::errc::truncated);
    CHECK(pair.client.close_state() == CloseState::truncated);
    CHECK(contains(pair.client.last_error_message(), "truncated"));
  }
}

TEST_CASE("bytes that are not TLS fail a handshake with OpenSSL's reason",
          "[io][errors][handshake]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  std::error_code code;

  SECTION("fed to a server") {
    membio::feed(pair.server, garbage());
    CHECK(membio::handshake(pair.server, code) == Status::closed);
    INFO("server: " << pair.server.last_error_message());
    check_openssl_message(pair.server.last_error_message(), "handshake", code);
    CHECK(pair.server.failure() == code);
    CHECK(pair.server.close_state() == CloseState::failed);
  }

  SECTION("fed to a client after its hello") {
    (void)membio::handshake(pair.client);
    (void)membio::drain_all(pair.client);
    membio::feed(pair.client, garbage());
    CHECK(membio::handshake(pair.client, code) == Status::closed);
    INFO("client: " << pair.client.last_error_message());
    check_openssl_message(pair.client.last_error_message(), "handshake", code);
    CHECK(pair.client.failure() == code);
    CHECK(pair.client.close_state() == CloseState::failed);
  }
}

TEST_CASE("a malformed record fails a server whose alert then fails the client",
          "[io][errors][handshake]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  membio::feed(pair.server, malformed_record());
  std::error_code code;

  CHECK(membio::handshake(pair.server, code) == Status::closed);
  INFO("server: " << pair.server.last_error_message());
  check_openssl_message(pair.server.last_error_message(), "handshake", code);
  CHECK(contains(pair.server.last_error_message(), "alert sent"));
  REQUIRE(membio::pending_ciphertext(pair.server) > 0);

  (void)membio::handshake(pair.client);
  (void)membio::drain_all(pair.client);
  deliver(pair.server, pair.client);
  std::error_code client_code;
  (void)membio::handshake(pair.client, client_code);
  INFO("client: " << pair.client.last_error_message());
  CHECK(client_code);
  CHECK(contains(pair.client.last_error_message(), "alert received"));
  CHECK(pair.client.close_state() == CloseState::failed);
}

TEST_CASE("a client fed a corrupted server flight fails and alerts the server",
          "[io][errors][handshake]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  deliver(pair.client, pair.server);
  (void)membio::handshake(pair.server);
  Bytes flight = membio::drain_all(pair.server);
  flight.back() ^= 0x01;
  membio::feed(pair.client, flight);
  std::error_code code;

  CHECK(membio::handshake(pair.client, code) == Status::closed);
  INFO("client: " << pair.client.last_error_message());
  check_openssl_message(pair.client.last_error_message(), "handshake", code);
  CHECK(contains(pair.client.last_error_message(), "alert sent"));
  REQUIRE(membio::pending_ciphertext(pair.client) > 0);

  deliver(pair.client, pair.server);
  std::error_code server_code;
  (void)membio::handshake(pair.server, server_code);
  INFO("server: " << pair.server.last_error_message());
  CHECK(server_code);
  CHECK(contains(pair.server.last_error_message(), "alert received"));
  CHECK(pair.server.close_state() == CloseState::failed);
}

TEST_CASE("a fatal error is repeated by every later operation",
          "[io][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  membio::feed(pair.server, garbage());
  std::error_code first;
  (void)membio::handshake(pair.server, first);
  REQUIRE(first);
  std::error_code code;
  unsigned char buffer[16];

  (void)membio::handshake(pair.server, code);
  CHECK(code == first);
  CHECK(contains(pair.server.last_error_message(), "handshake: "));
  CHECK(contains(pair.server.last_error_message(), "failed earlier"));

  (void)membio::read_plaintext(pair.server, buffer, code);
  CHECK(code == first);
  CHECK(contains(pair.server.last_error_message(), "read: "));
  CHECK(contains(pair.server.last_error_message(), "failed earlier"));

  (void)membio::write_plaintext(pair.server, "no", code);
  CHECK(code == first);
  CHECK(contains(pair.server.last_error_message(), "write: "));
  CHECK(contains(pair.server.last_error_message(), "failed earlier"));

  membio::feed(pair.server, "more", code);
  CHECK(code == first);
  (void)membio::close(pair.server, code);
  CHECK(code == first);
}

TEST_CASE("one tampered byte of application data fails the read",
          "[io][errors][read]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair);
  (void)membio::write_plaintext(pair.client, "do not touch this message");
  Bytes record = membio::drain_all(pair.client);
  record[record.size() / 2] ^= 0x01;
  membio::feed(pair.server, record);

  std::string received;
  std::error_code code;
  CHECK(membio::read_plaintext_into(pair.server, received, code) ==
        Status::closed);
  INFO("server: " << pair.server.last_error_message());
  CHECK(received.empty());
  check_openssl_message(pair.server.last_error_message(), "read", code);
  CHECK(contains(pair.server.last_error_message(), "bad record mac"));
  CHECK(pair.server.close_state() == CloseState::failed);
  CHECK(membio::pending_ciphertext(pair.server) > 0);
}

TEST_CASE("the OpenSSL error queue is empty after every operation",
          "[io][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  std::error_code code;
  unsigned char buffer[16];

  (void)membio::handshake(pair.client, code);
  CHECK(ERR_peek_error() == 0);
  (void)membio::read_plaintext(pair.server, buffer, code);
  CHECK(ERR_peek_error() == 0);

  connect(pair);
  CHECK(ERR_peek_error() == 0);
  (void)membio::write_plaintext(pair.client, "x", code);
  CHECK(ERR_peek_error() == 0);
  (void)membio::drain(pair.client, buffer, code);
  CHECK(ERR_peek_error() == 0);
  (void)membio::read_plaintext(pair.server, MutableBytes(), code);
  CHECK(ERR_peek_error() == 0);

  SECTION("after a failed read") {
    membio::feed(pair.server, garbage(), code);
    CHECK(ERR_peek_error() == 0);
    (void)membio::read_plaintext(pair.server, buffer, code);
    CHECK(code);
    CHECK(ERR_peek_error() == 0);
    (void)membio::write_plaintext(pair.server, "x", code);
    CHECK(ERR_peek_error() == 0);
  }

  SECTION("after a truncated read") {
    membio::feed_eof(pair.server, code);
    CHECK(ERR_peek_error() == 0);
    (void)membio::read_plaintext(pair.server, buffer, code);
    CHECK(code == membio::errc::truncated);
    CHECK(ERR_peek_error() == 0);
  }

  SECTION("after a close and a refused write") {
    (void)membio::close(pair.server, code);
    CHECK(ERR_peek_error() == 0);
    (void)membio::write_plaintext(pair.server, "x", code);
    CHECK(code == membio::errc::closed);
    CHECK(ERR_peek_error() == 0);
  }
}

TEST_CASE("a stale entry in the error queue does not fail a waiting channel",
          "[io][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  std::error_code code;
  unsigned char buffer[16];
  const auto plant_stale_error = [] {
    ERR_raise(ERR_LIB_SSL, SSL_R_BAD_PACKET_LENGTH);
    REQUIRE(ERR_peek_error() != 0);
  };

  plant_stale_error();
  CHECK(membio::handshake(pair.server, code) == Status::need_input);
  CHECK_FALSE(code);
  plant_stale_error();
  const membio::ReadResult early =
      membio::read_plaintext(pair.server, buffer, code);
  CHECK(early.status == Status::need_input);
  CHECK_FALSE(code);

  connect(pair);
  plant_stale_error();
  const membio::ReadResult idle =
      membio::read_plaintext(pair.client, buffer, code);
  CHECK(idle.status == Status::need_input);
  CHECK_FALSE(code);

  plant_stale_error();
  CHECK(membio::write_plaintext(pair.client, "fresh", code) ==
        Status::send_output);
  CHECK_FALSE(code);
  plant_stale_error();
  deliver(pair.client, pair.server);
  CHECK(read_all(pair.server) == "fresh");

  CHECK_FALSE(pair.client.failure());
  CHECK_FALSE(pair.server.failure());
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("throwing overloads raise the error the error_code ones report",
          "[io][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair quiet(version);
  Pair loud(version);
  membio::feed(quiet.server, garbage());
  membio::feed(loud.server, garbage());

  std::error_code code;
  (void)membio::handshake(quiet.server, code);
  REQUIRE(code);

  try {
    (void)membio::handshake(loud.server);
    FAIL("handshake on garbage did not throw");
  } catch (const membio::error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == code);
    check_openssl_message(error.what(), "handshake", error.code());
  }
  CHECK(ERR_peek_error() == 0);

  std::string out;
  CHECK_THROWS_AS(membio::handshake(loud.server), std::system_error);
  CHECK_THROWS_AS(membio::read_plaintext_into(loud.server, out), membio::error);
}

TEST_CASE("a throwing write after close raises errc::closed",
          "[io][errors][close]") {
  Pair pair;
  connect(pair);
  (void)membio::close(pair.client);

  try {
    (void)membio::write_plaintext(pair.client, "after close");
    FAIL("write after close did not throw");
  } catch (const std::system_error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == membio::errc::closed);
    CHECK(contains(error.what(), "write: "));
  }
  CHECK_FALSE(pair.client.failure());
}

TEST_CASE("error_code overloads never throw, even when they fail",
          "[io][errors]") {
  Pair pair;
  std::error_code code;
  unsigned char buffer[16];
  std::string out;

  membio::feed(pair.server, garbage(), code);
  CHECK_NOTHROW((void)membio::handshake(pair.server, code));
  CHECK(code);
  CHECK_NOTHROW((void)membio::read_plaintext(pair.server, buffer, code));
  CHECK_NOTHROW((void)membio::read_plaintext_into(pair.server, out, code));
  CHECK_NOTHROW((void)membio::write_plaintext(pair.server, "x", code));
  CHECK_NOTHROW((void)membio::close(pair.server, code));
  CHECK_NOTHROW(membio::feed(pair.server, "x", code));
  CHECK_NOTHROW(membio::feed_eof(pair.server, code));
  CHECK_NOTHROW((void)membio::drain(pair.server, buffer, code));
  CHECK_NOTHROW((void)membio::drain_into(pair.server, out, code));
  CHECK_NOTHROW(
      (void)membio::read_plaintext(pair.client, MutableBytes(), code));
  CHECK(code == membio::errc::invalid_argument);
}

TEST_CASE("every operation on a moved-from channel reports empty_object",
          "[io][errors][move]") {
  Pair pair;
  Channel<membio::client> moved = std::move(pair.client);
  Channel<membio::client>& empty = pair.client;
  std::error_code code;
  unsigned char buffer[16];
  std::string out;
  const auto check_empty = [&code] {
    CHECK(code == membio::errc::empty_object);
    code.clear();
  };

  CHECK_FALSE(empty);
  CHECK(membio::pending_ciphertext(empty) == 0);
  CHECK(empty.close_state() == CloseState::failed);
  CHECK(empty.failure() == membio::errc::empty_object);

  membio::feed(empty, "x", code);
  check_empty();
  membio::feed_eof(empty, code);
  check_empty();
  (void)membio::drain(empty, buffer, code);
  check_empty();
  (void)membio::drain_into(empty, out, code);
  check_empty();
  CHECK(out.empty());

  (void)membio::handshake(empty, code);
  check_empty();
  (void)membio::write_plaintext(empty, "x", code);
  check_empty();
  (void)membio::read_plaintext(empty, buffer, code);
  check_empty();
  (void)membio::close(empty, code);
  check_empty();

  pair.client = std::move(moved);
  connect(pair);
  CHECK(send(pair.client, pair.server, "moved back") == "moved back");
}

TEST_CASE("draining a moved-from channel throws empty_object",
          "[io][errors][move][drain]") {
  Pair pair;
  (void)membio::handshake(pair.client);
  Channel<membio::client> moved = std::move(pair.client);
  unsigned char buffer[16];

  try {
    (void)membio::drain(pair.client, buffer);
    FAIL("drain on a moved-from channel did not throw");
  } catch (const membio::error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == membio::errc::empty_object);
    CHECK(contains(error.what(), "drain: "));
  }
  CHECK_THROWS_AS(membio::drain_all(pair.client), membio::error);
  CHECK(membio::pending_ciphertext(moved) > 0);
}

TEST_CASE("a channel moved in the middle of its handshake carries on",
          "[io][move][handshake]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  deliver(pair.client, pair.server);

  Channel<membio::server> moved = std::move(pair.server);
  pair.server = std::move(moved);
  connect(pair);
  CHECK(send(pair.client, pair.server, "after the move") == "after the move");
}
