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

}  // namespace plexgate::config::detail
