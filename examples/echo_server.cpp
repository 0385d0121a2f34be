// A TLS echo server for many clients at once, on one thread: each client
// gets its own membio channel, and every piece of plaintext read from it is
// written back as one write. One poll() loop moves the bytes between the
// sockets and the channels; the channels do all of TLS.
//
//   echo_server [options]
//     --port N                 listen on port N (default 0: the system picks
//                              one)
//     --bind ADDRESS           listen on ADDRESS (default 127.0.0.1)
//     --cert FILE --key FILE   this certificate chain and key (PEM); without
//                              them, a throwaway self-signed certificate for
//                              localhost and 127.0.0.1
//     --write-cert FILE        write that throwaway certificate to FILE, so
//                              that clients can trust it
//     --ca FILE                require client certificates from these roots
//     --alpn LIST              choose from these protocols, e.g. h2,http/1.1
//     --tls1.2, --tls1.3       speak only this version
//     --max-connections N      exit once N connections have ended
//     --handshake-timeout SECONDS
//                              fail a connection whose handshake is not
//                              done this long after it was accepted
//                              (default 10)
//
// Once ready it prints "listening on PORT" on standard output; it reports
// each connection's start and end on standard error, one line each, and
// each time it pauses reading a client whose echo piles up and resumes once
// the client has taken it. SIGINT or SIGTERM stops it: it stops accepting
// and reading, sends each open connection the rest of its echo and
// close_notify, gives the clients up to 2 seconds to take them, and prints
// the totals; a connection that could not take all in that time is
// reported cut at shutdown.
#include <membio/membio.hpp>

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/command_line.hpp"
#include "support/posix.hpp"

namespace {

using examples::Clock;
using examples::FileDescriptor;
using examples::make_nonblocking;
using examples::milliseconds_until;
using examples::throw_system_error;
using examples::UsageError;
using membio::CloseState;

// Past this much ciphertext waiting for a client's socket, that client is
// not read from until its socket takes some: a client that sends without
// reading the echo cannot make the server hold more than this for it.
constexpr std::size_t max_outgoing = 256 * 1024;

// Reading resumes once the client has taken the waiting ciphertext down to
// this, so that a slow reader does not flip the server between pausing
// and reading at every record.
constexpr std::size_t resume_outgoing = max_outgoing / 2;

// How long a stopping server gives its clients to take the rest of their
// echo and its close_notify.
constexpr std::chrono::seconds shutdown_grace{2};

constexpr const char* usage =
    "usage: echo_server [--port N] [--bind ADDRESS]\n"
    "                   [--cert FILE --key FILE | --write-cert FILE]\n"
    "                   [--ca FILE] [--alpn LIST] [--tls1.2 | --tls1.3]\n"
    "                   [--max-connections N]\n"
    "                   [--handshake-timeout SECONDS]\n";

struct Options {
  std::string port = "0";
  std::string bind_address = "127.0.0.1";
  std::string cert_file;
  std::string key_file;
  std::string write_cert_file;
  std::string ca_file;
  std::vector<std::string> alpn;
  std::optional<membio::TlsVersion> version;
  unsigned long max_connections = 0;  // 0: no limit.
  std::chrono::seconds handshake_timeout{10};
};

Options parse_options(int argc, char** argv) {
  Options options;
  std::string alpn;
  std::string max_connections;
  std::string handshake_timeout;
  const examples::OptionTable table{
      {{"--port", &options.port},
       {"--bind", &options.bind_address},
       {"--cert", &options.cert_file},
       {"--key", &options.key_file},
       {"--write-cert", &options.write_cert_file},
       {"--ca", &options.ca_file},
       {"--alpn", &alpn},
       {"--max-connections", &max_connections},
       {"--handshake-timeout", &handshake_timeout}},
      {{"--tls1.2", [&] { options.version = membio::TlsVersion::tls1_2; }},
       {"--tls1.3", [&] { options.version = membio::TlsVersion::tls1_3; }}}};
  const std::vector<std::string> positional =
      examples::read_arguments(argc, argv, table);

  if (!positional.empty()) throw UsageError("bad argument " + positional[0]);
  if (options.cert_file.empty() != options.key_file.empty()) {
    throw UsageError("--cert and --key go together");
  }

  if (!alpn.empty()) options.alpn = examples::split_list(alpn);
  if (!max_connections.empty()) {
    options.max_connections =
        examples::parse_count(max_connections, "--max-connections");
  }
  if (!handshake_timeout.empty()) {
    options.handshake_timeout =
        examples::parse_seconds(handshake_timeout, "--handshake-timeout");
  }
  return options;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) throw std::runtime_error("write " + path + ": failed");
}

