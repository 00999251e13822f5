// The upstream half of the schema, for config_loader.cc: `clusters:`, Zowe API
// ML static definitions under `services:` (with their `catalogUiTiles:`), and
// the upstream URLs both of them list. Fails by throwing LoadFailure like the
// rest of the schema walk (yaml_util.h).
#pragma once

#include <vector>

#include "engine/config/config.h"
#include "engine/config/yaml_util.h"

namespace plexgate::config::detail {

// `clusters:` (null = none). Names are unique and never start with
// "service/", which services' own clusters use.
std::vector<Cluster> readClusters(const MapEntry& entry);

// `services:` (null = none). For each service it also appends to `clusters`
// the Cluster its routes proxy to, named Service::cluster ("service/<id>").
std::vector<Service> readServices(const MapEntry& entry, std::vector<Cluster>& clusters);

// One upstream URL ("http://host:port[/base/path]" or https), for the
// `systems:` reader (config_systems.cc).
UpstreamEndpoint readUpstreamUrl(const MapEntry& entry);

// `catalogUiTiles:` tile id -> {title, description}; shape only, nothing kept.
void readCatalogUiTiles(const MapEntry& entry);

}  // namespace plexgate::config::detail
