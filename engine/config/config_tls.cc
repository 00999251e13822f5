#include "engine/config/config_tls.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/config/config_values.h"

namespace plexgate::config::detail {

namespace {

thread_local std::string t_base_dir;

const std::vector<std::string_view> kListenerTlsKeys = {
    "cert",           "key",
    "certificates",   "protocols",
    "alpn",           "session_tickets",
    "ticket_key_file", "ticket_key_rotation",
    "client_auth",    "client_ca",
    "handshake_timeout"};
const std::vector<std::string_view> kCertificateKeys = {"cert", "key", "server_names"};
const std::vector<std::string_view> kClusterTlsKeys = {"verify", "ca_file", "sni", "client_cert",
                                                       "client_key"};
constexpr Millis kMaxHandshakeTimeout{60 * 60 * 1000};
constexpr Millis kMinRotation{60 * 1000};
constexpr Millis kMaxRotation{7 * 24 * 60 * 60 * 1000LL};

std::vector<std::string> readStringList(const MapEntry& entry, std::string_view what) {
  std::vector<std::string> out;
  if (entry.value.IsScalar()) {
    out.push_back(readNonEmptyString(entry));
    return out;
  }
  if (!entry.value.IsSequence() || entry.value.size() == 0) {
    fail(entry.line, entry.path, "expected " + std::string(what) + ", got " + describe(entry.value));
  }
  size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    const MapEntry e{entry.key, indexPath(entry.path, index++), entry.line, lineOf(item, entry.line), item};
    out.push_back(readNonEmptyString(e));
  }
  return out;
}

tls::CertificateOptions readCertificate(const MapEntry& entry) {
  const MapReader map(entry.value, entry.path, entry.line, kCertificateKeys);
  map.require("cert");
  map.require("key");
  tls::CertificateOptions c;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "cert") {
      c.cert_file = readFilePath(field);
    } else if (field.key == "key") {
      c.key_file = readFilePath(field);
    } else if (field.key == "server_names") {
      c.server_names = readStringList(field, "a host name or a sequence of them");
      for (const std::string& n : c.server_names) {
        const std::string_view host = std::string_view(n).starts_with("*.") ? std::string_view(n).substr(2) : n;
        if (host.empty() || host.find('*') != std::string_view::npos || host.find('/') != std::string_view::npos) {
          fail(field.line, field.path,
               "expected host names like api.example.com or *.example.com, got " + quoted(n));
        }
      }
    }
  }
  return c;
}

void readProtocols(const MapEntry& entry, tls::ServerOptions& o) {
  bool v12 = false;
  bool v13 = false;
  for (const std::string& p : readStringList(entry, "a sequence of TLSv1.2 and TLSv1.3")) {
    if (p == "TLSv1.2") {
      v12 = true;
    } else if (p == "TLSv1.3") {
      v13 = true;
    } else {
      fail(entry.line, entry.path,
           "unsupported protocol " + quoted(p) + " (supported: TLSv1.2, TLSv1.3; older versions are refused)");
    }
  }
  o.min_version = v12 ? tls::Version::Tls12 : tls::Version::Tls13;
  o.max_version = v13 ? tls::Version::Tls13 : tls::Version::Tls12;
}

}  // namespace

std::string resolvePath(std::string path) {
  if (!path.empty() && path.front() != '/' && !t_base_dir.empty()) {
    path = t_base_dir + "/" + path;
  }
  return path;
}

std::string readFilePath(const MapEntry& entry) {
  const std::string path = resolvePath(readNonEmptyString(entry));
  if (::access(path.c_str(), R_OK) != 0) {
    fail(entry.line, entry.path, "cannot read " + quoted(path) + ": " + std::strerror(errno));
  }
  return path;
}


ScopedBaseDir::ScopedBaseDir(std::string dir) : previous_(std::move(t_base_dir)) { t_base_dir = std::move(dir); }

ScopedBaseDir::~ScopedBaseDir() { t_base_dir = std::move(previous_); }

