// Session resumption and early data (0-RTT) between a client and a server in
// one process, with no network and no files. A first connection makes a full
// handshake and the client saves its session as bytes. A second connection
// restores those bytes, sends its request as early data together with its
// very first message, and resumes the session without a certificate.
//
// Run it with no arguments. It counts what each handshake moves each way:
// ciphertext bytes, flights (one flight: everything one side sends before
// it waits for the other) and handshake messages, which a message trace on
// the client's context names; then it prints both handshakes side by side.
#include <membio/membio.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace {

using membio::Channel;
using membio::Role;
using membio::Status;

// What went one way: ciphertext bytes, flights, and the type of each
// handshake message in order.
struct Traffic {
  std::size_t bytes = 0;
  std::size_t flights = 0;
  std::vector<int> messages;
};

// What one connection moved each way, and what came of it.
struct Report {
  Traffic client_to_server;
  Traffic server_to_client;
  bool resumed = false;
  membio::EarlyData early_data = membio::EarlyData::not_sent;
};

// Moves all the ciphertext waiting in `from` to `to`, as one flight; returns
// how many bytes moved. With a network, the drain would end in send() and
// the feed would start from recv() on the other side.
template <Role From, Role To>
std::size_t transfer(Channel<From>& from, Channel<To>& to, Traffic& traffic) {
  const std::vector<unsigned char> flight = membio::drain_all(from);
  if (flight.empty()) return 0;

  membio::feed(to, flight);
  traffic.bytes += flight.size();
  traffic.flights += 1;
  return flight.size();
}

// Drives both handshakes until each reports `done`, counting what moves. A
// round that moves nothing while a side still waits would never end, so it
// counts as an error.
void run_handshake(Channel<membio::client>& client,
                   Channel<membio::server>& server, Report& report) {
  for (;;) {
    const Status client_status = membio::handshake(client);
    std::size_t moved = transfer(client, server, report.client_to_server);

    const Status server_status = membio::handshake(server);
    moved += transfer(server, client, report.server_to_client);

    if (client_status == Status::done && server_status == Status::done) break;
    if (moved == 0) {
      throw membio::error(membio::errc::stalled, "handshake: stalled");
    }
  }
  report.resumed = client.resumed();
  report.early_data = client.early_data();
}

// After its handshake a TLS 1.3 server sends session tickets, which are what
// the client saves. They count as the server's last flight; the client reads
// them as it would read the server's reply.
void deliver_tickets(Channel<membio::client>& client,
                     Channel<membio::server>& server, Report& report) {
  transfer(server, client, report.server_to_client);

  std::string nothing_yet;
  static_cast<void>(membio::read_plaintext_into(client, nothing_yet));
}

// Reads the plaintext that reached the server as early data. Nothing else
// has arrived yet, so the read that ends the loop reads nothing.
std::string read_early(Channel<membio::server>& server) {
  unsigned char buffer[1024];
  std::string early;

  for (;;) {
    const membio::ReadResult result = membio::read_plaintext(server, buffer);
    if (result.size == 0 || !result.early_data) return early;
    early.append(reinterpret_cast<const char*>(buffer), result.size);
  }
}

// Ends a connection the orderly way: each side sends close_notify and reads
// the other's. It also keeps the session resumable: OpenSSL drops a server's
// session when its connection ends without close_notify.
void close_both(Channel<membio::client>& client,
                Channel<membio::server>& server) {
  Traffic ignored;
  std::string rest;

  static_cast<void>(membio::close(client));
  transfer(client, server, ignored);
  static_cast<void>(membio::read_plaintext_into(server, rest));

  static_cast<void>(membio::close(server));
  transfer(server, client, ignored);
  static_cast<void>(membio::read_plaintext_into(client, rest));
}

const char* yes_no(bool value) { return value ? "yes" : "no"; }

const char* name_of(membio::EarlyData early_data) {
  switch (early_data) {
    case membio::EarlyData::not_sent:
      return "not_sent";
    case membio::EarlyData::rejected:
      return "rejected";
    case membio::EarlyData::accepted:
      return "accepted";
  }
  return "unknown";
}

// The name RFC 8446 gives a TLS 1.3 handshake message type.
const char* message_name(int type) {
  switch (type) {
    case 1:
      return "ClientHello";
    case 2:
      return "ServerHello";
    case 4:
      return "NewSessionTicket";
    case 5:
      return "EndOfEarlyData";
    case 8:
      return "EncryptedExtensions";
    case 11:
      return "Certificate";
    case 13:
      return "CertificateRequest";
    case 15:
      return "CertificateVerify";
    case 20:
      return "Finished";
    default:
      return "other";
  }
}

// How many more bytes `after` moved than `before` (negative: fewer).
long difference(std::size_t before, std::size_t after) {
  return static_cast<long>(after) - static_cast<long>(before);
}

void print_row(const char* label, const char* full, const char* resumed) {
  std::printf("%-18s %10s %10s\n", label, full, resumed);
}

void print_row(const char* label, std::size_t full, std::size_t resumed) {
  std::printf("%-18s %10zu %10zu\n", label, full, resumed);
}

