// Tests of session.hpp and of the server settings it depends on: saving and
// restoring sessions, tickets and their keys, the session cache, and TLS 1.3
// early data (0-RTT).
#include <membio/session.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace membio {

// A name instead of a number in Catch2's messages. Internal linkage, so that
// other test files may print this type their own way.
static std::ostream& operator<<(std::ostream& out, EarlyData early) {
  switch (early) {
    case EarlyData::not_sent:
      return out << "not_sent";
    case EarlyData::rejected:
      return out << "rejected";
    case EarlyData::accepted:
      return out << "accepted";
  }
  return out << "unknown";
}

}  // namespace membio

namespace {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using membio::Channel;
using membio::Context;
using membio::EarlyData;
using membio::Loopback;
using membio::ReadResult;
using membio::Status;
using membio::TicketKey;
using membio::TlsVersion;
namespace test = membio::test;

using Bytes = std::vector<unsigned char>;

TlsVersion any_version() {
  return GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
}

// A client and a server channel for "localhost", not connected.
struct Connection {
  Connection(const Context<membio::client>& client_context,
             const Context<membio::server>& server_context)
      : client(client_context, "localhost"), server(server_context) {}

  Channel<membio::client> client;
  Channel<membio::server> server;
};

// How a first connection ends once its session is saved.
enum class Ending { orderly_close, dropped };

// A full handshake, a message each way (which makes the client read the
// server's TLS 1.3 tickets, as a real client reading its reply would), and
// the session the client saved then.
Bytes saved_session(const Context<membio::client>& client_context,
                    const Context<membio::server>& server_context,
                    Ending ending = Ending::orderly_close) {
  Connection connection(client_context, server_context);
  Loopback loopback(connection.client, connection.server);
  loopback.handshake();
  if (connection.client.resumed() || connection.server.resumed()) {
    throw std::logic_error("a first handshake claims to have resumed");
  }

  (void)loopback.send_to_server("request");
  (void)loopback.send_to_client("reply");
  Bytes saved = membio::save_session(connection.client);

  if (ending == Ending::orderly_close) loopback.close();
  return saved;
}

// What a connection offering a saved session turned out to be.
struct Resumption {
  bool client_resumed = false;
  bool server_resumed = false;
  std::string server_got;  // What the client's message became.
  Bytes next_session;      // What the client saved afterwards, if anything.
};

bool operator==(const Resumption& left, const Resumption& right) {
  return left.client_resumed == right.client_resumed &&
         left.server_resumed == right.server_resumed &&
         left.server_got == right.server_got;
}

std::ostream& operator<<(std::ostream& out, const Resumption& result) {
  return out << "{client resumed " << result.client_resumed
             << ", server resumed " << result.server_resumed
             << ", server got \"" << result.server_got << "\"}";
}

// Both ends resumed, and a message went through.
const Resumption resumed{true, true, "ping", {}};

// Both ends made a full handshake instead, and a message went through.
const Resumption full_handshake{false, false, "ping", {}};

// Offers `saved` (bytes or a Session) from a new client channel to a new
// server channel, sends a message, closes both the orderly way, and
// reports. Uses no Catch2 macros, so that a forked child process may call
// it.
template <class Saved>
Resumption resume(const Context<membio::client>& client_context,
                  const Context<membio::server>& server_context,
                  const Saved& saved) {
  Connection connection(client_context, server_context);
  membio::restore_session(connection.client, saved);
  Loopback loopback(connection.client, connection.server);
  loopback.handshake();

  Resumption result;
  result.client_resumed = connection.client.resumed();
  result.server_resumed = connection.server.resumed();
  result.server_got = loopback.send_to_server("ping");
  (void)loopback.send_to_client("pong");

  std::error_code ignored;
  result.next_session = membio::save_session(connection.client, ignored);
  loopback.close();
  return result;
}

// A server context for `version` that seals its tickets with `keys`.
Context<membio::server> server_with_keys(TlsVersion version,
                                         std::vector<TicketKey> keys) {
  Context<membio::server> context = test::server_context(version);
  context.use_ticket_keys(std::move(keys));
  return context;
}

// A server context for `version` that keeps sessions in its own memory.
Context<membio::server> server_with_cache(TlsVersion version,
                                          std::size_t capacity) {
  Context<membio::server> context = test::server_context(version);
  context.use_session_cache(capacity);
  return context;
}

// The size of the ticket inside saved session bytes, read by OpenSSL.
std::size_t ticket_size(const Bytes& saved) {
  const unsigned char* in = saved.data();
  SSL_SESSION* session =
      d2i_SSL_SESSION(nullptr, &in, static_cast<long>(saved.size()));
  if (!session) throw std::runtime_error("saved bytes are not a session");

  const unsigned char* ticket = nullptr;
  std::size_t size = 0;
  SSL_SESSION_get0_ticket(session, &ticket, &size);
  SSL_SESSION_free(session);
  return size;
}

// Counts the sessions a client context receives, as OpenSSL's own witness:
// with TLS 1.3, one per NewSessionTicket message.
int& sessions_received() {
  static int count = 0;
  return count;
}

int count_session(SSL*, SSL_SESSION*) {
  ++sessions_received();
  return 0;  // No reference kept: OpenSSL frees the session itself.
}

void count_sessions(Context<membio::client>& context) {
  SSL_CTX_set_session_cache_mode(
      context.native_handle(),
      SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(context.native_handle(), &count_session);
  sessions_received() = 0;
}

}  // namespace

// ---------------------------------------------------------------------------
// Saving and restoring sessions

TEST_CASE("a client resumes a session from saved bytes in a new context",
          "[session][resumption]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::server> server_context = test::server_context(version);
  const Bytes saved =
      saved_session(test::client_context(version), server_context);
  REQUIRE_FALSE(saved.empty());

  // A new client context stands for another run of the client program.
  const Context<membio::client> new_context = test::client_context(version);
  CHECK(resume(new_context, server_context, saved) == resumed);
}

TEST_CASE("only the second handshake resumes, without a server signature",
          "[session][resumption]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);
  Connection first(client_context, server_context);
  Loopback(first.client, first.server).handshake();

  CHECK_FALSE(first.client.resumed());
  CHECK_FALSE(first.server.resumed());
  CHECK_FALSE(first.client.peer_signature_algorithm().empty());
  (void)Loopback(first.client, first.server).send_to_server("read tickets");

  Connection second(client_context, server_context);
  membio::restore_session(second.client, membio::save_session(first.client));
  Loopback(second.client, second.server).handshake();
  CHECK(second.client.resumed());
  CHECK(second.server.resumed());
  CHECK(second.client.peer_signature_algorithm().empty());
}

TEST_CASE("a TLS 1.3 client can save its session once it reads the tickets",
          "[session][resumption][tickets]") {
  const Context<membio::client> client_context = test::client_context();
  const Context<membio::server> server_context = test::server_context();
  Connection connection(client_context, server_context);
  Loopback loopback(connection.client, connection.server);
  loopback.handshake();

  std::error_code code;
  const Bytes too_early = membio::save_session(connection.client, code);
  CHECK(code == membio::errc::no_session);
  CHECK(too_early.empty());

  loopback.shuttle();
  unsigned char buffer[64];
  const ReadResult read = membio::read_plaintext(connection.client, buffer);
  CHECK(read.size == 0);
  CHECK(read.status == Status::need_input);

  const Bytes saved = membio::save_session(connection.client, code);
  CHECK_FALSE(code);
  CHECK(resume(client_context, server_context, saved) == resumed);
}

TEST_CASE("a TLS 1.2 client can save its session right after the handshake",
          "[session][resumption]") {
  const TlsVersion version = TlsVersion::tls1_2;
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);
  Connection connection(client_context, server_context);
  Loopback(connection.client, connection.server).handshake();

