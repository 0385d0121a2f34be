// Optional callbacks a user installs to watch or steer a connection.
#ifndef MEMBIO_HOOKS_HPP
#define MEMBIO_HOOKS_HPP

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

#include "bytes.hpp"
#include "certificate.hpp"
#include "error.hpp"

namespace membio {

/// What a verify callback sees for one certificate of the peer's chain.
struct VerifyStep {
  /// The certificate being checked.
  Certificate certificate;

  /// Its place in the chain: 0 is the peer's own, larger is nearer the root.
  int depth = 0;

  /// OpenSSL's verdict on this certificate so far.
  bool openssl_accepts = false;

  /// OpenSSL's `X509_V_ERR_*` value; `X509_V_OK` when it accepts.
  int openssl_error = 0;

  /// OpenSSL's text for `openssl_error`, e.g. "certificate has expired".
  std::string openssl_error_text;
};

/// Decides for each certificate of the peer's chain, from the root down to
/// the peer's own; returning false rejects the peer and fails the handshake.
///
/// It runs inside the handshake call on the channel's thread and must not
/// call back into that channel. An exception it throws rejects the peer and
/// its message appears in the handshake's error.
using VerifyCallback = std::function<bool(const VerifyStep&)>;

/// Receives one line of the NSS key log format ("CLIENT_RANDOM ...",
/// "CLIENT_HANDSHAKE_TRAFFIC_SECRET ...", without a newline), the format
/// Wireshark reads to decrypt a capture.
///
/// The lines are the connection's secrets: whoever holds them can decrypt
/// the traffic. Install a key log only to debug, never in production. It
/// runs on the thread of the channel whose handshake made the secret.
///
/// The key log only watches: an exception it throws is caught and dropped,
/// the handshake goes on, and no error message mentions it. A callback that
/// must not lose lines should keep its own record of what failed.
using KeyLogCallback = std::function<void(std::string_view line)>;

/// One TLS protocol message that a channel sent or received.
struct ProtocolMessage {
  /// True when this side sent it, false when it came from the peer.
  bool sent = false;

  /// Its record content type: 21 alert, 22 handshake.
  int content_type = 0;

  /// For a handshake message its type, as RFC 8446 and RFC 5246 number
  /// them (1 client_hello, 2 server_hello, 4 new_session_ticket, 8
  /// encrypted_extensions, 11 certificate, 12 server_key_exchange, 13
  /// certificate_request, 14 server_hello_done, 15 certificate_verify, 16
  /// client_key_exchange, 20 finished, 24 key_update); -1 otherwise.
  int handshake_type = -1;

  /// The message without its record header, decrypted; valid only during
  /// the call.
  ConstBytes bytes;
};

/// Sees each handshake message and alert a channel sends or receives, in
/// order; application data and change_cipher_spec are not traced. It runs
/// inside the call that sent or read the message, on the channel's thread,
/// and must not call back into that channel. It only watches: an exception
/// it throws is caught and dropped, and the connection goes on.
using MessageCallback = std::function<void(const ProtocolMessage& message)>;

namespace detail {

// Opens `path` for appending, creating it readable and writable by its
// owner alone (mode 0600, less the umask); null with errno set on failure.
inline std::FILE* open_owner_only(const std::string& path) noexcept {
  const int descriptor =
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (descriptor < 0) return nullptr;

  std::FILE* file = ::fdopen(descriptor, "a");
  if (!file) {
    const int cause = errno;
    ::close(descriptor);
    errno = cause;
  }
  return file;
}

}  // namespace detail

/// Makes a key log callback that appends each line to the file at `path`,
/// one line at a time, safe to share by channels on several threads. A
/// missing file is created readable and writable by its owner only (mode
/// 0600), since its lines decrypt the traffic; an existing file keeps its
/// mode. Throws `membio::error` (a `std::system_error`) when the file
/// cannot be opened. Wraps POSIX `open` and `fdopen`.
inline KeyLogCallback append_key_log_to(const std::string& path) {
  struct File {
    std::mutex lock;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> handle{nullptr,
                                                           &std::fclose};
  };

  auto file = std::make_shared<File>();
  file->handle.reset(detail::open_owner_only(path));
  if (!file->handle) {
    const std::error_code code(errno, std::generic_category());
    detail::throw_if_error(code,
                           "append key log to " + path + ": " + code.message());
  }

  return [file](std::string_view line) {
    const std::lock_guard<std::mutex> guard(file->lock);
    std::fwrite(line.data(), 1, line.size(), file->handle.get());
    std::fputc('\n', file->handle.get());
    std::fflush(file->handle.get());
  };
}

}  // namespace membio

#endif  // MEMBIO_HOOKS_HPP
