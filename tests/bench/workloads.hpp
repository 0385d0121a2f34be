// The workloads, written once for every implementation. Each takes a Side
// (the contexts for one scenario) whose Pair is a client and a server
// connection, made with an optional session to resume, offering:
//   handshake()      both sides to the end, the client reading the tickets
//   save_session()   the client's session; resumed(), negotiated(scenario)
//   write(p, n)      the client writes plaintext
//   cork()           the writes until send() may share records (GnuTLS)
//   send()           the client's ciphertext goes to the server
//   receive(copy)    the server reads all it can; returns the byte count
//   drop_client()    the client ends, the server stays
#ifndef MEMBIO_BENCH_WORKLOADS_HPP
#define MEMBIO_BENCH_WORKLOADS_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "heap.hpp"
#include "measure.hpp"
#include "scenario.hpp"

namespace membio::bench {

/// Messages per turn of the small-messages workload, and their size.
inline constexpr std::size_t small_message_count = 256;
inline constexpr std::size_t small_message_size = 64;

/// Plaintext that is not all one byte, so a stream that comes out in the
/// wrong order shows.
inline std::vector<unsigned char> pattern(std::size_t size,
                                          std::size_t offset = 0) {
  std::vector<unsigned char> bytes(size);
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<unsigned char>((offset + i) * 131 % 251);
  }
  return bytes;
}

/// Checks, untimed, that the side negotiates what the scenario asks,
/// resumes, and carries a stream of writes of `write_size` bytes exactly,
/// one send per write and many writes per send.
template <class Side>
void check_side(Side& side, const Scenario& scenario, const std::string& name,
                std::size_t write_size) {
  typename Side::Pair pair(side, nullptr);
  pair.handshake();
  if (!pair.negotiated(scenario)) {
    throw std::runtime_error(name + ": negotiated another suite");
  }

  const typename Side::Session session = pair.save_session();
  typename Side::Pair again(side, &session);
  again.handshake();
  if (!again.resumed()) throw std::runtime_error(name + ": did not resume");

  // Batches stay far below the channel's default output limit (4 MiB).
  std::vector<unsigned char> sent;
  std::vector<unsigned char> received;
  for (std::size_t batch = 1;
       batch <= small_message_count && batch * write_size <= 256 * 1024;
       batch *= 16) {
    pair.cork();
    for (std::size_t i = 0; i < batch; ++i) {
      const std::vector<unsigned char> bytes = pattern(write_size, sent.size());
      pair.write(bytes.data(), bytes.size());
      sent.insert(sent.end(), bytes.begin(), bytes.end());
    }
    pair.send();
    pair.receive(&received);
  }
  if (received != sent) throw std::runtime_error(name + ": stream corrupted");
}

template <class Side>
void full_handshake(Side& side) {
  typename Side::Pair pair(side, nullptr);
  pair.handshake();
}

/// Full handshakes per second, each with new connections on both sides.
template <class Side>
double full_handshakes_per_second(Side& side, double seconds) {
  const auto batch = [&] {
    for (int i = 0; i < 4; ++i) full_handshake(side);
  };
  return units_per_second(batch, 4, seconds);
}

/// Resumed handshakes per second, each offering the same saved session.
template <class Side>
double resumed_handshakes_per_second(Side& side, double seconds) {
  typename Side::Pair first(side, nullptr);
  first.handshake();
  const typename Side::Session session = first.save_session();

  const auto batch = [&] {
    for (int i = 0; i < 4; ++i) {
      typename Side::Pair pair(side, &session);
      pair.handshake();
      if (!pair.resumed()) throw std::runtime_error("a resumption failed");
    }
  };
  return units_per_second(batch, 4, seconds);
}

/// Microseconds that offering a saved session adds to making a client and
/// a server connection (copying it, or decoding it where it is kept as
/// bytes).
template <class Side>
double session_restore_microseconds(Side& side) {
  typename Side::Pair first(side, nullptr);
  first.handshake();
  const typename Side::Session session = first.save_session();

  constexpr int pairs = 200;
  const auto make = [&](const typename Side::Session* offered) {
    const double start = now_seconds();
    for (int i = 0; i < pairs; ++i) typename Side::Pair pair(side, offered);
    return (now_seconds() - start) / pairs * 1e6;
  };
  make(&session);

  // A cost below the clock's noise could come out negative; it is none.
  return std::max(0.0, make(&session) - make(nullptr));
}

