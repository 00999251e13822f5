// Garbage and truncated records fed to a server-side TlsSession, the way a
// connection would: the input is cut into reads at points taken from its
// first bytes, and every read goes through handshake() and then read().
// Properties: no crash, no sanitizer report, a failed session stays failed,
// and input is only ever consumed (never more than was given).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unistd.h>

#include "tls/cert_gen.h"
#include "tls/tls_context.h"
#include "tls/tls_session.h"

namespace {

using plexgate::tls::TlsSession;

struct Sink final : plexgate::tls::TlsOutput {
  size_t bytes = 0;
  void onTlsOutput(const char*, size_t n) override { bytes += n; }
};

std::string writeTemp(const std::string& text) {
  char path[] = "/tmp/plexgate-fuzz-tls-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::abort();
  }
  close(fd);
  return path;
}

plexgate::tls::ServerContextPtr context() {
  static plexgate::tls::ServerContextPtr ctx = [] {
    plexgate::tls::CertRequest req;
    req.common_name = "fuzz.test";
    req.alt_names = {"fuzz.test", "*.fuzz.test"};
    const plexgate::tls::GeneratedCert cert = plexgate::tls::generateCertificate(req);
    plexgate::tls::ServerOptions o;
    const std::string cert_path = writeTemp(cert.cert_pem);
    const std::string key_path = writeTemp(cert.key_pem);
    o.certificates.push_back({cert_path, key_path, {}});
    std::string error;
    auto built = plexgate::tls::ServerContext::build(o, error);
    unlink(cert_path.c_str());
    unlink(key_path.c_str());
    if (!built) {
      std::fprintf(stderr, "fuzz context: %s\n", error.c_str());
      std::abort();
    }
    return built;
  }();
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  // First byte: read size in [1, 256]; the rest is the wire.
  const size_t step = static_cast<size_t>(data[0]) + 1;
  std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  Sink sink;
  auto session = TlsSession::server(context(), sink);
  char plain[4096];
  bool failed = false;
  std::string pending;
  while (!wire.empty()) {
    const size_t n = std::min(step, wire.size());
    pending.append(wire.substr(0, n));
    wire.remove_prefix(n);
    std::string_view in = pending;
    TlsSession::Status st = session->handshake(in);
    if (in.size() > pending.size()) {
      std::abort();
    }
    if (st == TlsSession::Status::Ok && !failed) {
      const TlsSession::ReadResult r = session->read(in, plain, sizeof(plain));
      st = r.status;
      if (r.n > sizeof(plain)) {
        std::abort();
      }
    }
    pending.erase(0, pending.size() - in.size());
    if (st == TlsSession::Status::Failed) {
      failed = true;
      if (session->handshakeDone() && session->failure() != plexgate::tls::Failure::None) {
        std::abort();  // a failure after the handshake is not a handshake failure
      }
      break;
    }
  }
  if (failed && !session->handshakeDone() && session->failure() == plexgate::tls::Failure::None) {
    std::abort();  // every handshake failure is classified
  }
  return 0;
}
