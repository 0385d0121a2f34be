// Tests of the threading contract that context.hpp and channel.hpp state:
// one client and one server context shared by many threads at once, for
// resumptions and for full handshakes alone, ticket keys rotated while
// other threads use them, contexts configured on one thread and used on
// others, channels handed from thread to thread.
#include <membio/membio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace {

using membio::Channel;
using membio::Context;
using membio::Loopback;
using membio::TicketKey;
using membio::TlsVersion;
using membio::test::pattern;
namespace test = membio::test;

using Bytes = std::vector<unsigned char>;

constexpr int thread_count = 8;
constexpr int connections_per_thread = 50;
constexpr std::size_t bytes_per_thread = 64 * 1024;  // Each way.

// Whole flights, typical segment sizes, odd pieces and single bytes.
constexpr std::array<std::size_t, 8> fragment_sizes = {0, 1400, 0, 512,
                                                       0, 97,   0, 1};

// What the contexts' callbacks counted: totals across all threads, and each
// thread's own share, which shows that a callback runs on the thread of the
// channel whose handshake called it.
struct Tally {
  std::atomic<long> key_log_lines{0};
  std::atomic<long> verify_calls{0};
};

thread_local long key_log_lines_here = 0;
thread_local long verify_calls_here = 0;

// Key log lines one side writes per handshake: TLS 1.3 logs four traffic
// secrets and the exporter secret, TLS 1.2 one CLIENT_RANDOM line.
long key_log_lines_per_side(TlsVersion version) {
  return version == TlsVersion::tls1_3 ? 5 : 1;
}

// The verify callback sees the test CA's root, then the leaf; a resumed
// handshake verifies nothing.
constexpr long verify_calls_per_full_handshake = 2;

std::string name_of(TlsVersion version) { return test::name_of(version); }

// A server context for TLS 1.2 and 1.3 with the test identity, sealing
// tickets with its own key, counting its key log lines.
Context<membio::server> counted_server(Tally& tally) {
  Context<membio::server> context;
  context.use_identity_pem(test::localhost_identity().certificate_chain_pem,
                           test::localhost_identity().private_key_pem);
  context.use_ticket_keys({TicketKey::generate()});
  context.on_key_log([&tally](std::string_view) {
    tally.key_log_lines.fetch_add(1, std::memory_order_relaxed);
    ++key_log_lines_here;
  });
  return context;
}

// A client context for TLS 1.2 and 1.3 trusting the test CA, counting its
// key log lines and its verify callback's calls.
Context<membio::client> counted_client(Tally& tally) {
  Context<membio::client> context;
  context.trust_pem(test::test_ca().certificate_pem());
  context.on_key_log([&tally](std::string_view) {
    tally.key_log_lines.fetch_add(1, std::memory_order_relaxed);
    ++key_log_lines_here;
  });
  context.on_verify([&tally](const membio::VerifyStep& step) {
    tally.verify_calls.fetch_add(1, std::memory_order_relaxed);
    ++verify_calls_here;
    return step.openssl_accepts;
  });
  return context;
}

// One connection to make: its version, how the network cuts it, the
// session the client offers (or none), and what each side sends.
struct Plan {
  TlsVersion version = TlsVersion::tls1_3;
  std::size_t fragment_size = 0;
  const Bytes* session = nullptr;
  std::string to_server;
  std::string to_client;
};

// How a connection went; `failure` is empty when every check passed.
struct Outcome {
  bool resumed = false;
  Bytes session;  // What the client saved, for the next connection.
  std::string failure;
};

// Checks what a finished connection agreed on and delivered; returns the
// first thing that is wrong, or "".
std::string check(const Plan& plan, const Channel<membio::client>& client,
                  const Channel<membio::server>& server,
                  const std::string& server_got,
                  const std::string& client_got) {
  if (client.protocol_version() != name_of(plan.version) ||
      server.protocol_version() != name_of(plan.version)) {
    return "negotiated " + client.protocol_version() + " and " +
           server.protocol_version();
  }
  if (client.resumed() != server.resumed()) {
    return "client and server disagree on resumption";
  }
  if (server_got != plan.to_server) {
    return "server got " + std::to_string(server_got.size()) + " bytes, not " +
           "the " + std::to_string(plan.to_server.size()) + " sent";
  }
  if (client_got != plan.to_client) {
    return "client got " + std::to_string(client_got.size()) + " bytes, not " +
           "the " + std::to_string(plan.to_client.size()) + " sent";
  }
  return "";
}

