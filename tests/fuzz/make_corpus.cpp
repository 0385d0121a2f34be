// Writes the fuzz targets' seed corpora from real connections:
//
//   make_corpus DIR   fills DIR/fuzz_server, DIR/fuzz_client and
//                     DIR/fuzz_sequence (emptied first)
//
// fuzz_server's seeds are everything real clients sent to the very server
// fuzz_server runs; fuzz_client's are everything real servers sent to its
// very client, which says the same ClientHello. Some resume a session
// with early data: fuzz_server's from a ticket recorded here, fuzz_client's
// the fixed session. Randomness is fixed per connection and the clock for
// good (see Random and time), so each seed is replayed here through the
// target's own driver and must finish the handshake and deliver the
// plaintext, early data included: a seed that stopped at the first flight
// would waste the fuzzer's time. fuzz_sequence's seeds are small programs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using namespace membio;
using fuzz::FedInput;
using fuzz::Random;
using fuzz::require;
using fuzz::Stream;
using Bytes = std::vector<std::uint8_t>;

// How the peer of the recorded side is configured.
struct Peer {
  TlsVersion minimum = TlsVersion::tls1_2;
  TlsVersion maximum = TlsVersion::tls1_3;
  std::string tls12_ciphers;  // Empty: OpenSSL's default list.
  std::string groups;         // Empty: OpenSSL's default list.
  bool rsa = false;           // Server: the RSA identity, not the EC one.
  bool identity = false;      // Client: present the EC identity if asked.
  ClientCertificate ask = ClientCertificate::none;  // Server.
};

template <class ContextType>
void configure_common(ContextType& context, const Peer& peer) {
  context.set_protocol_versions(peer.minimum, peer.maximum);
  if (!peer.tls12_ciphers.empty())
    context.set_tls12_ciphers(peer.tls12_ciphers);
  if (!peer.groups.empty()) context.set_groups(peer.groups);
  context.enable_renegotiation();
}

// A client to record fuzz_server's seeds with.
Context<client> client_peer(const Peer& peer) {
  const fuzz::Identities& identities = fuzz::identities();
  Context<client> context;
  context.trust_pem(identities.ec.certificate_chain_pem +
                    identities.rsa.certificate_chain_pem);
  if (peer.identity) {
    context.use_identity_pem(identities.ec.certificate_chain_pem,
                             identities.ec.private_key_pem);
  }
  context.set_alpn_protocols({"http/1.1"});
  configure_common(context, peer);
  return context;
}

// A server to record fuzz_client's seeds with. Its tickets are sealed with
// the fixed key, so it resumes the fixed session, and takes its early data.
Context<server> server_peer(const Peer& peer) {
  const fuzz::Identities& identities = fuzz::identities();
  const Identity& identity = peer.rsa ? identities.rsa : identities.ec;
  Context<server> context;
  context.use_identity_pem(identity.certificate_chain_pem,
                           identity.private_key_pem);
  context.trust_pem(identities.ec.certificate_chain_pem);
  context.request_client_certificate(peer.ask);
  context.set_alpn_protocols({"h2"}, AlpnMismatch::continue_without);
  configure_common(context, peer);
  context.use_ticket_keys({fuzz::fixed_ticket_key()});
  fuzz::accept_replayed_early_data(context);
  return context;
}

// What a client does before its handshake: offer a session, write early
// data.
using Prelude = std::function<void(Channel<client>&)>;

// A client and a server connected in memory, each drawing from its own
// random stream, with everything each one sends recorded.
class Recorder {
 public:
  Recorder(const Context<client>& client_context,
           const Context<server>& server_context, const Prelude& prelude = {}) {
    Random::reset();
    Random::use(Stream::client);
    client_.emplace(client_context, "localhost");
    if (prelude) prelude(*client_);
    Random::use(Stream::server);
    server_.emplace(server_context);
    pump();
    require(client_->handshake_done() && server_->handshake_done(),
            "the recorded handshake finishes");
  }

