// A TLS client over TCP, like a small `openssl s_client`: it sends what
// arrives on standard input and prints what the server sends back. One
// poll() loop moves bytes between a non-blocking socket, standard input and
// a membio channel; the channel does all of TLS.
//
//   tcp_client [options] HOST PORT
//     --ca FILE                trust the roots in FILE (default: the
//                              system's roots)
//     --name NAME              verify the server as NAME (default: HOST)
//     --insecure               do not verify the server at all
//     --cert FILE --key FILE   present this certificate chain and key (PEM)
//     --alpn LIST              offer these protocols, e.g. h2,http/1.1
//     --tls1.2, --tls1.3       speak only this version
//     --timeout SECONDS        limit on connecting, the handshake, and the
//                              wait for the server's close (default 10)
//     --capture FILE           record the connection in FILE, a pcapng file
//                              that Wireshark decrypts by itself: it holds
//                              the secrets, so record only to debug
//
// At the end of standard input it sends close_notify and waits for the
// server's. Standard output carries the server's data and nothing else;
// what was agreed and any error go to standard error. Exits 0 after a clean
// close, 1 on an error (a connection cut without close_notify included), 2
// on bad usage.
#include <membio/membio.hpp>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdio>
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
using examples::throw_system_error;
using examples::UsageError;
using membio::CloseState;

// Past this much ciphertext waiting for the socket, standard input is left
// unread until the socket takes some, so a slow server bounds our memory.
constexpr std::size_t max_outgoing = 256 * 1024;

constexpr const char* usage =
    "usage: tcp_client [--ca FILE | --insecure] [--name NAME]\n"
    "                  [--cert FILE --key FILE] [--alpn LIST]\n"
    "                  [--tls1.2 | --tls1.3] [--timeout SECONDS]\n"
    "                  [--capture FILE] HOST PORT\n";

struct Options {
  std::string host;
  std::string port;
  std::string server_name;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string capture_file;
  std::vector<std::string> alpn;
  std::optional<membio::TlsVersion> version;
  bool insecure = false;
  std::chrono::seconds timeout{10};
};

Options parse_options(int argc, char** argv) {
  Options options;
  std::string alpn;
  std::string timeout;
  const examples::OptionTable table{
      {{"--ca", &options.ca_file},
       {"--name", &options.server_name},
       {"--cert", &options.cert_file},
       {"--key", &options.key_file},
       {"--alpn", &alpn},
       {"--timeout", &timeout},
       {"--capture", &options.capture_file}},
      {{"--insecure", [&] { options.insecure = true; }},
       {"--tls1.2", [&] { options.version = membio::TlsVersion::tls1_2; }},
       {"--tls1.3", [&] { options.version = membio::TlsVersion::tls1_3; }}}};
  const std::vector<std::string> positional =
      examples::read_arguments(argc, argv, table);

  if (positional.size() != 2) throw UsageError("need HOST and PORT");
  if (options.cert_file.empty() != options.key_file.empty()) {
    throw UsageError("--cert and --key go together");
  }

  options.host = positional[0];
  options.port = positional[1];
  if (options.server_name.empty()) options.server_name = options.host;
  if (!alpn.empty()) options.alpn = examples::split_list(alpn);
  if (!timeout.empty()) {
    options.timeout = examples::parse_seconds(timeout, "--timeout");
  }
  return options;
}

membio::Context<membio::client> make_context(const Options& options) {
  membio::Context<membio::client> context;

  if (options.insecure) {
    context.insecure_skip_verification();
  } else if (!options.ca_file.empty()) {
    context.trust_file(options.ca_file);
  } else {
    context.trust_system_default();
  }

  if (!options.cert_file.empty()) {
    context.use_certificate_chain_file(options.cert_file,
                                       membio::FileFormat::pem);
    context.use_private_key_file(options.key_file, membio::FileFormat::pem);
  }
  if (!options.alpn.empty()) context.set_alpn_protocols(options.alpn);
  if (options.version) {
    context.set_protocol_versions(*options.version, *options.version);
  }
  return context;
}

// Milliseconds until `deadline`, rounded up so that poll() does not wake
// just before it; -1, waiting forever, when there is none.
int poll_timeout(std::optional<Clock::time_point> deadline) {
  return deadline ? examples::milliseconds_until(*deadline) : -1;
}

// Waits until `fd` is ready for `events`; false once `deadline` passes.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd entry{fd, events, 0};

  for (;;) {
    const int ready = ::poll(&entry, 1, poll_timeout(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) throw_system_error("poll");
  }
}