// The identity from files, or else a throwaway self-signed one.
void use_identity(membio::Context<membio::server>& context,
                  const Options& options) {
  if (!options.cert_file.empty()) {
    context.use_certificate_chain_file(options.cert_file,
                                       membio::FileFormat::pem);
    context.use_private_key_file(options.key_file, membio::FileFormat::pem);
    return;
  }

  const membio::Identity identity = membio::make_self_signed();
  context.use_identity_pem(identity.certificate_chain_pem,
                           identity.private_key_pem);
  if (!options.write_cert_file.empty()) {
    write_file(options.write_cert_file, identity.certificate_chain_pem);
  }
}

membio::Context<membio::server> make_context(const Options& options) {
  membio::Context<membio::server> context;
  use_identity(context, options);

  if (!options.ca_file.empty()) {
    context.trust_file(options.ca_file);
    context.request_client_certificate(membio::ClientCertificate::required);
  }
  if (!options.alpn.empty()) context.set_alpn_protocols(options.alpn);
  if (options.version) {
    context.set_protocol_versions(*options.version, *options.version);
  }
  return context;
}

FileDescriptor listen_on(const Options& options) {
  // The address to listen on, IPv4 or IPv6.
  const examples::AddressList address = examples::resolve(
      options.bind_address, options.port, AI_PASSIVE | AI_NUMERICSERV);
  FileDescriptor listener(::socket(address->ai_family, SOCK_STREAM, 0));
  if (listener.get() < 0) throw_system_error("socket");
  make_nonblocking(listener.get());

  // Lets a restarted server bind at once, while the connections of the last
  // run still linger in TIME_WAIT.
  const int on = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(listener.get(), address->ai_addr, address->ai_addrlen) != 0) {
    throw_system_error("bind " + options.bind_address + " port " +
                       options.port);
  }

  if (::listen(listener.get(), SOMAXCONN) != 0) throw_system_error("listen");
  return listener;
}

// The address and port of a socket address, e.g. "127.0.0.1 port 40000".
std::string describe(const sockaddr* address, socklen_t size) {
  char host[NI_MAXHOST] = {};
  char port[NI_MAXSERV] = {};
  ::getnameinfo(address, size, host, sizeof host, port, sizeof port,
                NI_NUMERICHOST | NI_NUMERICSERV);
  return std::string(host) + " port " + port;
}

// The port the listener got, which the system chose when asked for 0.
std::string bound_port(int listener) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  char port[NI_MAXSERV] = {};

  if (::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) ||
      ::getnameinfo(reinterpret_cast<const sockaddr*>(&address), size, nullptr,
                    0, port, sizeof port, NI_NUMERICSERV)) {
    throw std::runtime_error("cannot tell the port listened on");
  }
  return port;
}

// The signal handler's way to wake poll(): it writes a byte into a pipe
// that the loop watches. This end stays open for the life of the process,
// since a signal may come at any time.
int wake_pipe_input = -1;

void on_stop_signal(int) {
  const int saved = errno;
  const char byte = 1;
  // A full pipe already holds a wake-up, so a failed write loses nothing.
  const bool written = ::write(wake_pipe_input, &byte, 1) == 1;
  static_cast<void>(written);
  errno = saved;
}

// Returns the end of a pipe that becomes readable on SIGINT or SIGTERM.
FileDescriptor watch_stop_signals() {
  int ends[2];
  if (::pipe(ends) != 0) throw_system_error("pipe");
  make_nonblocking(ends[1]);
  wake_pipe_input = ends[1];

  struct sigaction action {};
  action.sa_handler = &on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  return FileDescriptor(ends[0]);
}

