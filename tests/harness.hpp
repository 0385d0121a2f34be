// Shared test fixtures: contexts with throwaway credentials, and a connected
// client and server pair on TLS 1.2 or TLS 1.3.
#ifndef MEMBIO_TESTS_HARNESS_HPP
#define MEMBIO_TESTS_HARNESS_HPP

#include <membio/membio.hpp>

#include <cstddef>
#include <ostream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace membio {

// Names instead of numbers in Catch2's messages.
inline std::ostream& operator<<(std::ostream& out, Status status) {
  return out << to_string(status);
}

inline std::ostream& operator<<(std::ostream& out, CloseState state) {
  return out << to_string(state);
}

}  // namespace membio

namespace membio::test {

/// One certificate authority for the whole test run: making keys is slow.
inline const CertificateAuthority& test_ca() {
  static const CertificateAuthority authority("membio test CA");
  return authority;
}

/// A leaf for "localhost" and 127.0.0.1, issued by test_ca().
inline const Identity& localhost_identity() {
  static const Identity identity = test_ca().issue();
  return identity;
}

/// A server context with no identity yet, limited to one version.
inline Context<server> bare_server_context(TlsVersion version) {
  Context<server> context;
  context.set_protocol_versions(version, version);
  return context;
}

/// A client context trusting nothing yet, limited to one version.
inline Context<client> bare_client_context(TlsVersion version) {
  Context<client> context;
  context.set_protocol_versions(version, version);
  return context;
}

/// A server context presenting `identity`, limited to one version.
inline Context<server> server_context_for(const Identity& identity,
                                          TlsVersion version) {
  Context<server> context = bare_server_context(version);
  context.use_identity_pem(identity.certificate_chain_pem,
                           identity.private_key_pem);
  return context;
}

/// A server context using localhost_identity(), limited to one version.
inline Context<server> server_context(TlsVersion version = TlsVersion::tls1_3) {
  return server_context_for(localhost_identity(), version);
}

/// A client context trusting test_ca(), limited to one version.
inline Context<client> client_context(TlsVersion version = TlsVersion::tls1_3) {
  Context<client> context = bare_client_context(version);
  context.trust_pem(test_ca().certificate_pem());
  return context;
}

/// A client and a server channel for "localhost" on one protocol version,
/// with their contexts; not yet connected.
struct Pair {
  explicit Pair(TlsVersion version = TlsVersion::tls1_3)
      : client_context(test::client_context(version)),
        server_context(test::server_context(version)),
        client(client_context, "localhost"),
        server(server_context) {}

  Context<Role::client> client_context;
  Context<Role::server> server_context;
  Channel<Role::client> client;
  Channel<Role::server> server;
};

/// What a handshake between two channels ended with, printable for INFO.
struct Outcome {
  std::error_code code;
  std::string client_message;
  std::string server_message;
};

inline std::ostream& operator<<(std::ostream& out, const Outcome& outcome) {
  return out << "code: " << outcome.code.message()
             << "\nclient: " << outcome.client_message
             << "\nserver: " << outcome.server_message;
}

/// Runs a loopback handshake between `client` and `server` and reports how
/// it ended instead of throwing.
inline Outcome handshake_outcome(Channel<client>& client,
                                 Channel<server>& server) {
  std::error_code code;
  Loopback(client, server).handshake(code);
  return {code, client.last_error_message(), server.last_error_message()};
}

/// Moves all that `from` has to send into `to`; returns the bytes moved.
template <Role From, Role To>
std::size_t deliver(Channel<From>& from, Channel<To>& to) {
  const std::vector<unsigned char> flight = drain_all(from);
  feed(to, flight);
  return flight.size();
}

/// Reads all the plaintext available now.
template <Role R>
std::string read_all(Channel<R>& channel) {
  std::string received;
  (void)read_plaintext_into(channel, received);
  return received;
}

/// Bytes that look random, so that a lost, repeated or reordered chunk
/// shows; the same seed gives the same bytes.
inline std::string pattern(std::size_t size, unsigned seed = 1) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(random() & 0xff);
  return bytes;
}

/// A well-formed handshake record holding a message neither side expects at
/// the start (a Certificate), which OpenSSL answers with a fatal alert.
inline std::vector<unsigned char> malformed_record() {
  return {0x16, 0x03, 0x03, 0x00, 0x08,  // handshake record, 8 bytes
          0x0b, 0x00, 0x00, 0x04,        // Certificate, 4 bytes
          0xde, 0xad, 0xbe, 0xef};
}

/// A printable name for a version, for test sections.
inline std::string name_of(TlsVersion version) {
  return version == TlsVersion::tls1_3 ? "TLSv1.3" : "TLSv1.2";
}

}  // namespace membio::test

#endif  // MEMBIO_TESTS_HARNESS_HPP
