// Misuse: reading plaintext into a const buffer. MutableBytes must not view
// const data, or read_plaintext would write through a const object.
//
// expected error: no matching function for call to 'read_plaintext[(']
#include <membio/membio.hpp>

#include <string>

void read_into_const(membio::Channel<membio::client>& channel) {
  const std::string plaintext(64, '\0');
  static_cast<void>(membio::read_plaintext(channel, plaintext));
}