// Runs one connection on the calling thread: handshake, a message each way,
// the session saved, an orderly close. Records instead of asserting, since
// Catch2's assertions may only be used on the test's own thread.
Outcome connect(const Context<membio::client>& client_context,
                const Context<membio::server>& server_context,
                const Plan& plan) {
  Outcome outcome;
  try {
    Channel<membio::client> client(client_context, "localhost");
    Channel<membio::server> server(server_context);

    // Both contexts allow TLS 1.2 and 1.3; each client channel caps its
    // own version, so that one client context serves both.
    if (plan.version == TlsVersion::tls1_2 &&
        SSL_set_max_proto_version(client.native_handle(), TLS1_2_VERSION) !=
            1) {
      outcome.failure = "cannot cap the client channel at TLS 1.2";
      return outcome;
    }
    if (plan.session) membio::restore_session(client, *plan.session);

    Loopback loopback(client, server, plan.fragment_size);
    loopback.handshake();
    const std::string server_got = loopback.send_to_server(plan.to_server);
    const std::string client_got = loopback.send_to_client(plan.to_client);
    outcome.session = membio::save_session(client);
    loopback.close();

    outcome.resumed = client.resumed();
    outcome.failure = check(plan, client, server, server_got, client_got);
  } catch (const std::exception& failure) {
    outcome.failure = failure.what();
  }
  return outcome;
}

// Sessions the threads publish, so that each may resume another's: the
// server accepts any ticket sealed with its keys, whoever got it.
class Shelf {
 public:
  void put(int thread, TlsVersion version, const Bytes& session) {
    const std::lock_guard<std::mutex> guard(lock_);
    sessions_[thread][slot(version)] = session;
  }

  Bytes take(int thread, TlsVersion version) const {
    const std::lock_guard<std::mutex> guard(lock_);
    return sessions_[thread][slot(version)];
  }

 private:
  static std::size_t slot(TlsVersion version) {
    return version == TlsVersion::tls1_3 ? 0 : 1;
  }

  mutable std::mutex lock_;
  std::array<std::array<Bytes, 2>, thread_count> sessions_;
};

// What one worker thread did, for the test's thread to check.
struct Report {
  std::vector<std::string> failures;
  int connections = 0;
  int resumed = 0;
  std::size_t bytes_to_server = 0;
  std::size_t bytes_to_client = 0;
  long expected_key_log_lines = 0;
  long expected_verify_calls = 0;
  long key_log_lines_seen = 0;  // By the callbacks, on this thread.
  long verify_calls_seen = 0;
};

// How a worker picks sessions and what it demands of them.
struct Workload {
  int connections = connections_per_thread;
  bool offer_sessions = true;     // Off: every connection a full handshake.
  bool share_sessions = true;     // Offer other threads' sessions too.
  bool expect_resumption = true;  // Every offered session must resume.
  std::atomic<int>* finished = nullptr;  // Counts connections, if set.
};

// The session a worker offers on its connection `index`: every third time
// the next thread's, otherwise its own last one; null before it has any.
const Bytes* choose_session(int thread, int index, TlsVersion version,
                            const Workload& workload, const Shelf& shelf,
                            const std::array<Bytes, 2>& own, Bytes& borrowed) {
  const Bytes& mine = own[version == TlsVersion::tls1_3 ? 0 : 1];
  if (!workload.offer_sessions) return nullptr;
  if (workload.share_sessions && index % 3 == 2) {
    borrowed = shelf.take((thread + 1) % thread_count, version);
    if (!borrowed.empty()) return &borrowed;
  }
  return mine.empty() ? nullptr : &mine;
}

// Adds a connection's outcome to the report, and what its callbacks should
// have counted.
void record(Report& report, int thread, int index, const Plan& plan,
            const Outcome& outcome, const Workload& workload) {
  const std::string where = "thread " + std::to_string(thread) +
                            ", connection " + std::to_string(index) + " (" +
                            name_of(plan.version) + ", fragments of " +
                            std::to_string(plan.fragment_size) + "): ";
  ++report.connections;
  if (!outcome.failure.empty()) {
    report.failures.push_back(where + outcome.failure);
    return;
  }
  if (workload.expect_resumption && plan.session && !outcome.resumed) {
    report.failures.push_back(where + "offered session was not resumed");
  }
  if (!plan.session && outcome.resumed) {
    report.failures.push_back(where + "resumed without a session");
  }

  report.resumed += outcome.resumed ? 1 : 0;
  report.bytes_to_server += plan.to_server.size();
  report.bytes_to_client += plan.to_client.size();
  report.expected_key_log_lines += 2 * key_log_lines_per_side(plan.version);
  if (!outcome.resumed) {
    report.expected_verify_calls += verify_calls_per_full_handshake;
  }
}

