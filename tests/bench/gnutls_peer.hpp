// Baseline (b): GnuTLS 3 driven in memory through its transport callbacks.
// Each end has two byte queues: the push callback appends to the outgoing
// one, the pull callback takes from the incoming one and answers EAGAIN
// when it is empty, as GnuTLS's own tests do. Moving ciphertext copies one
// end's outgoing queue into a buffer and the buffer into the other end's
// incoming queue: the same two copies as the raw OpenSSL loop.
#ifndef MEMBIO_BENCH_GNUTLS_PEER_HPP
#define MEMBIO_BENCH_GNUTLS_PEER_HPP

#include <gnutls/gnutls.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "scenario.hpp"

#if GNUTLS_VERSION_NUMBER < 0x030600
#error "membio_bench needs GnuTLS 3.6 or newer"
#endif

namespace membio::bench {

[[noreturn]] inline void throw_gnutls(const char* call, int code) {
  throw std::runtime_error(std::string("gnutls: ") + call + ": " +
                           gnutls_strerror(code));
}

/// Bytes in arrival order; taking them leaves the storage for reuse.
class ByteQueue {
 public:
  void append(const void* bytes, std::size_t size) {
    const auto* first = static_cast<const unsigned char*>(bytes);
    bytes_.insert(bytes_.end(), first, first + size);
  }

  std::size_t take(void* out, std::size_t size) {
    const std::size_t taken = std::min(size, bytes_.size() - head_);
    std::memcpy(out, bytes_.data() + head_, taken);
    head_ += taken;

    if (head_ == bytes_.size()) {
      bytes_.clear();
      head_ = 0;
    }
    return taken;
  }

  bool empty() const { return head_ == bytes_.size(); }

 private:
  std::vector<unsigned char> bytes_;
  std::size_t head_ = 0;
};

/// One GnuTLS session with its queues. GnuTLS keeps a pointer to it, so it
/// never moves.
struct GnutlsEnd {
  GnutlsEnd() = default;
  GnutlsEnd(const GnutlsEnd&) = delete;
  GnutlsEnd& operator=(const GnutlsEnd&) = delete;
  ~GnutlsEnd() {
    if (session) gnutls_deinit(session);
  }

  gnutls_session_t session = nullptr;
  ByteQueue incoming;
  ByteQueue outgoing;
  bool handshake_done = false;
};

inline ssize_t gnutls_push(gnutls_transport_ptr_t end, const void* bytes,
                           std::size_t size) {
  static_cast<GnutlsEnd*>(end)->outgoing.append(bytes, size);
  return static_cast<ssize_t>(size);
}

inline ssize_t gnutls_pull(gnutls_transport_ptr_t pointer, void* out,
                           std::size_t size) {
  auto* end = static_cast<GnutlsEnd*>(pointer);
  if (end->incoming.empty()) {
    gnutls_transport_set_errno(end->session, EAGAIN);
    return -1;
  }
  return static_cast<ssize_t>(end->incoming.take(out, size));
}

// GnuTLS asks this whether input waits before some reads; with nothing
// queued the answer is "timed out", never a wait.
inline int gnutls_pull_timeout(gnutls_transport_ptr_t end, unsigned) {
  return static_cast<GnutlsEnd*>(end)->incoming.empty() ? 0 : 1;
}

/// GnuTLS's side of a workload: credentials, priorities, the key that
/// seals session tickets, and the copy buffers.
class GnutlsSide {
 public:
  using Session = std::vector<unsigned char>;
  class Pair;

  explicit GnutlsSide(const Scenario& scenario)
      : scenario_(scenario), wire_(64 * 1024), plaintext_(16 * 1024) {
    const Credentials& credentials = credentials_for(scenario.key_type);
    check("allocate credentials",
          gnutls_certificate_allocate_credentials(&server_credentials_));
    check("allocate credentials",
          gnutls_certificate_allocate_credentials(&client_credentials_));

    const gnutls_datum_t chain = datum(credentials.chain_pem);
    const gnutls_datum_t key = datum(credentials.key_pem);
    check("set key", gnutls_certificate_set_x509_key_mem2(
                         server_credentials_, &chain, &key, GNUTLS_X509_FMT_PEM,
                         nullptr, 0));
    const gnutls_datum_t authority = datum(credentials.authority_pem);
    check("set trust",
          gnutls_certificate_set_x509_trust_mem(client_credentials_, &authority,
                                                GNUTLS_X509_FMT_PEM));

    check("priority",
          gnutls_priority_init(&priority_, priority_string().c_str(), nullptr));
    check("ticket key", gnutls_session_ticket_key_generate(&ticket_key_));
  }

