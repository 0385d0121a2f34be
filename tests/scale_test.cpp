// Tests that membio holds many connections at once: 10,000 client and server
// channel pairs alive in one process, handshaking in a random interleaving
// over randomly cut ciphertext, then exchanging data; and what they cost in
// heap memory while alive and after they are gone.
#include <membio/membio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MEMBIO_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MEMBIO_TEST_SANITIZED 1
#endif
#endif

#if defined(MEMBIO_TEST_SANITIZED)
// The sanitizers' allocator replaces glibc's, whose statistics then stay
// flat; it keeps its own count.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#elif defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define MEMBIO_TEST_MALLINFO2 1
#endif

namespace {

using membio::Channel;
using membio::Context;
using membio::TlsVersion;
namespace test = membio::test;

constexpr std::size_t pair_count = 10000;
constexpr unsigned seed = 20240917;
constexpr std::size_t message_size = 256;  // Each way, per pair.

// The heap's bytes in use, or -1 where this test cannot tell.
long long heap_in_use() {
#if defined(MEMBIO_TEST_SANITIZED)
  return static_cast<long long>(__sanitizer_get_current_allocated_bytes());
#elif defined(MEMBIO_TEST_MALLINFO2)
  const struct mallinfo2 info = mallinfo2();
  return static_cast<long long>(info.uordblks + info.hblkhd);
#else
  return -1;
#endif
}

std::string kib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f KiB", bytes / 1024);
  return text;
}

// One connection: its two channels, the ciphertext in flight each way, and
// the plaintext each side has read.
struct Pair {
  Pair(const Context<membio::client>& client_context,
       const Context<membio::server>& server_context)
      : client(client_context, "localhost"), server(server_context) {}

  Channel<membio::client> client;
  Channel<membio::server> server;
  std::vector<unsigned char> to_server;  // Drained from the client.
  std::vector<unsigned char> to_client;  // Drained from the server.
  std::string server_got;
  std::string client_got;
  std::string failure;
};

// How much of the waiting ciphertext the network hands over at once: often
// a few bytes or a typical segment, sometimes a single byte or all of it.
std::size_t fragment_size(std::mt19937& random, std::size_t waiting) {
  const unsigned kind = random() % 100;
  std::size_t size = waiting;
  if (kind < 5) {
    size = 1;
  } else if (kind < 35) {
    size = 1 + random() % 64;
  } else if (kind < 75) {
    size = 1 + random() % 1500;
  }
  return std::min(size, waiting);
}

// Feeds one fragment of `inbox` to `channel`, lets it work (handshake, or
// read once the handshake is done), and queues what it drained for the
// peer. Returns false on an error, kept in `failure`.
template <membio::Role R>
bool advance(Channel<R>& channel, std::vector<unsigned char>& inbox,
             std::vector<unsigned char>& outbox, std::string& got,
             std::mt19937& random, std::string& failure) {
  std::error_code code;
  const std::size_t size = fragment_size(random, inbox.size());
  membio::feed(channel, membio::ConstBytes(inbox.data(), size), code);
  inbox.erase(inbox.begin(), inbox.begin() + static_cast<long>(size));

  if (!code && !channel.handshake_done()) {
    (void)membio::handshake(channel, code);
  }
  if (!code && channel.handshake_done()) {
    (void)membio::read_plaintext_into(channel, got, code);
  }
  if (!code) membio::drain_into(channel, outbox, code);

  if (code) failure = channel.last_error_message();
  return !code;
}

bool quiet(Pair& pair) {
  return pair.to_server.empty() && pair.to_client.empty() &&
         membio::pending_ciphertext(pair.client) == 0 &&
         membio::pending_ciphertext(pair.server) == 0;
}

// Steps randomly chosen pairs, one side at a time, until `finished` says
// each is done or it failed. Returns how many steps it took, and samples
// the heap now and then into `peak`.
template <class Finished>
std::size_t interleave(std::vector<Pair>& pairs, std::mt19937& random,
                       long long& peak, Finished finished) {
  std::vector<std::size_t> active(pairs.size());
  std::iota(active.begin(), active.end(), std::size_t{0});
  std::size_t steps = 0;

  while (!active.empty()) {
    const std::size_t slot = random() % active.size();
    Pair& pair = pairs[active[slot]];
    if (++steps % 4096 == 0) peak = std::max(peak, heap_in_use());
    const bool ok = random() % 2
                        ? advance(pair.client, pair.to_client, pair.to_server,
                                  pair.client_got, random, pair.failure)
                        : advance(pair.server, pair.to_server, pair.to_client,
                                  pair.server_got, random, pair.failure);

    if (!ok || finished(pair)) {
      active[slot] = active.back();
      active.pop_back();
    }
  }
  return steps;
}

// The message each side of pair `index` sends: distinct per pair and side.
std::string message(std::size_t index, char side) {
  std::string text = std::string(1, side) + std::to_string(index) + ":";
  std::mt19937 random(static_cast<unsigned>(index * 2 + (side == 'c')));
  while (text.size() < message_size) {
    text.push_back(static_cast<char>('a' + random() % 26));
  }
  return text;
}

