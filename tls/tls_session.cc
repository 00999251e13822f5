#include "tls/tls_session.h"

#include <openssl/base64.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <cstring>

namespace plexgate::tls {

namespace {

Failure classify(uint32_t err) {
  if (ERR_GET_LIB(err) != ERR_LIB_SSL) {
    return Failure::Other;
  }
  switch (ERR_GET_REASON(err)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_WRONG_VERSION_NUMBER:
      return Failure::Protocol;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUP:
    case SSL_R_NO_COMMON_SIGNATURE_ALGORITHMS:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      return Failure::Cipher;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_CERTIFICATE_REQUIRED:
      return Failure::Certificate;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return Failure::PlainHttp;
    default:
      return Failure::Other;
  }
}

bool isIpLiteral(std::string_view host) {
  char buf[64];
  if (host.size() >= sizeof(buf)) {
    return false;
  }
  std::memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

}  // namespace

const char* failureName(Failure f) {
  switch (f) {
    case Failure::None: return "none";
    case Failure::Protocol: return "protocol";
    case Failure::Cipher: return "cipher";
    case Failure::Certificate: return "certificate";
    case Failure::PlainHttp: return "plain_http";
    case Failure::Eof: return "eof";
    case Failure::Timeout: return "timeout";
    case Failure::Other: return "other";
  }
  return "other";
}

std::string base64Encode(std::string_view bytes) {
  size_t len = 0;
  EVP_EncodedLength(&len, bytes.size());
  std::string out(len, '\0');
  const size_t n = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()),
                                   reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  out.resize(n);
  return out;
}

TlsSession::TlsSession(TlsOutput& out, bool server) : out_(out), server_(server) {}

TlsSession::~TlsSession() = default;

const BIO_METHOD* TlsSession::bioMethod() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "plexgate");
    BIO_meth_set_read(m, &TlsSession::bioRead);
    BIO_meth_set_write(m, &TlsSession::bioWrite);
    BIO_meth_set_ctrl(m, &TlsSession::bioCtrl);
    return m;
  }();
  return method;
}

bool TlsSession::attachBio() {
  BIO* bio = BIO_new(bioMethod());
  if (bio == nullptr) {
    return false;
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // one BIO both ways; SSL owns it
  return true;
}

std::unique_ptr<TlsSession> TlsSession::server(ServerContextPtr context, TlsOutput& out) {
  std::unique_ptr<TlsSession> s(new TlsSession(out, true));
  s->ssl_.reset(SSL_new(context->defaultCtx()));
  if (!s->ssl_ || !s->attachBio()) {
    return nullptr;
  }
  s->server_ctx_ = std::move(context);
  SSL_set_accept_state(s->ssl_.get());
  // Once the handshake is done, free the per-connection copy of the
  // configuration (certificate chain, cipher list, ...): an idle TLS
  // connection should cost its keys and state, not a handshake's worth.
  SSL_set_shed_handshake_config(s->ssl_.get(), 1);
  return s;
}

std::unique_ptr<TlsSession> TlsSession::client(ClientContextPtr context, std::string_view host,
                                               ClientSessionCache* cache, TlsOutput& out) {
  std::unique_ptr<TlsSession> s(new TlsSession(out, false));
  s->ssl_.reset(SSL_new(context->ctx()));
  if (!s->ssl_ || !s->attachBio()) {
    return nullptr;
  }
  SSL* ssl = s->ssl_.get();
  SSL_set_app_data(ssl, s.get());
  SSL_set_shed_handshake_config(ssl, 1);  // as on the server side (renegotiation is never allowed)
  const ClientOptions& o = context->options();
  const std::string name = o.sni.empty() ? std::string(host) : o.sni;
  const bool ip = isIpLiteral(name);
  if (!ip && !name.empty()) {
    SSL_set_tlsext_host_name(ssl, name.c_str());
  }
  if (o.verify) {
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    } else {
      SSL_set1_host(ssl, name.c_str());
    }
  }
  s->cache_ = cache;
  if (cache != nullptr && cache->session) {
    SSL_set_session(ssl, cache->session.get());
  }
  s->client_ctx_ = std::move(context);
  SSL_set_connect_state(ssl);
  return s;
}

int TlsSession::onNewClientSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TlsSession*>(SSL_get_app_data(ssl));
  if (self == nullptr || self->cache_ == nullptr) {
    return 0;  // not kept: BoringSSL frees it
  }
  self->cache_->session.reset(session);  // we take the reference
  return 1;
}

