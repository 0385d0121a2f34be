// Misuse: reaching the client-only insecure_skip_verification() on a server
// context by naming the role as a template argument. The role check must
// hold even when the caller spells the template argument out.
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*insecure_skip_verification
#include <membio/membio.hpp>

void skip_verification(membio::Context<membio::server>& server_ctx) {
  server_ctx.insecure_skip_verification<membio::client>();
}
