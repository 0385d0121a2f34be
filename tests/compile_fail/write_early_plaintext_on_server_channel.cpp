// Misuse: writing early data (0-RTT) on a server channel. Early data goes
// with a resuming client's first flight; a server only reads it, so
// write_early_plaintext() takes only a Channel<client>.
//
// expected error: no matching function for call to
// expected error: 'write_early_plaintext[(']
#include <membio/membio.hpp>

void write_early(membio::Channel<membio::server>& channel) {
  static_cast<void>(membio::write_early_plaintext(channel, "early"));
}