  std::error_code code;
  const Bytes saved = membio::save_session(connection.client, code);
  CHECK_FALSE(code);
  CHECK(resume(client_context, server_context, saved) == resumed);
}

TEST_CASE("a saved session resumes again from the same bytes",
          "[session][resumption]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);
  const Bytes saved = saved_session(client_context, server_context);

  CHECK(resume(client_context, server_context, saved) == resumed);
  CHECK(resume(client_context, server_context, saved) == resumed);
}

TEST_CASE("a session kept decoded resumes one new channel after another",
          "[session][resumption]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);
  Connection first(client_context, server_context);
  Loopback loopback(first.client, first.server);
  loopback.handshake();
  (void)loopback.send_to_server("read tickets");
  (void)loopback.send_to_client("reply");

  const membio::Session session = membio::current_session(first.client);
  REQUIRE(session);
  CHECK(resume(client_context, server_context, session) == resumed);
  CHECK(resume(client_context, server_context, session) == resumed);

  const membio::Session copy = session;
  CHECK(copy.native_handle() == session.native_handle());
  CHECK(resume(client_context, server_context, copy) == resumed);
}

TEST_CASE("a session's bytes decode into a session that resumes",
          "[session][resumption]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);
  const Bytes saved = saved_session(client_context, server_context);

  const membio::Session session = membio::Session::from_bytes(saved);
  REQUIRE(session);
  CHECK(session.to_bytes() == saved);
  CHECK(resume(test::client_context(version), server_context, session) ==
        resumed);
}

TEST_CASE("a connection that fails after resuming spoils no other resumption",
          "[session][resumption][errors]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);
  const membio::Session session = membio::Session::from_bytes(
      saved_session(client_context, server_context));

  // OpenSSL marks the session of a connection freed in failure as not
  // resumable; the channel's own copy takes that mark, not `session`.
  {
    Connection failing(client_context, server_context);
    membio::restore_session(failing.client, session);
    Loopback(failing.client, failing.server).handshake();
    REQUIRE(failing.client.resumed());

    const unsigned char junk[] = {0x17, 0x03, 0x03, 0x00, 0x01, 0x00};
    membio::feed(failing.client, junk);
    unsigned char buffer[64];
    std::error_code code;
    (void)membio::read_plaintext(failing.client, buffer, code);
    REQUIRE(failing.client.failure());
  }

  CHECK(resume(client_context, server_context, session) == resumed);
}

