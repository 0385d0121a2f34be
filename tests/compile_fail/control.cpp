// The control for the compile-fail tests: every call the misuse files get
// wrong, made the right way. It must compile, so that a misuse file failing
// proves the misuse is rejected, not that the headers or flags are broken.
#include <membio/membio.hpp>

#include <string>
#include <utility>

// A server channel takes no server name: it learns the name the client asks
// for from the handshake.
void open_server_channel(const membio::Context<membio::server>& server_ctx) {
  const auto channel = membio::Channel<membio::server>(server_ctx);
  static_cast<void>(channel);
}

// A client channel comes from a client context, with the name to verify.
void open_client_channel(const membio::Context<membio::client>& client_ctx) {
  const auto channel = membio::Channel<membio::client>(client_ctx, "localhost");
  static_cast<void>(channel);
}

// Only a client checks its peer by default, so only a client can skip it.
void skip_verification(membio::Context<membio::client>& client_ctx) {
  client_ctx.insecure_skip_verification();
}

// Ciphertext and plaintext land in buffers the caller can write.
void drain_and_read(membio::Channel<membio::client>& channel) {
  unsigned char ciphertext[64];
  std::string plaintext(64, '\0');

  static_cast<void>(membio::drain(channel, ciphertext));
  static_cast<void>(membio::read_plaintext(channel, plaintext));
}

// Channels and contexts own OpenSSL objects: they move, they do not copy.
void move_channel(membio::Channel<membio::client>& channel) {
  const membio::Channel<membio::client> moved(std::move(channel));
  static_cast<void>(moved);
}

void move_context(membio::Context<membio::client>& context) {
  const membio::Context<membio::client> moved(std::move(context));
  static_cast<void>(moved);
}
