// Built with -fno-exceptions: runs a whole TLS exchange, and the errors a
// caller must be able to see, through the std::error_code& overloads only.
// Prints one line per check; exits non-zero if any check fails.

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#error "this test must be compiled with exceptions disabled"
#endif

#include <membio/membio.hpp>

#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

namespace {

using membio::Channel;
using membio::Role;
using membio::Status;

// Prints each check's outcome and remembers whether any failed.
class Checks {
 public:
  bool expect(bool passed, const std::string& what,
              const std::string& detail = {}) {
    std::printf("%s: %s\n", passed ? "ok" : "FAILED", what.c_str());
    if (!passed && !detail.empty()) std::printf("  %s\n", detail.c_str());

    failed_ = failed_ || !passed;
    return passed;
  }

  int exit_status() const {
    std::printf("%s\n",
                failed_ ? "no_exceptions: FAILED" : "no_exceptions: ok");
    return failed_ ? 1 : 0;
  }

 private:
  bool failed_ = false;
};

// Moves the ciphertext waiting in `from` to `to`, as a network would.
template <Role From, Role To>
void transfer(Channel<From>& from, Channel<To>& to, std::error_code& code) {
  std::vector<unsigned char> flight;
  membio::drain_into(from, flight, code);
  if (!code) membio::feed(to, flight, code);
}

// Drives both handshakes until both are done or one fails; a stuck pair
// counts as a failure rather than a hang.
void run_handshake(Channel<membio::client>& client,
                   Channel<membio::server>& server, std::error_code& code) {
  for (int round = 0; round < 10; ++round) {
    const Status client_status = membio::handshake(client, code);
    if (!code) transfer(client, server, code);
    if (code) return;

    const Status server_status = membio::handshake(server, code);
    if (!code) transfer(server, client, code);
    if (code) return;

    if (client_status == Status::done && server_status == Status::done) return;
  }
  code = membio::errc::stalled;
}

// Writes `text` on one side and returns what the other side could read.
template <Role From, Role To>
std::string send(Channel<From>& from, Channel<To>& to, const std::string& text,
                 std::error_code& code) {
  std::string received;
  static_cast<void>(membio::write_plaintext(from, text, code));
  if (!code) transfer(from, to, code);

  if (!code) static_cast<void>(membio::read_plaintext_into(to, received, code));
  return received;
}

// Sends close_notify from `closer` and returns the peer's status on reading
// it: `closed` once it arrived.
template <Role From, Role To>
Status close_from(Channel<From>& closer, Channel<To>& peer,
                  std::error_code& code) {
  std::string rest;
  static_cast<void>(membio::close(closer, code));
  if (!code) transfer(closer, peer, code);

  return code ? Status::closed : membio::read_plaintext_into(peer, rest, code);
}

// A setter given bad input reports it through the code and the message.
void check_setter_error(Checks& checks) {
  membio::Context<membio::client> context;
  std::error_code code;
  context.trust_pem("not a certificate", code);

  checks.expect(code && !context.last_error_message().empty(),
                "trust_pem rejects junk: " + context.last_error_message());
}

// One message each way, then close_notify both ways.
void check_messages_and_close(Checks& checks, Channel<membio::client>& client,
                              Channel<membio::server>& server) {
  std::error_code code;
  const std::string at_server = send(client, server, "ping", code);
  checks.expect(!code && at_server == "ping", "server read " + at_server);

  const std::string at_client = send(server, client, "pong", code);
  checks.expect(!code && at_client == "pong", "client read " + at_client);

  const bool closed = close_from(client, server, code) == Status::closed &&
                      close_from(server, client, code) == Status::closed;
  checks.expect(!code && closed &&
                    client.close_state() == membio::CloseState::closed &&
                    server.close_state() == membio::CloseState::closed,
                "close_notify both ways, both sides closed");
}

// A full exchange between a client that trusts the server's certificate and
// that server.
void check_exchange(Checks& checks, const membio::Context<membio::client>& cc,
                    const membio::Context<membio::server>& sc) {
  Channel<membio::client> client(cc, "localhost");
  Channel<membio::server> server(sc);
  std::error_code code;
  run_handshake(client, server, code);

  const std::string version = client.protocol_version();
  const std::string why =
      client.last_error_message() + server.last_error_message();
  if (checks.expect(!code && version == "TLSv1.3",
                    "handshake done with " + version, why)) {
    check_messages_and_close(checks, client, server);
  }
}

// A client that trusts no root fails verification, with a message saying so.
void check_untrusted_server(Checks& checks,
                            const membio::Context<membio::server>& sc) {
  const membio::Context<membio::client> untrusting;
  Channel<membio::client> client(untrusting, "localhost");
  Channel<membio::server> server(sc);
  std::error_code code;

  run_handshake(client, server, code);
  const std::string message = client.last_error_message();
  checks.expect(
      code && std::string(code.category().name()) == "openssl" &&
          message.find("certificate verify failed") != std::string::npos &&
          client.close_state() == membio::CloseState::failed,
      "untrusted server refused: " + message);
}

// Input that ends without close_notify is reported as truncation.
void check_truncation(Checks& checks, const membio::Context<membio::client>& cc,
                      const membio::Context<membio::server>& sc) {
  Channel<membio::client> client(cc, "localhost");
  Channel<membio::server> server(sc);
  std::error_code code;
  run_handshake(client, server, code);

  std::string received;
  if (!code) membio::feed_eof(server, code);
  if (!code) {
    static_cast<void>(membio::read_plaintext_into(server, received, code));
  }
  checks.expect(code == membio::errc::truncated &&
                    server.close_state() == membio::CloseState::truncated,
                "cut input reported: " + server.last_error_message());
}

// Channels that the constructors would refuse with an exception come out
// of Channel::make as no channel and a code.
void check_channel_refusals(Checks& checks,
                            const membio::Context<membio::client>& cc) {
  std::error_code code;
  const membio::Context<membio::server> no_identity;
  const auto server = Channel<membio::server>::make(no_identity, code);
  checks.expect(
      !server && code == membio::errc::no_certificate,
      "server channel without an identity refused: " + code.message());

  const auto unnamed = Channel<membio::client>::make(cc, "", code);
  checks.expect(!unnamed && code == membio::errc::invalid_argument,
                "client channel with an empty name refused: " + code.message());

  const auto named = Channel<membio::client>::make(cc, "localhost", code);
  checks.expect(named && !code, "client channel made without throwing");
}

}  // namespace

int main() {
  Checks checks;
  const membio::Identity identity = membio::make_self_signed();
  membio::Context<membio::client> client_context;
  membio::Context<membio::server> server_context;

  // Set up through the error-code setters. The channel constructors, which
  // would abort here where they throw, are only given what they accept;
  // check_channel_refusals goes through Channel::make instead.
  std::error_code code;
  server_context.use_identity_pem(identity.certificate_chain_pem,
                                  identity.private_key_pem, code);
  if (!code) client_context.trust_pem(identity.certificate_chain_pem, code);
  if (!checks.expect(!code, "contexts set up",
                     server_context.last_error_message() +
                         client_context.last_error_message())) {
    return checks.exit_status();
  }

  check_setter_error(checks);
  check_channel_refusals(checks, client_context);
  check_exchange(checks, client_context, server_context);
  check_untrusted_server(checks, server_context);
  check_truncation(checks, client_context, server_context);
  return checks.exit_status();
}
