// Tests of the zero-copy calls in io.hpp: incoming_space and
// commit_incoming, outgoing_view and consume_outgoing, driven by a small
// pump that never copies through a buffer of its own.
#include <membio/io.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using membio::ConstBytes;
using membio::errc;
using membio::MutableBytes;
using membio::Role;
using membio::Status;
using membio::TlsVersion;
using membio::test::malformed_record;
using membio::test::Pair;
using membio::test::pattern;
using Bytes = std::vector<unsigned char>;
using Splitter = std::function<std::size_t()>;

template <Role R>
using Channel = membio::Channel<R>;

constexpr unsigned char alert_record = 21;
constexpr unsigned char application_data_record = 23;
constexpr std::size_t mebibyte = 1024 * 1024;

// How a simulated transport cuts the bytes: how many one send takes from
// the sender's view, how many one receive commits, and how much more space
// the receiver asks for than it then fills.
struct Transport {
  Splitter send_size;
  Splitter receive_size;
  Splitter spare_size;
};

Transport whole_flights() {
  const Splitter all = [] { return std::size_t{1} << 30; };
  return {all, all, [] { return std::size_t{0}; }};
}

Transport single_bytes() {
  const Splitter one = [] { return std::size_t{1}; };
  return {one, one, one};
}

// Random sizes from `random`, which must outlive the transport.
Transport random_pieces(std::mt19937& random) {
  const auto between = [&random](std::size_t low, std::size_t high) {
    return [&random, low, high] {
      return std::uniform_int_distribution<std::size_t>(low, high)(random);
    };
  };
  return {between(1, 5000), between(1, 700), between(0, 300)};
}

// Receives `ciphertext` into `to` through incoming_space and
// commit_incoming alone, calling `after_receive` after each commit.
template <Role R>
void receive(Channel<R>& to, ConstBytes ciphertext, const Transport& transport,
             const std::function<void()>& after_receive) {
  std::size_t offset = 0;
  while (offset < ciphertext.size()) {
    const std::size_t wanted =
        std::min(transport.receive_size(), ciphertext.size() - offset);
    const MutableBytes space =
        membio::incoming_space(to, wanted + transport.spare_size());
    if (space.size() < wanted) {
      FAIL("incoming_space offered " << space.size() << " of " << wanted);
    }

    std::memcpy(space.data(), ciphertext.data() + offset, wanted);
    membio::commit_incoming(to, wanted);
    offset += wanted;
    after_receive();
  }
}

// Moves all that `from` has to send into `to` through outgoing_view and
// consume_outgoing on one side and the incoming calls on the other; the
// memcpy in `receive` plays the network. Returns the bytes moved.
template <Role From, Role To>
std::size_t transfer(Channel<From>& from, Channel<To>& to,
                     const Transport& transport,
                     const std::function<void()>& after_receive) {
  std::size_t moved = 0;
  for (;;) {
    const ConstBytes view = membio::outgoing_view(from);
    if (view.empty()) return moved;

    const std::size_t sent = std::min(transport.send_size(), view.size());
    receive(to, ConstBytes(view.data(), sent), transport, after_receive);
    membio::consume_outgoing(from, sent);
    moved += sent;
  }
}

// Runs both handshakes to the end over the zero-copy calls, driving the
// receiver after every piece, as a fragmenting network would.
void connect(Pair& pair, const Transport& transport) {
  Channel<Role::client>& client = pair.client;
  Channel<Role::server>& server = pair.server;
  for (int round = 0; round < 10; ++round) {
    (void)membio::handshake(client);
    (void)membio::handshake(server);

    const std::size_t moved =
        transfer(client, server, transport,
                 [&server] { (void)membio::handshake(server); }) +
        transfer(server, client, transport,
                 [&client] { (void)membio::handshake(client); });
    if (moved == 0 && client.handshake_done() && server.handshake_done()) {
      return;
    }
  }
  FAIL("the zero-copy handshake did not finish in 10 rounds");
}

// Writes `plaintext` on `from`, moves it over the zero-copy calls reading
// after every piece, and returns all that `to` read.
template <Role From, Role To>
std::string send(Channel<From>& from, Channel<To>& to,
                 const std::string& plaintext, const Transport& transport) {
  (void)membio::write_plaintext(from, plaintext);

  std::string received;
  transfer(from, to, transport,
           [&] { (void)membio::read_plaintext_into(to, received); });
  return received;
}