// One worker thread: connections alternating between TLS 1.3 and 1.2, with
// varied fragmentation, resuming its own or other threads' sessions, and
// carrying its share of bytes_per_thread each way.
Report work(int thread, const Context<membio::client>& client_context,
            const Context<membio::server>& server_context, Shelf& shelf,
            const Workload& workload) {
  Report report;
  const std::string up = pattern(bytes_per_thread, 2 * thread + 1);
  const std::string down = pattern(bytes_per_thread, 2 * thread + 2);
  std::array<Bytes, 2> own;  // Last session per version: TLS 1.3, 1.2.
  const long key_log_before = key_log_lines_here;
  const long verify_before = verify_calls_here;

  for (int index = 0; index < workload.connections; ++index) {
    Plan plan;
    plan.version =
        (index + thread) % 2 ? TlsVersion::tls1_2 : TlsVersion::tls1_3;
    plan.fragment_size = fragment_sizes[(index + thread) % 8];
    const std::size_t begin = bytes_per_thread * index / workload.connections;
    const std::size_t end =
        bytes_per_thread * (index + 1) / workload.connections;
    plan.to_server = up.substr(begin, end - begin);
    plan.to_client = down.substr(begin, end - begin);
    Bytes borrowed;
    plan.session = choose_session(thread, index, plan.version, workload, shelf,
                                  own, borrowed);

    const Outcome outcome = connect(client_context, server_context, plan);
    record(report, thread, index, plan, outcome, workload);
    if (workload.finished) workload.finished->fetch_add(1);
    if (outcome.failure.empty() && !outcome.session.empty()) {
      own[plan.version == TlsVersion::tls1_3 ? 0 : 1] = outcome.session;
      shelf.put(thread, plan.version, outcome.session);
    }
  }

  report.key_log_lines_seen = key_log_lines_here - key_log_before;
  report.verify_calls_seen = verify_calls_here - verify_before;
  return report;
}

// Runs `work` on `count` threads at once and returns their reports.
std::vector<Report> run_workers(int count,
                                const Context<membio::client>& client_context,
                                const Context<membio::server>& server_context,
                                const Workload& workload) {
  Shelf shelf;
  std::vector<Report> reports(static_cast<std::size_t>(count));
  std::vector<std::thread> threads;

  for (int thread = 0; thread < count; ++thread) {
    threads.emplace_back([&, thread] {
      reports[static_cast<std::size_t>(thread)] =
          work(thread, client_context, server_context, shelf, workload);
    });
  }
  for (std::thread& thread : threads) thread.join();
  return reports;
}

}  // namespace

TEST_CASE(
    "eight threads share one client and one server context for handshakes, "
    "transfers and resumptions",
    "[thread]") {
  Tally tally;
  const Context<membio::client> client_context = counted_client(tally);
  const Context<membio::server> server_context = counted_server(tally);

  const std::vector<Report> reports =
      run_workers(thread_count, client_context, server_context, Workload{});

  long expected_key_log_lines = 0;
  long expected_verify_calls = 0;
  for (const Report& report : reports) {
    CHECK(report.failures == std::vector<std::string>{});
    CHECK(report.connections == connections_per_thread);
    CHECK(report.bytes_to_server == bytes_per_thread);
    CHECK(report.bytes_to_client == bytes_per_thread);

    // Only the first connection of each version has nothing to offer.
    CHECK(report.resumed == connections_per_thread - 2);

    CHECK(report.key_log_lines_seen == report.expected_key_log_lines);
    CHECK(report.verify_calls_seen == report.expected_verify_calls);
    expected_key_log_lines += report.expected_key_log_lines;
    expected_verify_calls += report.expected_verify_calls;
  }
  CHECK(tally.key_log_lines.load() == expected_key_log_lines);
  CHECK(tally.verify_calls.load() == expected_verify_calls);
}

TEST_CASE(
    "eight threads share one client and one server context for full "
    "handshakes, each verifying the server's certificate, and transfers",
    "[thread]") {
  Tally tally;
  const Context<membio::client> client_context = counted_client(tally);
  const Context<membio::server> server_context = counted_server(tally);
  Workload workload;
  workload.offer_sessions = false;

  const std::vector<Report> reports =
      run_workers(thread_count, client_context, server_context, workload);

  for (const Report& report : reports) {
    CHECK(report.failures == std::vector<std::string>{});
    CHECK(report.connections == connections_per_thread);
    CHECK(report.bytes_to_server == bytes_per_thread);
    CHECK(report.bytes_to_client == bytes_per_thread);
    CHECK(report.resumed == 0);
    CHECK(report.verify_calls_seen ==
          verify_calls_per_full_handshake * connections_per_thread);
    CHECK(report.key_log_lines_seen == report.expected_key_log_lines);
  }
  const long handshakes = long{connections_per_thread} * thread_count;
  CHECK(tally.verify_calls.load() ==
        verify_calls_per_full_handshake * handshakes);
}

