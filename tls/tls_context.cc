#include "tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "parsers/ascii.h"
#include "tls/tls_session.h"

namespace plexgate::tls {

namespace {

// TLS 1.2 suites: ECDHE with AEADs only (no CBC, no RSA key exchange). TLS
// 1.3's suites are all AEADs and not configurable in BoringSSL.
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = parsers::asciiLower(c);
  }
  return out;
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// DNS subjectAltNames of the context's leaf, or its CN when it has none.
std::vector<std::string> certificateNames(SSL_CTX* ctx) {
  std::vector<std::string> names;
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  if (leaf == nullptr) {
    return names;
  }
  bssl::UniquePtr<GENERAL_NAMES> sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  if (sans) {
    for (size_t i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type == GEN_DNS) {
        const ASN1_STRING* s = gn->d.dNSName;
        names.push_back(lowered(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                 static_cast<size_t>(ASN1_STRING_length(s)))));
      }
    }
  }
  if (names.empty()) {
    char cn[256];
    const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
    if (n > 0) {
      names.push_back(lowered(std::string_view(cn, static_cast<size_t>(n))));
    }
  }
  return names;
}

bool loadChainAndKey(SSL_CTX* ctx, const std::string& cert, const std::string& key, std::string& error) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    error = "cannot load certificate chain '" + cert + "': " + lastSslError();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    const uint32_t e = ERR_peek_error();
    if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      error = "private key '" + key + "' does not match certificate '" + cert + "'";
      return false;
    }
    error = "cannot load private key '" + key + "': " + lastSslError();
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = "private key '" + key + "' does not match certificate '" + cert + "'";
    ERR_clear_error();
    return false;
  }
  return true;
}

bool commonSettings(SSL_CTX* ctx, Version min, Version max, std::string& error) {
  SSL_CTX_set_min_proto_version(ctx, static_cast<uint16_t>(min));
  SSL_CTX_set_max_proto_version(ctx, static_cast<uint16_t>(max));
  if (SSL_CTX_set_strict_cipher_list(ctx, kCiphers) != 1) {
    error = "cipher list rejected: " + lastSslError();
    return false;
  }
  // TLS 1.2: our order, AES-128-GCM first (fastest with AES-NI). TLS 1.3
  // suites are BoringSSL's fixed set, taken in the client's order (OpenSSL
  // clients put AES-256-GCM first).
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Send the chain exactly as the file gives it.
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
  return true;
}

}  // namespace

