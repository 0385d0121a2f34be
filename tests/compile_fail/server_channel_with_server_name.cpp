// Misuse: giving a server channel a server name. Sending a name (SNI) and
// checking the peer's certificate against it are a client's job, so
// Channel<server> has no constructor taking one.
//
// expected error: no matching (function for call to|constructor for
// expected error: initialization of) 'membio::Channel<membio::(Role::)?server>
#include <membio/membio.hpp>

void open_server_channel(const membio::Context<membio::server>& server_ctx) {
  const auto channel =
      membio::Channel<membio::server>(server_ctx, "example.com");
  static_cast<void>(channel);
}
