// Misuse: installing a server name callback on a client context. A client
// sends the name (SNI); only a server answers it, so only Context<server>
// offers on_server_name().
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*on_server_name
#include <membio/membio.hpp>

#include <string_view>

void answer_server_name(membio::Context<membio::client>& client_ctx) {
  client_ctx.on_server_name(
      [](std::string_view) { return membio::ServerNameAnswer::accept(); });
}
