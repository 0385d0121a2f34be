// Tests of hooks.hpp through Context::on_key_log and Context::on_message:
// key log lines in the NSS format, the callback that appends them to a
// file, and the protocol message trace.
#include <membio/hooks.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace {

using membio::TlsVersion;
using membio::test::name_of;
using Lines = std::vector<std::string>;

// Whether `text` contains `part`.
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// One key log line split at its spaces: label, client random, secret.
struct KeyLogLine {
  std::string label;
  std::string client_random;
  std::string secret;
};

// Splits `line`; a line without exactly three fields gives empty ones.
KeyLogLine parse(const std::string& line) {
  std::istringstream fields(line);
  KeyLogLine parsed;
  std::string extra;
  fields >> parsed.label >> parsed.client_random >> parsed.secret;
  if (fields >> extra) return {};
  return parsed;
}

// Whether `text` is `size` hexadecimal digits.
bool is_hex(const std::string& text, std::size_t size) {
  return text.size() == size &&
         std::all_of(text.begin(), text.end(), [](char digit) {
           return std::isxdigit(static_cast<unsigned char>(digit)) != 0;
         });
}

// `text` with its letters in lowercase.
std::string lowercase(std::string text) {
  for (char& letter : text) {
    letter =
        static_cast<char>(std::tolower(static_cast<unsigned char>(letter)));
  }
  return text;
}

// The client random of the channel's connection, in lowercase hex.
std::string client_random_hex(SSL* ssl) {
  unsigned char random[SSL3_RANDOM_SIZE];
  const std::size_t size = SSL_get_client_random(ssl, random, sizeof random);
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t index = 0; index < size; ++index) {
    hex += digits[random[index] >> 4];
    hex += digits[random[index] & 0xf];
  }
  return hex;
}

// How many hex digits a secret of the connection has: TLS 1.3 secrets are
// as long as the suite's hash, the TLS 1.2 master secret is 48 bytes.
std::size_t secret_hex_size(SSL* ssl) {
  if (SSL_version(ssl) != TLS1_3_VERSION) return 2 * SSL_MAX_MASTER_KEY_LENGTH;

  const EVP_MD* hash =
      SSL_CIPHER_get_handshake_digest(SSL_get_current_cipher(ssl));
  return 2 * static_cast<std::size_t>(EVP_MD_get_size(hash));
}

// The labels a handshake of `version` logs, sorted.
Lines expected_labels(TlsVersion version) {
  if (version == TlsVersion::tls1_2) return {"CLIENT_RANDOM"};
  return {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
          "EXPORTER_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
          "SERVER_TRAFFIC_SECRET_0"};
}

// The labels of `lines`, sorted.
Lines labels_of(const Lines& lines) {
  Lines labels;
  for (const std::string& line : lines) labels.push_back(parse(line).label);
  std::sort(labels.begin(), labels.end());
  return labels;
}

// Checks that each of `lines` is a key log line of `ssl`'s connection.
void check_lines_belong_to(const Lines& lines, SSL* ssl) {
  const std::string random = client_random_hex(ssl);
  REQUIRE(random.size() == 64);

  for (const std::string& line : lines) {
    INFO("line: " << line);
    const KeyLogLine parsed = parse(line);
    CHECK(lowercase(parsed.client_random) == random);
    CHECK(is_hex(parsed.secret, secret_hex_size(ssl)));
    CHECK(line.find('\n') == std::string::npos);
  }
}

// A key log callback collecting its lines into `lines`.
membio::KeyLogCallback collect_into(Lines& lines) {
  return [&lines](std::string_view line) { lines.emplace_back(line); };
}

// Contexts for one version, configured before channels are made from them.
struct Contexts {
  explicit Contexts(TlsVersion version)
      : client(membio::test::client_context(version)),
        server(membio::test::server_context(version)) {}

  membio::Context<membio::client> client;
  membio::Context<membio::server> server;
};

// A client and a server channel made from `contexts`, connected.
struct Connection {
  explicit Connection(const Contexts& contexts)
      : client(contexts.client, "localhost"), server(contexts.server) {
    loopback.handshake();
    (void)loopback.send_to_server("ping");
  }

