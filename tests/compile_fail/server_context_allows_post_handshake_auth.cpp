// Misuse: allowing post-handshake authentication on a server context. A
// client allows a server to ask for its certificate after the handshake,
// so only Context<client> offers allow_post_handshake_auth().
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*allow_post_handshake_auth
#include <membio/membio.hpp>

void allow_later_auth(membio::Context<membio::server>& server_ctx) {
  server_ctx.allow_post_handshake_auth();
}
