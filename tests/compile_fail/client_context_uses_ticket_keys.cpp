// Misuse: giving a client context session ticket keys. Only a server seals
// and opens tickets; to a client they are opaque, so only Context<server>
// offers use_ticket_keys().
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*use_ticket_keys
#include <membio/membio.hpp>

void seal_tickets(membio::Context<membio::client>& client_ctx) {
  client_ctx.use_ticket_keys({membio::TicketKey::generate()});
}
