// TestPki: certificates made at test time (tls/cert_gen.h) and written as
// PEM files to a temporary directory that dies with the object. Nothing
// long-lived is committed. One CA per TestPki; issue() signs leaves with it.
#pragma once

#include <string>
#include <vector>

#include "tls/cert_gen.h"

namespace plexgate::test {

struct CertFiles {
  std::string cert;  // PEM path
  std::string key;   // PEM path
};

class TestPki {
 public:
  explicit TestPki(const std::string& ca_name = "plexgate test CA");
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& caFile() const { return ca_file_; }
  // A leaf signed by this CA for `names` (DNS names or IP literals).
  CertFiles issue(const std::string& file_stem, const std::string& common_name,
                  const std::vector<std::string>& names);
  // A self-signed leaf (no CA vouches for it).
  CertFiles selfSigned(const std::string& file_stem, const std::string& common_name,
                       const std::vector<std::string>& names);
  // Writes `text` to dir()/name; returns the path.
  std::string writeFile(const std::string& name, const std::string& text);

 private:
  CertFiles write(const std::string& stem, const tls::GeneratedCert& c);
  std::string dir_;
  std::string ca_file_;
  tls::GeneratedCert ca_;
};

}  // namespace plexgate::test
