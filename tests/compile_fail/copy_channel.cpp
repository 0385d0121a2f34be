// Misuse: copying a channel. A channel owns one SSL object and its buffers;
// a copy would share or double-free them, so Channel is move-only.
//
// expected error: (use of deleted function|call to
// expected error: implicitly-deleted copy constructor of)
// expected error: '(const )?membio::Channel<membio::(Role::)?client>
#include <membio/membio.hpp>

void copy_channel(const membio::Channel<membio::client>& channel) {
  const membio::Channel<membio::client> copy(channel);
  static_cast<void>(copy);
}
