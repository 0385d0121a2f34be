// Misuse: telling a client context what to do on an ALPN mismatch. Only a
// server chooses the protocol, so only Context<server> takes an AlpnMismatch;
// a client just lists the protocols it offers.
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*set_alpn_protocols
#include <membio/membio.hpp>

void offer_protocols(membio::Context<membio::client>& client_ctx) {
  client_ctx.set_alpn_protocols({"h2"}, membio::AlpnMismatch::refuse);
}
