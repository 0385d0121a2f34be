// membio_count: runs one workload a fixed number of times, for callgrind to
// count the instructions it takes (instructions.sh). Time on a shared
// machine strays by 10 % from one run to the next; an instruction count
// repeats exactly, so it shows what each implementation itself costs.
//
//   membio_count WORKLOAD IMPLEMENTATION UNITS
//
// WORKLOAD is full or resumed (TLS 1.3 handshakes, X25519, ECDSA P-256),
// bulk (16 KiB turns, AES-128-GCM), tiny (turns of one 64 B write) or
// small (turns of 256 writes of 64 B); IMPLEMENTATION is membio,
// membio-zero-copy, openssl, openssl-release-buffers (raw OpenSSL with
// SSL_MODE_RELEASE_BUFFERS, as membio sets it) or gnutls. Only the
// units themselves run inside `counted`; setup and the check afterwards
// stay outside.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "gnutls_peer.hpp"
#include "membio_peer.hpp"
#include "openssl_peer.hpp"
#include "workloads.hpp"

namespace membio::bench {
namespace {

constexpr std::size_t bulk_size = 16384;
constexpr std::size_t tiny_size = 64;

// instructions.sh has callgrind count inside this function only.
__attribute__((noinline)) void counted(const std::function<void()>& units) {
  units();
}

template <class Side>
void handshakes(Side& side, bool resume, long units) {
  typename Side::Pair first(side, nullptr);
  first.handshake();
  const typename Side::Session session = first.save_session();
  const typename Side::Session* offered = resume ? &session : nullptr;

  bool all_resumed = true;
  counted([&] {
    for (long i = 0; i < units; ++i) {
      typename Side::Pair pair(side, offered);
      pair.handshake();
      all_resumed = all_resumed && pair.resumed();
    }
  });
  if (resume && !all_resumed) throw std::runtime_error("a resumption failed");
}

template <class Side>
void turns(Side& side, std::size_t writes, std::size_t size, long units) {
  typename Side::Pair pair(side, nullptr);
  pair.handshake();
  const std::vector<unsigned char> message = pattern(size);

  std::size_t received = 0;
  counted([&] {
    for (long turn = 0; turn < units; ++turn) {
      pair.cork();
      for (std::size_t i = 0; i < writes; ++i) {
        pair.write(message.data(), message.size());
      }
      pair.send();
      received += pair.receive();
    }
  });
  if (received != static_cast<std::size_t>(units) * writes * size) {
    throw std::runtime_error("the server did not receive what was sent");
  }
}

template <class Side>
void run_on(Side& side, const std::string& workload, long units) {
  if (workload == "full" || workload == "resumed") {
    handshakes(side, workload == "resumed", units);
  } else if (workload == "bulk") {
    turns(side, 1, bulk_size, units);
  } else if (workload == "tiny") {
    turns(side, 1, tiny_size, units);
  } else if (workload == "small") {
    turns(side, small_message_count, small_message_size, units);
  } else {
    throw std::invalid_argument("unknown workload " + workload);
  }
}

void run(const std::string& workload, const std::string& implementation,
         long units) {
  const Scenario scenario;
  if (implementation == "membio" || implementation == "membio-zero-copy") {
    MembioSide side(scenario, implementation == "membio" ? Transfer::copying
                                                         : Transfer::zero_copy);
    run_on(side, workload, units);
  } else if (implementation == "openssl" ||
             implementation == "openssl-release-buffers") {
    OpensslSide side(scenario, implementation != "openssl");
    run_on(side, workload, units);
  } else if (implementation == "gnutls") {
    GnutlsSide side(scenario);
    run_on(side, workload, units);
  } else {
    throw std::invalid_argument("unknown implementation " + implementation);
  }
}

}  // namespace
}  // namespace membio::bench

int main(int argc, char** argv) {
  if (argc != 4 || std::atol(argv[3]) <= 0) {
    std::fprintf(stderr,
                 "usage: membio_count full|resumed|bulk|tiny|small "
                 "membio|membio-zero-copy|openssl|openssl-release-buffers|"
                 "gnutls UNITS\n");
    return 2;
  }

  try {
    membio::bench::run(argv[1], argv[2], std::atol(argv[3]));
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "membio_count: %s\n", failure.what());
    return 1;
  }
  return 0;
}
