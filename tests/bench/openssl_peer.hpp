// Baseline (a): raw OpenSSL 3 written the way the classic memory-BIO demo
// is: two BIO_s_mem per SSL, a loop copying one side's output BIO into a
// buffer and the buffer into the other side's input BIO, and
// SSL_do_handshake, SSL_read and SSL_write checked with SSL_get_error.
#ifndef MEMBIO_BENCH_OPENSSL_PEER_HPP
#define MEMBIO_BENCH_OPENSSL_PEER_HPP

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace membio::bench {

[[noreturn]] inline void throw_openssl(const char* call) {
  char reason[256] = "no error queued";
  const unsigned long code = ERR_get_error();
  if (code) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error(std::string("openssl: ") + call + ": " + reason);
}

template <class T, void (*Free)(T*)>
struct OpensslFree {
  void operator()(T* object) const { Free(object); }
};

/// Raw OpenSSL's side of a workload: both contexts and the copy buffers.
class OpensslSide {
 public:
  using Session =
      std::unique_ptr<SSL_SESSION, OpensslFree<SSL_SESSION, SSL_SESSION_free>>;
  class Pair;

  /// `release_buffers` sets SSL_MODE_RELEASE_BUFFERS, which the demo does
  /// not; the idle-memory target is stated against it.
  OpensslSide(const Scenario& scenario, bool release_buffers = false)
      : client_(SSL_CTX_new(TLS_client_method())),
        server_(SSL_CTX_new(TLS_server_method())),
        wire_(64 * 1024),
        plaintext_(16 * 1024) {
    if (!client_ || !server_) throw_openssl("SSL_CTX_new");
    const Credentials& credentials = credentials_for(scenario.key_type);
    use_identity(credentials);
    trust(credentials.authority_pem);

    for (SSL_CTX* context : {client_.get(), server_.get()}) {
      configure(context, scenario);
      if (release_buffers) SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);
    }
  }

 private:
  using ContextHandle =
      std::unique_ptr<SSL_CTX, OpensslFree<SSL_CTX, SSL_CTX_free>>;

  static std::unique_ptr<BIO, OpensslFree<BIO, BIO_free_all>> read_pem(
      const std::string& pem) {
    return std::unique_ptr<BIO, OpensslFree<BIO, BIO_free_all>>(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  }

  // The leaf is issued straight by the trusted authority: no intermediates.
  void use_identity(const Credentials& credentials) {
    auto chain = read_pem(credentials.chain_pem);
    auto key = read_pem(credentials.key_pem);
    X509* leaf = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr);
    EVP_PKEY* pkey =
        PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, nullptr);

    const bool ok = leaf && pkey &&
                    SSL_CTX_use_certificate(server_.get(), leaf) == 1 &&
                    SSL_CTX_use_PrivateKey(server_.get(), pkey) == 1;
    X509_free(leaf);
    EVP_PKEY_free(pkey);
    if (!ok) throw_openssl("use certificate and key");
  }

  void trust(const std::string& authority_pem) {
    auto bio = read_pem(authority_pem);
    X509* authority = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    const bool ok =
        authority && X509_STORE_add_cert(SSL_CTX_get_cert_store(client_.get()),
                                         authority) == 1;
    X509_free(authority);
    if (!ok) throw_openssl("trust authority");
    SSL_CTX_set_verify(client_.get(), SSL_VERIFY_PEER, nullptr);
  }

  static void configure(SSL_CTX* context, const Scenario& scenario) {
    const int version =
        scenario.version == Version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
    const bool ok =
        SSL_CTX_set_min_proto_version(context, version) == 1 &&
        SSL_CTX_set_max_proto_version(context, version) == 1 &&
        SSL_CTX_set1_groups_list(context, openssl_groups(scenario)) == 1 &&
        (scenario.version == Version::tls1_3
             ? SSL_CTX_set_ciphersuites(
                   context, openssl_tls13_suite(scenario.cipher)) == 1
             : SSL_CTX_set_cipher_list(context, openssl_tls12_suite) == 1);
    if (!ok) throw_openssl("configure context");
  }

  ContextHandle client_;
  ContextHandle server_;
  std::vector<unsigned char> wire_;
  std::vector<unsigned char> plaintext_;
};

