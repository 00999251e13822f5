#include "engine/config/config_loader.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <new>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "engine/config/config_tls.h"
#include "engine/config/config_systems.h"
#include "engine/config/config_upstreams.h"
#include "engine/config/config_values.h"
#include "engine/config/yaml_util.h"

namespace plexgate::config {

using detail::describe;
using detail::equalsIgnoreCase;
using detail::fail;
using detail::formatSize;
using detail::isHostLabel;
using detail::isIpAddress;
using detail::isToken;
using detail::LoadFailure;
using detail::lowerAscii;
using detail::MapEntry;
using detail::MapReader;
using detail::parseUnsigned;
using detail::quoted;
using detail::readBool;
using detail::readChoice;
using detail::readDuration;
using detail::readInteger;
using detail::readNonEmptyString;
using detail::readPath;
using detail::readSize;
using detail::readString;

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;

constexpr uint64_t kMaxWorkers = 1024;
// No configuration comes near this; a bigger "file" is a mistake (/dev/zero).
constexpr size_t kMaxFileBytes = 64 * kMiB;
constexpr Millis kMaxTimeout{24 * kMsPerHour};

// Keys of every mapping, in the order error messages list them.
const std::vector<std::string_view> kTopKeys = {
    "workers", "listeners", "clusters",   "services", "catalogUiTiles",
    "limits",  "timeouts",  "access_log", "log_level", "systems", "httpProxies"};
const std::vector<std::string_view> kListenerKeys = {"name", "address", "services",
                                                     "trusted_proxies", "tls", "routes",
                                                     "fanout", "admin"};
const std::vector<std::string_view> kRouteKeys = {"prefix", "host", "respond", "echo", "proxy"};
const std::vector<std::string_view> kActions = {"respond", "echo", "proxy"};
const std::vector<std::string_view> kProxyKeys = {"cluster", "rewrite_prefix"};
const std::vector<std::string_view> kRespondKeys = {"status", "body", "body_size", "headers",
                                                    "delay"};
const std::vector<std::string_view> kLimitsKeys = {"max_head_bytes", "max_headers",
                                                   "max_uri_bytes", "max_body_bytes",
                                                   "max_requests_per_connection"};
const std::vector<std::string_view> kTimeoutsKeys = {"header", "idle", "park", "drain"};
const std::vector<std::string_view> kAccessLogKeys = {"enabled", "path", "format"};

// Headers plexgate frames the response with itself; a configured copy would
// contradict the real framing and smuggle a second message.
const std::vector<std::string_view> kComputedHeaders = {"content-length", "transfer-encoding",
                                                        "connection"};

// A proxy route's `cluster:`, checked once every cluster has been read (the
// `clusters:` section may come after `listeners:`).
struct ClusterRef {
  std::string name;
  std::string path;
  int line = 0;
};
using ClusterRefs = std::vector<ClusterRef>;

// ---- listeners ------------------------------------------------------------

// "1.2.3.4:80", "[::1]:80" or "localhost:80" into host (brackets dropped) and port.
}  // namespace

std::string listenAddressProblem(std::string_view view, std::string& host, uint16_t& port) {
  const std::string expected =
      "expected an address like 127.0.0.1:7554, [::1]:7554 or localhost:7554, got " + quoted(view);
  std::string_view portText;
  if (!view.empty() && view.front() == '[') {
    const size_t close = view.find(']');
    if (close == std::string_view::npos || close + 1 >= view.size() || view[close + 1] != ':') {
      return expected;
    }
    host = std::string(view.substr(1, close - 1));
    portText = view.substr(close + 2);
    if (!isIpAddress(AF_INET6, host)) {
      return expected;
    }
  } else {
    const size_t colon = view.rfind(':');
    if (colon == std::string_view::npos) {
      return expected;
    }
    host = std::string(view.substr(0, colon));
    portText = view.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return "IPv6 addresses need brackets, like [::1]:7554, got " + quoted(view);
    }
    if (host != "localhost" && !isIpAddress(AF_INET, host)) {
      return expected;
    }
  }
  const std::optional<uint64_t> value = parseUnsigned(portText);
  if (!value) {
    return expected;
  }
  if (*value > std::numeric_limits<uint16_t>::max()) {
    return "expected a port from 0 to 65535, got " + quoted(portText);
  }
  port = static_cast<uint16_t>(*value);
  return "";
}

