// The fan-out half of the schema, for config_loader.cc: `systems:`, the
// secondaries of the multisystem fan-out (DESIGN.md section 4). Each system
// also becomes an internal Cluster "system/<name>" with its one endpoint, so
// the per-worker upstream pools (keep-alive, TLS resumption) serve fan-out
// sub-requests unchanged. Fails by throwing LoadFailure (yaml_util.h).
#pragma once

#include <vector>

#include "engine/config/config.h"
#include "engine/config/yaml_util.h"

namespace plexgate::config::detail {

// `systems:` (null = none). Appends one Cluster per system to `clusters`,
// in the same order; the caller sets System::cluster_index.
std::vector<System> readSystems(const MapEntry& entry, std::vector<Cluster>& clusters);

// `httpProxies:` (null = none): name, host, port.
std::vector<HttpProxy> readHttpProxies(const MapEntry& entry);

// Points each system with an httpProxy at its proxy: the system's cluster
// (clusters[i] for systems[i]) connects to the proxy instead. `systems_entry`
// is the `systems:` entry, for the line of a name that is not defined.
void linkHttpProxies(const MapEntry& systems_entry, std::vector<System>& systems, std::vector<Cluster>& clusters,
                     const std::vector<HttpProxy>& proxies);

}  // namespace plexgate::config::detail