// One client: its socket and its channel. The ciphertext the socket has not
// taken yet waits in the channel itself (see send_ciphertext).
struct Connection {
  Connection(FileDescriptor client_socket,
             const membio::Context<membio::server>& context,
             unsigned long connection_id, std::string address,
             Clock::time_point deadline)
      : socket(std::move(client_socket)),
        channel(context),
        id(connection_id),
        peer(std::move(address)),
        handshake_deadline(deadline) {}

  FileDescriptor socket;
  membio::Channel<membio::server> channel;
  unsigned long id;
  std::string peer;
  Clock::time_point handshake_deadline;
  std::size_t echoed = 0;  // Plaintext bytes sent back.
  bool input_ended = false;
  bool reading_paused = false;  // While its echo waits, see pace_reading.
  bool output_shut = false;     // Our FIN is sent, at shutdown.
};

void report(const Connection& connection, const std::string& event) {
  std::fprintf(stderr, "echo_server: #%lu %s: %s\n", connection.id,
               connection.peer.c_str(), event.c_str());
}

void report_session(const Connection& connection) {
  const membio::Channel<membio::server>& channel = connection.channel;
  std::string event = "established, " + channel.protocol_version() + ", " +
                      channel.cipher_suite();

  if (!channel.alpn_protocol().empty()) {
    event += ", alpn " + channel.alpn_protocol();
  }
  if (const membio::Certificate client = channel.peer_certificate()) {
    event += ", client " + client.subject();
  }
  report(connection, event);
}

// The ciphertext the channel holds for the client's socket. Looking seals
// the small echoes gathered so far into records.
std::size_t pending_output(Connection& connection) {
  return membio::outgoing_view(connection.channel).size();
}

// Pauses reading a client once `pending` bytes of ciphertext wait for its
// socket past max_outgoing, and resumes once they are down to
// resume_outgoing; says so each time.
void pace_reading(Connection& connection, std::size_t pending) {
  if (!connection.reading_paused && pending >= max_outgoing) {
    connection.reading_paused = true;
    report(connection, "paused reading, " + std::to_string(pending) +
                           " bytes wait to be sent");
  } else if (connection.reading_paused && pending <= resume_outgoing) {
    connection.reading_paused = false;
    report(connection, "resumed reading");
  }
}

// Receives one buffer's worth, so that each client gets its turn and no
// client's input piles up before the channel reads it. recv() writes
// straight into the channel's input buffer, so no copy is made between the
// socket and the channel; space left unfilled is simply not committed.
void receive_ciphertext(Connection& connection) {
  const membio::MutableBytes space =
      membio::incoming_space(connection.channel, 16384);
  const ssize_t size =
      ::recv(connection.socket.get(), space.data(), space.size(), 0);
  if (size < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (size < 0) throw_system_error("receive");

  // The channel tells a clean end (close_notify came first) from a cut.
  if (size == 0) {
    connection.input_ended = true;
    membio::feed_eof(connection.channel);
    return;
  }
  membio::commit_incoming(connection.channel, static_cast<std::size_t>(size));
}

// Sends what the socket takes now; the rest waits in the channel for
// POLLOUT. send() reads straight from the channel's output buffer, so no
// copy is made between the channel and the socket.
void send_ciphertext(Connection& connection) {
  membio::Channel<membio::server>& channel = connection.channel;

  for (;;) {
    const membio::ConstBytes pending = membio::outgoing_view(channel);
    if (pending.empty()) return;

    const ssize_t sent =
        ::send(connection.socket.get(), pending.data(), pending.size(), 0);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno == EAGAIN) return;

    // A client that closed cleanly may leave before taking our close.
    if (sent < 0 && channel.close_state() == CloseState::closed) {
      membio::consume_outgoing(channel, pending.size());
      return;
    }
    if (sent < 0) throw_system_error("send");
    membio::consume_outgoing(channel, static_cast<std::size_t>(sent));
  }
}

