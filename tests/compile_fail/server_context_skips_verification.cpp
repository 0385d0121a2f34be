// Misuse: turning off certificate checks on a server context. Only a client
// verifies its peer by default, so only Context<client> offers
// insecure_skip_verification().
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*insecure_skip_verification
#include <membio/membio.hpp>

void skip_verification(membio::Context<membio::server>& server_ctx) {
  server_ctx.insecure_skip_verification();
}
