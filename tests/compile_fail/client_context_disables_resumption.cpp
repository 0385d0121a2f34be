// Misuse: turning resumption off on a client context. A server decides
// whether it issues tickets and keeps sessions; a client that wants no
// resumption simply restores no session, so only Context<server> offers
// disable_resumption().
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*disable_resumption
#include <membio/membio.hpp>

void refuse_resumption(membio::Context<membio::client>& client_ctx) {
  client_ctx.disable_resumption();
}
