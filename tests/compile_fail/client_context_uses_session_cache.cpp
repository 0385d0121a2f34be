// Misuse: keeping a session cache on a client context. A server keeps
// sessions for the clients that resume them; a client keeps its own with
// current_session(), so only Context<server> offers use_session_cache().
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*use_session_cache
#include <membio/membio.hpp>

void cache_sessions(membio::Context<membio::client>& client_ctx) {
  client_ctx.use_session_cache(16);
}