  // Moves bytes both ways, driving each side, until nothing moves.
  void pump() {
    for (int round = 0; round < 100; ++round) {
      Random::use(Stream::client);
      const std::size_t to_server = step(*client_, sent_by_client_, *server_);
      Random::use(Stream::server);
      const std::size_t to_client = step(*server_, sent_by_server_, *client_);
      if (to_server + to_client == 0) return;
    }
    require(false, "the recorded connection comes to rest");
  }

  // Runs an operation on one side with that side's random stream, then
  // pumps.
  void on_client(const std::function<void(Channel<client>&)>& operation) {
    Random::use(Stream::client);
    operation(*client_);
    pump();
  }

  void on_server(const std::function<void(Channel<server>&)>& operation) {
    Random::use(Stream::server);
    operation(*server_);
    pump();
  }

  const Bytes& sent_by_client() const noexcept { return sent_by_client_; }
  const Bytes& sent_by_server() const noexcept { return sent_by_server_; }

 private:
  template <Role From, Role To>
  static std::size_t step(Channel<From>& from, Bytes& log, Channel<To>& to) {
    if (from.handshake_done()) {
      std::string plaintext;
      (void)read_plaintext_into(from, plaintext);
    } else {
      (void)handshake(from);
    }

    const std::size_t before = log.size();
    drain_into(from, log);
    feed(to, ConstBytes(log.data() + before, log.size() - before));
    return log.size() - before;
  }

  std::optional<Channel<client>> client_;
  std::optional<Channel<server>> server_;
  Bytes sent_by_client_;
  Bytes sent_by_server_;
};

// What the recorded side does after the handshake; plaintext it writes is
// counted, so that replays can be checked. With `resume`, the client first
// offers a session from an earlier connection, with early data on TLS 1.3.
struct Script {
  bool key_update = false;       // TLS 1.3, asking the peer to update too.
  bool renegotiate = false;      // TLS 1.2.
  bool ask_certificate = false;  // TLS 1.3 server: post-handshake auth.
  bool resume = false;
};

const std::string first_message = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
const std::string second_message = "second message, after the update";

class CorpusWriter {
 public:
  explicit CorpusWriter(const std::filesystem::path& root) : root_(root) {}

  void save(const char* target, const std::string& name, const Bytes& input) {
    const std::filesystem::path directory = root_ / target;
    if (!cleared_.count(target)) {
      std::filesystem::remove_all(directory);
      std::filesystem::create_directories(directory);
      cleared_[target] = true;
    }

    std::ofstream file(directory / name, std::ios::binary);
    file.write(reinterpret_cast<const char*>(input.data()),
               static_cast<std::streamsize>(input.size()));
    require(static_cast<bool>(file), "write a seed");
    ++counts_[target];
  }

  void report() const {
    for (const auto& [target, count] : counts_) {
      std::printf("make_corpus: %zu seeds for %s\n", count, target.c_str());
    }
  }

 private:
  std::filesystem::path root_;
  std::map<std::string, bool> cleared_;
  std::map<std::string, std::size_t> counts_;
};

// The ways each recorded flight is also written: whole, in small and
// uneven pieces, and written back then ended without a close.
struct Framing {
  const char* suffix;
  std::uint8_t options;
  Bytes pieces;
};

const Framing framings[] = {
    {"", 0, {}},
    {"_pieces", 0, {1, 7, 200, 0}},
    {"_echo_eof", FedInput::echo | FedInput::end_with_eof, {}},
};

// Replays a fuzz_server seed through fuzz_server's own driver.
void check_server_seed(const Bytes& seed, std::size_t plaintext) {
  const fuzz::Contexts& contexts = fuzz::contexts();
  const FedInput input = FedInput::parse(seed.data(), seed.size());
  Random::reset();
  Random::use(Stream::server);
  Channel<server> channel(input.options & FedInput::variant
                              ? contexts.rsa_server
                              : contexts.ec_server);
  const fuzz::FedOutcome outcome =
      fuzz::FedDriver<server>(channel, input).run();
  require(outcome.handshake_done && !outcome.failed &&
              outcome.plaintext == plaintext,
          "a fuzz_server seed replays to the end");
}