// Connects a non-blocking socket to one address; on failure returns an
// invalid descriptor and sets `error`.
FileDescriptor try_connect(const addrinfo& address, Clock::time_point deadline,
                           int& error) {
  FileDescriptor socket(
      ::socket(address.ai_family, address.ai_socktype, address.ai_protocol));
  error = socket.get() < 0 ? errno : 0;
  if (error) return socket;

  make_nonblocking(socket.get());
  if (::connect(socket.get(), address.ai_addr, address.ai_addrlen) == 0) {
    return socket;
  }

  error = errno;
  if (error != EINPROGRESS) return FileDescriptor();

  // A non-blocking connect goes on in the background; once the socket is
  // writable, SO_ERROR holds its outcome.
  if (!wait_for(socket.get(), POLLOUT, deadline)) {
    error = ETIMEDOUT;
    return FileDescriptor();
  }
  socklen_t size = sizeof error;
  if (::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &error, &size)) {
    error = errno;
  }
  return error == 0 ? std::move(socket) : FileDescriptor();
}

// The numeric address of a socket's peer, e.g. "::1" or "127.0.0.1".
std::string peer_address(const addrinfo& address) {
  char host[NI_MAXHOST] = {};
  ::getnameinfo(address.ai_addr, address.ai_addrlen, host, sizeof host, nullptr,
                0, NI_NUMERICHOST);
  return host;
}

// Connects to the first of the host's addresses that answers in time.
FileDescriptor connect_to(const Options& options) {
  const examples::AddressList addresses =
      examples::resolve(options.host, options.port);
  const Clock::time_point deadline = Clock::now() + options.timeout;
  int error = 0;

  for (const addrinfo* address = addresses.get(); address;
       address = address->ai_next) {
    FileDescriptor socket = try_connect(*address, deadline, error);
    if (socket.get() < 0) continue;

    std::fprintf(stderr, "tcp_client: connected to %s port %s\n",
                 peer_address(*address).c_str(), options.port.c_str());
    return socket;
  }
  throw std::system_error(
      error, std::generic_category(),
      "connect to " + options.host + " port " + options.port);
}

void write_standard_output(const std::string& plaintext) {
  std::size_t done = 0;

  while (done < plaintext.size()) {
    const ssize_t written = ::write(STDOUT_FILENO, plaintext.data() + done,
                                    plaintext.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) throw_system_error("write standard output");
    done += static_cast<std::size_t>(written);
  }
}

// One connection's loop. The socket is non-blocking; standard input is left
// blocking, since that flag would also change the terminal or pipe it shares
// with other processes (and often with standard output), and is read only
// when poll() says a read will not wait.
class Client {
 public:
  // Records the ciphertext each way in `capture`, unless it is null.
  Client(membio::Channel<membio::client>& channel, int socket,
         std::chrono::seconds timeout, membio::Capture* capture)
      : channel_(channel),
        socket_(socket),
        timeout_(timeout),
        capture_(capture) {}

  // Runs until both sides have closed, or throws. A TLS failure sends the
  // alert that explains it before the exception leaves.
  void run() {
    deadline_ = Clock::now() + timeout_;

    try {
      pump();
      while (!finished()) {
        wait_for_events();
        pump();
      }
    } catch (const membio::error&) {
      send_alert();
      throw;
    }
  }

 private:
  bool finished() const {
    return channel_.close_state() == CloseState::closed && outgoing_.empty();
  }

  // Standard input is read once the handshake is done, while this side is
  // open, and paused while the socket lags behind.
  bool reading_input() const {
    return input_open_ && channel_.handshake_done() &&
           channel_.close_state() == CloseState::open &&
           outgoing_.size() < max_outgoing;
  }

  void wait_for_events() {
    pollfd entries[2] = {{socket_, 0, 0}, {-1, POLLIN, 0}};
    if (socket_open_) entries[0].events |= POLLIN;
    if (!outgoing_.empty()) entries[0].events |= POLLOUT;
    if (reading_input()) entries[1].fd = STDIN_FILENO;

    const int ready = ::poll(entries, 2, poll_timeout(deadline_));
    if (ready < 0 && errno != EINTR) throw_system_error("poll");
    if (ready == 0) throw std::runtime_error(timeout_message());

    const short socket_events = entries[0].revents;
    if (socket_open_ && (socket_events & (POLLIN | POLLHUP | POLLERR))) {
      receive_ciphertext();
    }
    if (socket_events & POLLOUT) send_ciphertext();
    if (entries[1].revents) read_standard_input();
  }

  std::string timeout_message() const {
    return std::string("timed out waiting for ") +
           (channel_.handshake_done() ? "the server's close_notify"
                                      : "the handshake");
  }

