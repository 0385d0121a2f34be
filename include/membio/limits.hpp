// Limits: how much memory one channel may hold for bytes in flight.
#ifndef MEMBIO_LIMITS_HPP
#define MEMBIO_LIMITS_HPP

#include <cstddef>

namespace membio {

/// Bounds on what one channel buffers, so that a peer (or a caller) cannot
/// make it grow without end. Going over a bound is an error that takes
/// nothing and loses nothing, and leaves the channel usable: the caller
/// reads, drains, or stops, and tries again.
///
/// A bound refuses bytes on top of bytes that wait, never the first: a
/// `feed` or `write_plaintext` while nothing of its kind waits is taken
/// whole, whatever its size, since the caller holds those bytes already
/// and a call that could never succeed would help no one. A channel thus
/// holds at most the larger of the bound and the caller's largest call.
struct Limits {
  /// Ciphertext fed but not yet decrypted. `feed` refuses a call that would
  /// exceed it (`errc::input_limit`): read plaintext first. A peer sending
  /// endless incomplete records hits this bound. The default lets a
  /// transport hand over megabyte-sized messages whole; a server facing
  /// many untrusted peers should lower it and feed what each read gave.
  std::size_t max_incoming_ciphertext = 4 * 1024 * 1024;

  /// Ciphertext not yet drained. `write_plaintext` refuses a call whose
  /// plaintext, added to what waits, would exceed it
  /// (`errc::output_limit`): drain first. Record headers and tags may take
  /// the output past the bound by about 2 %. Alerts and handshake messages
  /// are never refused; instead, while the output is at the bound,
  /// `read_plaintext` takes no further record and says `send_output`, so
  /// that the answers a peer's records ask for cannot pile up either.
  std::size_t max_outgoing_ciphertext = 4 * 1024 * 1024;

  /// Plaintext written before the handshake is done, held until it is.
  /// Beyond it, `write_plaintext` reports `errc::output_limit`.
  std::size_t max_queued_plaintext = 256 * 1024;

  /// The largest certificate chain accepted from the peer, in bytes, as
  /// OpenSSL's `SSL_CTX_set_max_cert_list`; a longer one fails the
  /// handshake with "excessive message size".
  std::size_t max_certificate_chain = 100 * 1024;
};

}  // namespace membio

#endif  // MEMBIO_LIMITS_HPP
