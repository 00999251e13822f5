// TlsSession: one connection's TLS (server or client side) as a transform
// from buffers to buffers, with no sockets and no libuv (STYLE.md): the
// owner hands it ciphertext as it arrives and takes plaintext out into its
// own read slices; plaintext it writes comes back as ciphertext through the
// TlsOutput it was made with, which the owner queues on its socket. Owned by
// one net::Connection on one loop; holds its context, so it outlives reloads.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tls/tls_context.h"

namespace plexgate::tls {

// Receives the ciphertext a session produces (handshake flights, records,
// alerts, close_notify), in order. Must not call back into the session.
class TlsOutput {
 public:
  virtual void onTlsOutput(const char* data, size_t n) = 0;

 protected:
  ~TlsOutput() = default;
};

// One endpoint's last session, kept by whoever pools connections to it
// (one per worker and endpoint: no locks), offered to the next handshake.
struct ClientSessionCache {
  bssl::UniquePtr<SSL_SESSION> session;
};

// Why a handshake failed, for counters and logs.
enum class Failure : uint8_t {
  None,
  Protocol,     // no common TLS version (TLS 1.1 and older are refused)
  Cipher,       // no common cipher suite, group or signature algorithm
  Certificate,  // a certificate was missing, untrusted or for another name
  PlainHttp,    // an HTTP request arrived on the TLS port
  Eof,          // the peer closed during the handshake
  Timeout,      // the handshake took too long (set by the owner)
  Other,
};
inline constexpr size_t kFailureKinds = 8;
const char* failureName(Failure f);

// The peer's certificate after a verified handshake.
struct PeerCertificate {
  bool present = false;
  std::string subject_dn;   // RFC 2253: "CN=alice,O=Example"
  std::string common_name;  // "alice"
  std::string der;          // the leaf, DER
};

// Standard base64 with padding (for the DER in X-Certificate-Public).
std::string base64Encode(std::string_view bytes);

class TlsSession {
 public:
  enum class Status : uint8_t { Ok, WantRead, Closed, Failed };

  static std::unique_ptr<TlsSession> server(ServerContextPtr context, TlsOutput& out);
  // `host` is what the certificate must name (and the SNI unless the
  // options give one); `cache` (nullable) must outlive the session.
  static std::unique_ptr<TlsSession> client(ClientContextPtr context, std::string_view host,
                                            ClientSessionCache* cache, TlsOutput& out);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Advances the handshake with ciphertext from `in` (moved past what was
  // taken; BoringSSL buffers partial records itself). Ok once complete.
  Status handshake(std::string_view& in);
  bool handshakeDone() const { return done_; }

  struct ReadResult {
    Status status;
    size_t n;  // plaintext bytes written to dst (status Ok)
  };
  // Decrypts into dst. Closed: the peer sent close_notify.
  ReadResult read(std::string_view& in, char* dst, size_t cap);
  // Plaintext decrypted but not yet returned by read().
  size_t pendingPlaintext() const { return static_cast<size_t>(SSL_pending(ssl_.get())); }
  // Encrypts `n` bytes as few records as their size allows. False on error.
  bool write(const char* data, size_t n);
  // Queues close_notify once (after a completed handshake).
  void shutdown();

  Failure failure() const { return failure_; }
  void setFailure(Failure f) { failure_ = f; }
  const std::string& failureText() const { return failure_text_; }
  // Client side: the upstream's certificate failed verification (chain or
  // name), which callers report apart from other handshake failures.
  bool certificateError() const;

  bool isServer() const { return server_; }
  bool resumed() const { return SSL_session_reused(ssl_.get()) != 0; }
  std::string_view alpn() const;
  std::string_view serverName() const;
  const char* version() const { return SSL_get_version(ssl_.get()); }
  PeerCertificate peerCertificate() const;

  // SSL_CTX_sess_set_new_cb for client contexts: the session goes to the
  // connection's cache slot.
  static int onNewClientSession(SSL* ssl, SSL_SESSION* session);

 private:
  TlsSession(TlsOutput& out, bool server);
  bool attachBio();
  Status fail(int ret);
  static int bioRead(BIO* bio, char* out, int len);
  static int bioWrite(BIO* bio, const char* in, int len);
  static long bioCtrl(BIO* bio, int cmd, long larg, void* parg);
  static const BIO_METHOD* bioMethod();

  bssl::UniquePtr<SSL> ssl_;
  ServerContextPtr server_ctx_;
  ClientContextPtr client_ctx_;
  TlsOutput& out_;
  std::string_view* in_ = nullptr;  // the caller's input, during a call only
  ClientSessionCache* cache_ = nullptr;
  std::string failure_text_;
  Failure failure_ = Failure::None;
  bool server_;
  bool done_ = false;
  bool shut_ = false;
};

}  // namespace plexgate::tls
