// Misuse: saving a session from a server channel. A client saves the
// session it will resume; a server keeps sessions in tickets or its cache,
// so save_session() takes only a Channel<client>.
//
// expected error: no matching function for call to 'save_session[(']
#include <membio/membio.hpp>

void save(const membio::Channel<membio::server>& channel) {
  static_cast<void>(membio::save_session(channel));
}