TEST_CASE("a session is offered only to a channel for a name it was made for",
          "[session][resumption][verification]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);
  const membio::Session session = membio::Session::from_bytes(
      saved_session(client_context, server_context));
  std::error_code code;

  SECTION("another host name is refused and verified in full") {
    Channel<membio::client> client(client_context, "other.test");
    Channel<membio::server> server(server_context);
    membio::restore_session(client, session, code);
    CHECK(code == membio::errc::invalid_argument);
    CHECK_THAT(client.last_error_message(),
               ContainsSubstring("the session is for another server"));
    CHECK_FALSE(client.failure());

    Loopback(client, server).handshake(code);
    CHECK_THAT(client.last_error_message(),
               ContainsSubstring("hostname mismatch"));
    CHECK_FALSE(client.resumed());
  }

  SECTION("an address the certificate names is taken") {
    Channel<membio::client> client(client_context, "127.0.0.1");
    Channel<membio::server> server(server_context);
    membio::restore_session(client, session, code);
    CHECK_FALSE(code);
    Loopback(client, server).handshake();
    CHECK(client.resumed());
  }

  SECTION("an address it does not name is refused") {
    Channel<membio::client> client(client_context, "10.0.0.1");
    membio::restore_session(client, session.to_bytes(), code);
    CHECK(code == membio::errc::invalid_argument);
    CHECK_FALSE(client.failure());
  }

  SECTION("a context pinning another key refuses it") {
    Context<membio::client> pinning = test::client_context(version);
    pinning.pin_public_keys({std::array<unsigned char, 32>{}},
                            membio::PinMode::with_chain);
    Channel<membio::client> client(pinning, "localhost");
    membio::restore_session(client, session, code);
    CHECK(code == membio::errc::invalid_argument);
  }

  SECTION("a context that verifies nothing takes it for any name") {
    Context<membio::client> trusting = test::client_context(version);
    trusting.insecure_skip_verification();
    Channel<membio::client> client(trusting, "other.test");
    Channel<membio::server> server(server_context);
    membio::restore_session(client, session, code);
    CHECK_FALSE(code);
    Loopback(client, server).handshake();
    CHECK(client.resumed());
  }
}

TEST_CASE("Session::from_bytes gives OpenSSL's reason for junk bytes",
          "[session][resumption][errors]") {
  const Bytes junk{0x30, 0x03, 0x02, 0x01};
  std::error_code code;
  const membio::Session session = membio::Session::from_bytes(junk, code);
  CHECK_FALSE(session);
  CHECK(code.category() == membio::openssl_category());
  CHECK(ERR_peek_error() == 0);

  try {
    (void)membio::Session::from_bytes(junk);
    FAIL("junk bytes were taken for a session");
  } catch (const membio::error& thrown) {
    CHECK(thrown.code().category() == membio::openssl_category());
    CHECK_THAT(thrown.what(), StartsWith("session from bytes: "));
    CHECK_THAT(thrown.what(), ContainsSubstring("asn1"));
  }
}

TEST_CASE("an empty session is refused and the channel still connects",
          "[session][resumption][errors]") {
  Connection connection(test::client_context(), test::server_context());
  const membio::Session empty;
  CHECK_FALSE(empty);
  CHECK(empty.to_bytes().empty());

  std::error_code code;
  membio::restore_session(connection.client, empty, code);
  CHECK(code == membio::errc::invalid_argument);
  CHECK(connection.client.last_error_message() ==
        "restore session: the session is empty");
  CHECK_THROWS_AS(membio::restore_session(connection.client, empty),
                  membio::error);

  Loopback(connection.client, connection.server).handshake();
  CHECK(connection.client.handshake_done());
  CHECK_FALSE(connection.client.resumed());
}

TEST_CASE("current_session reports no_session before the handshake is done",
          "[session][resumption][errors]") {
  const Channel<membio::client> client(test::client_context(), "localhost");
  std::error_code code;
  CHECK_FALSE(membio::current_session(client, code));
  CHECK(code == membio::errc::no_session);

  try {
    (void)membio::current_session(client);
    FAIL("a session came out of a channel that never connected");
  } catch (const membio::error& thrown) {
    CHECK(thrown.code() == membio::errc::no_session);
    CHECK_THAT(thrown.what(), StartsWith("current session: "));
  }
}

TEST_CASE("a ticket resumes after a connection ended without close_notify",
          "[session][resumption][close]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);

  const Bytes saved =
      saved_session(client_context, server_context, Ending::dropped);
  CHECK(resume(client_context, server_context, saved) == resumed);
}

namespace {

// The result a child process reports through its exit status.
enum ChildResult {
  child_resumed = 0,
  child_made_full_handshake = 1,
  child_failed = 2,
  child_got_no_bytes = 3,
};

Bytes read_to_end(int descriptor) {
  Bytes bytes;
  unsigned char chunk[4096];
  for (;;) {
    const ssize_t size = read(descriptor, chunk, sizeof chunk);
    if (size < 0 && errno == EINTR) continue;
    if (size <= 0) return bytes;
    bytes.insert(bytes.end(), chunk, chunk + size);
  }
}

// The child's part: reads saved session bytes from `input` to its end,
// builds its own client and server contexts (the server shares only the
// ticket key with the parent's), and tries to resume.
int resume_in_child(int input, TlsVersion version, const TicketKey& key) {
  alarm(30);  // A child that hangs is killed instead of holding the test.
  const Bytes saved = read_to_end(input);
  if (saved.empty()) return child_got_no_bytes;

  try {
    const Context<membio::client> client_context =
        test::client_context(version);
    const Context<membio::server> server_context =
        server_with_keys(version, {key});
    const Resumption result = resume(client_context, server_context, saved);
    return result == resumed ? child_resumed : child_made_full_handshake;
  } catch (...) {
    return child_failed;
  }
}

// A forked child process reading from a socket pair (a pipe would kill the
// parent with SIGPIPE if the child died first). The parent's side closes its
// end and waits for the child even when a test assertion throws.
class Child {
 public:
  Child(TlsVersion version, const TicketKey& key) {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, ends) != 0) throw_errno();

    pid_ = fork();
    if (pid_ == 0) {
      ::close(ends[1]);
      _exit(resume_in_child(ends[0], version, key));
    }

