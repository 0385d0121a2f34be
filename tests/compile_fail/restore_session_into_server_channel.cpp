// Misuse: restoring a session into a server channel. Only a client offers a
// saved session for resumption, so restore_session() takes only a
// Channel<client>.
//
// expected error: no matching function for call to 'restore_session[(']
#include <membio/membio.hpp>

#include <vector>

void restore(membio::Channel<membio::server>& channel,
             const std::vector<unsigned char>& saved) {
  membio::restore_session(channel, saved);
}
