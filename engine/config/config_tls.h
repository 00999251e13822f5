// The TLS half of the schema, for config_loader.cc and config_upstreams.cc:
// a listener's `tls:` (certificates, SNI names, versions, ALPN, tickets,
// client certificates) and a cluster's `tls:` (verification, CA, SNI, client
// certificate). Each reader also builds the BoringSSL context, so a file that
// cannot be loaded fails the load at its key, like any other bad value.
// Relative file names are relative to the configuration file's directory.
#pragma once

#include <string>

#include "engine/config/config.h"
#include "engine/config/yaml_util.h"

namespace plexgate::config::detail {

// Sets the directory relative paths resolve against while a load runs on
// this thread; the previous one is restored when it goes.
class ScopedBaseDir {
 public:
  explicit ScopedBaseDir(std::string dir);
  ~ScopedBaseDir();
  ScopedBaseDir(const ScopedBaseDir&) = delete;
  ScopedBaseDir& operator=(const ScopedBaseDir&) = delete;

 private:
  std::string previous_;
};

// `path` resolved against the configuration's directory (unchanged when
// absolute, or when the configuration is not a file).
std::string resolvePath(std::string path);

// A readable file's path, resolved against the configuration's directory.
std::string readFilePath(const MapEntry& entry);

void readListenerTls(const MapEntry& entry, Listener& listener);
void readClusterTls(const MapEntry& entry, Cluster& cluster);
// For a cluster with https:// endpoints: its context (from `tls:`, or the
// defaults: verify against the system bundle). Fails at `line`/`path` when
// `tls:` is set without any https:// endpoint.
void finishClusterTls(Cluster& cluster, int line, const std::string& path);

}  // namespace plexgate::config::detail
