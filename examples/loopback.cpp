// A TLS 1.3 connection between a client and a server in one process, with
// no network and no files: the loop below moves the ciphertext by hand, the
// way a program moves it over a socket, a pipe or a message queue.
//
// Run it with no arguments. It prints what the handshake agreed on, the
// server's certificate as the client sees it, a message each way, and how
// both sides closed.
#include <membio/membio.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>
#include <string_view>

namespace {

using membio::Channel;
using membio::Role;
using membio::Status;

// Moves all the ciphertext waiting in `from` to `to`; returns how many bytes
// moved. With a network, the drain would end in send() and the feed would
// start from recv() on the other side.
template <Role From, Role To>
std::size_t transfer(Channel<From>& from, Channel<To>& to) {
  unsigned char buffer[4096];
  std::size_t moved = 0;

  while (const std::size_t size = membio::drain(from, buffer)) {
    membio::feed(to, membio::ConstBytes(buffer, size));
    moved += size;
  }
  return moved;
}

// Drives both handshakes until each reports `done`. Each call says what it
// needs next; here the answer is always to move the bytes across and call
// again. A round that moves nothing while a side still waits would never
// end, so it counts as an error.
void run_handshake(Channel<membio::client>& client,
                   Channel<membio::server>& server) {
  for (;;) {
    const Status client_status = membio::handshake(client);
    std::size_t moved = transfer(client, server);

    const Status server_status = membio::handshake(server);
    moved += transfer(server, client);

    if (client_status == Status::done && server_status == Status::done) return;
    if (moved == 0) {
      throw membio::error(membio::errc::stalled, "handshake: stalled");
    }
  }
}

// Writes `text` on one side and returns what the other side reads of it.
template <Role From, Role To>
std::string send(Channel<From>& from, Channel<To>& to, std::string_view text) {
  static_cast<void>(membio::write_plaintext(from, text));
  transfer(from, to);

  std::string received;
  static_cast<void>(membio::read_plaintext_into(to, received));
  return received;
}

// Sends close_notify from `closer`; the peer reads it and reports `closed`.
template <Role From, Role To>
void close_from(Channel<From>& closer, Channel<To>& peer) {
  static_cast<void>(membio::close(closer));
  transfer(closer, peer);

  std::string rest;
  static_cast<void>(membio::read_plaintext_into(peer, rest));
}

// A point in time as "YYYY-MM-DD HH:MM:SS UTC".
std::string utc(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  char text[32] = {};
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC",
                std::gmtime(&seconds));
  return text;
}

// What the client learned about the server during the handshake.
void print_session(const Channel<membio::client>& client) {
  const membio::Certificate peer = client.peer_certificate();
  std::printf("protocol:      %s\n", client.protocol_version().c_str());
  std::printf("cipher suite:  %s\n", client.cipher_suite().c_str());
  std::printf("key exchange:  %s\n", client.key_exchange_group().c_str());

  std::printf("subject:       %s\n", peer.subject().c_str());
  std::printf("issuer:        %s\n", peer.issuer().c_str());
  std::printf("serial:        %s\n", peer.serial_number().c_str());
  std::printf("not before:    %s\n", utc(peer.not_before()).c_str());
  std::printf("not after:     %s\n", utc(peer.not_after()).c_str());
  std::printf("sha-256:       %s\n", peer.sha256_fingerprint_hex().c_str());
  std::string alt_names;
  for (const std::string& name : peer.subject_alt_names()) {
    alt_names += (alt_names.empty() ? "" : ", ") + name;
  }
  std::printf("alt names:     %s\n", alt_names.c_str());
  std::printf("chain length:  %zu\n", client.verified_chain().size());
}

void run() {
  // 1. A throwaway identity for "localhost": a self-signed certificate and
  //    its key, made in memory.
  const membio::Identity identity = membio::make_self_signed();

  // 2. The server presents that identity; the client trusts exactly that
  //    certificate and nothing else.
  membio::Context<membio::server> server_context;
  server_context.use_identity_pem(identity.certificate_chain_pem,
                                  identity.private_key_pem);
  membio::Context<membio::client> client_context;
  client_context.trust_pem(identity.certificate_chain_pem);

  // 3. One channel per side. The client names the host it expects, which
  //    the server's certificate must match.
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);

  // 4. The handshake, then what it agreed on.
  run_handshake(client, server);
  print_session(client);

  // 5. A message each way.
  std::printf("server got:    %s\n", send(client, server, "hello").c_str());
  std::printf("client got:    %s\n", send(server, client, "welcome").c_str());

  // 6. An orderly close: each side sends close_notify and reads the other's.
  close_from(client, server);
  close_from(server, client);
  std::printf("server close:  %s\n", membio::to_string(server.close_state()));
  std::printf("client close:  %s\n", membio::to_string(client.close_state()));
}

}  // namespace

int main() {
  // Every failure arrives as membio::error, whose message names the step
  // and OpenSSL's reasons.
  try {
    run();
    return 0;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "loopback: %s\n", failure.what());
  }
  return 1;
}
