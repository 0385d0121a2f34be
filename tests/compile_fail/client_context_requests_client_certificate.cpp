// Misuse: a client context asking its peer for a client certificate. Only
// a server asks for one, so only Context<server> offers
// request_client_certificate().
//
// expected error: no matching (member )?function for call to
// expected error: '[^']*request_client_certificate
#include <membio/membio.hpp>

void request_certificate(membio::Context<membio::client>& client_ctx) {
  client_ctx.request_client_certificate(membio::ClientCertificate::required);
}
