// The control for the compile-fail tests: every call the misuse files get
// wrong, made the right way. It must compile, so that a misuse file failing
// proves the misuse is rejected, not that the headers or flags are broken.
#include <membio/membio.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// A client offers ALPN protocols; a server chooses among them and decides
// what a mismatch does.
void set_alpn(membio::Context<membio::client>& client_ctx,
              membio::Context<membio::server>& server_ctx) {
  client_ctx.set_alpn_protocols({"h2", "http/1.1"});
  server_ctx.set_alpn_protocols({"h2"}, membio::AlpnMismatch::refuse);
}

// A server answers the name a client sends.
void answer_server_name(membio::Context<membio::server>& server_ctx) {
  server_ctx.on_server_name(
      [](std::string_view) { return membio::ServerNameAnswer::accept(); });
}

// A server asks for client certificates, during the handshake or after it,
// and a client allows the request after the handshake.
void authenticate_clients(membio::Context<membio::server>& server_ctx,
                          membio::Context<membio::client>& client_ctx,
                          membio::Channel<membio::server>& channel) {
  server_ctx.request_client_certificate(membio::ClientCertificate::required);
  client_ctx.allow_post_handshake_auth();
  static_cast<void>(membio::request_client_certificate(
      channel, membio::ClientCertificate::required));
}

// A client saves its session, restores it and sends early data.
void resume(membio::Channel<membio::client>& channel,
            const std::vector<unsigned char>& saved) {
  static_cast<void>(membio::save_session(channel));
  membio::restore_session(channel, saved);
  static_cast<void>(membio::write_early_plaintext(channel, "early"));
}

// A server issues tickets, seals them with its keys and takes early data.
void issue_tickets(membio::Context<membio::server>& server_ctx) {
  server_ctx.set_ticket_count(1);
  server_ctx.use_ticket_keys({membio::TicketKey::generate()});
  server_ctx.enable_early_data(1024, [](std::string_view) { return true; });
}

// A server keeps sessions in memory instead, or none at all.
void keep_sessions(membio::Context<membio::server>& server_ctx) {
  server_ctx.use_session_cache(16);
  server_ctx.disable_resumption();
}