namespace {

void readAddress(const MapEntry& entry, Listener& listener) {
  if (!entry.value.IsScalar()) {
    fail(entry.line, entry.path,
         "expected an address like 127.0.0.1:7554, [::1]:7554 or localhost:7554, got " + describe(entry.value));
  }
  const std::string text = entry.value.Scalar();
  if (const std::string why = listenAddressProblem(text, listener.host, listener.port); !why.empty()) {
    fail(entry.line, entry.path, why);
  }
  listener.address = text;
}

// One spelling per bound address: "localhost" is bound as 127.0.0.1, and
// "[0:0::1]" is "[::1]".
std::string canonicalAddress(const Listener& listener) {
  const bool v6 = listener.host.find(':') != std::string::npos;
  const std::string host = listener.host == "localhost" ? "127.0.0.1" : listener.host;
  unsigned char bytes[sizeof(struct in6_addr)];
  char text[INET6_ADDRSTRLEN] = {};
  const int family = v6 ? AF_INET6 : AF_INET;
  if (inet_pton(family, host.c_str(), bytes) != 1 ||
      inet_ntop(family, bytes, text, sizeof(text)) == nullptr) {
    return listener.address;  // readAddress accepted it, so this does not happen
  }
  return (v6 ? "[" + std::string(text) + "]" : std::string(text)) + ":" +
         std::to_string(listener.port);
}

// "10.0.0.0/8", "::1/128"; a bare address gets /32 or /128 added.
std::vector<std::string> readTrustedProxies(const MapEntry& entry) {
  std::vector<std::string> ranges;
  if (entry.value.IsNull()) {
    return ranges;
  }
  if (!entry.value.IsSequence()) {
    fail(entry.line, entry.path,
         "expected a sequence of addresses or CIDR ranges, got " + describe(entry.value));
  }
  size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    const std::string path = detail::indexPath(entry.path, index++);
    const int line = detail::lineOf(item, entry.line);
    const std::string text = item.IsScalar() ? item.Scalar() : std::string();
    const size_t slash = text.find('/');
    const std::string address = text.substr(0, slash);
    const bool v6 = address.find(':') != std::string::npos;
    const uint64_t maxBits = v6 ? 128 : 32;
    std::optional<uint64_t> bits = maxBits;
    if (slash != std::string::npos) {
      bits = parseUnsigned(std::string_view(text).substr(slash + 1));
    }
    if (!item.IsScalar() || !isIpAddress(v6 ? AF_INET6 : AF_INET, address) || !bits) {
      fail(line, path,
           "expected an address or CIDR range like 10.0.0.0/8 or ::1/128, got " +
               describe(item));
    }
    if (*bits > maxBits) {
      fail(line, path,
           "expected a prefix length from 0 to " + std::to_string(maxBits) + " for an IPv" +
               (v6 ? "6" : "4") + " range, got " + quoted(text));
    }
    ranges.push_back(address + "/" + std::to_string(*bits));
  }
  return ranges;
}

// ---- routes ---------------------------------------------------------------

// "example.com" or "*.example.com", lowercased; matched against Host.
std::string readRouteHost(const MapEntry& entry) {
  std::string host = readString(entry);
  for (char& c : host) {
    c = lowerAscii(c);
  }
  std::string_view rest = host;
  if (rest.starts_with("*.")) {
    rest.remove_prefix(2);
  }
  bool ok = !rest.empty() && rest.size() <= 253;
  while (ok && !rest.empty()) {
    const size_t dot = rest.find('.');
    ok = isHostLabel(rest.substr(0, dot));
    // A trailing dot would leave an empty final label: rejected on purpose.
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    if (dot != std::string_view::npos && rest.empty()) {
      ok = false;
    }
  }
  if (!ok) {
    fail(entry.line, entry.path,
         "expected a hostname like example.com or *.example.com, got " +
             quoted(readString(entry)));
  }
  return host;
}

