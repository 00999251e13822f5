#include "engine/config/config_systems.h"

#include <map>
#include <string>
#include <string_view>

#include "engine/config/config_tls.h"
#include "engine/config/config_upstreams.h"
#include "engine/config/config_values.h"

namespace plexgate::config::detail {

namespace {

// As parsers/fanout_content.h bounds a target name: a name longer than a
// target may be could never be called.
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kMaxSystems = 4096;
constexpr size_t kMaxGroups = 64;
constexpr Millis kMaxSystemTimeout{600'000};  // kFanoutMaxTimeoutMs

// z/OSMF's system definition fields, spelled as z/OSMF does, plus ours.
const std::vector<std::string_view> kSystemKeys = {"name", "systemName", "sysplex", "cpc",
                                                   "groups", "url", "timeout", "tls"};

std::string readName(const MapEntry& entry) {
  std::string name = readString(entry);
  bool ok = !name.empty() && name.size() <= kMaxNameBytes;
  for (const char c : name) {
    ok = ok && static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '"' && c != '\'' && c != '\\';
  }
  if (!ok) {
    fail(entry.line, entry.path,
         "expected a name of 1 to 64 printable characters without spaces or quotes, got " + quoted(name));
  }
  return name;
}

std::vector<std::string> readGroups(const MapEntry& entry) {
  if (!entry.value.IsSequence()) {
    fail(entry.line, entry.path, "expected a sequence of group names, got " + describe(entry.value));
  }
  if (entry.value.size() > kMaxGroups) {
    fail(entry.line, entry.path, "at most " + std::to_string(kMaxGroups) + " groups");
  }
  std::vector<std::string> groups;
  size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    MapEntry e;
    e.path = indexPath(entry.path, index++);
    e.key_line = lineOf(item, entry.line);
    e.line = e.key_line;
    e.value = item;
    groups.push_back(readName(e));
  }
  return groups;
}

System readSystem(const MapEntry& item, std::map<std::string, int, std::less<>>& nameLines,
                  std::vector<Cluster>& clusters) {
  const MapReader map(item.value, item.path, item.line, kSystemKeys);
  map.require("name");
  map.require("url");
  System system;
  Cluster cluster;
  // A fan-out sub-request is never retried: its deadline is the client's.
  cluster.retries = 0;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "name") {
      system.name = readName(field);
      const auto [first, inserted] = nameLines.emplace(system.name, field.line);
      if (!inserted) {
        fail(field.line, field.path,
             "duplicate system name " + quoted(system.name) + " (first used on line " +
                 std::to_string(first->second) + ")");
      }
    } else if (field.key == "systemName") {
      system.system_name = readName(field);
    } else if (field.key == "sysplex") {
      system.sysplex = readName(field);
    } else if (field.key == "cpc") {
      system.cpc = readName(field);
    } else if (field.key == "groups") {
      system.groups = readGroups(field);
    } else if (field.key == "url") {
      system.url = readString(field);
      cluster.endpoints.push_back(readUpstreamUrl(field));
    } else if (field.key == "timeout") {
      system.timeout = readDuration(field, Millis{1}, kMaxSystemTimeout);
    } else if (field.key == "tls") {
      readClusterTls(field, cluster);
    }
  }
  if (system.system_name.empty()) {
    system.system_name = system.name;
  }
  system.cluster = "system/" + system.name;
  cluster.name = system.cluster;
  cluster.connect_timeout = system.timeout;
  cluster.response_timeout = system.timeout;
  const MapEntry* tls = map.find("tls");
  finishClusterTls(cluster, tls != nullptr ? tls->key_line : 0, tls != nullptr ? tls->path : item.path);
  clusters.push_back(std::move(cluster));
  return system;
}

}  // namespace

std::vector<System> readSystems(const MapEntry& entry, std::vector<Cluster>& clusters) {
  if (entry.value.IsNull()) {
    return {};
  }
  if (!entry.value.IsSequence()) {
    fail(entry.line, entry.path, "expected a sequence of systems, got " + describe(entry.value));
  }
  if (entry.value.size() > kMaxSystems) {
    fail(entry.line, entry.path, "at most " + std::to_string(kMaxSystems) + " systems");
  }
  std::vector<System> systems;
  std::map<std::string, int, std::less<>> nameLines;
  size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    MapEntry e;
    e.path = indexPath(entry.path, index++);
    e.key_line = lineOf(item, entry.line);
    e.line = e.key_line;
    e.value = item;
    systems.push_back(readSystem(e, nameLines, clusters));
  }
  return systems;
}

}  // namespace plexgate::config::detail