  GnutlsSide(const GnutlsSide&) = delete;
  GnutlsSide& operator=(const GnutlsSide&) = delete;

  ~GnutlsSide() {
    gnutls_free(ticket_key_.data);
    if (priority_) gnutls_priority_deinit(priority_);
    if (client_credentials_) {
      gnutls_certificate_free_credentials(client_credentials_);
    }
    if (server_credentials_) {
      gnutls_certificate_free_credentials(server_credentials_);
    }
  }

 private:
  static void check(const char* call, int code) {
    if (code < 0) throw_gnutls(call, code);
  }

  static gnutls_datum_t datum(const std::string& text) {
    return {reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
            static_cast<unsigned>(text.size())};
  }

  std::string priority_string() const {
    static const char* const ciphers[] = {"AES-128-GCM", "AES-256-GCM",
                                          "CHACHA20-POLY1305"};
    // The same groups as openssl_groups().
    if (scenario_.version == Version::tls1_2) {
      return "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:-GROUP-ALL:"
             "+GROUP-X25519:+GROUP-SECP256R1:-CIPHER-ALL:+AES-128-GCM";
    }
    return std::string(
               "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:"
               "+GROUP-X25519:-CIPHER-ALL:+") +
           ciphers[static_cast<int>(scenario_.cipher)];
  }

  Scenario scenario_;
  gnutls_certificate_credentials_t server_credentials_ = nullptr;
  gnutls_certificate_credentials_t client_credentials_ = nullptr;
  gnutls_priority_t priority_ = nullptr;
  gnutls_datum_t ticket_key_ = {nullptr, 0};
  std::vector<unsigned char> wire_;
  std::vector<unsigned char> plaintext_;
};

/// A client session and a server session, each in its own GnutlsEnd.
class GnutlsSide::Pair {
 public:
  Pair(GnutlsSide& side, const Session* session)
      : side_(&side),
        client_(std::make_unique<GnutlsEnd>()),
        server_(std::make_unique<GnutlsEnd>()) {
    open(*client_, GNUTLS_CLIENT, side.client_credentials_, side.priority_);
    open(*server_, GNUTLS_SERVER, side.server_credentials_, side.priority_);

    gnutls_session_t client = client_->session;
    check("server name",
          gnutls_server_name_set(client, GNUTLS_NAME_DNS, server_name,
                                 std::strlen(server_name)));
    gnutls_session_set_verify_cert(client, server_name, 0);
    if (session) {
      check("set session",
            gnutls_session_set_data(client, session->data(), session->size()));
    }
    check("enable tickets", gnutls_session_ticket_enable_server(
                                server_->session, &side.ticket_key_));
  }

  /// Runs the handshake to its end on both sides, then lets the client read
  /// what the server sent last (TLS 1.3 session tickets).
  void handshake() {
    for (int round = 0; round < 8; ++round) {
      step(*client_);
      copy(*client_, *server_);
      step(*server_);
      copy(*server_, *client_);

      if (client_->handshake_done && server_->handshake_done) {
        read_all(*client_, nullptr);
        return;
      }
    }
    throw std::runtime_error("gnutls: the handshake does not finish");
  }

  Session save_session() const {
    gnutls_datum_t data{nullptr, 0};
    check("get session", gnutls_session_get_data2(client_->session, &data));
    Session bytes(data.data, data.data + data.size);
    gnutls_free(data.data);
    return bytes;
  }

  bool resumed() const { return gnutls_session_is_resumed(client_->session); }