  void receive_ciphertext() {
    char buffer[16384];
    const ssize_t size = ::recv(socket_, buffer, sizeof buffer, 0);
    if (size < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (size < 0) throw_system_error("receive");

    // The channel tells a clean end (close_notify came first) from a cut.
    if (size == 0) {
      socket_open_ = false;
      membio::feed_eof(channel_);
      return;
    }
    const membio::ConstBytes ciphertext(buffer, static_cast<std::size_t>(size));
    if (capture_) capture_->server_to_client(ciphertext);
    membio::feed(channel_, ciphertext);
  }

  void send_ciphertext() {
    const ssize_t sent = ::send(socket_, outgoing_.data(), outgoing_.size(), 0);
    if (sent < 0 && (errno == EAGAIN || errno == EINTR)) return;

    // A server that closed cleanly may leave before taking our close.
    if (sent < 0 && channel_.close_state() == CloseState::closed) {
      outgoing_.clear();
      return;
    }
    if (sent < 0) throw_system_error("send");
    if (capture_) capture_->client_to_server(sent_part(sent));
    outgoing_.erase(0, static_cast<std::size_t>(sent));
  }

  void read_standard_input() {
    char buffer[16384];
    const ssize_t size = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (size < 0 && errno == EINTR) return;
    if (size < 0) throw_system_error("read standard input");

    // The end of our input: say so to the server, and give it a bounded
    // time to answer with its own close_notify.
    if (size == 0) {
      input_open_ = false;
      static_cast<void>(membio::close(channel_));
      deadline_ = Clock::now() + timeout_;
      return;
    }
    static_cast<void>(membio::write_plaintext(
        channel_, membio::ConstBytes(buffer, static_cast<std::size_t>(size))));
  }

  // Runs the channel as far as the bytes fed allow: the handshake, then the
  // server's plaintext out to standard output. Answers the server's
  // close_notify with ours, and collects the ciphertext to send.
  void pump() {
    if (!channel_.handshake_done()) {
      static_cast<void>(membio::handshake(channel_));
      if (channel_.handshake_done()) report_session();
    }

    if (channel_.handshake_done()) {
      std::string plaintext;
      static_cast<void>(membio::read_plaintext_into(channel_, plaintext));
      write_standard_output(plaintext);
    }

    if (channel_.close_state() == CloseState::close_received) {
      static_cast<void>(membio::close(channel_));
    }
    membio::drain_into(channel_, outgoing_);
  }

  void report_session() {
    const std::string alpn = channel_.alpn_protocol();
    const membio::Certificate server = channel_.peer_certificate();
    std::fprintf(stderr, "tcp_client: protocol: %s, cipher: %s\n",
                 channel_.protocol_version().c_str(),
                 channel_.cipher_suite().c_str());
    std::fprintf(stderr, "tcp_client: alpn: %s\n",
                 alpn.empty() ? "none" : alpn.c_str());
    std::fprintf(stderr, "tcp_client: server: %s\n",
                 server ? server.subject().c_str() : "no certificate");

    // Until the close, the wait is on the user, not on the server.
    deadline_.reset();
  }

  // Hands the server the alert a failed channel queued, as a courtesy: the
  // connection is over whether or not it arrives. A capture records it if
  // the socket took it; a failure to record is ignored, since it would hide
  // the error that matters.
  void send_alert() {
    membio::drain_into(channel_, outgoing_);
    if (outgoing_.empty()) return;

    const ssize_t sent = ::send(socket_, outgoing_.data(), outgoing_.size(), 0);
    std::error_code ignored;
    if (capture_ && sent > 0) {
      capture_->client_to_server(sent_part(sent), ignored);
    }
  }

  // The start of the outgoing ciphertext, which the socket took.
  membio::ConstBytes sent_part(ssize_t sent) const {
    return membio::ConstBytes(outgoing_.data(), static_cast<std::size_t>(sent));
  }

  membio::Channel<membio::client>& channel_;
  int socket_;
  std::chrono::seconds timeout_;
  membio::Capture* capture_;
  std::optional<Clock::time_point> deadline_;
  std::string outgoing_;  // Ciphertext the socket has not taken yet.
  bool input_open_ = true;
  bool socket_open_ = true;
};

void run(const Options& options) {
  // A connection the server reset then fails send() with EPIPE, reported
  // like any other error, instead of killing the process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);

  membio::Context<membio::client> context = make_context(options);
  std::optional<membio::Capture> capture;
  if (!options.capture_file.empty()) {
    // The key log goes in before the handshake, so the file gets every
    // secret of it.
    capture.emplace(options.capture_file);
    context.on_key_log(capture->key_log());
  }
  const FileDescriptor socket = connect_to(options);

  membio::Channel<membio::client> channel(context, options.server_name);
  Client(channel, socket.get(), options.timeout, capture ? &*capture : nullptr)
      .run();

  // Closing writes what the capture held and reports a failed write.
  if (capture) capture->close();
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_program("tcp_client", usage,
                               [&] { run(parse_options(argc, argv)); });
}
