// Makes ECDSA P-256 certificates in memory: a CA, or a leaf signed by one,
// with DNS and IP subjectAltNames. For tests, fuzzers and benchmarks that
// must not commit long-lived keys, and for `--self-signed` style set-ups.
// Pure function over BoringSSL; no files, no libuv.
#pragma once

#include <string>
#include <vector>

namespace plexgate::tls {

struct GeneratedCert {
  std::string cert_pem;
  std::string key_pem;
  bool ok() const { return !cert_pem.empty() && !key_pem.empty(); }
};

struct CertRequest {
  std::string common_name;
  std::vector<std::string> alt_names;  // "localhost", "*.example.com", "127.0.0.1"
  std::string organization;           // optional O=
  bool ca = false;                    // basicConstraints CA:TRUE, keyCertSign
  int days = 2;
  const GeneratedCert* issuer = nullptr;  // null: self-signed
};

// Empty (ok() false) on failure.
GeneratedCert generateCertificate(const CertRequest& request);

}  // namespace plexgate::tls