    ::close(ends[0]);
    if (pid_ < 0) {
      ::close(ends[1]);
      throw_errno();
    }
    output_ = ends[1];
  }

  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { (void)wait(); }

  // Sends `bytes` and closes the parent's end, so that the child reads to
  // its end.
  void send(const Bytes& bytes) {
    std::size_t offset = 0;
    while (offset < bytes.size()) {
      const ssize_t size = ::send(output_, bytes.data() + offset,
                                  bytes.size() - offset, MSG_NOSIGNAL);
      if (size < 0 && errno == EINTR) continue;
      if (size <= 0) break;
      offset += static_cast<std::size_t>(size);
    }
    close_output();
  }

  // The child's exit status, or -1 when it did not exit normally.
  int wait() {
    close_output();
    if (pid_ <= 0) return exit_status_;

    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_status_;
  }

 private:
  [[noreturn]] static void throw_errno() {
    throw std::system_error(errno, std::generic_category());
  }

  void close_output() {
    if (output_ >= 0) ::close(output_);
    output_ = -1;
  }

  pid_t pid_ = 0;
  int output_ = -1;
  int exit_status_ = -1;
};

}  // namespace

TEST_CASE("saved bytes resume in another process whose server shares the key",
          "[session][resumption][ticket_keys][process]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const TicketKey key = TicketKey::generate();
  REQUIRE(key.valid());
  (void)test::localhost_identity();  // Made once, before the fork.

  // The child starts before any session exists: it can only learn of one
  // through the socket.
  Child child(version, key);
  const Bytes saved = saved_session(test::client_context(version),
                                    server_with_keys(version, {key}));
  child.send(saved);

  const int status = child.wait();
  INFO("0 resumed, 1 full handshake, 2 error, 3 no bytes, -1 killed");
  CHECK(status == child_resumed);
}

TEST_CASE("save_session reports no_session before the handshake is done",
          "[session][resumption][errors]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Connection connection(test::client_context(version),
                        test::server_context(version));
  std::error_code code;

  CHECK(membio::save_session(connection.client, code).empty());
  CHECK(code == membio::errc::no_session);

  CHECK(membio::handshake(connection.client) == Status::send_output);
  CHECK(membio::save_session(connection.client, code).empty());
  CHECK(code == membio::errc::no_session);
}

TEST_CASE("save_session throws no_session with its operation in the message",
          "[session][resumption][errors]") {
  Channel<membio::client> client(test::client_context(), "localhost");

  try {
    (void)membio::save_session(client);
    FAIL("a channel without a handshake saved a session");
  } catch (const membio::error& thrown) {
    CHECK(thrown.code() == membio::errc::no_session);
    CHECK_THAT(thrown.what(), StartsWith("save session: "));
    CHECK_THAT(thrown.what(), ContainsSubstring("no resumable session"));
  }
}

TEST_CASE("restore_session rejects junk bytes and the channel still connects",
          "[session][resumption][errors]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);
  const Bytes saved = saved_session(client_context, server_context);
  const Bytes junk = GENERATE_COPY(Bytes{1, 2, 3, 4}, Bytes{},
                                   Bytes(saved.begin(), saved.begin() + 20));
  INFO("junk of " << junk.size() << " bytes");

  Connection connection(client_context, server_context);
  std::error_code code;
  membio::restore_session(connection.client, junk, code);
  CHECK(code.category() == membio::openssl_category());
  CHECK_THAT(connection.client.last_error_message(),
             StartsWith("restore session: "));
  CHECK_THAT(connection.client.last_error_message(),
             ContainsSubstring("(asn1 encoding routines)"));
  CHECK_FALSE(connection.client.failure());

  Loopback(connection.client, connection.server).handshake();
  CHECK(connection.client.handshake_done());
  CHECK_FALSE(connection.client.resumed());
}

TEST_CASE("restore_session throws OpenSSL's reason for junk bytes",
          "[session][resumption][errors]") {
  Channel<membio::client> client(test::client_context(), "localhost");
  const Bytes junk{0x30, 0x03, 0x02, 0x01};

  try {
    membio::restore_session(client, junk);
    FAIL("junk bytes were taken for a session");
  } catch (const membio::error& thrown) {
    CHECK(thrown.code().category() == membio::openssl_category());
    CHECK_THAT(thrown.what(), StartsWith("restore session: "));
    CHECK_THAT(thrown.what(), ContainsSubstring("asn1"));
  }
}

TEST_CASE("restore_session once the handshake started is wrong_handshake_state",
          "[session][resumption][errors]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = test::server_context(version);
  const Bytes saved = saved_session(client_context, server_context);
  Connection connection(client_context, server_context);

  CHECK(membio::handshake(connection.client) == Status::send_output);
  std::error_code code;
  membio::restore_session(connection.client, saved, code);
  CHECK(code == membio::errc::wrong_handshake_state);
  CHECK_THAT(connection.client.last_error_message(),
             StartsWith("restore session: "));
  CHECK_FALSE(connection.client.failure());

  Loopback(connection.client, connection.server).handshake();
  CHECK_FALSE(connection.client.resumed());
  membio::restore_session(connection.client, saved, code);
  CHECK(code == membio::errc::wrong_handshake_state);
  CHECK_THROWS_AS(membio::restore_session(connection.client, saved),
                  membio::error);
}