  membio::Channel<membio::client> client;
  membio::Channel<membio::server> server;
  membio::Loopback loopback{client, server};
};

// A file name of its own under the temporary directory, removed when the
// object dies.
class TemporaryPath {
 public:
  TemporaryPath() {
    std::random_device device;
    path_ = std::filesystem::temp_directory_path() /
            ("membio-key-log-" + std::to_string(device()) + ".txt");
    std::filesystem::remove(path_);
  }

  TemporaryPath(const TemporaryPath&) = delete;
  TemporaryPath& operator=(const TemporaryPath&) = delete;

  ~TemporaryPath() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

  std::string string() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// The lines of `text`, each of which must end with a newline.
Lines split_lines(const std::string& text) {
  Lines lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  CHECK(start == text.size());
  return lines;
}

}  // namespace

TEST_CASE("a key log callback receives each secret of a handshake",
          "[hooks][key_log]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  Lines client_lines;
  Lines server_lines;
  contexts.client.on_key_log(collect_into(client_lines));
  contexts.server.on_key_log(collect_into(server_lines));

  const Connection connection(contexts);

  CHECK(labels_of(client_lines) == expected_labels(version));
  check_lines_belong_to(client_lines, connection.client.native_handle());
  CHECK(labels_of(server_lines) == expected_labels(version));
  check_lines_belong_to(server_lines, connection.server.native_handle());
}

TEST_CASE("both ends of a connection log the same secrets",
          "[hooks][key_log]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  Lines client_lines;
  Lines server_lines;
  contexts.client.on_key_log(collect_into(client_lines));
  contexts.server.on_key_log(collect_into(server_lines));

  (void)Connection(contexts);

  std::sort(client_lines.begin(), client_lines.end());
  std::sort(server_lines.begin(), server_lines.end());
  CHECK(client_lines == server_lines);
}

TEST_CASE("TLS 1.2 key log lines are CLIENT_RANDOM with the master secret",
          "[hooks][key_log][tls12]") {
  Contexts contexts(TlsVersion::tls1_2);
  Lines lines;
  contexts.client.on_key_log(collect_into(lines));

  const Connection connection(contexts);

  REQUIRE(lines.size() == 1);
  const KeyLogLine parsed = parse(lines.front());
  CHECK(parsed.label == "CLIENT_RANDOM");
  CHECK(is_hex(parsed.client_random, 64));
  CHECK(is_hex(parsed.secret, 96));
  CHECK(lowercase(parsed.client_random) ==
        client_random_hex(connection.client.native_handle()));
}

TEST_CASE("no key log is kept unless a callback is installed",
          "[hooks][key_log]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  Lines lines;
  contexts.server.on_key_log(collect_into(lines));

  const Connection connection(contexts);

  CHECK(SSL_CTX_get_keylog_callback(contexts.client.native_handle()) ==
        nullptr);
  CHECK(SSL_CTX_get_keylog_callback(contexts.server.native_handle()) !=
        nullptr);
  CHECK(labels_of(lines) == expected_labels(version));
}

TEST_CASE("an empty key log callback turns the key log off",
          "[hooks][key_log]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  Lines lines;
  contexts.client.on_key_log(collect_into(lines));
  contexts.server.on_key_log(collect_into(lines));

  contexts.client.on_key_log({});
  contexts.server.on_key_log({});
  (void)Connection(contexts);

  CHECK(lines.empty());
  CHECK(SSL_CTX_get_keylog_callback(contexts.client.native_handle()) ==
        nullptr);
  CHECK(SSL_CTX_get_keylog_callback(contexts.server.native_handle()) ==
        nullptr);
}