void print_comparison(const Report& full, const Report& resumed) {
  std::printf("\n");
  print_row("", "full", "resumed");
  print_row("resumed:", yes_no(full.resumed), yes_no(resumed.resumed));
  print_row("early data:", name_of(full.early_data),
            name_of(resumed.early_data));
  print_row("client -> server:", full.client_to_server.bytes,
            resumed.client_to_server.bytes);
  print_row("  flights:", full.client_to_server.flights,
            resumed.client_to_server.flights);
  print_row("  messages:", full.client_to_server.messages.size(),
            resumed.client_to_server.messages.size());
  print_row("server -> client:", full.server_to_client.bytes,
            resumed.server_to_client.bytes);
  print_row("  flights:", full.server_to_client.flights,
            resumed.server_to_client.flights);
  print_row("  messages:", full.server_to_client.messages.size(),
            resumed.server_to_client.messages.size());
}

void print_messages(const char* label, const Traffic& traffic) {
  std::printf("%-30s", label);
  const char* separator = "";
  for (const int type : traffic.messages) {
    std::printf("%s%s", separator, message_name(type));
    separator = ", ";
  }
  std::printf("\n");
}

// Which handshake messages went each way: the resumed server sends no
// Certificate and no CertificateVerify, and a client whose early data was
// accepted ends it with EndOfEarlyData.
void print_message_lists(const Report& full, const Report& resumed) {
  std::printf("\nhandshake messages:\n");
  print_messages("  full, client -> server:", full.client_to_server);
  print_messages("  full, server -> client:", full.server_to_client);
  print_messages("  resumed, client -> server:", resumed.client_to_server);
  print_messages("  resumed, server -> client:", resumed.server_to_client);
}

// The resumed ClientHello carries the ticket and the early request, so the
// client may send more; the server sends no certificate and no signature.
void print_difference(const Report& full, const Report& resumed) {
  const long to_server =
      difference(full.client_to_server.bytes, resumed.client_to_server.bytes);
  const long to_client =
      difference(full.server_to_client.bytes, resumed.server_to_client.bytes);

  std::printf("\ndifference when resumed:\n");
  std::printf("  client -> server: %+ld bytes (ticket and early request)\n",
              to_server);
  std::printf("  server -> client: %+ld bytes (no certificate, no signature)\n",
              to_client);
  std::printf("  total:            %+ld bytes\n", to_server + to_client);
}

// A server for `identity` that takes up to 16 KiB of early data from clients
// that resume; this one accepts it from everyone. Only tickets issued once
// early data is on allow it.
membio::Context<membio::server> make_server_context(
    const membio::Identity& identity) {
  membio::Context<membio::server> context;
  context.use_identity_pem(identity.certificate_chain_pem,
                           identity.private_key_pem);
  context.enable_early_data(16384, [](std::string_view) { return true; });
  return context;
}

// A full handshake with the certificate; returns the session the client
// saved. The bytes hold the session's secret: store them like a password.
// They could go to a file, or to another process.
std::vector<unsigned char> first_connection(
    const membio::Context<membio::client>& client_context,
    const membio::Context<membio::server>& server_context, Report& report) {
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);
  run_handshake(client, server, report);
  deliver_tickets(client, server, report);

  std::vector<unsigned char> saved = membio::save_session(client);
  close_both(client, server);
  std::printf("first connection:  full handshake, saved %zu bytes\n",
              saved.size());
  return saved;
}

// A connection that offers the saved session and writes its request as
// early data before the handshake: the request leaves with the client's
// first flight. An attacker may replay early data: send only requests that
// are safe to repeat.
void second_connection(const membio::Context<membio::client>& client_context,
                       const membio::Context<membio::server>& server_context,
                       const std::vector<unsigned char>& saved,
                       Report& report) {
  Channel<membio::client> client(client_context, "localhost");
  Channel<membio::server> server(server_context);
  membio::restore_session(client, saved);
  const std::string_view request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  static_cast<void>(membio::write_early_plaintext(client, request));

  run_handshake(client, server, report);
  deliver_tickets(client, server, report);
  const std::string early = read_early(server);
  std::printf("server read early: %s (%zu bytes)\n",
              early.substr(0, early.find('\r')).c_str(), early.size());
  close_both(client, server);
}

void run() {
  // 1. A throwaway identity for "localhost", made in memory; the client
  //    trusts exactly that certificate.
  const membio::Identity identity = membio::make_self_signed();
  const membio::Context<membio::server> server_context =
      make_server_context(identity);
  membio::Context<membio::client> client_context;
  client_context.trust_pem(identity.certificate_chain_pem);

  // 2. A message trace counts the handshake messages as the client sees
  //    them: those it sends went to the server, those it receives came
  //    from it. Alerts, such as close_notify, are not handshake messages.
  Report full;
  Report resumed;
  Report* counting = &full;
  client_context.on_message(
      [&counting](const membio::ProtocolMessage& message) {
        if (message.handshake_type < 0) return;
        Traffic& way = message.sent ? counting->client_to_server
                                    : counting->server_to_client;
        way.messages.push_back(message.handshake_type);
      });

  // 3. A full handshake, then the session saved as bytes.
  const std::vector<unsigned char> saved =
      first_connection(client_context, server_context, full);

  // 4. A new channel resumes from the bytes and sends early data.
  counting = &resumed;
  second_connection(client_context, server_context, saved, resumed);

  // 5. Side by side.
  print_comparison(full, resumed);
  print_message_lists(full, resumed);
  print_difference(full, resumed);
}

}  // namespace

int main() {
  // Every failure arrives as membio::error, whose message names the step
  // and OpenSSL's reasons.
  try {
    run();
    return 0;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "resumption: %s\n", failure.what());
  }
  return 1;
}