std::string headerNameProblem(std::string_view name) {
  if (!isToken(name)) {
    return "expected a header name of letters, digits and !#$%&'*+-.^_`|~, got " + quoted(name);
  }
  for (std::string_view computed : kComputedHeaders) {
    if (equalsIgnoreCase(name, computed)) {
      return "this header cannot be set; plexgate computes it";
    }
  }
  return "";
}

std::string headerValueProblem(std::string_view value) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return "header values must not contain CR, LF or NUL";
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> readHeaders(const MapEntry& entry) {
  const MapReader map(entry.value, entry.path, entry.line, std::nullopt,
                      "a mapping of header names to values");
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(map.entries().size());
  for (const MapEntry& header : map.entries()) {
    if (const std::string why = headerNameProblem(header.key); !why.empty()) {
      fail(header.key_line, header.path, why);
    }
    std::string value = readString(header);
    if (const std::string why = headerValueProblem(value); !why.empty()) {
      fail(header.line, header.path, why);
    }
    headers.emplace_back(header.key, std::move(value));
  }
  return headers;
}

RespondAction readRespond(const MapEntry& entry) {
  const MapReader map(entry.value, entry.path, entry.line, kRespondKeys);
  const MapEntry* body = map.find("body");
  const MapEntry* bodySize = map.find("body_size");
  if (body != nullptr && bodySize != nullptr) {
    const MapEntry* later = body->key_line > bodySize->key_line ? body : bodySize;
    fail(later->key_line, later->path, "set either body or body_size, not both");
  }
  RespondAction respond;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "status") {
      respond.status = static_cast<int>(readInteger(field, 200, 599));
    } else if (field.key == "body") {
      respond.body = readString(field);
    } else if (field.key == "body_size") {
      respond.body_size = readSize(field, 0, kMaxRespondBodySize);
    } else if (field.key == "headers") {
      respond.headers = readHeaders(field);
    } else if (field.key == "delay") {
      respond.delay = readDuration(field, Millis{0}, kMaxRespondDelay);
    }
  }
  return respond;
}

EchoAction readEcho(const MapEntry& entry) {
  if (!entry.value.IsNull()) {
    // Only to reject keys and non-mappings: echo has no settings yet.
    const MapReader map(entry.value, entry.path, entry.line,
                        std::vector<std::string_view>{}, "an empty mapping {}");
  }
  return EchoAction{};
}

ProxyAction readProxy(const MapEntry& entry, ClusterRefs& refs) {
  const MapReader map(entry.value, entry.path, entry.line, kProxyKeys);
  map.require("cluster");
  ProxyAction proxy;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "cluster") {
      proxy.cluster = readNonEmptyString(field);
      refs.push_back(ClusterRef{proxy.cluster, field.path, field.line});
    } else if (field.key == "rewrite_prefix") {
      proxy.rewrite_prefix = readPath(field);
    }
  }
  return proxy;
}

Route readRoute(const YAML::Node& node, const std::string& path, int line, ClusterRefs& refs) {
  const MapReader map(node, path, line, kRouteKeys);
  map.require("prefix");
  // The actions present, in file order.
  std::vector<const MapEntry*> actions;
  for (const MapEntry& field : map.entries()) {
    if (std::find(kActions.begin(), kActions.end(), field.key) != kActions.end()) {
      actions.push_back(&field);
    }
  }
  if (actions.empty()) {
    fail(map.line(), path, "a route needs exactly one action (respond, echo or proxy)");
  }
  if (actions.size() > 1) {
    std::string got;
    for (size_t i = 0; i < actions.size(); ++i) {
      got += (i == 0 ? "" : i + 1 == actions.size() ? " and " : ", ") + actions[i]->key;
    }
    fail(actions[1]->key_line, path,
         "a route needs exactly one action (respond, echo or proxy), got " + got);
  }
  Route route;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "prefix") {
      route.prefix = readPath(field);
    } else if (field.key == "host") {
      route.host = readRouteHost(field);
    } else if (field.key == "respond") {
      route.action = readRespond(field);
    } else if (field.key == "echo") {
      route.action = readEcho(field);
    } else if (field.key == "proxy") {
      route.action = readProxy(field, refs);
    }
  }
  return route;
}