// The content type of each record in a stream of whole records.
std::vector<unsigned char> record_types(ConstBytes stream) {
  std::vector<unsigned char> types;
  std::size_t offset = 0;
  while (offset + 5 <= stream.size()) {
    const unsigned char* header = stream.data() + offset;
    types.push_back(header[0]);
    offset += 5 + (std::size_t{header[3]} << 8 | header[4]);
  }

  CHECK(offset == stream.size());
  return types;
}

// Checks that `call` throws membio::error carrying `expected`, with a
// message that starts with the operation's name.
template <class Call>
void check_throws(const Call& call, errc expected,
                  const std::string& operation) {
  try {
    call();
    FAIL(operation << " did not throw");
  } catch (const membio::error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == expected);
    CHECK(std::string(error.what()).rfind(operation + ": ", 0) == 0);
  }
}

}  // namespace

TEST_CASE("a connection driven only by the zero-copy calls moves bytes exactly",
          "[io][zero_copy][fragments]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const int mode = GENERATE(0, 1, 2, 3, 4);
  std::mt19937 random(static_cast<unsigned>(mode));
  const char* const names[] = {"whole flights", "single bytes", "random"};
  INFO(membio::test::name_of(version)
       << ", " << names[std::min(mode, 2)] << ", seed " << mode);
  const Transport transport = mode == 0   ? whole_flights()
                              : mode == 1 ? single_bytes()
                                          : random_pieces(random);
  Pair pair(version);

  connect(pair, transport);
  REQUIRE(pair.client.handshake_done());
  REQUIRE(pair.server.handshake_done());

  // A byte at a time, a mebibyte takes over a minute under sanitizers; 128
  // KiB still spans many records each way.
  const std::size_t size = mode == 1 ? mebibyte / 8 : mebibyte;
  const std::string to_server = pattern(size, 10);
  const std::string to_client = pattern(size, 20);
  CHECK((send(pair.client, pair.server, to_server, transport) == to_server));
  CHECK((send(pair.server, pair.client, to_client, transport) == to_client));
  CHECK(membio::outgoing_view(pair.client).empty());
  CHECK(membio::outgoing_view(pair.server).empty());
}

TEST_CASE("zero-copy and copying calls mixed on one channel keep the stream",
          "[io][zero_copy][fragments]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const unsigned seed = GENERATE(1u, 2u, 3u);
  INFO(membio::test::name_of(version) << ", seed " << seed);
  Pair pair(version);
  std::mt19937 random(seed);
  const Transport transport = random_pieces(random);
  const auto coin = [&random] { return (random() & 1) != 0; };

  // Each piece goes out by drain or by view, and in by feed or by commit.
  const auto move_all = [&](auto& from, auto& to, const auto& after_receive) {
    std::size_t moved = 0;
    while (membio::pending_ciphertext(from) > 0) {
      Bytes piece(std::min<std::size_t>(transport.send_size(), 4096));
      if (coin()) {
        piece.resize(membio::drain(from, piece));
      } else {
        const ConstBytes view = membio::outgoing_view(from);
        piece.assign(view.data(),
                     view.data() + std::min(piece.size(), view.size()));
        membio::consume_outgoing(from, piece.size());
      }

      if (coin()) {
        membio::feed(to, piece);
        after_receive();
      } else {
        receive(to, piece, transport, after_receive);
      }
      moved += piece.size();
    }
    return moved;
  };

  for (int round = 0; round < 10 && !(pair.client.handshake_done() &&
                                      pair.server.handshake_done());
       ++round) {
    (void)membio::handshake(pair.client);
    (void)membio::handshake(pair.server);
    move_all(pair.client, pair.server,
             [&] { (void)membio::handshake(pair.server); });
    move_all(pair.server, pair.client,
             [&] { (void)membio::handshake(pair.client); });
  }
  REQUIRE(pair.client.handshake_done());
  REQUIRE(pair.server.handshake_done());

  std::string expected;
  for (unsigned index = 0; index < 300; ++index) {
    const std::string message = pattern(1 + random() % 3000, index);
    (void)membio::write_plaintext(pair.client, message);
    expected += message;
  }

  std::string received;
  move_all(pair.client, pair.server,
           [&] { (void)membio::read_plaintext_into(pair.server, received); });
  CHECK((received == expected));
}

