// The POSIX pieces the socket examples share: a descriptor that closes
// itself, errors from errno, non-blocking mode, name lookup, and poll()
// timeouts. None of it is TLS; the channels do all of that.
#ifndef MEMBIO_EXAMPLES_SUPPORT_POSIX_HPP
#define MEMBIO_EXAMPLES_SUPPORT_POSIX_HPP

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace examples {

using Clock = std::chrono::steady_clock;

[[noreturn]] inline void throw_system_error(const std::string& operation) {
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

// Makes `fd` non-blocking. Linux's SOCK_NONBLOCK, accept4 and pipe2 would
// do it as the descriptor is made, but they are not POSIX.
inline void make_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    throw_system_error("fcntl");
  }
}

struct AddressListDeleter {
  void operator()(addrinfo* list) const noexcept { ::freeaddrinfo(list); }
};

using AddressList = std::unique_ptr<addrinfo, AddressListDeleter>;

// The TCP addresses of `host` and `port`, IPv4 and IPv6, in the resolver's
// order; `flags` go to getaddrinfo() as they are.
inline AddressList resolve(const std::string& host, const std::string& port,
                           int flags = 0) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;

  addrinfo* found = nullptr;
  const int status = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (status != 0) {
    throw std::runtime_error("resolve " + host + ": " + ::gai_strerror(status));
  }
  return AddressList(found);
}

// Milliseconds from now until `deadline`, rounded up so that poll() does not
// wake just before it; 0 once it has passed.
inline int milliseconds_until(Clock::time_point deadline) {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX));
}

}  // namespace examples

#endif  // MEMBIO_EXAMPLES_SUPPORT_POSIX_HPP