std::string lastSslError() {
  const uint32_t e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return "unknown error";
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// ---- server -----------------------------------------------------------------

ServerContextPtr ServerContext::build(const ServerOptions& options, std::string& error) {
  if (options.certificates.empty()) {
    error = "no certificate configured";
    return nullptr;
  }
  std::shared_ptr<ServerContext> sc(new ServerContext());
  sc->options_ = options;
  for (const std::string& proto : options.alpn) {
    sc->alpn_wire_.push_back(static_cast<char>(proto.size()));
    sc->alpn_wire_ += proto;
  }
  if (!options.session_tickets) {
    // nothing: SSL_OP_NO_TICKET below
  } else if (!options.ticket_key_file.empty()) {
    std::string bytes;
    if (!readFile(options.ticket_key_file, bytes)) {
      error = "cannot read ticket key file '" + options.ticket_key_file + "'";
      return nullptr;
    }
    std::string why;
    sc->tickets_ = TicketKeyRing::fromBytes(bytes, why);
    if (!sc->tickets_) {
      error = "ticket key file '" + options.ticket_key_file + "': " + why;
      return nullptr;
    }
  } else {
    sc->tickets_ = std::make_shared<TicketKeyRing>(options.ticket_key_rotation);
  }

  bssl::UniquePtr<STACK_OF(X509_NAME)> client_cas;
  if (options.client_auth != ClientAuth::Off) {
    client_cas.reset(SSL_load_client_CA_file(options.client_ca_file.c_str()));
    if (!client_cas) {
      error = "cannot load client CA file '" + options.client_ca_file + "': " + lastSslError();
      return nullptr;
    }
  }

  for (const CertificateOptions& co : options.certificates) {
    Cert cert;
    cert.ctx.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX* ctx = cert.ctx.get();
    if (!commonSettings(ctx, options.min_version, options.max_version, error) ||
        !loadChainAndKey(ctx, co.cert_file, co.key_file, error)) {
      return nullptr;
    }
    SSL_CTX_set_app_data(ctx, sc.get());
    SSL_CTX_set_tlsext_servername_callback(ctx, &ServerContext::onServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx, sc.get());
    if (!sc->alpn_wire_.empty()) {
      SSL_CTX_set_alpn_select_cb(ctx, &ServerContext::onAlpn, sc.get());
    }
    // Resumption is by tickets only: a stateful cache would be one more
    // structure shared (and locked) across workers.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (sc->tickets_) {
      SSL_CTX_set_tlsext_ticket_key_cb(ctx, &ServerContext::onTicketKey);
      SSL_CTX_set_timeout(ctx, static_cast<uint32_t>(options.ticket_key_rotation.count()));
      SSL_CTX_set_session_psk_dhe_timeout(ctx, static_cast<uint32_t>(options.ticket_key_rotation.count()));
    } else {
      SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    static const uint8_t kSidContext[] = "plexgate";
    SSL_CTX_set_session_id_context(ctx, kSidContext, sizeof(kSidContext) - 1);
    if (options.client_auth != ClientAuth::Off) {
      if (SSL_CTX_load_verify_locations(ctx, options.client_ca_file.c_str(), nullptr) != 1) {
        error = "cannot load client CA file '" + options.client_ca_file + "': " + lastSslError();
        return nullptr;
      }
      SSL_CTX_set_client_CA_list(ctx, SSL_dup_CA_list(client_cas.get()));
      int mode = SSL_VERIFY_PEER;
      if (options.client_auth == ClientAuth::Required) {
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      }
      SSL_CTX_set_verify(ctx, mode, nullptr);
    }
    if (co.server_names.empty()) {
      cert.names = certificateNames(ctx);
    } else {
      for (const std::string& n : co.server_names) {
        cert.names.push_back(lowered(n));
      }
    }
    sc->certs_.push_back(std::move(cert));
  }
  // The first certificate naming a host wins it, as the file lists them.
  for (const Cert& cert : sc->certs_) {
    for (const std::string& name : cert.names) {
      if (name.size() > 2 && name.compare(0, 2, "*.") == 0) {
        sc->wildcard_.emplace(name.substr(2), cert.ctx.get());
      } else {
        sc->exact_.emplace(name, cert.ctx.get());
      }
    }
  }
  return sc;
}

std::vector<std::vector<std::string>> ServerContext::serverNames() const {
  std::vector<std::vector<std::string>> out;
  for (const Cert& c : certs_) {
    out.push_back(c.names);
  }
  return out;
}

SSL_CTX* ServerContext::select(std::string_view server_name) const {
  if (!server_name.empty() && (!exact_.empty() || !wildcard_.empty())) {
    char buf[256];
    if (server_name.size() < sizeof(buf)) {
      for (size_t i = 0; i < server_name.size(); ++i) {
        buf[i] = parsers::asciiLower(server_name[i]);
      }
      const std::string name(buf, server_name.size());
      if (auto it = exact_.find(name); it != exact_.end()) {
        return it->second;
      }
      const size_t dot = name.find('.');
      if (dot != std::string::npos && dot > 0) {
        if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end()) {
          return it->second;
        }
      }
    }
  }
  return defaultCtx();
}

int ServerContext::onServerName(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) {
    return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  }
  SSL_CTX* chosen = self->select(name);
  if (chosen != SSL_get_SSL_CTX(ssl)) {
    SSL_set_SSL_CTX(ssl, chosen);
  }
  return SSL_TLSEXT_ERR_OK;
}

int ServerContext::onAlpn(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
                          void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  uint8_t* chosen = nullptr;
  // Our preference order, among what the client offers.
  if (SSL_select_next_proto(&chosen, out_len, reinterpret_cast<const uint8_t*>(self->alpn_wire_.data()),
                            static_cast<unsigned>(self->alpn_wire_.size()), in,
                            in_len) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no overlap: carry on without ALPN
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int ServerContext::onTicketKey(SSL* ssl, uint8_t* name, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac,
                               int encrypt) {
  const auto* self = static_cast<const ServerContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (self == nullptr || !self->tickets_) {
    return encrypt ? -1 : 0;
  }
  return self->tickets_->ticketCallback(name, iv, cipher, hmac, encrypt != 0);
}

// ---- client -----------------------------------------------------------------

ClientContextPtr ClientContext::build(const ClientOptions& options, std::string& error) {
  std::shared_ptr<ClientContext> cc(new ClientContext());
  cc->options_ = options;
  cc->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = cc->ctx_.get();
  if (!commonSettings(ctx, Version::Tls12, Version::Tls13, error)) {
    return nullptr;
  }
  if (options.verify) {
    const std::string& ca = options.ca_file.empty() ? std::string(kSystemCaBundle) : options.ca_file;
    if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1) {
      error = "cannot load CA file '" + ca + "': " + lastSslError();
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!options.client_cert_file.empty() &&
      !loadChainAndKey(ctx, options.client_cert_file, options.client_key_file, error)) {
    return nullptr;
  }
  // Sessions are kept per endpoint by the worker (TlsSession's cache slot),
  // not in a shared cache.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, &TlsSession::onNewClientSession);
  static const uint8_t kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof(kAlpn) - 1);
  return cc;
}

}  // namespace plexgate::tls
