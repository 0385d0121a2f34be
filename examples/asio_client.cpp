// A TLS client on standalone Asio without asio::ssl: Asio resolves,
// connects and moves the bytes, a membio channel does all of TLS. It sends
// one line, prints the line that comes back, and closes cleanly: our
// close_notify, then the server's.
//
//   asio_client [--ca FILE | --insecure] [--name NAME] [--timeout SECONDS]
//               HOST PORT [LINE]
//
// Without LINE it sends the first line of standard input. The reply goes to
// standard output; the protocol agreed and any error go to standard error.
// Exits 0 after a clean close, 1 on an error, 2 on bad usage. The build
// defines ASIO_STANDALONE; by hand: g++ -std=c++17 -DASIO_STANDALONE
// -Iinclude examples/asio_client.cpp -lssl -lcrypto -pthread.
#include <membio/membio.hpp>

#include <asio.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/command_line.hpp"

namespace {

using asio::ip::tcp;
using examples::UsageError;

constexpr const char* usage =
    "usage: asio_client [--ca FILE | --insecure] [--name NAME]\n"
    "                   [--timeout SECONDS] HOST PORT [LINE]\n";

struct Options {
  std::string host;
  std::string port;
  std::string line;
  std::string server_name;
  std::string ca_file;
  bool insecure = false;
  std::chrono::seconds timeout{10};
};

Options parse_options(int argc, char** argv) {
  Options options;
  std::string timeout;
  const examples::OptionTable table{
      {{"--ca", &options.ca_file},
       {"--name", &options.server_name},
       {"--timeout", &timeout}},
      {{"--insecure", [&] { options.insecure = true; }}}};
  const std::vector<std::string> positional =
      examples::read_arguments(argc, argv, table);

  if (positional.size() < 2 || positional.size() > 3) {
    throw UsageError("need HOST, PORT and maybe LINE");
  }
  options.host = positional[0];
  options.port = positional[1];
  if (positional.size() == 3) options.line = positional[2];
  if (positional.size() == 2) std::getline(std::cin, options.line);
  if (options.server_name.empty()) options.server_name = options.host;
  if (!timeout.empty()) {
    options.timeout = examples::parse_seconds(timeout, "--timeout");
  }
  return options;
}

membio::Context<membio::client> make_context(const Options& options) {
  membio::Context<membio::client> context;

  if (options.insecure) {
    context.insecure_skip_verification();
  } else if (!options.ca_file.empty()) {
    context.trust_file(options.ca_file);
  } else {
    context.trust_system_default();
  }
  return context;
}

// One request and its reply. The pump runs one asynchronous operation at a
// time: after each, the channel does what it can, then either its output
// is sent or more input is awaited. A timer bounds the whole exchange.
class Client {
 public:
  Client(asio::io_context& io, membio::Channel<membio::client> channel,
         std::string line, std::chrono::seconds timeout)
      : resolver_(io),
        socket_(io),
        timer_(io),
        channel_(std::move(channel)),
        request_(std::move(line) + "\n"),
        timeout_(timeout) {}

  void start(const std::string& host, const std::string& port) {
    timer_.expires_after(timeout_);
    timer_.async_wait([this](const std::error_code& error) {
      if (!error) finish("timed out");
    });

    resolver_.async_resolve(
        host, port,
        [this](const std::error_code& error,
               const tcp::resolver::results_type& endpoints) {
          if (finished_) return;
          if (error) return finish("resolve: " + error.message());
          connect(endpoints);
        });
  }

  // Empty after a clean close; otherwise why the exchange failed.
  const std::string& failure() const { return failure_; }

 private:
  enum class Phase { handshake, reply, closing, done };

  void connect(const tcp::resolver::results_type& endpoints) {
    asio::async_connect(
        socket_, endpoints,
        [this](const std::error_code& error, const tcp::endpoint&) {
          if (finished_) return;
          if (error) return finish("connect: " + error.message());
          step();
        });
  }