TEST_CASE("a key log callback that throws does not fail the connection",
          "[hooks][key_log][errors]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  int calls = 0;
  const membio::KeyLogCallback throwing = [&calls](std::string_view) {
    ++calls;
    throw std::runtime_error("key log disk full");
  };
  contexts.client.on_key_log(throwing);
  contexts.server.on_key_log(throwing);

  SECTION("the handshake and the transfer succeed") {
    const Connection connection(contexts);

    CHECK(calls == 2 * static_cast<int>(expected_labels(version).size()));
    CHECK_FALSE(connection.client.failure());
    CHECK_FALSE(connection.server.failure());
  }

  SECTION("a failure in the call that logged does not mention the key log") {
    // On TLS 1.3 the client logs the handshake secrets, then refuses the
    // name; on TLS 1.2 it refuses before it has any secret to log.
    membio::Channel<membio::client> client(contexts.client, "other.test");
    membio::Channel<membio::server> server(contexts.server);
    std::error_code code;

    membio::Loopback(client, server).handshake(code);

    INFO("client: " << client.last_error_message());
    REQUIRE(code);
    CHECK((calls > 0) == (version == TlsVersion::tls1_3));
    CHECK(contains(client.last_error_message(), "hostname mismatch"));
    CHECK_FALSE(contains(client.last_error_message(), "key log"));
    CHECK_FALSE(contains(server.last_error_message(), "key log"));
  }

  SECTION("a later failure does not mention the key log") {
    Connection connection(contexts);
    const unsigned char junk[64] = {0x17, 0x03, 0x03, 0x00, 0x3b};
    std::error_code code;

    membio::feed(connection.server, junk, code);
    std::string plaintext;
    (void)membio::read_plaintext_into(connection.server, plaintext, code);

    INFO("server: " << connection.server.last_error_message());
    REQUIRE(code);
    CHECK_FALSE(contains(connection.server.last_error_message(), "key log"));
  }
}

TEST_CASE("append_key_log_to writes one newline-ended line per secret",
          "[hooks][key_log][file]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  const TemporaryPath path;
  Contexts contexts(version);
  contexts.client.on_key_log(membio::append_key_log_to(path.string()));

  const Connection connection(contexts);

  const Lines lines = split_lines(read_file(path.string()));
  CHECK(labels_of(lines) == expected_labels(version));
  check_lines_belong_to(lines, connection.client.native_handle());
}

TEST_CASE("append_key_log_to creates the file readable by its owner only",
          "[hooks][key_log][file]") {
  const TemporaryPath path;

  (void)membio::append_key_log_to(path.string());

  struct stat status {};
  REQUIRE(::stat(path.string().c_str(), &status) == 0);
  CHECK((status.st_mode & 0777) == 0600);
}

TEST_CASE("append_key_log_to appends across connections and keeps the file",
          "[hooks][key_log][file]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  const TemporaryPath path;
  std::ofstream(path.string()) << "# earlier\n";
  Contexts contexts(version);
  contexts.client.on_key_log(membio::append_key_log_to(path.string()));
  const std::size_t per_connection = expected_labels(version).size();

  const Connection first(contexts);
  const Connection second(contexts);

  const Lines lines = split_lines(read_file(path.string()));
  REQUIRE(lines.size() == 1 + 2 * per_connection);
  CHECK(lines.front() == "# earlier");
  const auto middle = lines.begin() + 1 + static_cast<long>(per_connection);
  check_lines_belong_to(Lines(lines.begin() + 1, middle),
                        first.client.native_handle());
  check_lines_belong_to(Lines(middle, lines.end()),
                        second.client.native_handle());
}

TEST_CASE("append_key_log_to keeps lines whole when threads share it",
          "[hooks][key_log][file][threads]") {
  const TemporaryPath path;
  Contexts contexts(TlsVersion::tls1_3);
  const membio::KeyLogCallback log = membio::append_key_log_to(path.string());
  contexts.client.on_key_log(log);
  contexts.server.on_key_log(log);
  constexpr int threads = 4;
  constexpr int connections = 5;

  std::vector<std::thread> workers;
  for (int thread = 0; thread < threads; ++thread) {
    workers.emplace_back([&contexts] {
      for (int index = 0; index < connections; ++index) Connection{contexts};
    });
  }
  for (std::thread& worker : workers) worker.join();

  const Lines labels = expected_labels(TlsVersion::tls1_3);
  const Lines lines = split_lines(read_file(path.string()));
  CHECK(lines.size() == 2 * threads * connections * labels.size());
  for (const std::string& line : lines) {
    INFO("line: " << line);
    const KeyLogLine parsed = parse(line);
    CHECK(std::count(labels.begin(), labels.end(), parsed.label) == 1);
    CHECK(is_hex(parsed.client_random, 64));
    CHECK_FALSE(parsed.secret.empty());
  }
}