TEST_CASE("session functions on a moved-from channel report empty_object",
          "[session][resumption][errors][move]") {
  Channel<membio::client> original(test::client_context(), "localhost");
  const Channel<membio::client> target = std::move(original);
  const Bytes some_bytes{1, 2, 3};
  std::error_code code;

  CHECK(membio::save_session(original, code).empty());
  CHECK(code == membio::errc::empty_object);
  CHECK_FALSE(membio::current_session(original, code));
  CHECK(code == membio::errc::empty_object);
  membio::restore_session(original, some_bytes, code);
  CHECK(code == membio::errc::empty_object);
  membio::restore_session(original, membio::Session(), code);
  CHECK(code == membio::errc::empty_object);
  CHECK(membio::write_early_plaintext(original, some_bytes, code) ==
        Status::closed);
  CHECK(code == membio::errc::empty_object);

  CHECK_THROWS_AS(membio::save_session(original), membio::error);
  CHECK_THROWS_AS(membio::restore_session(original, some_bytes), membio::error);
  CHECK_THROWS_AS(membio::write_early_plaintext(original, some_bytes),
                  membio::error);
}

// ---------------------------------------------------------------------------
// Tickets and their keys

TEST_CASE("a TLS 1.3 server sends as many tickets as set_ticket_count says",
          "[session][tickets]") {
  const std::size_t count = GENERATE(std::size_t{1}, std::size_t{3});
  INFO(count << " tickets");
  Context<membio::client> client_context = test::client_context();
  count_sessions(client_context);
  Context<membio::server> server_context = test::server_context();
  server_context.set_ticket_count(count);

  const Bytes saved = saved_session(client_context, server_context);
  CHECK(sessions_received() == static_cast<int>(count));
  CHECK(resume(client_context, server_context, saved) == resumed);
}

TEST_CASE("a TLS 1.3 server sends two tickets by default",
          "[session][tickets]") {
  Context<membio::client> client_context = test::client_context();
  count_sessions(client_context);

  (void)saved_session(client_context, test::server_context());
  CHECK(sessions_received() == 2);
}

TEST_CASE("a TLS 1.3 server set to send no tickets leaves nothing to save",
          "[session][tickets]") {
  const Context<membio::client> client_context = test::client_context();
  Context<membio::server> server_context = test::server_context();
  server_context.set_ticket_count(0);
  Connection connection(client_context, server_context);
  Loopback loopback(connection.client, connection.server);

  CHECK(loopback.send_to_server("request") == "request");
  CHECK(loopback.send_to_client("reply") == "reply");
  std::error_code code;
  CHECK(membio::save_session(connection.client, code).empty());
  CHECK(code == membio::errc::no_session);
}

TEST_CASE("the ticket count does not limit TLS 1.2 resumption",
          "[session][tickets]") {
  const TlsVersion version = TlsVersion::tls1_2;
  const Context<membio::client> client_context = test::client_context(version);
  Context<membio::server> server_context = test::server_context(version);
  server_context.set_ticket_count(0);

  const Bytes saved = saved_session(client_context, server_context);
  CHECK(resume(client_context, server_context, saved) == resumed);
}

TEST_CASE("servers that share no ticket key make full handshakes",
          "[session][ticket_keys]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Bytes saved =
      saved_session(client_context, test::server_context(version));

  CHECK(resume(client_context, test::server_context(version), saved) ==
        full_handshake);
}

TEST_CASE("two servers sharing a ticket key resume each other's tickets",
          "[session][ticket_keys]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const TicketKey key = TicketKey::generate();
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> first = server_with_keys(version, {key});
  const Context<membio::server> second = server_with_keys(version, {key});

  const Resumption there =
      resume(client_context, second, saved_session(client_context, first));
  CHECK(there == resumed);
  REQUIRE_FALSE(there.next_session.empty());
  CHECK(resume(client_context, first, there.next_session) == resumed);
}

TEST_CASE("a server with other ticket keys makes a full handshake instead",
          "[session][ticket_keys]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Bytes saved = saved_session(
      client_context, server_with_keys(version, {TicketKey::generate()}));
  const Context<membio::server> stranger =
      server_with_keys(version, {TicketKey::generate()});

  CHECK(resume(client_context, stranger, saved) == full_handshake);
}

TEST_CASE("rotated ticket keys open old tickets and renew them",
          "[session][ticket_keys][rotation]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const TicketKey old_key = TicketKey::generate();
  const TicketKey new_key = TicketKey::generate();
  const Context<membio::client> client_context = test::client_context(version);
  const Bytes sealed_with_old =
      saved_session(client_context, server_with_keys(version, {old_key}));

  const Context<membio::server> rotated =
      server_with_keys(version, {new_key, old_key});
  const Context<membio::server> new_only = server_with_keys(version, {new_key});
  CHECK(resume(client_context, new_only, sealed_with_old) == full_handshake);

  const Resumption renewal = resume(client_context, rotated, sealed_with_old);
  CHECK(renewal == resumed);
  REQUIRE_FALSE(renewal.next_session.empty());
  CHECK(renewal.next_session != sealed_with_old);
  CHECK(resume(client_context, new_only, renewal.next_session) == resumed);
}

TEST_CASE("a context rotating its keys in place still opens its old tickets",
          "[session][ticket_keys][rotation]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const TicketKey old_key = TicketKey::generate();
  const Context<membio::client> client_context = test::client_context(version);
  Context<membio::server> server_context = server_with_keys(version, {old_key});
  const Bytes saved = saved_session(client_context, server_context);

  server_context.use_ticket_keys({TicketKey::generate(), old_key});
  CHECK(resume(client_context, server_context, saved) == resumed);

  server_context.use_ticket_keys({TicketKey::generate()});
  CHECK(resume(client_context, server_context, saved) == full_handshake);
}

