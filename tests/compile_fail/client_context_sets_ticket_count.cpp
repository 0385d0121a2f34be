// Misuse: setting the session ticket count on a client context. A server
// issues tickets and a client only keeps them, so only Context<server>
// offers set_ticket_count().
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*set_ticket_count
#include <membio/membio.hpp>

void count_tickets(membio::Context<membio::client>& client_ctx) {
  client_ctx.set_ticket_count(1);
}