TEST_CASE("append_key_log_to names the path it cannot open",
          "[hooks][key_log][file][errors]") {
  const std::string path = (std::filesystem::temp_directory_path() /
                            "membio-missing-directory" / "keys.log")
                               .string();
  REQUIRE_FALSE(
      std::filesystem::exists(std::filesystem::path(path).parent_path()));

  try {
    (void)membio::append_key_log_to(path);
    FAIL("opening a key log in a missing directory did not throw");
  } catch (const membio::error& error) {
    INFO("what: " << error.what());
    CHECK(error.code() == std::errc::no_such_file_or_directory);
    CHECK(contains(error.what(), "append key log to " + path));
  }
}

namespace {

// One message a side traced, kept after the callback returned.
struct Seen {
  bool sent = false;
  int content_type = 0;
  int handshake_type = -1;
  std::string bytes;
};

// The messages one side of a connection traced.
struct Trace {
  std::vector<Seen> messages;

  membio::MessageCallback callback() {
    return [this](const membio::ProtocolMessage& message) {
      messages.push_back(
          {message.sent, message.content_type, message.handshake_type,
           std::string(reinterpret_cast<const char*>(message.bytes.data()),
                       message.bytes.size())});
    };
  }

  // The handshake types of the messages sent, or received, in order.
  std::vector<int> handshakes(bool sent) const {
    std::vector<int> types;
    for (const Seen& message : messages) {
      if (message.sent == sent && message.content_type == 22) {
        types.push_back(message.handshake_type);
      }
    }
    return types;
  }

  // The bytes of the messages sent, or received, in order.
  Lines bytes(bool sent) const {
    Lines all;
    for (const Seen& message : messages) {
      if (message.sent == sent) all.push_back(message.bytes);
    }
    return all;
  }
};

}  // namespace

TEST_CASE("a message trace sees each handshake message both ends exchange",
          "[hooks][message]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  INFO(name_of(version));
  Contexts contexts(version);
  Trace client;
  Trace server;
  contexts.client.on_message(client.callback());
  contexts.server.on_message(server.callback());

  {
    Connection connection(contexts);
    connection.loopback.close();
  }

  CHECK(client.bytes(true) == server.bytes(false));
  CHECK(server.bytes(true) == client.bytes(false));
  const std::vector<int> client_sent = client.handshakes(true);
  const std::vector<int> server_sent = server.handshakes(true);
  if (version == TlsVersion::tls1_3) {
    CHECK(client_sent == std::vector<int>{1, 20});
    REQUIRE(server_sent.size() >= 5);
    CHECK(std::vector<int>(server_sent.begin(), server_sent.begin() + 5) ==
          std::vector<int>{2, 8, 11, 15, 20});
  } else {
    CHECK(client_sent == std::vector<int>{1, 16, 20});
    CHECK(server_sent == std::vector<int>{2, 11, 12, 14, 4, 20});
  }
  REQUIRE_FALSE(client.messages.empty());
  const Seen& last = client.messages.back();
  CHECK(last.content_type == 21);
  CHECK(last.handshake_type == -1);
  CHECK(last.bytes == std::string("\x01\x00", 2));
}

TEST_CASE("a message trace that throws does not fail the connection",
          "[hooks][message][errors]") {
  Contexts contexts(TlsVersion::tls1_3);
  int calls = 0;
  contexts.client.on_message([&calls](const membio::ProtocolMessage&) {
    ++calls;
    throw std::runtime_error("trace full");
  });

  const Connection connection(contexts);

  CHECK(calls > 0);
  CHECK_FALSE(connection.client.failure());
  CHECK_FALSE(contains(connection.client.last_error_message(), "trace"));
}

TEST_CASE("an empty message trace turns the trace off", "[hooks][message]") {
  Contexts contexts(TlsVersion::tls1_3);
  Trace trace;
  contexts.client.on_message(trace.callback());
  contexts.client.on_message({});

  const Connection connection(contexts);

  CHECK(trace.messages.empty());
}