TEST_CASE("use_ticket_keys refuses no keys or zero keys and keeps the old ones",
          "[session][ticket_keys][errors]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const TicketKey key = TicketKey::generate();
  Context<membio::server> server_context = server_with_keys(version, {key});
  const std::vector<TicketKey> bad = GENERATE_COPY(
      std::vector<TicketKey>{}, std::vector<TicketKey>{TicketKey{}},
      std::vector<TicketKey>{TicketKey::generate(), TicketKey{}});
  INFO(bad.size() << " keys");

  std::error_code code;
  server_context.use_ticket_keys(bad, code);
  CHECK(code == membio::errc::invalid_argument);
  CHECK_THAT(server_context.last_error_message(),
             StartsWith("use ticket keys: "));
  CHECK_THROWS_AS(server_context.use_ticket_keys(bad), membio::error);

  // Still sealing with `key`: another server holding it resumes.
  const Context<membio::client> client_context = test::client_context(version);
  const Bytes saved = saved_session(client_context, server_context);
  CHECK(resume(client_context, server_with_keys(version, {key}), saved) ==
        resumed);
}

TEST_CASE("an all-zero ticket key is not valid and a generated one is",
          "[session][ticket_keys]") {
  const TicketKey first = TicketKey::generate();
  const TicketKey second = TicketKey::generate();

  CHECK_FALSE(TicketKey{}.valid());
  CHECK(first.valid());
  CHECK(first.name != second.name);
  CHECK(first.aes_key != second.aes_key);
  CHECK(first.hmac_key != second.hmac_key);
}

TEST_CASE("use_ticket_keys on a moved-from context reports empty_object",
          "[session][ticket_keys][errors][move]") {
  Context<membio::server> original = test::server_context();
  const Context<membio::server> target = std::move(original);

  std::error_code code;
  original.use_ticket_keys({TicketKey::generate()}, code);
  CHECK(code == membio::errc::empty_object);
  CHECK_THROWS_AS(original.use_ticket_keys({TicketKey::generate()}),
                  membio::error);
}

// ---------------------------------------------------------------------------
// The session cache and turning resumption off

TEST_CASE("a server with a session cache resumes sessions it keeps in memory",
          "[session][cache]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = server_with_cache(version, 8);
  const Bytes saved = saved_session(client_context, server_context);

  // TLS 1.2 sends no ticket, only a session ID; TLS 1.3 sends a ticket that
  // is only an ID, not a sealed session.
  if (version == TlsVersion::tls1_2) {
    CHECK(ticket_size(saved) == 0);
  } else {
    CHECK(ticket_size(saved) <= SSL_MAX_SSL_SESSION_ID_LENGTH);
  }
  CHECK(resume(client_context, server_context, saved) == resumed);
}

TEST_CASE("a session cache serves only the context that holds it",
          "[session][cache]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Bytes saved =
      saved_session(client_context, server_with_cache(version, 8));

  const Context<membio::server> other = server_with_cache(version, 8);
  CHECK(resume(client_context, other, saved) == full_handshake);
}

TEST_CASE("a session cache of one keeps only the newest session",
          "[session][cache]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = server_with_cache(version, 1);
  const Bytes older = saved_session(client_context, server_context);
  const Bytes newer = saved_session(client_context, server_context);

  CHECK(resume(client_context, server_context, newer) == resumed);
  CHECK(resume(client_context, server_context, older) == full_handshake);
}

TEST_CASE("a session cache keeps sessions of connections without close_notify",
          "[session][cache][close]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  const Context<membio::server> server_context = server_with_cache(version, 8);

  const Bytes saved =
      saved_session(client_context, server_context, Ending::dropped);
  CHECK(resume(client_context, server_context, saved) == resumed);
}

TEST_CASE("a server with resumption disabled gives clients nothing to save",
          "[session][disable]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  Context<membio::server> server_context = test::server_context(version);
  server_context.disable_resumption();
  Connection connection(test::client_context(version), server_context);
  Loopback loopback(connection.client, connection.server);

  CHECK(loopback.send_to_server("request") == "request");
  CHECK(loopback.send_to_client("reply") == "reply");
  std::error_code code;
  CHECK(membio::save_session(connection.client, code).empty());
  CHECK(code == membio::errc::no_session);
}

TEST_CASE("a server with resumption disabled refuses sessions it issued before",
          "[session][disable]") {
  const TlsVersion version = any_version();
  INFO(test::name_of(version));
  const Context<membio::client> client_context = test::client_context(version);
  Context<membio::server> server_context = test::server_context(version);
  const Bytes saved = saved_session(client_context, server_context);

  server_context.disable_resumption();
  CHECK(resume(client_context, server_context, saved) == full_handshake);
}

// ---------------------------------------------------------------------------
// Early data (0-RTT), TLS 1.3 only

namespace {

// A TLS 1.3 server context that takes up to `max_bytes` of early data when
// `accept` says so.
Context<membio::server> early_data_server(std::uint32_t max_bytes,
                                          membio::EarlyDataCallback accept) {
  Context<membio::server> context = test::server_context();
  context.enable_early_data(max_bytes, std::move(accept));
  return context;
}

bool accept_all(std::string_view) { return true; }

// What most early data tests start from: a client context, a server
// context taking early data up to `max_bytes` through `accept`, and a
// session the client saved from a full handshake with that server.
struct EarlyDataSetup {
  EarlyDataSetup(std::uint32_t max_bytes, membio::EarlyDataCallback accept,
                 Ending ending = Ending::orderly_close)
      : server_context(early_data_server(max_bytes, std::move(accept))),
        saved(saved_session(client_context, server_context, ending)) {}

