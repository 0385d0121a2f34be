// A TCP proxy for the interop tests: it listens on 127.0.0.1, prints
// "listening on PORT", takes one client, connects it to 127.0.0.1 port
// TARGET, and relays both directions until both have ended; then it exits.
//
//   fragmenting_proxy TARGET
//   fragmenting_proxy --hold-replies BYTES TARGET
//
// By default it hands bytes on a few at a time, in pieces of 1 to 7 bytes
// with a pause after each, so that both ends get TLS records split across
// many reads. With --hold-replies it hands them on whole, but once BYTES
// have gone to the server it reads nothing more from the server until its
// own standard input ends, as a client would that sends without reading; its
// socket to the server has a small receive buffer, so the replies soon back up
// in the server. It prints "holding replies" when it starts to hold them.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <utility>

// The examples' own POSIX helpers: this proxy is a small socket program too.
#include "support/posix.hpp"

namespace {

using examples::FileDescriptor;
using examples::make_nonblocking;
using examples::throw_system_error;

sockaddr_in loopback(unsigned short port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

// Turns off Nagle's algorithm, which would glue the pieces back together.
FileDescriptor unbuffered(FileDescriptor socket) {
  const int on = 1;
  if (::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on)) {
    throw_system_error("setsockopt");
  }
  return socket;
}

FileDescriptor listen_on_loopback() {
  FileDescriptor listener(::socket(AF_INET, SOCK_STREAM, 0));
  const sockaddr_in address = loopback(0);
  if (listener.get() < 0 ||
      ::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address),
             sizeof address) != 0 ||
      ::listen(listener.get(), 1) != 0) {
    throw_system_error("listen");
  }

  sockaddr_in bound{};
  socklen_t size = sizeof bound;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&bound), &size);
  std::printf("listening on %u\n",
              static_cast<unsigned>(ntohs(bound.sin_port)));
  std::fflush(stdout);
  return listener;
}

// Connects to the target; a `receive_buffer` size other than 0 is set
// before connecting, since the window the connection starts with depends on
// it.
FileDescriptor connect_to_loopback(unsigned short port, int receive_buffer) {
  FileDescriptor socket(::socket(AF_INET, SOCK_STREAM, 0));
  if (socket.get() < 0) throw_system_error("socket");
  if (receive_buffer > 0 &&
      ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer,
                   sizeof receive_buffer) != 0) {
    throw_system_error("setsockopt");
  }

  const sockaddr_in address = loopback(port);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address),
                sizeof address) != 0) {
    throw_system_error("connect");
  }
  return unbuffered(std::move(socket));
}

// One direction of the relay: what was read from `from` waits in `waiting`
// until `to` takes it.
struct Flow {
  int from;
  int to;
  std::string waiting;
  std::size_t carried = 0;  // Bytes handed on so far.
  bool open = true;         // Until `from` ends.
  bool shut = false;        // Once that end has reached `to`.
};

constexpr short readable = POLLIN | POLLHUP | POLLERR;
constexpr short writable = POLLOUT | POLLERR;

class Relay {
 public:
  // Holds the replies once `hold_after` bytes have gone to the server; 0
  // fragments instead.
  Relay(int client, int server, std::size_t hold_after)
      : up_{client, server, {}},
        down_{server, client, {}},
        hold_after_(hold_after),
        released_(hold_after == 0) {}

  void run() {
    while (up_.open || down_.open || !up_.waiting.empty() ||
           !down_.waiting.empty()) {
      pollfd entries[3] = {entry(up_, down_, false),
                           entry(down_, up_, holding()),
                           {released_ ? -1 : STDIN_FILENO, POLLIN, 0}};
      if (::poll(entries, 3, -1) < 0) {
        if (errno == EINTR) continue;
        throw_system_error("poll");
      }

      if (entries[2].revents) read_standard_input();
      move(up_, entries[0].revents, entries[1].revents, false);
      move(down_, entries[1].revents, entries[0].revents, holding());
    }
  }

