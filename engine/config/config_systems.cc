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
const std::vector<std::string_view> kSystemKeys = {"name",      "systemName", "sysplex",
                                                   "cpc",       "groups",     "url",
                                                   "httpProxy", "timeout",    "tls",
                                                   "zosNode",   "zosVrm",     "secondaryApiVersion"};
const std::vector<std::string_view> kHttpProxyKeys = {"name", "host", "port", "tls", "ca_file"};

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

// readName for an entry's `name` that must be unique in its list; `what`
// ("system", "HTTP proxy") names the list in the message.
std::string readUniqueName(const MapEntry& entry, std::map<std::string, int, std::less<>>& nameLines,
                           std::string_view what) {
  std::string name = readName(entry);
  const auto [first, inserted] = nameLines.emplace(name, entry.line);
  if (!inserted) {
    fail(entry.line, entry.path,
         "duplicate " + std::string(what) + " name " + quoted(name) + " (first used on line " +
             std::to_string(first->second) + ")");
  }
  return name;
}

// z/OS's "vv.rr.mm" level, as the seed shows it ("04.24.00" is V2R1).
std::string readZosVrm(const MapEntry& entry) {
  std::string v = readString(entry);
  bool ok = v.size() == 8 && v[2] == '.' && v[5] == '.';
  for (const size_t i : {0, 1, 3, 4, 6, 7}) {
    ok = ok && i < v.size() && v[i] >= '0' && v[i] <= '9';
  }
  if (!ok) {
    fail(entry.line, entry.path, "expected a z/OS level vv.rr.mm such as '04.27.00', got " + quoted(v));
  }
  return v;
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
      system.name = readUniqueName(field, nameLines, "system");
    } else if (field.key == "systemName") {
      system.system_name = readName(field);
    } else if (field.key == "sysplex") {
      system.sysplex = readName(field);
    } else if (field.key == "cpc") {
      system.cpc = readName(field);
    } else if (field.key == "zosNode") {
      system.zos_node = readName(field);
    } else if (field.key == "zosVrm") {
      system.zos_vrm = readZosVrm(field);
    } else if (field.key == "secondaryApiVersion") {
      system.secondary_api_version = readName(field);
    } else if (field.key == "groups") {
      system.groups = readGroups(field);
    } else if (field.key == "url") {
      system.url = readString(field);
      system.target = readUpstreamUrl(field);
      cluster.endpoints.push_back(system.target);
    } else if (field.key == "httpProxy") {
      system.http_proxy = readName(field);
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

MapEntry itemOf(const MapEntry& sequence, const YAML::Node& item, size_t index) {
  MapEntry e;
  e.path = indexPath(sequence.path, index);
  e.key_line = lineOf(item, sequence.line);
  e.line = e.key_line;
  e.value = item;
  return e;
}

}  // namespace

std::vector<HttpProxy> readHttpProxies(const MapEntry& entry) {
  if (entry.value.IsNull()) {
    return {};
  }
  if (!entry.value.IsSequence()) {
    fail(entry.line, entry.path, "expected a sequence of HTTP proxies, got " + describe(entry.value));
  }
  std::vector<HttpProxy> proxies;
  std::map<std::string, int, std::less<>> nameLines;
  size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    const MapEntry e = itemOf(entry, item, index++);
    const MapReader map(e.value, e.path, e.line, kHttpProxyKeys);
    map.require("name");
    map.require("host");
    map.require("port");
    HttpProxy proxy;
    for (const MapEntry& field : map.entries()) {
      if (field.key == "name") {
        proxy.name = readUniqueName(field, nameLines, "HTTP proxy");
      } else if (field.key == "host") {
        proxy.host = readNonEmptyString(field);
      } else if (field.key == "port") {
        proxy.port = static_cast<uint16_t>(readInteger(field, 1, 65535));
      } else if (field.key == "tls") {
        proxy.tls = readBool(field);
      } else if (field.key == "ca_file") {
        proxy.ca_file = readFilePath(field);
      }
    }
    if (const MapEntry* ca = map.find("ca_file"); ca != nullptr && !proxy.tls) {
      fail(ca->line, ca->path, "ca_file applies to a proxy reached over TLS (tls: true)");
    }
    if (proxy.tls) {
      tls::ClientOptions options;
      options.ca_file = proxy.ca_file;
      std::string error;
      proxy.tls_context = tls::ClientContext::build(options, error);
      if (!proxy.tls_context) {
        const MapEntry* at = map.find("ca_file");
        at = at != nullptr ? at : map.find("tls");
        fail(at->line, at->path, error);
      }
    }
    proxies.push_back(std::move(proxy));
  }
  return proxies;
}

void linkHttpProxies(const MapEntry& systems_entry, std::vector<System>& systems, std::vector<Cluster>& clusters,
                     const std::vector<HttpProxy>& proxies) {
  for (size_t i = 0; i < systems.size(); ++i) {
    System& s = systems[i];
    if (s.http_proxy.empty()) {
      continue;
    }
    const YAML::Node node = systems_entry.value[i]["httpProxy"];
    const int line = lineOf(node, systems_entry.line);
    const std::string path = childPath(indexPath(systems_entry.path, i), "httpProxy");
    const HttpProxy* proxy = nullptr;
    for (const HttpProxy& p : proxies) {
      if (p.name == s.http_proxy) {
        proxy = &p;
      }
    }
    if (proxy == nullptr) {
      fail(line, path, "no HTTP proxy named " + quoted(s.http_proxy) + " in httpProxies");
    }
    if (proxy->tls && s.target.scheme == "https") {
      // TLS to the proxy, then a CONNECT tunnel with TLS to the system
      // inside it: two TLS layers on one connection, which plexgate does
      // not do (its connection carries one TLS session).
      fail(line, path,
           "an https:// system cannot use HTTP proxy " + quoted(proxy->name) +
               ", which is reached over TLS (tls: true): that needs TLS inside TLS; use a plain-HTTP proxy "
               "or an http:// system url");
    }
    UpstreamEndpoint ep;
    ep.scheme = proxy->tls ? "https" : "http";
    ep.host = proxy->host;
    ep.port = proxy->port;
    const bool v6 = proxy->host.find(':') != std::string::npos;
    ep.instance_id = (v6 ? "[" + proxy->host + "]" : proxy->host) + ":" + std::to_string(proxy->port);
    ep.url = ep.scheme + "://" + ep.instance_id;
    clusters[i].endpoints = {ep};
    if (proxy->tls) {
      // An http:// system: the cluster's TLS is the proxy's (the system's
      // own `tls:` was refused, as for any http:// system).
      clusters[i].tls = proxy->tls_context->options();
      clusters[i].tls_context = proxy->tls_context;
    }
  }
}

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