int TlsSession::bioRead(BIO* bio, char* out, int len) {
  auto* self = static_cast<TlsSession*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  std::string_view* in = self->in_;
  if (in == nullptr || in->empty()) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const size_t n = std::min(in->size(), static_cast<size_t>(len));
  std::memcpy(out, in->data(), n);
  in->remove_prefix(n);
  return static_cast<int>(n);
}

int TlsSession::bioWrite(BIO* bio, const char* in, int len) {
  auto* self = static_cast<TlsSession*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  self->out_.onTlsOutput(in, static_cast<size_t>(len));
  return len;
}

long TlsSession::bioCtrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

TlsSession::Status TlsSession::fail(int ret) {
  const int e = SSL_get_error(ssl_.get(), ret);
  if (e == SSL_ERROR_WANT_READ) {
    return Status::WantRead;
  }
  if (e == SSL_ERROR_ZERO_RETURN) {
    ERR_clear_error();
    if (!done_) {
      failure_ = Failure::Eof;
      return Status::Failed;
    }
    return Status::Closed;
  }
  const uint32_t err = ERR_peek_error();
  if (!done_ && failure_ == Failure::None) {
    failure_ = err != 0 ? classify(err) : Failure::Other;
  }
  if (err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    failure_text_ = buf;
  }
  ERR_clear_error();
  return Status::Failed;
}

TlsSession::Status TlsSession::handshake(std::string_view& in) {
  if (done_) {
    return Status::Ok;
  }
  in_ = &in;
  const int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    done_ = true;
    if (server_) {
      // BoringSSL holds a TLS 1.3 server's session tickets back to send
      // with the first response. A client that writes its request right
      // after its Finished, with Nagle on, then waits for our delayed ACK
      // (~40 ms): send them now, as nginx and HAProxy do, so the ACK rides
      // on them. A zero-length write flushes what is queued.
      SSL_write(ssl_.get(), "", 0);
    }
    in_ = nullptr;
    return Status::Ok;
  }
  in_ = nullptr;
  return fail(rc);
}

TlsSession::ReadResult TlsSession::read(std::string_view& in, char* dst, size_t cap) {
  in_ = &in;
  const int rc = SSL_read(ssl_.get(), dst, static_cast<int>(std::min<size_t>(cap, 1u << 30)));
  in_ = nullptr;
  if (rc > 0) {
    return {Status::Ok, static_cast<size_t>(rc)};
  }
  return {fail(rc), 0};
}

bool TlsSession::write(const char* data, size_t n) {
  while (n > 0) {
    const int chunk = static_cast<int>(std::min<size_t>(n, 1u << 30));
    const int rc = SSL_write(ssl_.get(), data, chunk);
    if (rc <= 0) {
      fail(rc);
      return false;
    }
    data += rc;
    n -= static_cast<size_t>(rc);
  }
  return true;
}

void TlsSession::shutdown() {
  if (shut_ || !done_) {
    return;
  }
  shut_ = true;
  // Sends close_notify; we never wait for the peer's (the TCP close follows).
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

bool TlsSession::certificateError() const {
  if (server_) {
    return failure_ == Failure::Certificate;
  }
  return SSL_get_verify_result(ssl_.get()) != X509_V_OK || failure_ == Failure::Certificate;
}

std::string_view TlsSession::alpn() const {
  const uint8_t* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &p, &len);
  return std::string_view(reinterpret_cast<const char*>(p), len);
}

std::string_view TlsSession::serverName() const {
  const char* n = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return n != nullptr ? std::string_view(n) : std::string_view();
}

PeerCertificate TlsSession::peerCertificate() const {
  PeerCertificate pc;
  bssl::UniquePtr<X509> cert(SSL_get_peer_certificate(ssl_.get()));
  if (!cert) {
    return pc;
  }
  pc.present = true;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  bssl::UniquePtr<BIO> mem(BIO_new(BIO_s_mem()));
  if (mem && X509_NAME_print_ex(mem.get(), subject, 0, XN_FLAG_RFC2253) >= 0) {
    const uint8_t* p = nullptr;
    size_t len = 0;
    BIO_mem_contents(mem.get(), &p, &len);
    pc.subject_dn.assign(reinterpret_cast<const char*>(p), len);
  }
  const int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    uint8_t* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
    if (n > 0) {
      pc.common_name.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    }
    OPENSSL_free(utf8);
  }
  uint8_t* der = nullptr;
  const int der_len = i2d_X509(cert.get(), &der);
  if (der_len > 0) {
    pc.der.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(der_len));
  }
  OPENSSL_free(der);
  return pc;
}

}  // namespace plexgate::tls