 private:
  // What to wait for on `flow`'s source: input, unless held or something
  // still waits to go on; room for `other`, the flow into the same socket.
  // A socket waiting for neither is left out, since poll() would report
  // its hang-up again and again.
  static pollfd entry(const Flow& flow, const Flow& other, bool held) {
    short wanted = 0;
    if (flow.open && flow.waiting.empty() && !held) wanted |= POLLIN;
    if (!other.waiting.empty()) wanted |= POLLOUT;
    return {wanted ? flow.from : -1, wanted, 0};
  }

  bool holding() const { return !released_ && up_.carried >= hold_after_; }

  void move(Flow& flow, short from_events, short to_events, bool held) {
    if ((from_events & readable) && flow.open && flow.waiting.empty() &&
        !held) {
      receive(flow);
    }
    if ((to_events & writable) && !flow.waiting.empty()) pass_on(flow);

    // The end of `from` reaches `to` after all that came before it.
    if (!flow.open && flow.waiting.empty() && !flow.shut) {
      ::shutdown(flow.to, SHUT_WR);
      flow.shut = true;
    }
  }

  void receive(Flow& flow) {
    char buffer[16384];
    const ssize_t size = ::recv(flow.from, buffer, sizeof buffer, 0);
    if (size < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (size < 0) throw_system_error("receive");

    if (size == 0) flow.open = false;
    flow.waiting.assign(buffer, static_cast<std::size_t>(size));
  }

  // Hands on what `to` takes now: a piece of 1 to 7 bytes, then a pause,
  // when fragmenting; else all of it.
  void pass_on(Flow& flow) {
    const std::size_t size =
        hold_after_ == 0
            ? std::min<std::size_t>(flow.waiting.size(), 1 + turn_++ % 7)
            : flow.waiting.size();
    const ssize_t sent = ::send(flow.to, flow.waiting.data(), size, 0);
    if (sent < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (sent < 0) throw_system_error("send");

    flow.waiting.erase(0, static_cast<std::size_t>(sent));
    flow.carried += static_cast<std::size_t>(sent);
    if (hold_after_ == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    announce_hold();
  }

  void announce_hold() {
    if (announced_ || !holding()) return;

    std::printf("holding replies\n");
    std::fflush(stdout);
    announced_ = true;
  }

  // Standard input only counts by its end, which releases the replies.
  void read_standard_input() {
    char buffer[256];
    const ssize_t size = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (size < 0 && errno == EINTR) return;
    if (size <= 0) released_ = true;
  }

  Flow up_;    // Client to server.
  Flow down_;  // Server to client.
  std::size_t hold_after_;
  bool released_;
  bool announced_ = false;
  std::size_t turn_ = 0;
};

// The small receive buffer of a proxy holding the replies, so that the
// kernel does not take them in on its behalf.
constexpr int holding_receive_buffer = 4096;

void run(unsigned short target, std::size_t hold_after) {
  // A peer that resets its connection then fails send() with EPIPE instead
  // of killing the proxy with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);

  const FileDescriptor listener = listen_on_loopback();
  FileDescriptor accepted(::accept(listener.get(), nullptr, nullptr));
  if (accepted.get() < 0) throw_system_error("accept");

  const FileDescriptor client = unbuffered(std::move(accepted));
  const FileDescriptor server =
      connect_to_loopback(target, hold_after > 0 ? holding_receive_buffer : 0);
  make_nonblocking(client.get());
  make_nonblocking(server.get());
  Relay(client.get(), server.get(), hold_after).run();
}

// A number from 1 to `most`, or 0 when `text` is not one.
long parse_number(const char* text, long most) {
  char* end = nullptr;
  const long number = std::strtol(text, &end, 10);
  return *text && !*end && number > 0 && number <= most ? number : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool hold = argc == 4 && std::strcmp(argv[1], "--hold-replies") == 0;
  const long hold_after = hold ? parse_number(argv[2], 1L << 30) : 0;
  const long target =
      argc == 2 || hold ? parse_number(argv[argc - 1], 65535) : 0;
  if (target == 0 || (hold && hold_after == 0)) {
    std::fprintf(stderr,
                 "usage: fragmenting_proxy [--hold-replies BYTES] TARGET\n");
    return 2;
  }

  try {
    run(static_cast<unsigned short>(target),
        static_cast<std::size_t>(hold_after));
    return 0;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "fragmenting_proxy: %s\n", failure.what());
    return 1;
  }
}
