// A TCP proxy for the interop tests that hands bytes on a few at a time: it
// listens on 127.0.0.1, prints "listening on PORT", takes one client,
// connects it to 127.0.0.1 port TARGET, and forwards each direction in
// pieces of 1 to 7 bytes with a pause after each, so that both ends get TLS
// records split across many reads. It exits once both directions ended.
//
//   fragmenting_proxy TARGET
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
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace {

[[noreturn]] void throw_system_error(const std::string& operation) {
  throw std::system_error(errno, std::generic_category(), operation);
}

// Owns a file descriptor and closes it.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) noexcept : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }

  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

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

FileDescriptor connect_to_loopback(unsigned short port) {
  FileDescriptor socket(::socket(AF_INET, SOCK_STREAM, 0));
  const sockaddr_in address = loopback(port);
  if (socket.get() < 0 ||
      ::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address),
                sizeof address) != 0) {
    throw_system_error("connect");
  }
  return unbuffered(std::move(socket));
}

void send_all(int socket, const char* bytes, std::size_t size) {
  while (size > 0) {
    const ssize_t sent = ::send(socket, bytes, size, 0);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) throw_system_error("send");
    bytes += sent;
    size -= static_cast<std::size_t>(sent);
  }
}

// Moves what `from` has now to `to`, in small pieces; false at the end of
// `from`, which then reaches `to` as the end of its input.
bool forward(int from, int to) {
  char buffer[4096];
  const ssize_t size = ::recv(from, buffer, sizeof buffer, 0);
  if (size < 0 && errno == EINTR) return true;
  if (size < 0) throw_system_error("receive");
  if (size == 0) {
    ::shutdown(to, SHUT_WR);
    return false;
  }

  static std::size_t turn = 0;
  for (ssize_t done = 0; done < size;) {
    const auto piece = std::min<ssize_t>(size - done, 1 + turn++ % 7);
    send_all(to, buffer + done, static_cast<std::size_t>(piece));
    done += piece;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return true;
}

void relay(int client, int server) {
  pollfd entries[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};

  while (entries[0].fd >= 0 || entries[1].fd >= 0) {
    if (::poll(entries, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw_system_error("poll");
    }
    if (entries[0].revents && !forward(client, server)) entries[0].fd = -1;
    if (entries[1].revents && !forward(server, client)) entries[1].fd = -1;
  }
}

void run(unsigned short target) {
  // A peer that resets its connection then fails send() with EPIPE instead
  // of killing the proxy with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);

  const FileDescriptor listener = listen_on_loopback();
  FileDescriptor accepted(::accept(listener.get(), nullptr, nullptr));
  if (accepted.get() < 0) throw_system_error("accept");

  const FileDescriptor client = unbuffered(std::move(accepted));
  const FileDescriptor server = connect_to_loopback(target);
  relay(client.get(), server.get());
}

}  // namespace

int main(int argc, char** argv) {
  const long target = argc == 2 ? std::strtol(argv[1], nullptr, 10) : 0;
  if (target <= 0 || target > 65535) {
    std::fprintf(stderr, "usage: fragmenting_proxy TARGET_PORT\n");
    return 2;
  }

  try {
    run(static_cast<unsigned short>(target));
    return 0;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "fragmenting_proxy: %s\n", failure.what());
    return 1;
  }
}
