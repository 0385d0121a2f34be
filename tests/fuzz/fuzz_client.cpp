// libFuzzer target: a client channel that has sent its ClientHello, fed
// arbitrary bytes as the server's answer, split into pieces as the input's
// header says. It must never crash, leak or spin, and must report every
// problem as an error code.
//
// The ClientHello is the same for every input (randomness and the clock are
// fixed, see Random and time), so the seeds, real servers' answers recorded
// by make_corpus, complete the handshake when replayed and go on to
// application data, tickets, key updates, renegotiation and close_notify.
// With FedInput::resume the client offers the fixed session and sends
// early data first, so that the answer may resume it and take the data.
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)membio::fuzz::contexts();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace membio;
  const fuzz::Contexts& contexts = fuzz::contexts();
  const fuzz::FedInput input = fuzz::FedInput::parse(data, size);

  fuzz::Random::reset();
  fuzz::Random::use(fuzz::Stream::client);
  Channel<client> channel(input.options & fuzz::FedInput::variant
                              ? contexts.insecure_client
                              : contexts.verifying_client,
                          "localhost");
  fuzz::start_client(channel, (input.options & fuzz::FedInput::resume) != 0);
  std::error_code code;
  std::vector<unsigned char> client_hello;
  drain_into(channel, client_hello, code);

  (void)fuzz::FedDriver<client>(channel, input).run();
  return 0;
}