void readListenerTls(const MapEntry& entry, Listener& listener) {
  const MapReader map(entry.value, entry.path, entry.line, kListenerTlsKeys);
  tls::ServerOptions o;
  const MapEntry* cert = map.find("cert");
  const MapEntry* key = map.find("key");
  const MapEntry* certs = map.find("certificates");
  if (certs != nullptr && (cert != nullptr || key != nullptr)) {
    fail(certs->key_line, certs->path, "give either cert and key, or certificates, not both");
  }
  if (certs == nullptr) {
    if (cert == nullptr || key == nullptr) {
      fail(map.line(), map.path(), "missing required key '" + std::string(cert == nullptr ? "cert" : "key") +
                                       "' (or a 'certificates' list)");
    }
    tls::CertificateOptions c;
    c.cert_file = readFilePath(*cert);
    c.key_file = readFilePath(*key);
    o.certificates.push_back(std::move(c));
  }
  for (const MapEntry& field : map.entries()) {
    if (field.key == "certificates") {
      if (!field.value.IsSequence() || field.value.size() == 0) {
        fail(field.line, field.path, "expected a sequence of {cert, key, server_names}, got " + describe(field.value));
      }
      size_t index = 0;
      for (const YAML::Node& item : field.value) {
        const MapEntry e{field.key, indexPath(field.path, index++), field.line, lineOf(item, field.line), item};
        o.certificates.push_back(readCertificate(e));
      }
    } else if (field.key == "protocols") {
      readProtocols(field, o);
    } else if (field.key == "alpn") {
      o.alpn = readStringList(field, "a sequence of protocol names");
      for (const std::string& p : o.alpn) {
        if (p != "http/1.1") {
          fail(field.line, field.path,
               "unsupported ALPN protocol " + quoted(p) + " (only http/1.1 is served for now)");
        }
      }
    } else if (field.key == "session_tickets") {
      o.session_tickets = readBool(field);
    } else if (field.key == "ticket_key_file") {
      o.ticket_key_file = readFilePath(field);
    } else if (field.key == "ticket_key_rotation") {
      o.ticket_key_rotation =
          std::chrono::duration_cast<std::chrono::seconds>(readDuration(field, kMinRotation, kMaxRotation));
    } else if (field.key == "client_auth") {
      static const std::vector<std::string_view> kModes = {"off", "optional", "required"};
      static const tls::ClientAuth kValues[] = {tls::ClientAuth::Off, tls::ClientAuth::Optional,
                                                tls::ClientAuth::Required};
      o.client_auth = kValues[readChoice(field, kModes)];
    } else if (field.key == "client_ca") {
      o.client_ca_file = readFilePath(field);
    } else if (field.key == "handshake_timeout") {
      o.handshake_timeout = readDuration(field, Millis{1}, kMaxHandshakeTimeout);
    }
  }
  if (o.client_auth != tls::ClientAuth::Off && o.client_ca_file.empty()) {
    const MapEntry* mode = map.find("client_auth");
    fail(mode->line, mode->path, "client certificates need client_ca, the CA file to verify them with");
  }
  std::string error;
  listener.tls_context = tls::ServerContext::build(o, error);
  if (!listener.tls_context) {
    fail(entry.line, entry.path, error);
  }
  listener.tls = std::move(o);
}

void readClusterTls(const MapEntry& entry, Cluster& cluster) {
  const MapReader map(entry.value, entry.path, entry.line, kClusterTlsKeys);
  tls::ClientOptions& o = cluster.tls;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "verify") {
      o.verify = readBool(field);
    } else if (field.key == "ca_file") {
      o.ca_file = readFilePath(field);
    } else if (field.key == "sni") {
      o.sni = readNonEmptyString(field);
    } else if (field.key == "client_cert") {
      o.client_cert_file = readFilePath(field);
    } else if (field.key == "client_key") {
      o.client_key_file = readFilePath(field);
    }
  }
  if (o.client_cert_file.empty() != o.client_key_file.empty()) {
    fail(map.line(), map.path(), "client_cert and client_key go together");
  }
}

void finishClusterTls(Cluster& cluster, int line, const std::string& path) {
  bool https = false;
  for (const UpstreamEndpoint& e : cluster.endpoints) {
    https = https || e.scheme == "https";
  }
  if (!https) {
    if (line > 0) {
      fail(line, path, "tls applies to https:// endpoints, and this cluster has none");
    }
    return;
  }
  std::string error;
  cluster.tls_context = tls::ClientContext::build(cluster.tls, error);
  if (!cluster.tls_context) {
    fail(line > 0 ? line : 0, line > 0 ? path : cluster.name, error);
  }
}

}  // namespace plexgate::config::detail