TEST_CASE("incoming_space never offers more than the input limit leaves",
          "[io][zero_copy][limits]") {
  membio::Context<membio::server> context = membio::test::server_context();
  membio::Limits limits;
  limits.max_incoming_ciphertext = 1000;
  context.set_limits(limits);
  Channel<Role::server> server(context);
  std::error_code code;

  const MutableBytes first = membio::incoming_space(server, 4096, code);
  CHECK_FALSE(code);
  CHECK(first.size() > 0);
  CHECK(first.size() <= 1000);
  membio::commit_incoming(server, 600, code);
  CHECK_FALSE(code);

  const MutableBytes second = membio::incoming_space(server, 4096, code);
  CHECK_FALSE(code);
  CHECK(second.size() > 0);
  CHECK(second.size() <= 400);
  membio::commit_incoming(server, second.size(), code);
  CHECK_FALSE(code);

  const MutableBytes full = membio::incoming_space(server, 4096, code);
  CHECK(code == errc::input_limit);
  CHECK(full.empty());
  CHECK_FALSE(server.failure());
  check_throws([&] { (void)membio::incoming_space(server, 1); },
               errc::input_limit, "incoming space");
  CHECK_FALSE(server.failure());
}

TEST_CASE("committing more than incoming_space offered commits nothing",
          "[io][zero_copy][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  const Bytes hello = membio::drain_all(pair.client);
  std::error_code code;

  MutableBytes space = membio::incoming_space(pair.server, hello.size(), code);
  REQUIRE(space.size() == hello.size());
  std::memcpy(space.data(), hello.data(), hello.size());
  membio::commit_incoming(pair.server, space.size() + 1, code);
  CHECK(code == errc::invalid_argument);
  CHECK_FALSE(pair.server.failure());

  space = membio::incoming_space(pair.server, hello.size());
  std::memcpy(space.data(), hello.data(), hello.size());
  check_throws([&] { membio::commit_incoming(pair.server, space.size() + 1); },
               errc::invalid_argument, "commit incoming");
  CHECK_FALSE(pair.server.failure());

  // Had either refused commit taken the hello, the server would now see it
  // twice and fail.
  CHECK(membio::handshake(pair.server) == Status::need_input);
  membio::feed(pair.server, hello);
  connect(pair, whole_flights());
  CHECK((send(pair.client, pair.server, "after", whole_flights()) == "after"));
}

TEST_CASE("a commit after another call on the channel is refused",
          "[io][zero_copy][errors]") {
  Pair pair;
  (void)membio::handshake(pair.client);
  const Bytes hello = membio::drain_all(pair.client);
  Channel<Role::server>& server = pair.server;
  unsigned char buffer[16];
  std::error_code code;

  using Call = std::function<void()>;
  const std::vector<std::pair<const char*, Call>> calls = {
      {"feed", [&] { membio::feed(server, ConstBytes()); }},
      {"handshake", [&] { (void)membio::handshake(server); }},
      {"read", [&] { (void)membio::read_plaintext(server, buffer); }},
      {"write", [&] { (void)membio::write_plaintext(server, "x"); }},
      {"flush", [&] { (void)membio::flush(server); }},
      {"close", [&] { (void)membio::close(server); }},
      {"feed_eof", [&] { membio::feed_eof(server); }}};
  for (const auto& [name, call] : calls) {
    INFO("in between: " << name);
    Pair fresh;
    server = std::move(fresh.server);
    const MutableBytes space = membio::incoming_space(server, hello.size());
    std::memcpy(space.data(), hello.data(), hello.size());

    call();
    membio::commit_incoming(server, hello.size(), code);
    CHECK(code == errc::invalid_argument);
    CHECK_FALSE(server.failure());
  }
}

TEST_CASE(
    "sending calls between incoming_space and its commit leave the "
    "space valid",
    "[io][zero_copy]") {
  Pair pair;
  Channel<Role::client>& client = pair.client;
  unsigned char buffer[16];
  std::error_code code;

  // The client's hello waits to be drained, so each call has work to do.
  using Call = std::function<void()>;
  const std::vector<std::pair<const char*, Call>> calls = {
      {"drain", [&] { (void)membio::drain(client, buffer); }},
      {"pending_ciphertext", [&] { (void)membio::pending_ciphertext(client); }},
      {"outgoing_view", [&] { (void)membio::outgoing_view(client); }},
      {"consume_outgoing", [&] { membio::consume_outgoing(client, 1); }}};
  for (const auto& [name, call] : calls) {
    INFO("in between: " << name);
    (void)membio::handshake(client);
    const MutableBytes space = membio::incoming_space(client, 64);
    REQUIRE(space.size() > 0);

    space.data()[0] = 0;
    call();
    membio::commit_incoming(client, 1, code);
    CHECK_FALSE(code);
  }
}