std::vector<Route> readRoutes(const MapEntry& entry, ClusterRefs& refs) {
  std::vector<Route> routes;
  if (entry.value.IsNull()) {
    return routes;
  }
  if (!entry.value.IsSequence()) {
    fail(entry.line, entry.path, "expected a sequence of routes, got " + describe(entry.value));
  }
  // Host and prefix of each route -> its line: the first of two equal ones
  // always wins, so the second could never answer a request.
  std::map<std::pair<std::string, std::string>, int> firstLine;
  size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    const std::string path = detail::indexPath(entry.path, index);
    const int line = detail::lineOf(item, entry.line);
    Route route = readRoute(item, path, line, refs);
    const auto [first, inserted] = firstLine.emplace(std::pair(route.host, route.prefix), line);
    if (!inserted) {
      fail(line, path,
           "duplicate route: prefix " + quoted(route.prefix) +
               (route.host.empty() ? std::string() : " with host " + quoted(route.host)) +
               " is already routed on line " + std::to_string(first->second) +
               ", which would always win");
    }
    routes.push_back(std::move(route));
    ++index;
  }
  return routes;
}

std::vector<Listener> readListeners(const MapEntry& entry, ClusterRefs& refs) {
  if (!entry.value.IsSequence()) {
    fail(entry.line, entry.path,
         "expected a sequence of listeners, got " + describe(entry.value));
  }
  if (entry.value.size() == 0) {
    fail(entry.line, entry.path, "expected at least one listener");
  }
  std::vector<Listener> listeners;
  std::map<std::string, int, std::less<>> nameLines;
  std::map<std::string, std::pair<std::string, int>, std::less<>> addressLines;
  size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    const MapReader map(item, detail::indexPath(entry.path, index),
                        detail::lineOf(item, entry.line), kListenerKeys);
    map.require("name");
    map.require("address");
    Listener listener;
    for (const MapEntry& field : map.entries()) {
      if (field.key == "name") {
        listener.name = readString(field);
        if (!detail::isPlainName(listener.name)) {
          fail(field.line, field.path,
               "expected a name of lowercase letters, digits, '_' and '-', got " +
                   quoted(listener.name));
        }
        const auto [first, inserted] = nameLines.emplace(listener.name, field.line);
        if (!inserted) {
          fail(field.line, field.path,
               "duplicate listener name " + quoted(listener.name) + " (first used on line " +
                   std::to_string(first->second) + ")");
        }
      } else if (field.key == "address") {
        readAddress(field, listener);
      } else if (field.key == "services") {
        listener.services = readBool(field);
      } else if (field.key == "fanout") {
        listener.fanout = readBool(field);
      } else if (field.key == "admin") {
        listener.admin = readBool(field);
      } else if (field.key == "trusted_proxies") {
        listener.trusted_proxies = readTrustedProxies(field);
      } else if (field.key == "routes") {
        listener.routes = readRoutes(field, refs);
      } else if (field.key == "tls") {
        detail::readListenerTls(field, listener);
      }
    }
    // Listeners bind with SO_REUSEPORT, so two on one address would both
    // bind and the kernel would split connections between their routes.
    if (listener.port != 0) {
      const MapEntry* address = map.find("address");
      const auto [first, inserted] =
          addressLines.emplace(canonicalAddress(listener), std::pair(listener.name, address->line));
      if (!inserted) {
        fail(address->line, address->path,
             "address " + quoted(listener.address) + " is already used by listener " +
                 quoted(first->second.first) + " (line " + std::to_string(first->second.second) +
                 ")");
      }
    }
    listeners.push_back(std::move(listener));
    ++index;
  }
  return listeners;
}

// Every proxy route must name a cluster from `clusters:`.
void checkClusterRefs(const ClusterRefs& refs, const std::vector<Cluster>& clusters) {
  constexpr size_t kMaxListed = 10;
  for (const ClusterRef& ref : refs) {
    const auto named = [&ref](const Cluster& c) { return c.name == ref.name; };
    if (std::find_if(clusters.begin(), clusters.end(), named) != clusters.end()) {
      continue;
    }
    std::string declared;
    for (size_t i = 0; i < clusters.size() && i < kMaxListed; ++i) {
      declared += (i == 0 ? "" : ", ") + clusters[i].name;
    }
    if (clusters.size() > kMaxListed) {
      declared += ", ...";
    }
    fail(ref.line, ref.path,
         "no cluster named " + quoted(ref.name) +
             (clusters.empty() ? " (no clusters are declared)" : " (declared: " + declared + ")"));
  }
}