/// A client SSL and a server SSL, each with its two memory BIOs.
class OpensslSide::Pair {
 public:
  Pair(OpensslSide& side, const Session* session) : side_(&side) {
    client_ = open(side.client_.get(), client_in_, client_out_);
    server_ = open(side.server_.get(), server_in_, server_out_);

    SSL_set_connect_state(client_.get());
    if (SSL_set_tlsext_host_name(client_.get(), server_name) != 1 ||
        SSL_set1_host(client_.get(), server_name) != 1 ||
        (session && SSL_set_session(client_.get(), session->get()) != 1)) {
      throw_openssl("set up client");
    }
    SSL_set_accept_state(server_.get());
  }

  /// Runs the handshake to its end on both sides, then lets the client read
  /// what the server sent last (TLS 1.3 session tickets).
  void handshake() {
    for (int round = 0; round < 8; ++round) {
      const bool client_done = step(client_.get());
      copy(client_out_, server_in_);
      const bool server_done = step(server_.get());
      copy(server_out_, client_in_);

      if (client_done && server_done) {
        read_all(client_.get(), nullptr);
        return;
      }
    }
    throw std::runtime_error("openssl: the handshake does not finish");
  }

  Session save_session() const {
    return Session(SSL_get1_session(client_.get()));
  }
  bool resumed() const { return SSL_session_reused(client_.get()) == 1; }
  bool negotiated(const Scenario& scenario) const {
    return SSL_CIPHER_get_name(SSL_get_current_cipher(client_.get())) ==
           expected_suite(scenario);
  }

  /// The client writes plaintext; a memory BIO takes all of it.
  void write(const unsigned char* plaintext, std::size_t size) {
    const int length = static_cast<int>(size);
    if (SSL_write(client_.get(), plaintext, length) != length) {
      throw_openssl("SSL_write");
    }
  }

  /// Nothing to do: each SSL_write seals its own records.
  void cork() {}

  /// Moves the client's ciphertext to the server.
  void send() { copy(client_out_, server_in_); }

  /// The server reads all the plaintext it can; returns how much, and
  /// appends it to `copy` when given.
  std::size_t receive(std::vector<unsigned char>* copy = nullptr) {
    return read_all(server_.get(), copy);
  }

  /// Frees the client, leaving the server alone.
  void drop_client() {
    client_.reset();
    client_in_ = client_out_ = nullptr;
  }

 private:
  using SslHandle = std::unique_ptr<SSL, OpensslFree<SSL, SSL_free>>;

  // SSL_set_bio gives both BIOs to the SSL; the plain pointers kept for
  // copying are owned by it.
  static SslHandle open(SSL_CTX* context, BIO*& in, BIO*& out) {
    SslHandle ssl(SSL_new(context));
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    if (!ssl || !in || !out) {
      BIO_free(in);
      BIO_free(out);
      throw_openssl("SSL_new");
    }
    SSL_set_bio(ssl.get(), in, out);
    return ssl;
  }

  static bool step(SSL* ssl) {
    const int result = SSL_do_handshake(ssl);
    if (result == 1) return true;
    if (SSL_get_error(ssl, result) == SSL_ERROR_WANT_READ) return false;
    throw_openssl("SSL_do_handshake");
  }

  void copy(BIO* from, BIO* to) {
    std::vector<unsigned char>& wire = side_->wire_;
    int size = 0;
    while ((size = BIO_read(from, wire.data(), static_cast<int>(wire.size()))) >
           0) {
      if (BIO_write(to, wire.data(), size) != size) throw_openssl("BIO_write");
    }
  }

  std::size_t read_all(SSL* ssl, std::vector<unsigned char>* copy) {
    std::vector<unsigned char>& plaintext = side_->plaintext_;
    std::size_t total = 0;
    for (;;) {
      const int size =
          SSL_read(ssl, plaintext.data(), static_cast<int>(plaintext.size()));
      if (size <= 0) {
        if (SSL_get_error(ssl, size) == SSL_ERROR_WANT_READ) return total;
        throw_openssl("SSL_read");
      }
      total += static_cast<std::size_t>(size);
      if (copy)
        copy->insert(copy->end(), plaintext.data(), plaintext.data() + size);
    }
  }

  OpensslSide* side_;
  BIO* client_in_ = nullptr;
  BIO* client_out_ = nullptr;
  BIO* server_in_ = nullptr;
  BIO* server_out_ = nullptr;
  SslHandle client_;
  SslHandle server_;
};

}  // namespace membio::bench

#endif  // MEMBIO_BENCH_OPENSSL_PEER_HPP
