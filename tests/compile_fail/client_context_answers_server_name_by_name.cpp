// Misuse: reaching the server-only on_server_name() on a client context by
// naming the role as a template argument. The role check must hold even
// when the caller spells the template argument out.
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*on_server_name
#include <membio/membio.hpp>

#include <string_view>

void answer_server_name(membio::Context<membio::client>& client_ctx) {
  client_ctx.on_server_name<membio::server>(
      [](std::string_view) { return membio::ServerNameAnswer::accept(); });
}