  // One turn of the pump. A TLS failure still sends the alert that
  // explains it, at once, before the exchange ends.
  void step() {
    try {
      advance();
      membio::drain_into(channel_, outgoing_);
    } catch (const membio::error& failure) {
      membio::drain_into(channel_, outgoing_);
      std::error_code ignored;
      asio::write(socket_, asio::buffer(outgoing_), ignored);
      return finish(failure.what());
    }

    if (!outgoing_.empty()) return send_ciphertext();
    if (phase_ == Phase::done) return finish("");
    receive_ciphertext();
  }

  // Runs the channel as far as the bytes fed allow, phase after phase.
  void advance() {
    if (phase_ == Phase::handshake) finish_handshake();
    if (phase_ == Phase::reply) read_reply();
    if (phase_ == Phase::closing) await_close();
  }

  // Writing before the handshake is done would work too: membio would seal
  // the line once it is. Waiting lets the protocol be reported first.
  void finish_handshake() {
    static_cast<void>(membio::handshake(channel_));
    if (!channel_.handshake_done()) return;

    std::fprintf(stderr, "asio_client: %s, %s\n",
                 channel_.protocol_version().c_str(),
                 channel_.cipher_suite().c_str());
    static_cast<void>(membio::write_plaintext(channel_, request_));
    phase_ = Phase::reply;
  }

  // The reply is complete at its end of line, or when the server closes.
  void read_reply() {
    static_cast<void>(membio::read_plaintext_into(channel_, reply_));
    const bool server_closed =
        channel_.close_state() == membio::CloseState::close_received;
    if (reply_.find('\n') == std::string::npos && !server_closed) return;

    std::fwrite(reply_.data(), 1, reply_.size(), stdout);
    std::fflush(stdout);
    static_cast<void>(membio::close(channel_));
    phase_ = Phase::closing;
  }

  // After our close_notify, anything but the server's is dropped; an end
  // of the stream before it is reported as truncation.
  void await_close() {
    std::string ignored;
    static_cast<void>(membio::read_plaintext_into(channel_, ignored));
    if (channel_.close_state() == membio::CloseState::closed) {
      phase_ = Phase::done;
    }
  }

  void send_ciphertext() {
    asio::async_write(socket_, asio::buffer(outgoing_),
                      [this](const std::error_code& error, std::size_t) {
                        if (finished_) return;
                        if (error) return finish("send: " + error.message());
                        outgoing_.clear();
                        step();
                      });
  }

  // The end of the stream is input too: the channel then tells a clean
  // close from a cut one.
  void receive_ciphertext() {
    socket_.async_read_some(
        asio::buffer(incoming_),
        [this](const std::error_code& error, std::size_t size) {
          if (finished_) return;
          if (error && error != asio::error::eof) {
            return finish("receive: " + error.message());
          }
          if (error) {
            membio::feed_eof(channel_);
          } else {
            membio::feed(channel_, membio::ConstBytes(incoming_.data(), size));
          }
          step();
        });
  }

  // Ends the exchange once; the first failure is the one reported. Pending
  // handlers then complete with operation_aborted and return at once.
  void finish(const std::string& failure) {
    if (finished_) return;
    finished_ = true;

    failure_ = failure;
    std::error_code ignored;
    resolver_.cancel();
    socket_.close(ignored);
    timer_.cancel();
  }

  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  membio::Channel<membio::client> channel_;
  std::string request_;
  std::string reply_;
  std::vector<unsigned char> outgoing_;
  std::array<unsigned char, 16384> incoming_{};
  std::chrono::seconds timeout_;
  Phase phase_ = Phase::handshake;
  bool finished_ = false;
  std::string failure_;
};

void run(const Options& options) {
  const membio::Context<membio::client> context = make_context(options);
  asio::io_context io;

  Client client(io,
                membio::Channel<membio::client>(context, options.server_name),
                options.line, options.timeout);
  client.start(options.host, options.port);
  io.run();

  if (!client.failure().empty()) throw std::runtime_error(client.failure());
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_program("asio_client", usage,
                               [&] { run(parse_options(argc, argv)); });
}