  bool negotiated(const Scenario& scenario) const {
    static const gnutls_cipher_algorithm_t ciphers[] = {
        GNUTLS_CIPHER_AES_128_GCM, GNUTLS_CIPHER_AES_256_GCM,
        GNUTLS_CIPHER_CHACHA20_POLY1305};
    const gnutls_protocol_t version =
        scenario.version == Version::tls1_3 ? GNUTLS_TLS1_3 : GNUTLS_TLS1_2;
    return gnutls_protocol_get_version(client_->session) == version &&
           gnutls_cipher_get(client_->session) ==
               ciphers[static_cast<int>(scenario.cipher)];
  }

  /// The client writes plaintext: one record, or into the cork.
  void write(const unsigned char* plaintext, std::size_t size) {
    const ssize_t sent = gnutls_record_send(client_->session, plaintext, size);
    if (sent < 0) throw_gnutls("gnutls_record_send", static_cast<int>(sent));
  }

  /// Holds the writes that follow, until `send`, to seal them together:
  /// GnuTLS's own way of making few records of many small writes.
  void cork() {
    gnutls_record_cork(client_->session);
    corked_ = true;
  }

  /// Seals what the cork held, then moves the client's ciphertext to the
  /// server.
  void send() {
    if (corked_) {
      corked_ = false;
      const int sent =
          gnutls_record_uncork(client_->session, GNUTLS_RECORD_WAIT);
      if (sent < 0) throw_gnutls("gnutls_record_uncork", sent);
    }
    copy(*client_, *server_);
  }

  /// The server reads all the plaintext it can; returns how much, and
  /// appends it to `copy` when given.
  std::size_t receive(std::vector<unsigned char>* copy = nullptr) {
    return read_all(*server_, copy);
  }

  /// Ends the client session, leaving the server's alone.
  void drop_client() { client_.reset(); }

 private:
  static void check(const char* call, int code) {
    if (code < 0) throw_gnutls(call, code);
  }

  static void open(GnutlsEnd& end, unsigned role,
                   gnutls_certificate_credentials_t credentials,
                   gnutls_priority_t priority) {
    check("gnutls_init", gnutls_init(&end.session, role | GNUTLS_NONBLOCK));
    gnutls_session_t session = end.session;
    check("priority", gnutls_priority_set(session, priority));
    check("credentials",
          gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, credentials));

    gnutls_transport_set_ptr(session, &end);
    gnutls_transport_set_push_function(session, gnutls_push);
    gnutls_transport_set_pull_function(session, gnutls_pull);
    gnutls_transport_set_pull_timeout_function(session, gnutls_pull_timeout);
  }

  static void step(GnutlsEnd& end) {
    if (end.handshake_done) return;
    const int result = gnutls_handshake(end.session);
    if (result == 0) {
      end.handshake_done = true;
    } else if (result != GNUTLS_E_AGAIN && result != GNUTLS_E_INTERRUPTED) {
      throw_gnutls("gnutls_handshake", result);
    }
  }

  void copy(GnutlsEnd& from, GnutlsEnd& to) {
    std::vector<unsigned char>& wire = side_->wire_;
    for (;;) {
      const std::size_t size = from.outgoing.take(wire.data(), wire.size());
      if (size == 0) return;
      to.incoming.append(wire.data(), size);
    }
  }

  std::size_t read_all(GnutlsEnd& end, std::vector<unsigned char>* copy) {
    std::vector<unsigned char>& plaintext = side_->plaintext_;
    std::size_t total = 0;
    for (;;) {
      const ssize_t size =
          gnutls_record_recv(end.session, plaintext.data(), plaintext.size());
      if (size == GNUTLS_E_AGAIN) return total;
      if (size <= 0) throw_gnutls("gnutls_record_recv", static_cast<int>(size));

      total += static_cast<std::size_t>(size);
      if (copy) {
        copy->insert(copy->end(), plaintext.data(), plaintext.data() + size);
      }
    }
  }

  GnutlsSide* side_;
  std::unique_ptr<GnutlsEnd> client_;
  std::unique_ptr<GnutlsEnd> server_;
  bool corked_ = false;
};

}  // namespace membio::bench

#endif  // MEMBIO_BENCH_GNUTLS_PEER_HPP