// Replays a fuzz_client seed through fuzz_client's own driver.
void check_client_seed(const Bytes& seed, std::size_t plaintext) {
  const fuzz::Contexts& contexts = fuzz::contexts();
  const FedInput input = FedInput::parse(seed.data(), seed.size());
  Random::reset();
  Random::use(Stream::client);
  Channel<client> channel(input.options & FedInput::variant
                              ? contexts.insecure_client
                              : contexts.verifying_client,
                          "localhost");
  fuzz::start_client(channel, (input.options & FedInput::resume) != 0);
  (void)drain_all(channel);
  const fuzz::FedOutcome outcome =
      fuzz::FedDriver<client>(channel, input).run();
  require(outcome.handshake_done && !outcome.failed &&
              outcome.plaintext == plaintext,
          "a fuzz_client seed replays to the end");
}

// A session of `client_context` with `server_context` to offer, and with
// TLS 1.3 early data to send: the prelude of a resuming client.
Prelude resumption(const Context<client>& client_context,
                   const Context<server>& server_context) {
  const Session session = fuzz::fixed_session(client_context, server_context);
  return [session](Channel<client>& channel) {
    restore_session(channel, session);
    if (SSL_SESSION_get_protocol_version(session.native_handle()) ==
        TLS1_3_VERSION) {
      (void)write_early_plaintext(channel, fuzz::early_message);
    }
  };
}

// Records a client talking to fuzz_server's server, and saves what it sent.
void server_seed(CorpusWriter& writer, const std::string& name,
                 const Peer& peer, const Script& script) {
  const fuzz::Contexts& contexts = fuzz::contexts();
  const Context<client> client_context = client_peer(peer);
  const Context<server>& server_context =
      peer.rsa ? contexts.rsa_server : contexts.ec_server;
  const Prelude prelude =
      script.resume ? resumption(client_context, server_context) : Prelude();
  const bool early = script.resume && peer.maximum == TlsVersion::tls1_3;

  Recorder recorder(client_context, server_context, prelude);
  recorder.on_client([](Channel<client>& channel) {
    (void)write_plaintext(channel, first_message);
  });
  if (script.key_update) {
    recorder.on_client([](Channel<client>& channel) {
      (void)request_key_update(channel, KeyUpdate::both_sides);
    });
  }
  if (script.renegotiate) {
    recorder.on_client(
        [](Channel<client>& channel) { (void)renegotiate(channel); });
  }
  recorder.on_client([](Channel<client>& channel) {
    (void)write_plaintext(channel, second_message);
    (void)close(channel);
  });

  const std::size_t plaintext = first_message.size() + second_message.size() +
                                (early ? fuzz::early_message.size() : 0);
  for (const Framing& framing : framings) {
    const auto options = static_cast<std::uint8_t>(
        framing.options | (peer.rsa ? FedInput::variant : 0));
    const Bytes seed =
        FedInput::encode(options, framing.pieces, recorder.sent_by_client());
    check_server_seed(seed, plaintext);
    writer.save("fuzz_server", name + framing.suffix, seed);
  }
}

// Records fuzz_client's client talking to a server, and saves what the
// server sent; `insecure` seeds also go to the client that skips
// verification.
void client_seed(CorpusWriter& writer, const std::string& name,
                 const Peer& peer, const Script& script,
                 bool insecure = false) {
  const fuzz::Contexts& contexts = fuzz::contexts();
  const Prelude prelude = [&script](Channel<client>& channel) {
    fuzz::start_client(channel, script.resume);
  };
  Recorder recorder(contexts.verifying_client, server_peer(peer), prelude);
  recorder.on_server([](Channel<server>& channel) {
    (void)write_plaintext(channel, first_message);
  });
  if (script.key_update) {
    recorder.on_server([](Channel<server>& channel) {
      (void)request_key_update(channel, KeyUpdate::both_sides);
    });
  }
  if (script.renegotiate) {
    recorder.on_server(
        [](Channel<server>& channel) { (void)renegotiate(channel); });
  }
  if (script.ask_certificate) {
    recorder.on_server([](Channel<server>& channel) {
      (void)request_client_certificate(channel, ClientCertificate::required);
    });
  }
  recorder.on_server([](Channel<server>& channel) {
    (void)write_plaintext(channel, second_message);
    (void)close(channel);
  });

  const std::size_t plaintext = first_message.size() + second_message.size();
  for (const Framing& framing : framings) {
    for (const bool variant : {false, insecure}) {
      const auto options = static_cast<std::uint8_t>(
          framing.options | (variant ? FedInput::variant : 0) |
          (script.resume ? FedInput::resume : 0));
      const Bytes seed =
          FedInput::encode(options, framing.pieces, recorder.sent_by_server());
      check_client_seed(seed, plaintext);
      writer.save("fuzz_client",
                  name + framing.suffix + (variant ? "_insecure" : ""), seed);
      if (!insecure) break;
    }
  }
}

