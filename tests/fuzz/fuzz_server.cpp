// libFuzzer target: a server channel fed arbitrary bytes as a client's
// flights, split into pieces as the input's header says. It must never
// crash, leak or spin, and must report every problem as an error code.
//
// Seeds (from make_corpus) are real clients' flights against the same
// server, with randomness and the clock fixed (see Random and time), so
// they complete the handshake and reach application data, key updates,
// renegotiation and close_notify when replayed; some resume a session from
// a ticket sealed with the fixed key, with early data.
#include <cstddef>
#include <cstdint>

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
  fuzz::Random::use(fuzz::Stream::server);
  Channel<server> channel(input.options & fuzz::FedInput::variant
                              ? contexts.rsa_server
                              : contexts.ec_server);
  (void)fuzz::FedDriver<server>(channel, input).run();
  return 0;
}
