// Misuse: enabling the acceptance of early data (0-RTT) on a client
// context. A server decides whether it takes early data; a client sends it
// with write_early_plaintext(), so only Context<server> offers
// enable_early_data().
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*enable_early_data
#include <membio/membio.hpp>

#include <string_view>

void accept_early_data(membio::Context<membio::client>& client_ctx) {
  client_ctx.enable_early_data(1024, [](std::string_view) { return true; });
}