// Writes back each piece of plaintext the channel reads, as one write.
void echo(Connection& connection) {
  unsigned char chunk[16384];

  for (;;) {
    const membio::ReadResult result =
        membio::read_plaintext(connection.channel, chunk);
    if (result.status != membio::Status::done) return;

    static_cast<void>(membio::write_plaintext(
        connection.channel, membio::ConstBytes(chunk, result.size)));
    connection.echoed += result.size;
  }
}

// Runs the channel as far as the bytes fed allow: the handshake, the echo,
// and the answer to the client's close_notify. What to send stays in the
// channel.
void serve(Connection& connection) {
  membio::Channel<membio::server>& channel = connection.channel;
  if (!channel.handshake_done()) {
    static_cast<void>(membio::handshake(channel));
    if (channel.handshake_done()) report_session(connection);
  }

  if (channel.handshake_done()) echo(connection);
  if (channel.close_state() == CloseState::close_received) {
    static_cast<void>(membio::close(channel));
  }
}

// Gives the client what the channel still holds (the alert of a failure,
// or our close_notify) without waiting: the connection ends either way.
void send_last_words(Connection& connection) {
  std::error_code ignored;  // Only a moved-from channel fails here.
  const membio::ConstBytes pending =
      membio::outgoing_view(connection.channel, ignored);
  if (pending.empty()) return;

  static_cast<void>(
      ::send(connection.socket.get(), pending.data(), pending.size(), 0));
}

// Ends our side of the connection with a FIN, once, after what the socket
// holds for the client.
void shut_output(Connection& connection) {
  if (connection.output_shut) return;

  ::shutdown(connection.socket.get(), SHUT_WR);
  connection.output_shut = true;
}

// Reads and drops what the client sends, so that closing the socket while
// its bytes sit unread does not make the kernel reset the connection and
// discard our close_notify on the way. True while the client may send
// more; false once it has closed its side, or the connection is gone.
bool discard_input(Connection& connection) {
  char scratch[16384];

  for (;;) {
    const ssize_t size =
        ::recv(connection.socket.get(), scratch, sizeof scratch, 0);
    if (size > 0 || (size < 0 && errno == EINTR)) continue;
    return size < 0 && errno == EAGAIN;
  }
}

class Server {
 public:
  Server(const Options& options, membio::Context<membio::server> context,
         FileDescriptor listener, FileDescriptor stop_signal)
      : context_(std::move(context)),
        listener_(std::move(listener)),
        stop_signal_(std::move(stop_signal)),
        max_connections_(options.max_connections),
        handshake_timeout_(options.handshake_timeout) {}

  // Serves clients until a stop signal, or until the number of connections
  // asked for have ended; then closes those still open.
  void run() {
    while (!stopping_) {
      wait_for_events();
      stopping_ = stopping_ || (max_connections_ > 0 &&
                                finished_ + failed_ >= max_connections_);
    }

    shut_down();
    std::fprintf(stderr,
                 "echo_server: accepted %lu, finished %lu, failed %lu, "
                 "closed at shutdown %lu, cut at shutdown %lu\n",
                 accepted_, finished_, failed_, closed_at_shutdown_,
                 cut_at_shutdown_);
  }

 private:
  // Only clients below the output limit are read from; POLLOUT is asked
  // for only while output waits, since an idle socket is always writable.
  static short interest(Connection& connection) {
    const std::size_t pending = pending_output(connection);
    pace_reading(connection, pending);

    short events = 0;
    if (!connection.input_ended && !connection.reading_paused) {
      events |= POLLIN;
    }
    if (pending > 0) events |= POLLOUT;
    return events;
  }

  // Wakes for the first handshake deadline, if a handshake is under way.
  int poll_timeout() const {
    int timeout = -1;
    for (const std::unique_ptr<Connection>& connection : connections_) {
      if (connection->channel.handshake_done()) continue;

      const int left = milliseconds_until(connection->handshake_deadline);
      if (timeout < 0 || left < timeout) timeout = left;
    }
    return timeout;
  }

