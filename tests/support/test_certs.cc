#include "support/test_certs.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace plexgate::test {

TestPki::TestPki(const std::string& ca_name) {
  char tmpl[] = "/tmp/plexgate-pki-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  dir_ = d != nullptr ? d : "/tmp";
  tls::CertRequest req;
  req.common_name = ca_name;
  req.ca = true;
  ca_ = tls::generateCertificate(req);
  EXPECT_TRUE(ca_.ok());
  ca_file_ = writeFile("ca.pem", ca_.cert_pem);
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TestPki::writeFile(const std::string& name, const std::string& text) {
  const std::string path = dir_ + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

CertFiles TestPki::write(const std::string& stem, const tls::GeneratedCert& c) {
  EXPECT_TRUE(c.ok()) << "certificate generation failed for " << stem;
  return CertFiles{writeFile(stem + ".pem", c.cert_pem), writeFile(stem + ".key", c.key_pem)};
}

CertFiles TestPki::issue(const std::string& stem, const std::string& cn, const std::vector<std::string>& names) {
  tls::CertRequest req;
  req.common_name = cn;
  req.alt_names = names;
  req.organization = "plexgate tests";
  req.issuer = &ca_;
  return write(stem, tls::generateCertificate(req));
}

CertFiles TestPki::selfSigned(const std::string& stem, const std::string& cn, const std::vector<std::string>& names) {
  tls::CertRequest req;
  req.common_name = cn;
  req.alt_names = names;
  return write(stem, tls::generateCertificate(req));
}

}  // namespace plexgate::test