TEST_CASE(
    "ticket keys rotate on a server context while other threads handshake "
    "and resume",
    "[thread]") {
  Tally tally;
  const Context<membio::client> client_context = counted_client(tally);
  Context<membio::server> server_context = counted_server(tally);
  Plan first;
  first.to_server = "before";
  first.to_client = "rotation";
  const Outcome before = connect(client_context, server_context, first);
  REQUIRE(before.failure.empty());

  constexpr int workers = thread_count - 1;
  std::atomic<int> running{workers};
  std::atomic<int> finished{0};
  Workload workload;
  workload.connections = 30;
  workload.expect_resumption = false;  // A ticket may outlive its key.
  workload.finished = &finished;
  std::vector<Report> reports(workers);
  std::vector<std::thread> threads;
  Shelf shelf;
  for (int thread = 0; thread < workers; ++thread) {
    threads.emplace_back([&, thread] {
      reports[static_cast<std::size_t>(thread)] =
          work(thread, client_context, server_context, shelf, workload);
      running.fetch_sub(1);
    });
  }

  // A new key every ten finished connections, paced by the workers and not
  // by the clock, so that on a slow machine too most tickets still resume.
  // The newest key seals, the two before it still open tickets; older ones
  // are dropped, and their tickets get a full handshake.
  std::vector<TicketKey> keys = {TicketKey::generate()};
  int rotations = 0;
  std::vector<std::string> rotation_failures;
  while (running.load() > 0) {
    if (finished.load() < 10 * (rotations + 1)) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      continue;
    }
    keys.insert(keys.begin(), TicketKey::generate());
    if (keys.size() > 3) keys.pop_back();
    std::error_code code;
    server_context.use_ticket_keys(keys, code);
    if (code) rotation_failures.push_back(code.message());
    ++rotations;
  }
  for (std::thread& thread : threads) thread.join();

  CHECK(rotation_failures == std::vector<std::string>{});
  CHECK(rotations >= 10);
  int resumed = 0;
  for (const Report& report : reports) {
    CHECK(report.failures == std::vector<std::string>{});
    CHECK(report.connections == workload.connections);
    CHECK(report.bytes_to_server == bytes_per_thread);
    CHECK(report.bytes_to_client == bytes_per_thread);
    CHECK(report.key_log_lines_seen == report.expected_key_log_lines);
    resumed += report.resumed;
  }
  CHECK(resumed > 0);

  // The rotations took effect: a ticket sealed before them, with a key
  // since dropped, gets a full handshake; a new one resumes.
  Plan stale = first;
  stale.session = &before.session;
  const Outcome after_stale = connect(client_context, server_context, stale);
  CHECK(after_stale.failure.empty());
  CHECK_FALSE(after_stale.resumed);

  Plan fresh = first;
  fresh.session = &after_stale.session;
  const Outcome after_fresh = connect(client_context, server_context, fresh);
  CHECK(after_fresh.failure.empty());
  CHECK(after_fresh.resumed);
}

TEST_CASE("contexts configured on one thread make channels on others",
          "[thread]") {
  std::optional<Context<membio::client>> client_context;
  std::optional<Context<membio::server>> server_context;
  Tally tally;
  std::thread configurer([&] {
    client_context.emplace(counted_client(tally));
    server_context.emplace(counted_server(tally));
  });
  configurer.join();

  Workload workload;
  workload.connections = 10;
  const std::vector<Report> reports =
      run_workers(4, *client_context, *server_context, workload);

  for (const Report& report : reports) {
    CHECK(report.failures == std::vector<std::string>{});
    CHECK(report.connections == workload.connections);
    CHECK(report.resumed == workload.connections - 2);
  }
}

TEST_CASE(
    "a channel moves between threads, one at a time, and outlives its "
    "context",
    "[thread]") {
  std::optional<Context<membio::client>> client_context;
  std::optional<Context<membio::server>> server_context;
  client_context.emplace(test::client_context(TlsVersion::tls1_3));
  server_context.emplace(test::server_context(TlsVersion::tls1_3));

  std::optional<Channel<membio::client>> client;
  std::optional<Channel<membio::server>> server;
  std::thread([&] {
    client.emplace(*client_context, "localhost");
    server.emplace(*server_context);
  }).join();

  // The channels keep their own references to the SSL_CTX.
  client_context.reset();
  server_context.reset();

  std::string failure;
  std::thread([&] {
    try {
      Loopback(*client, *server).handshake();
    } catch (const std::exception& thrown) {
      failure = thrown.what();
    }
  }).join();
  REQUIRE(failure.empty());

  std::string server_got;
  std::thread([&] {
    try {
      Loopback loopback(*client, *server, 100);
      server_got = loopback.send_to_server("across threads");
      loopback.close();
    } catch (const std::exception& thrown) {
      failure = thrown.what();
    }
  }).join();

  CHECK(failure.empty());
  CHECK(server_got == "across threads");
  CHECK(client->close_state() == membio::CloseState::closed);
  CHECK(server->close_state() == membio::CloseState::closed);

  std::thread([&] {
    client.reset();
    server.reset();
  }).join();
}