  const Context<membio::client> client_context = test::client_context();
  const Context<membio::server> server_context;
  const Bytes saved;
};

// One `read_plaintext` on the server: the bytes and whether they were early.
struct Received {
  std::string text;
  bool early_data = false;
  Status status = Status::need_input;
};

Received read_once(Channel<membio::server>& server) {
  unsigned char buffer[1024];
  const ReadResult result = membio::read_plaintext(server, buffer);
  const auto* text = reinterpret_cast<const char*>(buffer);
  return {std::string(text, result.size), result.early_data, result.status};
}

// A client channel that offers a saved session and has written `early`
// before its handshake, and the server channel it talks to.
struct EarlyConnection : Connection {
  EarlyConnection(const Context<membio::client>& client_context,
                  const Context<membio::server>& server_context,
                  const Bytes& saved, std::string_view early)
      : Connection(client_context, server_context) {
    membio::restore_session(client, saved);
    if (membio::write_early_plaintext(client, early) != Status::send_output) {
      throw std::logic_error("early data left nothing to send");
    }
  }

  EarlyConnection(const EarlyDataSetup& setup, std::string_view early)
      : EarlyConnection(setup.client_context, setup.server_context, setup.saved,
                        early) {}
};

}  // namespace

TEST_CASE("accepted early data is read flagged as early, later data is not",
          "[session][early_data]") {
  const EarlyDataSetup setup(1024, accept_all);
  EarlyConnection connection(setup, "GET /");
  Loopback loopback(connection.client, connection.server);

  loopback.handshake();
  CHECK(connection.client.resumed());
  CHECK(connection.client.early_data() == EarlyData::accepted);
  CHECK(connection.server.early_data() == EarlyData::accepted);

  const Received early = read_once(connection.server);
  CHECK(early.text == "GET /");
  CHECK(early.early_data);
  CHECK(early.status == Status::done);

  (void)membio::write_plaintext(connection.client, "and then");
  loopback.shuttle();
  const Received later = read_once(connection.server);
  CHECK(later.text == "and then");
  CHECK_FALSE(later.early_data);
}

TEST_CASE("a server that took early data flushes before its handshake ends",
          "[session][early_data][coalescing]") {
  const EarlyDataSetup setup(1024, accept_all);
  EarlyConnection connection(setup, "GET /");
  membio::feed(connection.server, membio::drain_all(connection.client));
  std::error_code code;

  // The server reads the early data and sends its flight, then waits for
  // the client's Finished, with a reply written meanwhile.
  (void)membio::write_plaintext(connection.server, "reply", code);
  (void)membio::handshake(connection.server, code);
  REQUIRE_FALSE(connection.server.handshake_done());
  (void)membio::flush(connection.server, code);
  CHECK_FALSE(code);
  CHECK_FALSE(connection.server.failure());

  Loopback loopback(connection.client, connection.server);
  loopback.handshake();
  CHECK(read_once(connection.server).text == "GET /");
  CHECK(loopback.send_to_client("") == "reply");
}

TEST_CASE("a session taken before a handshake ends survives its channel",
          "[session][early_data]") {
  const EarlyDataSetup setup(1024, accept_all);

  // OpenSSL marks the session of a connection freed unfinished as not
  // resumable; a Session taken from it is a copy that keeps its state.
  membio::Session taken;
  {
    EarlyConnection unfinished(setup, "a");
    taken = membio::current_session(unfinished.client);
  }

  Connection again(setup.client_context, setup.server_context);
  membio::restore_session(again.client, taken);
  CHECK(membio::write_early_plaintext(again.client, "b") ==
        Status::send_output);
  Loopback(again.client, again.server).handshake();
  CHECK_FALSE(again.client.failure());
  CHECK(again.client.resumed());
}

TEST_CASE("a server reads early data before its handshake finishes",
          "[session][early_data]") {
  const EarlyDataSetup setup(1024, accept_all);
  EarlyConnection connection(setup, "GET /");

  // Only the client's first flight has arrived.
  membio::feed(connection.server, membio::drain_all(connection.client));
  const Received early = read_once(connection.server);
  CHECK(early.text == "GET /");
  CHECK(early.early_data);
  CHECK_FALSE(connection.server.handshake_done());

  Loopback loopback(connection.client, connection.server);
  loopback.handshake();
  CHECK(connection.server.handshake_done());
  CHECK(connection.server.early_data() == EarlyData::accepted);
  CHECK(loopback.send_to_server("rest") == "rest");
}

TEST_CASE("early data exactly at the server's limit is accepted",
          "[session][early_data]") {
  const EarlyDataSetup setup(16, accept_all);
  const std::string sixteen(16, 'x');
  EarlyConnection connection(setup, sixteen);

  Loopback(connection.client, connection.server).handshake();
  CHECK(connection.client.early_data() == EarlyData::accepted);
  CHECK(read_once(connection.server).text == sixteen);
}

TEST_CASE("early data over the limit fails the client channel for good",
          "[session][early_data][errors]") {
  const EarlyDataSetup setup(16, accept_all);
  Connection connection(setup.client_context, setup.server_context);
  membio::restore_session(connection.client, setup.saved);

  std::error_code code;
  const std::string seventeen(17, 'x');
  CHECK(membio::write_early_plaintext(connection.client, seventeen, code) ==
        Status::closed);
  CHECK(code.category() == membio::openssl_category());
  CHECK_THAT(connection.client.last_error_message(),
             ContainsSubstring("write early data: too much early data"));

  // OpenSSL has ended the connection and queued an alert: the error must
  // stay, as every fatal one does, and not turn into another.
  INFO(connection.client.last_error_message());
  CHECK(connection.client.failure() == code);
  std::error_code later;
  (void)membio::handshake(connection.client, later);
  INFO(connection.client.last_error_message());
  CHECK(later == code);
}