  void wait_for_events() {
    std::vector<pollfd> entries = {{stop_signal_.get(), POLLIN, 0},
                                   {listener_.get(), POLLIN, 0}};
    if (accept_paused_) entries[1].fd = -1;
    for (const std::unique_ptr<Connection>& connection : connections_) {
      entries.push_back({connection->socket.get(), interest(*connection), 0});
    }

    if (::poll(entries.data(), entries.size(), poll_timeout()) < 0) {
      if (errno == EINTR) return;
      throw_system_error("poll");
    }

    if (entries[0].revents) stopping_ = true;
    handle_clients(entries);
    if (entries[1].revents) accept_clients();
  }

  // Serves each client poll() reported on, and forgets those that ended or
  // ran out of time for the handshake.
  void handle_clients(const std::vector<pollfd>& entries) {
    std::vector<std::unique_ptr<Connection>> still_open;

    for (std::size_t index = 0; index < connections_.size(); ++index) {
      Connection& connection = *connections_[index];
      const short events = entries[index + 2].revents;
      if ((events == 0 || handle_client(connection, events)) &&
          !handshake_expired(connection)) {
        still_open.push_back(std::move(connections_[index]));
      }
    }
    if (still_open.size() < connections_.size()) accept_paused_ = false;
    connections_ = std::move(still_open);
  }

  // One round of bytes for one client; false once the connection is over.
  bool handle_client(Connection& connection, short events) {
    try {
      if (events & (POLLIN | POLLHUP | POLLERR)) {
        if (!connection.input_ended) receive_ciphertext(connection);
      }
      serve(connection);
      send_ciphertext(connection);
    } catch (const std::exception& failure) {
      send_last_words(connection);
      report(connection, std::string("failed: ") + failure.what());
      ++failed_;
      return false;
    }

    if (connection.channel.close_state() != CloseState::closed ||
        pending_output(connection) > 0) {
      return true;
    }
    report(connection,
           "finished, " + std::to_string(connection.echoed) + " bytes echoed");
    ++finished_;
    return false;
  }

  // Fails a connection whose handshake is not done in time, so that a
  // client that connects and stays silent cannot hold its place for ever.
  bool handshake_expired(Connection& connection) {
    if (connection.channel.handshake_done() ||
        Clock::now() < connection.handshake_deadline) {
      return false;
    }

    report(connection, "failed: handshake not done within " +
                           std::to_string(handshake_timeout_.count()) +
                           " seconds");
    ++failed_;
    return true;
  }

  void accept_clients() {
    for (;;) {
      sockaddr_storage address{};
      socklen_t size = sizeof address;
      FileDescriptor socket(::accept(
          listener_.get(), reinterpret_cast<sockaddr*>(&address), &size));
      if (socket.get() < 0 && !accept_failed()) return;
      if (socket.get() < 0) continue;

      add_client(std::move(socket),
                 describe(reinterpret_cast<const sockaddr*>(&address), size));
    }
  }

  // Decides what a failed accept means: true to try the next client, false
  // to stop for now. Out of descriptors, accepting pauses until a
  // connection ends, rather than spin on a listener that stays readable.
  bool accept_failed() {
    const int error = errno;
    if (error == EINTR || error == ECONNABORTED) return true;
    if (error == EAGAIN) return false;

    const std::system_error failure(error, std::generic_category(), "accept");
    if (error != EMFILE && error != ENFILE && error != ENOBUFS &&
        error != ENOMEM) {
      throw failure;
    }
    std::fprintf(stderr, "echo_server: %s; paused\n", failure.what());
    accept_paused_ = true;
    return false;
  }

  void add_client(FileDescriptor socket, std::string peer) {
    ++accepted_;

    try {
      make_nonblocking(socket.get());
      auto connection = std::make_unique<Connection>(
          std::move(socket), context_, accepted_, std::move(peer),
          Clock::now() + handshake_timeout_);
      report(*connection, "accepted");
      connections_.push_back(std::move(connection));
    } catch (const std::exception& failure) {
      std::fprintf(stderr, "echo_server: #%lu failed: %s\n", accepted_,
                   failure.what());
      ++failed_;
    }
  }