std::vector<std::string> failures_of(const std::vector<Pair>& pairs) {
  std::vector<std::string> failures;
  for (std::size_t index = 0; index < pairs.size(); ++index) {
    if (pairs[index].failure.empty()) continue;
    if (failures.size() < 5) {
      failures.push_back("pair " + std::to_string(index) + ": " +
                         pairs[index].failure);
    } else {
      failures.back() = "... and more";
    }
  }
  return failures;
}

// A context pair that allows TLS 1.2 and 1.3, as membio's defaults do.
struct Contexts {
  Contexts() {
    server.use_identity_pem(test::localhost_identity().certificate_chain_pem,
                            test::localhost_identity().private_key_pem);
    client.trust_pem(test::test_ca().certificate_pem());
  }

  Context<membio::client> client;
  Context<membio::server> server;
};

// Runs one connection to its end, so that OpenSSL's one-time setup
// (providers, algorithm tables, error strings) is not counted as the pairs'.
void warm_up(const Contexts& contexts) {
  for (const TlsVersion version : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
    Channel<membio::client> client(contexts.client, "localhost");
    Channel<membio::server> server(contexts.server);
    SSL_set_max_proto_version(client.native_handle(),
                              static_cast<int>(version));
    membio::Loopback loopback(client, server);
    loopback.handshake();
    (void)loopback.send_to_server("warm");
    (void)loopback.send_to_client("up");
    loopback.close();
  }
}

}  // namespace

TEST_CASE(
    "ten thousand channel pairs handshake at once in a random interleaving, "
    "exchange data and give their memory back",
    "[scale]") {
  const auto start = std::chrono::steady_clock::now();
  Contexts contexts;
  warm_up(contexts);
  std::mt19937 random(seed);
  const long long heap_before = heap_in_use();
  long long peak = heap_before;

  std::vector<Pair> pairs;
  pairs.reserve(pair_count);
  for (std::size_t index = 0; index < pair_count; ++index) {
    pairs.emplace_back(contexts.client, contexts.server);

    // Every other client caps itself at TLS 1.2: both versions, one context.
    if (index % 2) {
      SSL_set_max_proto_version(pairs.back().client.native_handle(),
                                TLS1_2_VERSION);
    }
  }

  const std::size_t handshake_steps =
      interleave(pairs, random, peak, [](Pair& pair) {
        return pair.client.handshake_done() && pair.server.handshake_done() &&
               quiet(pair);
      });
  REQUIRE(failures_of(pairs) == std::vector<std::string>{});

  for (std::size_t index = 0; index < pair_count; ++index) {
    Pair& pair = pairs[index];
    const std::string version = index % 2 ? "TLSv1.2" : "TLSv1.3";
    if (pair.client.protocol_version() != version) {
      pair.failure = "negotiated " + pair.client.protocol_version();
    }
    (void)membio::write_plaintext(pair.client, message(index, 'c'));
    (void)membio::write_plaintext(pair.server, message(index, 's'));
    membio::drain_into(pair.client, pair.to_server);
    membio::drain_into(pair.server, pair.to_client);
  }
  const std::size_t data_steps =
      interleave(pairs, random, peak, [](Pair& pair) {
        return pair.server_got.size() >= message_size &&
               pair.client_got.size() >= message_size && quiet(pair);
      });
  REQUIRE(failures_of(pairs) == std::vector<std::string>{});

  std::size_t wrong = 0;
  for (std::size_t index = 0; index < pair_count; ++index) {
    Pair& pair = pairs[index];
    wrong += pair.server_got != message(index, 'c') ||
             pair.client_got != message(index, 's');
    std::string().swap(pair.server_got);
    std::string().swap(pair.client_got);
    std::vector<unsigned char>().swap(pair.to_server);
    std::vector<unsigned char>().swap(pair.to_client);
  }
  CHECK(wrong == 0);

  const long long heap_alive = heap_in_use();
  pairs.clear();
  pairs.shrink_to_fit();
  const long long heap_after = heap_in_use();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  WARN(pair_count << " pairs, seed " << seed << ": " << handshake_steps
                  << " handshake steps, " << data_steps << " data steps, "
                  << seconds << " s");
  if (heap_before < 0) {
    WARN("heap in use: not measurable here (needs glibc 2.33's mallinfo2)");
    return;
  }

  const double alive = static_cast<double>(heap_alive - heap_before);
  const double busiest = static_cast<double>(peak - heap_before);
  WARN("heap in use before: " << kib(static_cast<double>(heap_before)));
  WARN("established and idle: +"
       << kib(alive) << ", " << kib(alive / pair_count) << " per pair, "
       << kib(alive / (2 * pair_count)) << " per channel");
  WARN("highest sample while busy: +" << kib(busiest) << ", "
                                      << kib(busiest / (2 * pair_count))
                                      << " per channel");
  WARN("after destroying the pairs: "
       << kib(static_cast<double>(heap_after - heap_before))
       << " above the start");

  // All that the pairs took comes back, give or take allocator bookkeeping
  // and OpenSSL's lazily grown tables.
  CHECK(heap_after - heap_before < 256 * 1024);
}
