// TicketKey: a key a server seals its session tickets with.
#ifndef MEMBIO_TICKET_KEY_HPP
#define MEMBIO_TICKET_KEY_HPP

#include <array>

#include "detail/openssl.hpp"

namespace membio {

/// One session ticket key: the name that tickets carry so the server can
/// find the key again, an AES-256 key that encrypts them and an
/// HMAC-SHA256 key that authenticates them.
///
/// Whoever holds these bytes can open every ticket sealed with them and so
/// decrypt the sessions resumed from those tickets: keep them secret,
/// replace them regularly, and make them with `TicketKey::generate()`.
struct TicketKey {
  std::array<unsigned char, 16> name{};
  std::array<unsigned char, 32> aes_key{};
  std::array<unsigned char, 32> hmac_key{};

  /// A key made of fresh random bytes; all zeros if OpenSSL's random
  /// generator fails, which `valid()` then reports.
  static TicketKey generate() noexcept {
    TicketKey key;
    const bool ok =
        RAND_bytes(key.name.data(), static_cast<int>(key.name.size())) == 1 &&
        RAND_bytes(key.aes_key.data(), static_cast<int>(key.aes_key.size())) ==
            1 &&
        RAND_bytes(key.hmac_key.data(),
                   static_cast<int>(key.hmac_key.size())) == 1;
    return ok ? key : TicketKey{};
  }

  /// Whether the key holds anything but zeros.
  bool valid() const noexcept {
    for (const unsigned char byte : aes_key) {
      if (byte != 0) return true;
    }
    return false;
  }
};

}  // namespace membio

#endif  // MEMBIO_TICKET_KEY_HPP
