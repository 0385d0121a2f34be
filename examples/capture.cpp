// Records a TLS 1.3 connection between a client and a server in one process
// as a pcapng file that Wireshark decrypts with nothing else: the capture
// frames the ciphertext as TCP packets and stores the key log inside.
//
// Run it with the path of the file to write, or with no arguments to write
// loopback.pcapng in the current directory. It prints how to open the file.
#include <membio/membio.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace {

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
  membio::Capture capture(path);
  client_context.on_key_log(capture.key_log());

  // 3. One channel per side, pumped by a loopback that records every byte
  //    as it crosses: the handshake, a message each way, an orderly close.
  membio::Channel<membio::client> client(client_context, "localhost");
  membio::Channel<membio::server> server(server_context);
  membio::Loopback loopback(client, server);
  loopback.record(capture);

  loopback.handshake();
  std::printf("server got:  %s\n",
              loopback.send_to_server("hello from membio").c_str());
  std::printf("client got:  %s\n",
              loopback.send_to_client("welcome to membio").c_str());
  loopback.close();

  // 4. The capture's own close: its TCP FINs, and the file closed. Closing
  //    reports a write error that recording may have held back.
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
