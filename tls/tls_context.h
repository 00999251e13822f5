// BoringSSL contexts built from tls_options.h, on the control thread while a
// configuration loads (so a bad certificate fails the load, or the reload,
// with a clear message). Immutable afterwards and shared read-only by every
// worker as shared_ptr<const ...>: SSL_CTX is safe to use from many threads.
// A connection's TlsSession holds its context, so a reload never disturbs a
// handshake or a connection in flight.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tls/ticket_keys.h"
#include "tls/tls_options.h"

namespace plexgate::tls {

class ServerContext;
class ClientContext;
using ServerContextPtr = std::shared_ptr<const ServerContext>;
using ClientContextPtr = std::shared_ptr<const ClientContext>;

// A listener's certificates (one SSL_CTX each, the first the default), their
// SNI index, the protocol settings and the ticket keys.
class ServerContext {
 public:
  // Null and a message naming the file and what is wrong on failure.
  static ServerContextPtr build(const ServerOptions& options, std::string& error);

  SSL_CTX* defaultCtx() const { return certs_.front().ctx.get(); }
  // Exact name, then "*.parent" wildcard (one label), then the default.
  SSL_CTX* select(std::string_view server_name) const;
  const ServerOptions& options() const { return options_; }
  // The names each certificate answers for, in certificate order.
  std::vector<std::vector<std::string>> serverNames() const;
  const std::shared_ptr<TicketKeyRing>& ticketKeys() const { return tickets_; }

 private:
  struct Cert {
    bssl::UniquePtr<SSL_CTX> ctx;
    std::vector<std::string> names;
  };
  static int onServerName(SSL* ssl, int* alert, void* arg);
  static int onAlpn(SSL* ssl, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
                    void* arg);
  static int onTicketKey(SSL* ssl, uint8_t* name, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac,
                         int encrypt);

  ServerOptions options_;
  std::vector<Cert> certs_;
  std::unordered_map<std::string, SSL_CTX*> exact_;
  std::unordered_map<std::string, SSL_CTX*> wildcard_;  // key: the parent ("example.com")
  std::string alpn_wire_;  // length-prefixed, for SSL_select_next_proto
  std::shared_ptr<TicketKeyRing> tickets_;
};

// A cluster's upstream TLS: trust anchors, verification, client certificate.
class ClientContext {
 public:
  static ClientContextPtr build(const ClientOptions& options, std::string& error);

  SSL_CTX* ctx() const { return ctx_.get(); }
  const ClientOptions& options() const { return options_; }

 private:
  ClientOptions options_;
  bssl::UniquePtr<SSL_CTX> ctx_;
};

// The system CA bundle plexgate trusts when a cluster names none.
inline constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

// The first queued BoringSSL error as text ("...: NO_START_LINE"), and clears
// the queue.
std::string lastSslError();

}  // namespace plexgate::tls