Peer tls12(const char* ciphers) {
  Peer peer;
  peer.minimum = peer.maximum = TlsVersion::tls1_2;
  peer.tls12_ciphers = ciphers;
  return peer;
}

Peer tls13() {
  Peer peer;
  peer.minimum = peer.maximum = TlsVersion::tls1_3;
  return peer;
}

template <class Change>
Peer with(Peer peer, Change change) {
  change(peer);
  return peer;
}

void server_seeds(CorpusWriter& writer) {
  server_seed(writer, "tls13", tls13(), {true, false, false});
  server_seed(writer, "tls13_client_certificate",
              with(tls13(), [](Peer& peer) { peer.identity = true; }), {});
  server_seed(writer, "tls13_hello_retry",
              with(tls13(), [](Peer& peer) { peer.groups = "P-384:X25519"; }),
              {});
  server_seed(writer, "tls12_gcm_renegotiate",
              tls12("ECDHE-ECDSA-AES128-GCM-SHA256"), {false, true, false});
  server_seed(writer, "tls12_cbc", tls12("ECDHE-ECDSA-AES128-SHA"), {});
  server_seed(writer, "tls12_chacha", tls12("ECDHE-ECDSA-CHACHA20-POLY1305"),
              {});
  server_seed(writer, "tls13_rsa",
              with(tls13(), [](Peer& peer) { peer.rsa = true; }), {});
  server_seed(
      writer, "tls12_rsa_key_exchange",
      with(tls12("AES128-GCM-SHA256"), [](Peer& peer) { peer.rsa = true; }),
      {});
  server_seed(writer, "tls12_rsa_cbc_client_certificate",
              with(tls12("ECDHE-RSA-AES256-SHA384"),
                   [](Peer& peer) {
                     peer.rsa = true;
                     peer.identity = true;
                   }),
              {});
  server_seed(writer, "tls13_resumed_early_data", tls13(),
              {false, false, false, true});
  server_seed(writer, "tls12_resumed", tls12("ECDHE-ECDSA-AES128-GCM-SHA256"),
              {false, false, false, true});
}

void client_seeds(CorpusWriter& writer) {
  client_seed(writer, "tls13", tls13(), {true, false, false});
  client_seed(writer, "tls13_hello_retry",
              with(tls13(), [](Peer& peer) { peer.groups = "P-256"; }), {});
  client_seed(
      writer, "tls13_client_certificate",
      with(tls13(), [](Peer& peer) { peer.ask = ClientCertificate::required; }),
      {});
  client_seed(writer, "tls13_post_handshake_auth", tls13(),
              {false, false, true});
  client_seed(writer, "tls12_gcm_renegotiate",
              tls12("ECDHE-ECDSA-AES128-GCM-SHA256"), {false, true, false},
              true);
  client_seed(writer, "tls12_cbc", tls12("ECDHE-ECDSA-AES256-SHA384"), {},
              true);
  client_seed(writer, "tls12_chacha", tls12("ECDHE-ECDSA-CHACHA20-POLY1305"),
              {});
  client_seed(writer, "tls13_rsa",
              with(tls13(), [](Peer& peer) { peer.rsa = true; }), {});
  client_seed(writer, "tls12_ecdhe_rsa",
              with(tls12("ECDHE-RSA-AES128-GCM-SHA256"),
                   [](Peer& peer) { peer.rsa = true; }),
              {}, true);
  client_seed(
      writer, "tls12_rsa_key_exchange",
      with(tls12("AES256-GCM-SHA384"), [](Peer& peer) { peer.rsa = true; }), {},
      true);
  client_seed(writer, "tls13_resumed_early_data", tls13(),
              {true, false, false, true}, true);
}

