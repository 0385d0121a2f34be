// Writes a capture of one recorded connection for check_capture.cmake:
//
//   tshark_capture FILE 1.2|1.3 client|server
//
// The connection uses the given TLS version; the key log sits on the
// client's or the server's context. A loopback pumps the connection and
// records it: the client sends "membio says hello over TLS <version>", the
// server answers "membio hears you over TLS <version>" and then 100 KiB of
// dots ending in "membio bulk data ends here", so that records span many
// TCP segments; then both close.
#include <membio/capture.hpp>
#include <membio/loopback.hpp>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include "harness.hpp"

namespace {

void run(const std::string& path, const std::string& version,
         const std::string& side) {
  membio::test::Pair pair(version == "1.2" ? membio::TlsVersion::tls1_2
                                           : membio::TlsVersion::tls1_3);
  membio::Capture capture(path);
  if (side == "server") {
    pair.server_context.on_key_log(capture.key_log());
  } else {
    pair.client_context.on_key_log(capture.key_log());
  }
  membio::Loopback loopback(pair.client, pair.server);
  loopback.record(capture);

  const std::string hello = "membio says hello over TLS " + version;
  std::string read = loopback.send_to_server(hello);
  const std::string answer = "membio hears you over TLS " + version +
                             std::string(100 * 1024, '.') +
                             "membio bulk data ends here";
  read += loopback.send_to_client(answer);
  loopback.close();
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