// ---- the other top-level sections -------------------------------------------

uint32_t readWorkers(const MapEntry& entry) {
  if (entry.value.IsScalar() && entry.value.Scalar() == "auto") {
    return 0;
  }
  std::optional<uint64_t> count;
  if (entry.value.IsScalar()) {
    count = parseUnsigned(entry.value.Scalar());
  }
  if (!count || *count < 1 || *count > kMaxWorkers) {
    fail(entry.line, entry.path,
         "expected 'auto' or an integer from 1 to " + std::to_string(kMaxWorkers) + ", got " +
             describe(entry.value));
  }
  return static_cast<uint32_t>(*count);
}

Limits readLimits(const MapEntry& entry) {
  const MapReader map(entry.value, entry.path, entry.line, kLimitsKeys);
  Limits limits;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "max_head_bytes") {
      limits.max_head_bytes = static_cast<uint32_t>(readSize(field, kKiB, kMiB));
    } else if (field.key == "max_headers") {
      limits.max_headers = static_cast<uint32_t>(readInteger(field, 1, 10000));
    } else if (field.key == "max_uri_bytes") {
      limits.max_uri_bytes = static_cast<uint32_t>(readSize(field, 64, kMiB));
    } else if (field.key == "max_body_bytes") {
      limits.max_body_bytes = readSize(field, 0, 64 * kGiB);
    } else if (field.key == "max_requests_per_connection") {
      limits.max_requests_per_connection =
          static_cast<uint32_t>(readInteger(field, 0, std::numeric_limits<uint32_t>::max()));
    }
  }
  // The URI is part of the head, so a larger URI limit could never apply.
  if (limits.max_uri_bytes > limits.max_head_bytes) {
    const MapEntry* uri = map.find("max_uri_bytes");
    if (uri == nullptr) {
      // Only the default is too big (a small max_head_bytes): follow the head limit.
      limits.max_uri_bytes = limits.max_head_bytes;
    } else {
      fail(uri->line, uri->path,
           "must not exceed max_head_bytes (" + formatSize(limits.max_head_bytes) + "), got " +
               describe(uri->value));
    }
  }
  return limits;
}

Timeouts readTimeouts(const MapEntry& entry) {
  const MapReader map(entry.value, entry.path, entry.line, kTimeoutsKeys);
  Timeouts timeouts;
  for (const MapEntry& field : map.entries()) {
    const Millis value = readDuration(field, Millis{field.key == "park" ? 0 : 1}, kMaxTimeout);
    if (field.key == "header") {
      timeouts.header = value;
    } else if (field.key == "idle") {
      timeouts.idle = value;
    } else if (field.key == "park") {
      timeouts.park = value;
    } else if (field.key == "drain") {
      timeouts.drain = value;
    }
  }
  return timeouts;
}

// Why fopen(path, "a") would fail, or "": a directory, a file that is not
// writable, or one that does not exist in a directory that is not writable.
std::string appendProblem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return std::strerror(EISDIR);
    }
    return ::access(path.c_str(), W_OK) == 0 ? std::string() : std::strerror(errno);
  }
  if (errno != ENOENT) {
    return std::strerror(errno);
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0) {
    return std::strerror(errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return std::strerror(ENOTDIR);
  }
  return ::access(dir.c_str(), W_OK | X_OK) == 0 ? std::string() : std::strerror(errno);
}