void sequence_seeds(CorpusWriter& writer) {
  using fuzz::Op;
  using fuzz::ProgramWriter;
  using fuzz::SequenceHeader;
  constexpr Role c = Role::client;
  constexpr Role s = Role::server;
  const auto save = [&writer](const char* name, const ProgramWriter& program) {
    writer.save("fuzz_sequence", name, program.bytes());
  };

  ProgramWriter talk(SequenceHeader::tls13 | SequenceHeader::connected);
  talk.write(c, 300).step(Op::shuttle, c).write(s, 5000).step(Op::shuttle, c);
  talk.step(Op::key_update, c, 1).step(Op::shuttle, c).step(Op::shuttle, c);
  talk.step(Op::inspect, c).step(Op::inspect, s);
  talk.step(Op::close, c).step(Op::shuttle, c).step(Op::shuttle, c);
  talk.step(Op::close, s).step(Op::shuttle, c).step(Op::shuttle, c);
  save("tls13_talk_and_close", talk);

  ProgramWriter renegotiation(SequenceHeader::tls12_gcm |
                              SequenceHeader::connected);
  renegotiation.write(c, 100).step(Op::shuttle, c).step(Op::renegotiate, s);
  renegotiation.write(s, 70).step(Op::shuttle, c).step(Op::shuttle, c);
  renegotiation.write(c, 50).step(Op::shuttle, c).step(Op::shuttle, c);
  renegotiation.step(Op::shuttle, c).step(Op::inspect, s);
  save("tls12_renegotiation", renegotiation);

  ProgramWriter fragments(SequenceHeader::tls12_cbc);
  fragments.write(c, 1000).step(Op::handshake, c).step(Op::drain, c, 0);
  fragments.byte(0).step(Op::feed, s).byte(0).step(Op::handshake, s);
  fragments.step(Op::drain, s).byte(0);
  for (int piece = 0; piece < 12; ++piece) {
    fragments.step(Op::feed, c).byte(9).step(Op::handshake, c);
  }
  fragments.step(Op::shuttle, c).step(Op::shuttle, c).step(Op::shuttle, c);
  fragments.step(Op::read, s).byte(10).step(Op::read_all, s);
  save("tls12_cbc_fragments", fragments);

  ProgramWriter client_auth(SequenceHeader::tls13 | SequenceHeader::connected);
  client_auth.step(Op::request_cert, s, 1).step(Op::shuttle, c);
  client_auth.step(Op::shuttle, c).step(Op::shuttle, c).write(s, 10);
  client_auth.step(Op::shuttle, c).step(Op::inspect, s);
  save("tls13_post_handshake_auth", client_auth);

  ProgramWriter corrupted(SequenceHeader::tls12_chacha |
                          SequenceHeader::connected);
  corrupted.write(c, 100).step(Op::drain, c).byte(0);
  corrupted.step(Op::corrupt, s, 0).byte(0).byte(10).byte(0x40);
  corrupted.step(Op::feed, s).byte(0).step(Op::read, s).byte(0);
  corrupted.step(Op::shuttle, c);
  save("tls12_chacha_corrupted", corrupted);

  ProgramWriter truncated(SequenceHeader::tls13 | SequenceHeader::connected);
  truncated.write(s, 200).step(Op::drain, s).byte(0).step(Op::feed, c);
  truncated.byte(0).step(Op::feed_eof, c).step(Op::read, c).byte(0);
  truncated.step(Op::read, c).byte(0);
  save("tls13_truncated", truncated);

  ProgramWriter early_close(SequenceHeader::tls13);
  early_close.write(c, 20).step(Op::close, c).step(Op::shuttle, c);
  early_close.step(Op::shuttle, c).step(Op::shuttle, c).step(Op::shuttle, c);
  save("tls13_close_before_handshake", early_close);

  ProgramWriter resumption(SequenceHeader::tls13 | SequenceHeader::connected |
                           SequenceHeader::early_data_server);
  resumption.write(c, 300).step(Op::shuttle, c).write(s, 200);
  resumption.step(Op::resume, c, 1).step(Op::write_early, c).byte(20);
  resumption.write(c, 50).step(Op::shuttle, c).step(Op::shuttle, c);
  resumption.step(Op::shuttle, c).step(Op::inspect, c).step(Op::inspect, s);
  resumption.step(Op::resume, c, 2).step(Op::write_early, c).byte(4);
  resumption.step(Op::shuttle, c).step(Op::shuttle, c);
  save("tls13_resumption_early_data", resumption);

  // The server reads the early data before its handshake is done.
  ProgramWriter early_read(SequenceHeader::tls13 | SequenceHeader::connected |
                           SequenceHeader::early_data_server);
  early_read.step(Op::resume, c).step(Op::write_early, c).byte(8);
  early_read.step(Op::drain, c).byte(0).step(Op::feed, s).byte(0);
  early_read.step(Op::read, s).byte(0).step(Op::shuttle, c);
  early_read.step(Op::read, s).byte(0).step(Op::shuttle, c);
  early_read.step(Op::shuttle, c).step(Op::inspect, s);
  save("tls13_early_data_read_in_handshake", early_read);

  ProgramWriter resumption12(SequenceHeader::tls12_gcm |
                             SequenceHeader::connected);
  resumption12.write(c, 100).step(Op::shuttle, c).step(Op::resume, c, 3);
  resumption12.step(Op::handshake, c).step(Op::shuttle, c);
  resumption12.step(Op::shuttle, c).write(s, 30).step(Op::shuttle, c);
  save("tls12_resumption", resumption12);

  ProgramWriter zero_copy(SequenceHeader::tls13 | SequenceHeader::connected);
  zero_copy.write(c, 3000).step(Op::outgoing_view, c, 1).byte(30);
  zero_copy.step(Op::outgoing_view, c, 2).byte(0);
  zero_copy.step(Op::incoming_space, s, 0).byte(40).step(Op::read_all, s);
  zero_copy.step(Op::incoming_space, s, 2).byte(200).step(Op::read_all, s);
  zero_copy.write(s, 100, 1).write(s, 100, 1).step(Op::flush, s);
  zero_copy.step(Op::outgoing_view, s, 0).byte(0);
  zero_copy.step(Op::incoming_space, c, 1).byte(10);
  zero_copy.step(Op::incoming_space, c, 3).byte(10);
  zero_copy.step(Op::incoming_space, c, 0).byte(255).step(Op::read, c).byte(0);
  save("tls13_zero_copy", zero_copy);

  ProgramWriter gathered(SequenceHeader::tls12_cbc | SequenceHeader::connected);
  gathered.step(Op::repeat, c, 1).byte(15).write(c, 90, 1);
  gathered.step(Op::key_update, c).step(Op::renegotiate, c);
  gathered.step(Op::repeat, c).byte(40).step(Op::shuttle, c);
  save("tls12_cbc_gathered_writes", gathered);

  ProgramWriter separate(SequenceHeader::tls13 | SequenceHeader::connected |
                         SequenceHeader::no_coalescing);
  separate.step(Op::repeat, s).byte(99).write(s, 3);
  separate.step(Op::key_update, s, 1).step(Op::drain, s).byte(0);
  separate.step(Op::repeat, c, 1).byte(3).step(Op::feed, c).byte(37);
  separate.step(Op::read, c).byte(7).step(Op::shuttle, c);
  separate.step(Op::shuttle, c).step(Op::shuttle, c);
  save("tls13_separate_records", separate);

  ProgramWriter limits(SequenceHeader::tls12_gcm | SequenceHeader::connected);
  limits.step(Op::key_update, c);
  for (int write = 0; write < 4; ++write) limits.write(c, 20000);
  for (int round = 0; round < 6; ++round) limits.step(Op::shuttle, c);
  save("tls12_limits", limits);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }

  try {
    CorpusWriter writer(argv[1]);
    server_seeds(writer);
    client_seeds(writer);
    sequence_seeds(writer);
    writer.report();
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "make_corpus: %s\n", failure.what());
    return 1;
  }
  return 0;
}