/// Delivers one turn's plaintext; throws if any went missing.
template <class Pair>
void expect_received(Pair& pair, std::size_t size) {
  if (pair.receive() != size) {
    throw std::runtime_error("the server did not receive what was sent");
  }
}

/// One more turn after the timed ones, `writes` writes of `message`, whose
/// bytes the server must get exactly: the figure came from a connection
/// that still works, not from one that lost its stream on the way.
template <class Pair>
void expect_intact_turn(Pair& pair, const std::vector<unsigned char>& message,
                        std::size_t writes) {
  std::vector<unsigned char> sent;
  pair.cork();
  for (std::size_t i = 0; i < writes; ++i) {
    pair.write(message.data(), message.size());
    sent.insert(sent.end(), message.begin(), message.end());
  }
  pair.send();

  std::vector<unsigned char> received;
  pair.receive(&received);
  if (received != sent) {
    throw std::runtime_error("the stream was corrupted during the measurement");
  }
}

/// MB/s (10^6 bytes) of plaintext one way: write, send, receive, over an
/// established connection.
template <class Side>
double bulk_megabytes_per_second(Side& side, std::size_t write_size,
                                 double seconds) {
  typename Side::Pair pair(side, nullptr);
  pair.handshake();
  const std::vector<unsigned char> plaintext = pattern(write_size);
  const std::size_t turns = std::max<std::size_t>(1, 256 * 1024 / write_size);

  const auto batch = [&] {
    for (std::size_t turn = 0; turn < turns; ++turn) {
      pair.write(plaintext.data(), plaintext.size());
      pair.send();
      expect_received(pair, write_size);
    }
  };
  const double rate =
      units_per_second(batch, static_cast<double>(turns * write_size), seconds);
  expect_intact_turn(pair, plaintext, 1);
  return rate / 1e6;
}

/// MB/s of plaintext when each turn writes 256 messages of 64 bytes, then
/// sends once: what an RPC or chat server does in one turn of its loop.
template <class Side>
double small_messages_megabytes_per_second(Side& side, double seconds) {
  typename Side::Pair pair(side, nullptr);
  pair.handshake();
  const std::vector<unsigned char> message = pattern(small_message_size);
  constexpr std::size_t turn_size = small_message_count * small_message_size;

  const auto batch = [&] {
    for (int turn = 0; turn < 8; ++turn) {
      pair.cork();
      for (std::size_t i = 0; i < small_message_count; ++i) {
        pair.write(message.data(), message.size());
      }
      pair.send();
      expect_received(pair, turn_size);
    }
  };
  const double rate = units_per_second(batch, 8.0 * turn_size, seconds);
  expect_intact_turn(pair, message, small_message_count);
  return rate / 1e6;
}

/// KiB of heap each idle server connection holds while `channels` of them
/// are alive: each made by a full handshake with a client that then goes
/// away, so nothing is in flight. The pairs' own slots are reserved
/// beforehand and not counted; everything the connection allocated is.
template <class Side>
double idle_kib_per_channel(Side& side, std::size_t channels) {
  std::vector<typename Side::Pair> pairs;
  pairs.reserve(channels);
  const std::size_t before = heap_bytes_in_use();

  for (std::size_t i = 0; i < channels; ++i) {
    pairs.emplace_back(side, nullptr);
    pairs.back().handshake();
    pairs.back().drop_client();
  }
  const std::size_t after = heap_bytes_in_use();
  const double held = after > before ? static_cast<double>(after - before) : 0;
  return held / static_cast<double>(channels) / 1024;
}

/// Heap allocations of one full handshake, both sides together, from making
/// the two connections to freeing them.
template <class Side>
double allocations_per_handshake(Side& side) {
  constexpr int handshakes = 16;
  full_handshake(side);

  start_counting_allocations();
  for (int i = 0; i < handshakes; ++i) full_handshake(side);
  return static_cast<double>(stop_counting_allocations()) / handshakes;
}

}  // namespace membio::bench

#endif  // MEMBIO_BENCH_WORKLOADS_HPP
