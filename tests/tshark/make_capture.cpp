// Writes a capture of one recorded connection for check_capture.cmake:
//
//   tshark_capture FILE 1.2|1.3 client|server
//
// The connection uses the given TLS version; the key log sits on the
// client's or the server's context. The client sends "membio says hello
// over TLS <version>", the server answers "membio hears you over TLS
// <version>" and then 100 KiB of dots ending in "membio bulk data ends
// here", so that records span many TCP segments; then both close.
#include <cstddef>
#include <cstdio>
#include <exception>
#include <membio/capture.hpp>
#include <string>
#include <vector>

#include "harness.hpp"

namespace {

using membio::Capture;
using membio::Role;
using membio::Status;

template <Role R>
using Channel = membio::Channel<R>;

// Moves what `from` has to send into `to`, recording it; returns the size.
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

// Moves bytes both ways, reading on both sides, until nothing moves.
void settle(membio::test::Pair& pair, Capture& capture, std::string& read) {
  for (;;) {
    std::size_t moved = transfer(pair.client, pair.server, capture);
    moved += transfer(pair.server, pair.client, capture);
    static_cast<void>(membio::read_plaintext_into(pair.server, read));
    static_cast<void>(membio::read_plaintext_into(pair.client, read));
    if (moved == 0) return;
  }
}

void run(const std::string& path, const std::string& version,
         const std::string& side) {
  membio::test::Pair pair(version == "1.2" ? membio::TlsVersion::tls1_2
                                           : membio::TlsVersion::tls1_3);
  Capture capture(path);
  if (side == "server") {
    pair.server_context.on_key_log(capture.key_log());
  } else {
    pair.client_context.on_key_log(capture.key_log());
  }

  std::string read;
  static_cast<void>(membio::handshake(pair.client));
  settle(pair, capture, read);
  const std::string hello = "membio says hello over TLS " + version;
  static_cast<void>(membio::write_plaintext(pair.client, hello));
  settle(pair, capture, read);
  const std::string answer = "membio hears you over TLS " + version +
                             std::string(100 * 1024, '.') +
                             "membio bulk data ends here";
  static_cast<void>(membio::write_plaintext(pair.server, answer));
  settle(pair, capture, read);

  static_cast<void>(membio::close(pair.client));
  settle(pair, capture, read);
  static_cast<void>(membio::close(pair.server));
  settle(pair, capture, read);
  capture.close();

  if (read != hello + answer) {
    throw std::runtime_error("the peers read \"" + read + "\"");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: tshark_capture FILE 1.2|1.3 client|server\n");
    return 2;
  }

  try {
    run(argv[1], argv[2], argv[3]);
    return 0;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "tshark_capture: %s\n", failure.what());
  }
  return 1;
}
