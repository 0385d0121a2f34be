// Misuse: draining ciphertext into a string literal. A literal is read-only
// storage, so it must not convert to the MutableBytes that drain fills.
//
// expected error: no matching function for call to 'drain[(']
#include <membio/membio.hpp>

void drain_ciphertext(membio::Channel<membio::client>& channel) {
  static_cast<void>(membio::drain(channel, "literal"));
}
