// Misuse: making a client channel from a server context. The role is part of
// both types, so a context only makes channels of its own role.
//
// expected error: no matching (function for call to|constructor for
// expected error: initialization of) 'membio::Channel<membio::(Role::)?client>
#include <membio/membio.hpp>

void open_client_channel(const membio::Context<membio::server>& server_ctx) {
  const auto channel = membio::Channel<membio::client>(server_ctx, "localhost");
  static_cast<void>(channel);
}
