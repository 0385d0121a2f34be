// Records a TLS 1.3 connection between a client and a server in one process
// as a pcapng file that Wireshark decrypts with nothing else: the capture
// frames the ciphertext as TCP packets and stores the key log inside.
//
// Run it with the path of the file to write, or with no arguments to write
// loopback.pcapng in the current directory. It prints how to open the file.
#include <cstddef>
#include <cstdio>
#include <exception>
#include <membio/membio.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

using membio::Capture;
using membio::Channel;
using membio::Role;
using membio::Status;

// Moves all the ciphertext waiting in `from` to `to`, and records it in the
// capture on the way, as a program would right before send(); returns how
// many bytes moved.
template <Role From, Role To>
std::size_t transfer(Channel<From>& from, Channel<To>& to, Capture& capture) {
  const std::vector<unsigned char> flight = membio::drain_all(from);
  if (flight.empty()) return 0;

  if constexpr (From == Role::client) {
    capture.client_to_server(flight);
  } else {
    capture.server_to_client(flight);
  }
  membio::feed(to, flight);
  return flight.size();
}

// Drives both handshakes until each reports `done`, recording every flight.
void run_handshake(Channel<membio::client>& client,
                   Channel<membio::server>& server, Capture& capture) {
  for (;;) {
    const Status client_status = membio::handshake(client);
    std::size_t moved = transfer(client, server, capture);

    const Status server_status = membio::handshake(server);
    moved += transfer(server, client, capture);

    if (client_status == Status::done && server_status == Status::done) return;
    if (moved == 0) {
      throw membio::error(membio::errc::stalled, "handshake: stalled");
    }
  }
}

// Writes `text` on one side and returns what the other side reads of it.
template <Role From, Role To>
std::string send(Channel<From>& from, Channel<To>& to, Capture& capture,
                 std::string_view text) {
  static_cast<void>(membio::write_plaintext(from, text));
  transfer(from, to, capture);

  std::string received;
  static_cast<void>(membio::read_plaintext_into(to, received));
  return received;
}

// Sends close_notify from `closer`; the peer reads it and reports `closed`.
template <Role From, Role To>
void close_from(Channel<From>& closer, Channel<To>& peer, Capture& capture) {
  static_cast<void>(membio::close(closer));
  transfer(closer, peer, capture);

  std::string rest;
  static_cast<void>(membio::read_plaintext_into(peer, rest));
}

void run(const std::string& path) {
  // 1. A throwaway identity for "localhost", and contexts for both ends.
  const membio::Identity identity = membio::make_self_signed();
  membio::Context<membio::server> server_context;
  server_context.use_identity_pem(identity.certificate_chain_pem,
                                  identity.private_key_pem);
  membio::Context<membio::client> client_context;
  client_context.trust_pem(identity.certificate_chain_pem);

  // 2. The capture, and its key log on the client's context, installed
  //    before the handshake so that every secret reaches the file.
  Capture capture(path);
  client_context.on_key_log(capture.key_log());

  // 3. One channel per side; the handshake and a message each way, every
  //    byte recorded as it crosses.
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);
  run_handshake(client, server, capture);
  std::printf("server got:  %s\n",
              send(client, server, capture, "hello from membio").c_str());
  std::printf("client got:  %s\n",
              send(server, client, capture, "welcome to membio").c_str());

  // 4. An orderly close each way, then the capture's: its TCP FINs, and
  //    the file closed. Closing reports a write error that recording may
  //    have held back.
  close_from(client, server, capture);
  close_from(server, client, capture);
  capture.close();

  std::printf("wrote:       %s (%s, %s)\n", path.c_str(),
              client.protocol_version().c_str(), client.cipher_suite().c_str());
  std::printf("open it:     wireshark %s\n", path.c_str());
  std::printf("or read it:  tshark -r %s -q -z follow,tls,ascii,0\n",
              path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "loopback.pcapng";

  // Every failure arrives as membio::error, whose message names the step
  // and the reason (for the file, its path).
  try {
    run(path);
    return 0;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "capture: %s\n", failure.what());
  }
  return 1;
}
