// UpstreamDirectory: every cluster's endpoint addresses, resolved once on the
// control thread when a configuration is loaded, plus one health flag per
// endpoint. Shared read-only by the worker loops (std::shared_ptr<const>);
// the flags are the one exception: the control thread's health checker
// stores them, workers load them (relaxed atomics, no locks).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/net/address.h"

namespace plexgate::proxy {

struct EndpointEntry {
  std::optional<net::Address> address;  // unset: the name did not resolve
  std::string authority;                 // "host:port" for the upstream Host when asked
  std::unique_ptr<std::atomic<bool>> healthy;  // active health; true until a check says otherwise
};

struct ClusterEntry {
  const config::Cluster* config = nullptr;
  std::vector<EndpointEntry> endpoints;
};

class UpstreamDirectory {
 public:
  // Resolves every endpoint of every cluster in `config` (which must outlive
  // the directory). Names go through getaddrinfo: call on the control thread.
  explicit UpstreamDirectory(config::ConfigPtr config);

  const config::Config& config() const { return *config_; }
  const std::vector<ClusterEntry>& clusters() const { return clusters_; }
  // Names that did not resolve, for a start-up warning.
  const std::vector<std::string>& unresolved() const { return unresolved_; }

 private:
  config::ConfigPtr config_;
  std::vector<ClusterEntry> clusters_;
  std::vector<std::string> unresolved_;
};

using UpstreamDirectoryPtr = std::shared_ptr<const UpstreamDirectory>;

}  // namespace plexgate::proxy