TEST_CASE("consuming more than the outgoing view holds takes nothing",
          "[io][zero_copy][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  std::error_code code;

  membio::consume_outgoing(pair.client, 1, code);
  CHECK(code == errc::invalid_argument);

  (void)membio::handshake(pair.client);
  const ConstBytes view = membio::outgoing_view(pair.client);
  REQUIRE_FALSE(view.empty());
  const Bytes hello(view.data(), view.data() + view.size());
  membio::consume_outgoing(pair.client, hello.size() + 1, code);
  CHECK(code == errc::invalid_argument);
  check_throws([&] { membio::consume_outgoing(pair.client, hello.size() + 1); },
               errc::invalid_argument, "consume outgoing");
  CHECK_FALSE(pair.client.failure());

  const ConstBytes again = membio::outgoing_view(pair.client);
  CHECK((Bytes(again.data(), again.data() + again.size()) == hello));
  connect(pair, whole_flights());
  CHECK(
      (send(pair.client, pair.server, "intact", whole_flights()) == "intact"));
}

TEST_CASE("an outgoing view seals the small writes gathered into one record",
          "[io][zero_copy][coalescing]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  connect(pair, whole_flights());

  std::string expected;
  for (int index = 0; index < 200; ++index) {
    const std::string message = "reply " + std::to_string(index) + "; ";
    CHECK(membio::write_plaintext(pair.client, message) == Status::send_output);
    expected += message;
  }

  const ConstBytes view = membio::outgoing_view(pair.client);
  CHECK(view.size() > expected.size());
  CHECK((record_types(view) ==
         std::vector<unsigned char>{application_data_record}));

  std::string received;
  transfer(pair.client, pair.server, whole_flights(),
           [&] { (void)membio::read_plaintext_into(pair.server, received); });
  CHECK(received == expected);
}

TEST_CASE("an outgoing view after a fatal error still shows the alert",
          "[io][zero_copy][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(membio::test::name_of(version));
  Pair pair(version);
  (void)membio::handshake(pair.client);
  (void)membio::drain_all(pair.client);
  membio::feed(pair.server, malformed_record());
  std::error_code failure;
  (void)membio::handshake(pair.server, failure);
  REQUIRE(failure);

  std::error_code code;
  const ConstBytes view = membio::outgoing_view(pair.server, code);
  CHECK_FALSE(code);
  CHECK((record_types(view) == std::vector<unsigned char>{alert_record}));
  (void)membio::incoming_space(pair.server, 16, code);
  CHECK(code == failure);
  membio::commit_incoming(pair.server, 0, code);
  CHECK(code == failure);

  std::error_code client_code;
  transfer(pair.server, pair.client, whole_flights(),
           [&] { (void)membio::handshake(pair.client, client_code); });
  CHECK(membio::outgoing_view(pair.server).empty());
  INFO("client: " << pair.client.last_error_message());
  CHECK(client_code);
  CHECK(pair.client.last_error_message().find("alert received") !=
        std::string::npos);
}

TEST_CASE("the zero-copy calls on a moved-from channel report empty_object",
          "[io][zero_copy][errors][move]") {
  Pair pair;
  Channel<Role::client> moved = std::move(pair.client);
  Channel<Role::client>& empty = pair.client;
  std::error_code code;

  CHECK(membio::incoming_space(empty, 16, code).empty());
  CHECK(code == errc::empty_object);
  membio::commit_incoming(empty, 0, code);
  CHECK(code == errc::empty_object);
  CHECK(membio::outgoing_view(empty, code).empty());
  CHECK(code == errc::empty_object);
  membio::consume_outgoing(empty, 0, code);
  CHECK(code == errc::empty_object);

  check_throws([&] { (void)membio::incoming_space(empty, 16); },
               errc::empty_object, "incoming space");
  check_throws([&] { membio::commit_incoming(empty, 0); }, errc::empty_object,
               "commit incoming");
  check_throws([&] { (void)membio::outgoing_view(empty); }, errc::empty_object,
               "outgoing view");
  check_throws([&] { membio::consume_outgoing(empty, 0); }, errc::empty_object,
               "consume outgoing");
}

TEST_CASE("incoming_space after feed_eof reports input_ended, not fatal",
          "[io][zero_copy][errors][close]") {
  Pair pair;
  membio::feed_eof(pair.server);
  std::error_code code;

  CHECK(membio::incoming_space(pair.server, 16, code).empty());
  CHECK(code == errc::input_ended);
  check_throws([&] { (void)membio::incoming_space(pair.server, 16); },
               errc::input_ended, "incoming space");
  membio::commit_incoming(pair.server, 1, code);
  CHECK(code == errc::invalid_argument);
  CHECK_FALSE(pair.server.failure());
}