AccessLog readAccessLog(const MapEntry& entry) {
  const MapReader map(entry.value, entry.path, entry.line, kAccessLogKeys);
  AccessLog log;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "enabled") {
      log.enabled = readBool(field);
    } else if (field.key == "path") {
      // Relative to the configuration file, as certificates are; "-" is stdout.
      log.path = readNonEmptyString(field);
      if (log.path != "-") {
        log.path = detail::resolvePath(std::move(log.path));
      }
    } else if (field.key == "format") {
      static const std::vector<std::string_view> kFormats = {"combined", "json"};
      log.format = readChoice(field, kFormats) == 0 ? AccessLogFormat::Combined
                                                    : AccessLogFormat::Json;
    }
  }
  // Start-up opens the file for appending; --check must refuse what that
  // would, without creating the file.
  if (log.enabled && log.path != "-") {
    const MapEntry* path = map.find("path");
    std::string why = appendProblem(log.path);
    if (!why.empty()) {
      fail(path->line, path->path, "cannot open " + quoted(log.path) + " for appending: " + why);
    }
  }
  return log;
}

LogLevel readLogLevel(const MapEntry& entry) {
  static const std::vector<std::string_view> kLevels = {"debug", "info", "warn", "error"};
  static const LogLevel kValues[] = {LogLevel::Debug, LogLevel::Info, LogLevel::Warn,
                                     LogLevel::Error};
  return kValues[readChoice(entry, kLevels)];
}

Config readConfig(const YAML::Node& root, std::string source) {
  if (root.IsNull()) {
    fail(1, "", "the file is empty; expected a mapping with at least 'listeners'");
  }
  if (!root.IsMap()) {
    fail(1, "", "expected a mapping at the top level, got " + describe(root));
  }
  const MapReader map(root, "", 1, kTopKeys);
  map.require("listeners");
  Config config;
  config.source = std::move(source);
  ClusterRefs refs;
  std::vector<Cluster> serviceClusters;
  std::vector<Cluster> systemClusters;
  std::optional<MapEntry> systemsEntry;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "workers") {
      config.workers = readWorkers(field);
    } else if (field.key == "listeners") {
      config.listeners = readListeners(field, refs);
    } else if (field.key == "clusters") {
      config.clusters = detail::readClusters(field);
    } else if (field.key == "services") {
      config.services = detail::readServices(field, serviceClusters);
    } else if (field.key == "systems") {
      config.systems = detail::readSystems(field, systemClusters);
      systemsEntry = field;
    } else if (field.key == "httpProxies") {
      config.http_proxies = detail::readHttpProxies(field);
    } else if (field.key == "catalogUiTiles") {
      detail::readCatalogUiTiles(field);
    } else if (field.key == "limits") {
      config.limits = readLimits(field);
    } else if (field.key == "timeouts") {
      config.timeouts = readTimeouts(field);
    } else if (field.key == "access_log") {
      config.access_log = readAccessLog(field);
    } else if (field.key == "log_level") {
      config.log_level = readLogLevel(field);
    }
  }
  // Services and systems are answered only on listeners that say so; with
  // none, no request can reach them.
  const auto noListener = [&](bool Listener::*flag) {
    return std::none_of(config.listeners.begin(), config.listeners.end(),
                        [flag](const Listener& l) { return l.*flag; });
  };
  const auto warn = [&](const MapEntry& entry, const std::string& message) {
    config.warnings.push_back(ConfigError{config.source, entry.key_line, entry.path, message}.toString());
  };
  if (!config.services.empty() && noListener(&Listener::services)) {
    warn(*map.find("services"), "no listener serves these services; add 'services: true' to a listener");
  }
  if (!config.systems.empty() && noListener(&Listener::fanout)) {
    warn(*systemsEntry, "no listener answers the fan-out API for these systems; add 'fanout: true' to a listener");
  }
  // Only declared clusters can be named; services' own come after them.
  checkClusterRefs(refs, config.clusters);
  for (Cluster& cluster : serviceClusters) {
    config.clusters.push_back(std::move(cluster));
  }
  if (systemsEntry) {
    detail::linkHttpProxies(*systemsEntry, config.systems, systemClusters, config.http_proxies);
  }
  for (size_t i = 0; i < systemClusters.size(); ++i) {
    config.systems[i].cluster_index = config.clusters.size();
    config.clusters.push_back(std::move(systemClusters[i]));
  }
  return config;
}

