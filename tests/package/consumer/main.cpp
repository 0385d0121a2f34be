// A program using membio from outside its source tree, built by the packaging
// tests through find_package(), add_subdirectory() and pkg-config. It runs a
// real TLS exchange in memory, so that a passing build proves the headers
// compile and that membio links against a working OpenSSL; it exits 0 only
// if the message arrived and both sides closed cleanly.
#include <membio/membio.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace {

// Connects a client to a server that presents a throwaway certificate,
// sends one message and closes both ends; returns whether all went well.
bool exchange_one_message() {
  const membio::Identity identity = membio::make_self_signed();

  membio::Context<membio::server> server_context;
  server_context.use_identity_pem(identity.certificate_chain_pem,
                                  identity.private_key_pem);
  membio::Context<membio::client> client_context;
  client_context.trust_pem(identity.certificate_chain_pem);

  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  membio::Loopback loopback(client, server);

  loopback.handshake();
  const std::string received = loopback.send_to_server("hello");
  loopback.close();

  return received == "hello" &&
         client.close_state() == membio::CloseState::closed &&
         server.close_state() == membio::CloseState::closed;
}

}  // namespace

int main() {
  // The macros and the constants must agree, whichever way the headers
  // were found.
  const bool same_version = membio::version_major == MEMBIO_VERSION_MAJOR &&
                            membio::version_minor == MEMBIO_VERSION_MINOR &&
                            membio::version_patch == MEMBIO_VERSION_PATCH;
  if (!same_version) {
    std::fprintf(stderr, "membio_consumer: version macros disagree\n");
    return 1;
  }

  try {
    if (exchange_one_message()) return 0;
    std::fprintf(stderr, "membio_consumer: message lost or not closed\n");
  } catch (const membio::error& failure) {
    std::fprintf(stderr, "membio_consumer: %s\n", failure.what());
  }
  return 1;
}
