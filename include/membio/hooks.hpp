// Optional callbacks a user installs to watch or steer a connection.
#ifndef MEMBIO_HOOKS_HPP
#define MEMBIO_HOOKS_HPP

#include <functional>
#include <string>

#include "certificate.hpp"

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

}  // namespace membio

#endif  // MEMBIO_HOOKS_HPP