LoadResult failure(std::string_view source, int line, std::string key, std::string message) {
  LoadResult result;
  result.error = ConfigError{std::string(source), line, std::move(key), std::move(message)};
  return result;
}

}  // namespace

std::string respondHeaderProblem(std::string_view name, std::string_view value) {
  if (std::string why = headerNameProblem(name); !why.empty()) {
    return why;
  }
  return headerValueProblem(value);
}

std::string ConfigError::toString() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
  }
  out += ": ";
  if (!key.empty()) {
    out += key + ": ";
  }
  return out + message;
}

LoadResult loadString(std::string_view yaml, std::string_view source_name) {
  // Files the configuration names (certificates, keys) are relative to it.
  const size_t slash = source_name.rfind('/');
  const detail::ScopedBaseDir base(slash == std::string_view::npos ? std::string()
                                                                    : std::string(source_name.substr(0, slash)));
  try {
    // First the whole stream, events only: it must end, and hold one document.
    detail::checkSingleDocument(yaml);
    const YAML::Node root = YAML::Load(std::string(yaml));
    LoadResult result;
    result.config = std::make_shared<const Config>(readConfig(root, std::string(source_name)));
    return result;
  } catch (const LoadFailure& failed) {
    return failure(source_name, failed.line, failed.key, failed.message);
  } catch (const YAML::Exception& e) {
    // e.msg is the bare message; e.what() repeats the position we report.
    const int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    return failure(source_name, line, "", "YAML syntax error: " + e.msg);
  } catch (const std::bad_alloc&) {
    return failure(source_name, 0, "", "out of memory while loading the configuration");
  } catch (const std::exception& e) {
    return failure(source_name, 0, "", std::string("internal error: ") + e.what());
  } catch (...) {
    return failure(source_name, 0, "", "internal error: unknown exception");
  }
}

LoadResult loadFile(const std::string& path) {
  std::string text;
  int error = 0;
  bool tooLarge = false;
  if (std::FILE* file = std::fopen(path.c_str(), "rb")) {
    char buf[16 * 1024];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) {
      // /dev/zero or a runaway generator would otherwise take every byte of memory.
      if (text.size() + n > kMaxFileBytes) {
        tooLarge = true;
        break;
      }
      text.append(buf, n);
    }
    if (std::ferror(file)) {
      error = errno != 0 ? errno : EIO;
    }
    std::fclose(file);
  } else {
    error = errno;
  }
  if (error != 0) {
    return failure(path, 0, "", std::string("cannot read: ") + std::strerror(error));
  }
  if (tooLarge) {
    return failure(path, 0, "", "cannot read: larger than " + formatSize(kMaxFileBytes));
  }
  return loadString(text, path);
}

std::optional<uint64_t> parseSize(std::string_view text) {
  uint64_t multiplier = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        multiplier = kKiB;
        break;
      case 'm':
      case 'M':
        multiplier = kMiB;
        break;
      case 'g':
      case 'G':
        multiplier = kGiB;
        break;
      default:
        break;
    }
    if (multiplier != 1) {
      text.remove_suffix(1);
    }
  }
  const std::optional<uint64_t> count = parseUnsigned(text);
  if (!count || *count > std::numeric_limits<uint64_t>::max() / multiplier) {
    return std::nullopt;
  }
  return *count * multiplier;
}

std::optional<Millis> parseDuration(std::string_view text) {
  int64_t unit = 0;
  if (text.ends_with("ms")) {
    unit = 1;
    text.remove_suffix(2);
  } else if (text.ends_with('s')) {
    unit = kMsPerSecond;
  } else if (text.ends_with('m')) {
    unit = kMsPerMinute;
  } else if (text.ends_with('h')) {
    unit = kMsPerHour;
  }
  if (unit == 0) {
    return std::nullopt;
  }
  if (unit != 1) {
    text.remove_suffix(1);
  }
  const std::optional<uint64_t> count = parseUnsigned(text);
  const auto maxCount = static_cast<uint64_t>(std::numeric_limits<Millis::rep>::max() / unit);
  if (!count || *count > maxCount) {
    return std::nullopt;
  }
  return Millis{static_cast<Millis::rep>(*count) * unit};
}

}  // namespace plexgate::config