  // Stops accepting and reading, and queues close_notify on every open
  // connection; then gives the clients up to shutdown_grace to take what
  // waits for them, and ends each connection once they have.
  void shut_down() {
    listener_ = FileDescriptor();
    for (const std::unique_ptr<Connection>& connection : connections_) {
      std::error_code ignored;  // A channel that failed has none to send.
      static_cast<void>(membio::close(connection->channel, ignored));
    }

    const Clock::time_point deadline = Clock::now() + shutdown_grace;
    while (!connections_.empty() && Clock::now() < deadline) {
      wait_to_close(deadline);
    }
    for (const std::unique_ptr<Connection>& connection : connections_) {
      end_at_shutdown(*connection);
    }
    connections_.clear();
  }

  // One round of the shutdown: sends what waits to each client, ends our
  // side of each connection with nothing left to send, and drops what its
  // client still sends until the client closes too.
  void wait_to_close(Clock::time_point deadline) {
    std::vector<pollfd> entries;
    for (const std::unique_ptr<Connection>& connection : connections_) {
      short events = POLLOUT;
      if (pending_output(*connection) == 0) {
        shut_output(*connection);
        events = POLLIN;
      }
      entries.push_back({connection->socket.get(), events, 0});
    }

    const int timeout = milliseconds_until(deadline);
    if (::poll(entries.data(), entries.size(), timeout) < 0 && errno != EINTR) {
      throw_system_error("poll");
    }

    std::vector<std::unique_ptr<Connection>> still_open;
    for (std::size_t index = 0; index < connections_.size(); ++index) {
      if (entries[index].revents == 0 || closing(*connections_[index])) {
        still_open.push_back(std::move(connections_[index]));
      }
    }
    connections_ = std::move(still_open);
  }

  // Sends what the socket takes, or, once all is sent, drops the client's
  // bytes; false once the connection is over and reported.
  bool closing(Connection& connection) {
    try {
      if (pending_output(connection) > 0) {
        send_ciphertext(connection);
        return true;
      }
    } catch (const std::exception& failure) {
      report(connection, std::string("cut at shutdown: ") + failure.what());
      ++cut_at_shutdown_;
      return false;
    }

    if (discard_input(connection)) return true;
    report(connection, "closed at shutdown");
    ++closed_at_shutdown_;
    return false;
  }

  // Ends a connection the grace period ran out on: closed if the client
  // took all we had for it (and it only kept its side open), else cut.
  void end_at_shutdown(Connection& connection) {
    const std::size_t unsent = pending_output(connection);
    shut_output(connection);
    static_cast<void>(discard_input(connection));

    if (unsent == 0) {
      report(connection, "closed at shutdown");
      ++closed_at_shutdown_;
      return;
    }
    report(connection,
           "cut at shutdown, " + std::to_string(unsent) + " bytes not taken");
    ++cut_at_shutdown_;
  }

  membio::Context<membio::server> context_;
  FileDescriptor listener_;
  FileDescriptor stop_signal_;
  std::vector<std::unique_ptr<Connection>> connections_;
  unsigned long max_connections_;
  std::chrono::seconds handshake_timeout_;
  unsigned long accepted_ = 0;
  unsigned long finished_ = 0;
  unsigned long failed_ = 0;
  unsigned long closed_at_shutdown_ = 0;
  unsigned long cut_at_shutdown_ = 0;
  bool accept_paused_ = false;
  bool stopping_ = false;
};

void run(const Options& options) {
  // A client that resets its connection then fails send() with EPIPE,
  // ending that connection alone, instead of killing the server.
  ::signal(SIGPIPE, SIG_IGN);

  membio::Context<membio::server> context = make_context(options);
  FileDescriptor stop_signal = watch_stop_signals();
  FileDescriptor listener = listen_on(options);

  // Tests and scripts read the port from this line, so it goes out at once.
  std::printf("listening on %s\n", bound_port(listener.get()).c_str());
  std::fflush(stdout);

  Server(options, std::move(context), std::move(listener),
         std::move(stop_signal))
      .run();
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_program("echo_server", usage,
                               [&] { run(parse_options(argc, argv)); });
}
