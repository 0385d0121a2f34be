// Mutual TLS in one process: a small certificate authority made in memory
// issues one identity to a server and one to a client, and each side
// verifies the other's before a byte of plaintext moves.
//
// Run it with no arguments. It prints each identity as the other side sees
// it (subject, issuer, fingerprint), a message each way, and how both sides
// closed.
#include <membio/membio.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace {

using membio::Channel;
using membio::Context;

// Issues a leaf for `common_name`; a client checks a server's host name
// against its alt names, so only the server's needs any.
membio::Identity issue(const membio::CertificateAuthority& authority,
                       std::string common_name,
                       std::vector<std::string> alt_names) {
  membio::CertificateOptions options;
  options.common_name = std::move(common_name);
  options.alt_names = std::move(alt_names);
  return authority.issue(options);
}

// The server presents its identity and refuses any client whose
// certificate the authority did not issue.
Context<membio::server> make_server_context(
    const membio::CertificateAuthority& authority,
    const membio::Identity& identity) {
  Context<membio::server> context;
  context.use_identity_pem(identity.certificate_chain_pem,
                           identity.private_key_pem);

  context.trust_pem(authority.certificate_pem());
  context.request_client_certificate(membio::ClientCertificate::required);
  return context;
}

// The client presents its identity when asked and verifies the server
// against the same authority.
Context<membio::client> make_client_context(
    const membio::CertificateAuthority& authority,
    const membio::Identity& identity) {
  Context<membio::client> context;
  context.use_identity_pem(identity.certificate_chain_pem,
                           identity.private_key_pem);

  context.trust_pem(authority.certificate_pem());
  return context;
}

// One side's view of the other's certificate, checked during the handshake.
void print_peer(const char* heading, const membio::Certificate& peer,
                std::size_t chain_length) {
  std::string alt_names;
  for (const std::string& name : peer.subject_alt_names()) {
    alt_names += (alt_names.empty() ? "" : ", ") + name;
  }

  std::printf("%s\n", heading);
  std::printf("  subject:     %s\n", peer.subject().c_str());
  std::printf("  issuer:      %s\n", peer.issuer().c_str());
  std::printf("  sha-256:     %s\n", peer.sha256_fingerprint_hex().c_str());
  std::printf("  alt names:   %s\n",
              alt_names.empty() ? "-" : alt_names.c_str());
  std::printf("  chain:       %zu certificates\n", chain_length);
}

void run() {
  // 1. A certificate authority, and an identity for each side issued by it:
  //    the server's for the host name the client will ask for, the
  //    client's for a name the server can recognise it by.
  const membio::CertificateAuthority authority("membio example CA");
  const membio::Identity server_identity =
      issue(authority, "server.example", {"DNS:server.example"});
  const membio::Identity client_identity = issue(authority, "client-42", {});

  // 2. Each side presents its identity and trusts the authority; the
  //    server requires a client certificate.
  const Context<membio::server> server_context =
      make_server_context(authority, server_identity);
  const Context<membio::client> client_context =
      make_client_context(authority, client_identity);

  // 3. One channel per side; the client names the server it expects. The
  //    loopback moves the ciphertext between them in this process, where
  //    a real program would send it over its own transport.
  Channel<membio::client> client(client_context, "server.example");
  Channel<membio::server> server(server_context);
  membio::Loopback loopback(client, server);

  // 4. The handshake: it fails unless each side accepts the other's
  //    certificate.
  loopback.handshake();
  std::printf("protocol:      %s\n", client.protocol_version().c_str());
  print_peer("server sees the client:", server.peer_certificate(),
             server.verified_chain().size());
  print_peer("client sees the server:", client.peer_certificate(),
             client.verified_chain().size());

  // 5. A message each way.
  std::printf("server got:    %s\n",
              loopback.send_to_server("hello from client-42").c_str());
  std::printf("client got:    %s\n",
              loopback.send_to_client("hello, client-42").c_str());

  // 6. An orderly close: each side sends close_notify and reads the other's.
  loopback.close();
  std::printf("closed:        client %s, server %s\n",
              membio::to_string(client.close_state()),
              membio::to_string(server.close_state()));
}

}  // namespace

int main() {
  // Every failure arrives as membio::error, whose message names the step
  // and OpenSSL's reasons, e.g. "handshake: peer did not return a
  // certificate".
  try {
    run();
    return 0;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "mutual_tls: %s\n", failure.what());
    return 1;
  }
}