TEST_CASE("refused early data never reaches the server and is sent again",
          "[session][early_data]") {
  const EarlyDataSetup setup(1024, [](std::string_view) { return false; });
  EarlyConnection connection(setup, "GET /");
  Loopback loopback(connection.client, connection.server);

  loopback.handshake();
  CHECK(connection.client.resumed());
  CHECK(connection.client.early_data() == EarlyData::rejected);
  CHECK(connection.server.early_data() == EarlyData::rejected);

  loopback.shuttle();
  const Received nothing = read_once(connection.server);
  CHECK(nothing.text.empty());
  CHECK_FALSE(nothing.early_data);

  CHECK(loopback.send_to_server("GET /") == "GET /");
}

TEST_CASE("the early data callback receives the server name the client sent",
          "[session][early_data]") {
  std::vector<std::string> names;
  const EarlyDataSetup setup(1024, [&names](std::string_view name) {
    names.emplace_back(name);
    return true;
  });
  EarlyConnection connection(setup, "GET /");

  Loopback(connection.client, connection.server).handshake();
  CHECK(names == std::vector<std::string>{"localhost"});
  CHECK(connection.server.server_name() == "localhost");
}

TEST_CASE("an early data callback that throws rejects without failing",
          "[session][early_data][errors]") {
  const EarlyDataSetup setup(1024, [](std::string_view) -> bool {
    throw std::runtime_error("no replay cache");
  });
  EarlyConnection connection(setup, "GET /");
  Loopback loopback(connection.client, connection.server);

  std::error_code code;
  loopback.handshake(code);
  CHECK_FALSE(code);
  CHECK_FALSE(connection.server.failure());
  CHECK(connection.client.early_data() == EarlyData::rejected);
  CHECK(connection.server.early_data() == EarlyData::rejected);
  CHECK(loopback.send_to_server("GET /") == "GET /");
}

TEST_CASE("early writes fail on a server without early data, which resumes",
          "[session][early_data][errors]") {
  const Context<membio::client> client_context = test::client_context();
  const Context<membio::server> server_context = test::server_context();
  const Bytes saved = saved_session(client_context, server_context);
  Connection connection(client_context, server_context);
  membio::restore_session(connection.client, saved);

  std::error_code code;
  (void)membio::write_early_plaintext(connection.client, "GET /", code);
  CHECK(code == membio::errc::wrong_handshake_state);
  CHECK_THAT(connection.client.last_error_message(),
             StartsWith("write early data: "));
  CHECK_FALSE(connection.client.failure());

  Loopback loopback(connection.client, connection.server);
  loopback.handshake();
  CHECK(connection.client.resumed());
  CHECK(connection.client.early_data() == EarlyData::not_sent);
  CHECK(connection.server.early_data() == EarlyData::not_sent);
  CHECK(loopback.send_to_server("GET /") == "GET /");
}

TEST_CASE("a client without a restored session cannot write early data",
          "[session][early_data][errors]") {
  Connection connection(test::client_context(),
                        early_data_server(1024, accept_all));

  std::error_code code;
  (void)membio::write_early_plaintext(connection.client, "GET /", code);
  CHECK(code == membio::errc::wrong_handshake_state);
  CHECK_FALSE(connection.client.failure());
  CHECK_THROWS_AS(membio::write_early_plaintext(connection.client, "GET /"),
                  membio::error);

  Loopback loopback(connection.client, connection.server);
  CHECK(loopback.send_to_server("GET /") == "GET /");
  CHECK(connection.server.early_data() == EarlyData::not_sent);
}

TEST_CASE("a server refuses a ticket's early data the second time",
          "[session][early_data][replay]") {
  const EarlyDataSetup setup(1024, accept_all);

  EarlyConnection first(setup, "GET /");
  Loopback(first.client, first.server).handshake();
  CHECK(first.client.early_data() == EarlyData::accepted);

  EarlyConnection replay(setup, "GET /");
  Loopback loopback(replay.client, replay.server);
  loopback.handshake();
  CHECK(replay.client.early_data() == EarlyData::rejected);
  CHECK(replay.server.early_data() == EarlyData::rejected);
  CHECK(loopback.send_to_server("GET /") == "GET /");
}

TEST_CASE("early data is accepted after a connection without close_notify",
          "[session][early_data][close]") {
  const EarlyDataSetup setup(1024, accept_all, Ending::dropped);
  EarlyConnection connection(setup, "GET /");

  Loopback(connection.client, connection.server).handshake();
  CHECK(connection.client.resumed());
  CHECK(connection.client.early_data() == EarlyData::accepted);
}

TEST_CASE(
    "servers sharing a ticket key stop sharing sessions once early "
    "data is on, to keep replay protection",
    "[session][early_data][ticket_keys]") {
  const TicketKey key = TicketKey::generate();
  const Context<membio::client> client_context = test::client_context();
  Context<membio::server> first = server_with_keys(TlsVersion::tls1_3, {key});
  Context<membio::server> second = server_with_keys(TlsVersion::tls1_3, {key});
  first.enable_early_data(1024, accept_all);
  second.enable_early_data(1024, accept_all);
  const Bytes saved = saved_session(client_context, first);

  EarlyConnection connection(client_context, second, saved, "GET /");
  Loopback(connection.client, connection.server).handshake();
  CHECK_FALSE(connection.client.resumed());
  CHECK_FALSE(connection.server.resumed());
  CHECK(connection.client.early_data() == EarlyData::rejected);
}
