// Misuse: a client channel asking for a certificate after the handshake.
// Post-handshake authentication is the server's request to the client, so
// request_client_certificate() takes only a Channel<server>.
//
// expected error: no matching function for call to
// expected error: 'request_client_certificate[(']
#include <membio/membio.hpp>

void request_certificate(membio::Channel<membio::client>& channel) {
  static_cast<void>(membio::request_client_certificate(
      channel, membio::ClientCertificate::required));
}
