// membio under the workloads: contexts for a scenario, and a client and a
// server channel driven through membio's public API only.
#ifndef MEMBIO_BENCH_MEMBIO_PEER_HPP
#define MEMBIO_BENCH_MEMBIO_PEER_HPP

#include <membio/membio.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "scenario.hpp"

namespace membio::bench {

/// How ciphertext gets from one channel to the other.
enum class Transfer {
  /// `drain` into a buffer standing for the transport, then `feed` from
  /// it: two copies, as with a socket that has its own buffer.
  copying,

  /// `outgoing_view` and `incoming_space`: one copy, the one a socket's
  /// send or receive would make.
  zero_copy,
};

/// membio's side of a workload: both contexts, the buffer standing for the
/// transport in the copying path, and one the server reads plaintext into.
class MembioSide {
 public:
  // Kept decoded, as the raw OpenSSL side keeps its SSL_SESSION.
  using Session = membio::Session;
  class Pair;

  MembioSide(const Scenario& scenario, Transfer transfer)
      : scenario_(scenario),
        transfer_(transfer),
        wire_(64 * 1024),
        plaintext_(16 * 1024) {
    const Credentials& credentials = credentials_for(scenario.key_type);
    server_context_.use_identity_pem(credentials.chain_pem,
                                     credentials.key_pem);
    client_context_.trust_pem(credentials.authority_pem);

    configure(server_context_);
    configure(client_context_);
  }

 private:
  template <Role R>
  void configure(Context<R>& context) const {
    const TlsVersion version = scenario_.version == Version::tls1_3
                                   ? TlsVersion::tls1_3
                                   : TlsVersion::tls1_2;
    context.set_protocol_versions(version, version);
    context.set_groups(openssl_groups(scenario_));

    if (scenario_.version == Version::tls1_3) {
      context.set_tls13_ciphersuites(openssl_tls13_suite(scenario_.cipher));
    } else {
      context.set_tls12_ciphers(openssl_tls12_suite);
    }
  }

  Scenario scenario_;
  Transfer transfer_;
  Context<client> client_context_;
  Context<server> server_context_;
  std::vector<unsigned char> wire_;
  std::vector<unsigned char> plaintext_;
};

/// A client channel and a server channel for "localhost".
class MembioSide::Pair {
 public:
  Pair(MembioSide& side, const Session* session)
      : side_(&side),
        client_(side.client_context_, server_name),
        server_(side.server_context_) {
    if (session) restore_session(client_, *session);
  }

  /// Runs the handshake to its end on both sides, then lets the client read
  /// what the server sent last (TLS 1.3 session tickets).
  void handshake() {
    for (int round = 0; round < 8; ++round) {
      (void)membio::handshake(client_);
      move_ciphertext(client_, server_);
      (void)membio::handshake(server_);
      move_ciphertext(server_, client_);

      if (client_.handshake_done() && server_.handshake_done()) {
        read_all(client_, nullptr);
        return;
      }
    }
    throw std::runtime_error("membio: the handshake does not finish");
  }

  Session save_session() const { return current_session(client_); }
  bool resumed() const { return client_.resumed(); }
  bool negotiated(const Scenario& scenario) const {
    return client_.cipher_suite() == expected_suite(scenario);
  }

  /// The client writes plaintext.
  void write(const unsigned char* plaintext, std::size_t size) {
    (void)write_plaintext(client_, ConstBytes(plaintext, size));
  }

  /// Nothing to do: membio decides itself how writes become records.
  void cork() {}

  /// Moves the client's ciphertext to the server.
  void send() { move_ciphertext(client_, server_); }

  /// The server reads all the plaintext it can; returns how much, and
  /// appends it to `copy` when given.
  std::size_t receive(std::vector<unsigned char>* copy = nullptr) {
    return read_all(server_, copy);
  }

  /// Ends the client channel, leaving the server's alone.
  void drop_client() { Channel<client> gone(std::move(client_)); }

 private:
  template <Role From, Role To>
  void move_ciphertext(Channel<From>& from, Channel<To>& to) {
    if (side_->transfer_ == Transfer::zero_copy) {
      move_without_copies(from, to);
      return;
    }

    std::vector<unsigned char>& wire = side_->wire_;
    for (;;) {
      const std::size_t size = drain(from, wire);
      if (size == 0) return;
      feed(to, ConstBytes(wire.data(), size));
    }
  }

  // The one copy stands for the transport: a socket would send straight
  // from the view and receive straight into the space.
  template <Role From, Role To>
  static void move_without_copies(Channel<From>& from, Channel<To>& to) {
    for (;;) {
      const ConstBytes pending = outgoing_view(from);
      if (pending.empty()) return;

      const MutableBytes space = incoming_space(to, pending.size());
      const std::size_t size = std::min(pending.size(), space.size());
      if (size == 0) throw std::runtime_error("membio: no incoming space");
      std::memcpy(space.data(), pending.data(), size);
      commit_incoming(to, size);
      consume_outgoing(from, size);
    }
  }

  template <Role R>
  std::size_t read_all(Channel<R>& channel, std::vector<unsigned char>* copy) {
    std::vector<unsigned char>& plaintext = side_->plaintext_;
    std::size_t total = 0;
    for (;;) {
      const ReadResult result = read_plaintext(channel, plaintext);
      if (result.status != Status::done) return total;
      total += result.size;
      if (copy) {
        copy->insert(copy->end(), plaintext.data(),
                     plaintext.data() + result.size);
      }
    }
  }

  MembioSide* side_;
  Channel<client> client_;
  Channel<server> server_;
};

}  // namespace membio::bench

#endif  // MEMBIO_BENCH_MEMBIO_PEER_HPP
