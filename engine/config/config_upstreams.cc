#include "engine/config/config_upstreams.h"

#include <arpa/inet.h>

#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "engine/config/config_tls.h"
#include "engine/config/config_values.h"

namespace plexgate::config::detail {

namespace {

constexpr Millis kMaxTimeout{24 * 60 * 60 * 1000};
constexpr Millis kMaxRetryBackoff{10'000};
constexpr uint64_t kMaxRetries = 10;
constexpr uint64_t kMaxPoolIdle = 100'000;
constexpr uint64_t kMaxThreshold = 100;
constexpr uint64_t kMaxPassiveFailures = 1000;
constexpr size_t kMaxServiceIdLength = 40;
constexpr std::string_view kServiceClusterPrefix = "service/";
// What a service with a healthCheckRelativeUrl gets probed with.
constexpr Millis kServiceHealthInterval{10'000};
constexpr Millis kServiceHealthTimeout{2'000};

// Keys of every mapping, in the order error messages list them.
const std::vector<std::string_view> kClusterKeys = {
    "name",         "endpoints", "lb",           "hash_on", "connect_timeout", "response_timeout",
    "idle_timeout", "pool",      "health_check", "passive", "retries",         "retry_backoff",
    "tls"};
const std::vector<std::string_view> kHashOnKeys = {"header", "cookie"};
const std::vector<std::string_view> kPoolKeys = {"max_idle", "idle_timeout", "max_requests"};
const std::vector<std::string_view> kHealthCheckKeys = {"path", "interval", "timeout",
                                                        "healthy_threshold", "unhealthy_threshold"};
const std::vector<std::string_view> kPassiveKeys = {"consecutive_failures", "eject_for"};
const std::vector<std::string_view> kLbPolicies = {"round_robin", "least_request",
                                                   "consistent_hash"};
// Zowe API ML's static definition keys, spelled exactly as Zowe does.
const std::vector<std::string_view> kServiceKeys = {
    "serviceId",
    "title",
    "description",
    "catalogUiTileId",
    "instanceBaseUrls",
    "homePageRelativeUrl",
    "statusPageRelativeUrl",
    "healthCheckRelativeUrl",
    "routes",
    "authentication",
    "apiInfo",
    "customMetadata"};
const std::vector<std::string_view> kServiceRouteKeys = {"gatewayUrl", "serviceRelativeUrl"};
const std::vector<std::string_view> kAuthenticationKeys = {"scheme", "applid"};
const std::vector<std::string_view> kApiInfoKeys = {"apiId",      "gatewayUrl",       "version",
                                                    "swaggerUrl", "documentationUrl", "graphqlUrl"};
const std::vector<std::string_view> kTileKeys = {"title", "description"};

// A sequence item seen as a MapEntry, so the typed readers can read it.
MapEntry itemEntry(const MapEntry& sequence, const YAML::Node& item, size_t index) {
  MapEntry entry;
  entry.path = indexPath(sequence.path, index);
  entry.key_line = lineOf(item, sequence.line);
  entry.line = entry.key_line;
  entry.value = item;
  return entry;
}

// Fails unless the entry's value is a sequence (non-empty when `min_one`;
// `at_least` then names one item).
void requireSequence(const MapEntry& entry, std::string_view of, bool min_one,
                     std::string_view at_least) {
  if (!entry.value.IsSequence()) {
    fail(entry.line, entry.path,
         "expected a sequence of " + std::string(of) + ", got " + describe(entry.value));
  }
  if (min_one && entry.value.size() == 0) {
    fail(entry.line, entry.path, "expected at least one " + std::string(at_least));
  }
}

// ---- upstream URLs ---------------------------------------------------------------

bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isHexDigit(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 path: unreserved, sub-delims, ':', '@', '/' and %XX escapes.
bool isUrlPath(std::string_view path) {
  static constexpr std::string_view kPunct = "-._~!$&'()*+,;=:@/";
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size() || !isHexDigit(path[i + 1]) || !isHexDigit(path[i + 2])) {
        return false;
      }
      i += 2;
    } else if (!isAlpha(c) && !isDigit(c) && kPunct.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// A lowercase DNS-style name. All digits and dots is an IPv4 address or
// nothing: "300.1.2.3" must not pass as a name.
bool isDnsName(std::string_view host) {
  if (host.empty() || host.size() > 253 ||
      host.find_first_not_of("0123456789.") == std::string_view::npos) {
    return false;
  }
  while (!host.empty()) {
    const size_t dot = host.find('.');
    if (!isHostLabel(host.substr(0, dot))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      break;
    }
    host.remove_prefix(dot + 1);
    if (host.empty()) {
      return false;  // trailing dot
    }
  }
  return true;
}

[[noreturn]] void badUrl(const MapEntry& entry) {
  fail(entry.line, entry.path,
       "expected a URL like http://127.0.0.1:8080 or https://example.com/base, got " +
           describe(entry.value));
}

// "http://host:port[/base/path]" or https; see UpstreamEndpoint.
UpstreamEndpoint readUrl(const MapEntry& entry) {
  if (!entry.value.IsScalar()) {
    badUrl(entry);
  }
  const std::string text = entry.value.Scalar();
  const std::string_view view = text;
  const size_t sep = view.find("://");
  // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
  if (sep == std::string_view::npos || sep == 0 || !isAlpha(view.front()) ||
      view.substr(0, sep).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789+-.") != std::string_view::npos) {
    badUrl(entry);
  }
  UpstreamEndpoint endpoint;
  endpoint.url = text;
  endpoint.scheme = toLowerAscii(view.substr(0, sep));
  if (endpoint.scheme != "http" && endpoint.scheme != "https") {
    fail(entry.line, entry.path,
         "unsupported scheme " + quoted(view.substr(0, sep)) + " (supported: http, https)");
  }
  const std::string_view rest = view.substr(sep + 3);
  const size_t query = rest.find('?');
  const size_t fragment = rest.find('#');
  if (query < fragment) {
    fail(entry.line, entry.path, "a URL here must not have a query ('?...'), got " + quoted(text));
  }
  if (fragment != std::string_view::npos) {
    fail(entry.line, entry.path,
         "a URL here must not have a fragment ('#...'), got " + quoted(text));
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    fail(entry.line, entry.path,
         "a URL here must not have user info (user@host), got " + quoted(text));
  }
  if (authority.empty()) {
    badUrl(entry);
  }

  std::string_view portText;
  bool hasPort = false;
  bool ipv6 = false;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      badUrl(entry);
    }
    endpoint.host = toLowerAscii(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        badUrl(entry);
      }
      portText = after.substr(1);
      hasPort = true;
    }
    ipv6 = true;
    if (!isIpAddress(AF_INET6, endpoint.host)) {
      fail(entry.line, entry.path,
           "expected an IPv4 address, a bracketed IPv6 address or a DNS name as host, got " +
               quoted(authority.substr(0, close + 1)));
    }
  } else {
    const size_t colon = authority.find(':');
    endpoint.host = toLowerAscii(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      portText = authority.substr(colon + 1);
      hasPort = true;
      if (portText.find(':') != std::string_view::npos) {
        fail(entry.line, entry.path,
             "IPv6 addresses need brackets, like http://[::1]:8080, got " + quoted(text));
      }
    }
    const bool ok = isDnsName(endpoint.host) || isIpAddress(AF_INET, endpoint.host);
    if (!ok) {
      fail(entry.line, entry.path,
           "expected an IPv4 address, a bracketed IPv6 address or a DNS name as host, got " +
               quoted(authority.substr(0, colon)));
    }
  }

  uint64_t port = endpoint.scheme == "https" ? 443 : 80;
  if (hasPort) {
    const std::optional<uint64_t> given = parseUnsigned(portText);
    if (!given) {
      badUrl(entry);
    }
    if (*given < 1 || *given > std::numeric_limits<uint16_t>::max()) {
      fail(entry.line, entry.path, "expected a port from 1 to 65535, got " + quoted(portText));
    }
    port = *given;
  }
  endpoint.port = static_cast<uint16_t>(port);

  if (!isUrlPath(path)) {
    fail(entry.line, entry.path,
         "expected a URL path of letters, digits, %XX escapes and -._~!$&'()*+,;=:@/, got " +
             quoted(path));
  }
  endpoint.base_path = std::string(path);
  while (!endpoint.base_path.empty() && endpoint.base_path.back() == '/') {
    endpoint.base_path.pop_back();
  }
  endpoint.instance_id =
      (ipv6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(port);
  return endpoint;
}

// A non-empty sequence of URLs, no two for the same host:port. `lines`, when
// given, receives each URL's line.
std::vector<UpstreamEndpoint> readUrlList(const MapEntry& entry, std::vector<int>* lines) {
  requireSequence(entry, "URLs", true, "URL");
  std::vector<UpstreamEndpoint> endpoints;
  std::map<std::string, int, std::less<>> firstLine;
  size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    const MapEntry url = itemEntry(entry, item, index++);
    UpstreamEndpoint endpoint = readUrl(url);
    const auto [first, inserted] = firstLine.emplace(endpoint.instance_id, url.line);
    if (!inserted) {
      fail(url.line, url.path,
           "duplicate endpoint " + quoted(endpoint.instance_id) + " (first listed on line " +
               std::to_string(first->second) + ")");
    }
    if (lines != nullptr) {
      lines->push_back(url.line);
    }
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

// ---- clusters --------------------------------------------------------------------

void readHashOn(const MapEntry& entry, Cluster& cluster) {
  const MapReader map(entry.value, entry.path, entry.line, kHashOnKeys);
  const MapEntry* header = map.find("header");
  const MapEntry* cookie = map.find("cookie");
  if (header == nullptr && cookie == nullptr) {
    fail(map.line(), entry.path, "expected exactly one of 'header' or 'cookie'");
  }
  if (header != nullptr && cookie != nullptr) {
    const MapEntry* later = header->key_line > cookie->key_line ? header : cookie;
    fail(later->key_line, later->path, "set either header or cookie, not both");
  }
  const MapEntry* field = header != nullptr ? header : cookie;
  const std::string name = readString(*field);
  if (!isToken(name)) {
    fail(field->line, field->path,
         "expected a " + std::string(header != nullptr ? "header" : "cookie") +
             " name of letters, digits and !#$%&'*+-.^_`|~, got " + quoted(name));
  }
  (header != nullptr ? cluster.hash_header : cluster.hash_cookie) = name;
}

UpstreamPool readPool(const MapEntry& entry) {
  const MapReader map(entry.value, entry.path, entry.line, kPoolKeys);
  UpstreamPool pool;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "max_idle") {
      pool.max_idle = static_cast<uint32_t>(readInteger(field, 0, kMaxPoolIdle));
    } else if (field.key == "idle_timeout") {
      pool.idle_timeout = readDuration(field, Millis{1}, kMaxTimeout);
    } else if (field.key == "max_requests") {
      pool.max_requests =
          static_cast<uint32_t>(readInteger(field, 0, std::numeric_limits<uint32_t>::max()));
    }
  }
  return pool;
}

HealthCheck readHealthCheck(const MapEntry& entry) {
  const MapReader map(entry.value, entry.path, entry.line, kHealthCheckKeys);
  map.require("path");
  HealthCheck health;
  health.enabled = true;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "path") {
      health.path = readPath(field);
    } else if (field.key == "interval") {
      health.interval = readDuration(field, Millis{1}, kMaxTimeout);
    } else if (field.key == "timeout") {
      health.timeout = readDuration(field, Millis{1}, kMaxTimeout);
    } else if (field.key == "healthy_threshold") {
      health.healthy_threshold = static_cast<uint32_t>(readInteger(field, 1, kMaxThreshold));
    } else if (field.key == "unhealthy_threshold") {
      health.unhealthy_threshold = static_cast<uint32_t>(readInteger(field, 1, kMaxThreshold));
    }
  }
  // A probe still running when the next is due would overlap it.
  if (health.timeout >= health.interval) {
    if (const MapEntry* timeout = map.find("timeout")) {
      fail(timeout->line, timeout->path,
           "must be shorter than interval (" + formatDuration(health.interval) + "), got " +
               describe(timeout->value));
    }
    const MapEntry* interval = map.find("interval");
    fail(interval->line, interval->path,
         "must be longer than timeout (" + formatDuration(health.timeout) + "), got " +
             describe(interval->value));
  }
  return health;
}

PassiveHealth readPassive(const MapEntry& entry) {
  const MapReader map(entry.value, entry.path, entry.line, kPassiveKeys);
  PassiveHealth passive;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "consecutive_failures") {
      passive.consecutive_failures =
          static_cast<uint32_t>(readInteger(field, 0, kMaxPassiveFailures));
    } else if (field.key == "eject_for") {
      passive.eject_for = readDuration(field, Millis{1}, kMaxTimeout);
    }
  }
  return passive;
}

Cluster readCluster(const MapEntry& item, std::map<std::string, int, std::less<>>& nameLines) {
  const MapReader map(item.value, item.path, item.line, kClusterKeys);
  map.require("name");
  map.require("endpoints");
  Cluster cluster;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "name") {
      cluster.name = readString(field);
      if (cluster.name.starts_with(kServiceClusterPrefix)) {
        fail(field.line, field.path,
             "names starting with 'service/' are reserved for clusters made from services, got " +
                 quoted(cluster.name));
      }
      if (!isPlainName(cluster.name)) {
        fail(field.line, field.path,
             "expected a name of lowercase letters, digits, '_' and '-', got " +
                 quoted(cluster.name));
      }
      const auto [first, inserted] = nameLines.emplace(cluster.name, field.line);
      if (!inserted) {
        fail(field.line, field.path,
             "duplicate cluster name " + quoted(cluster.name) + " (first used on line " +
                 std::to_string(first->second) + ")");
      }
    } else if (field.key == "endpoints") {
      cluster.endpoints = readUrlList(field, nullptr);
    } else if (field.key == "lb") {
      static const LbPolicy kPolicies[] = {LbPolicy::RoundRobin, LbPolicy::LeastRequest,
                                           LbPolicy::ConsistentHash};
      cluster.lb = kPolicies[readChoice(field, kLbPolicies)];
    } else if (field.key == "hash_on") {
      readHashOn(field, cluster);
    } else if (field.key == "connect_timeout") {
      cluster.connect_timeout = readDuration(field, Millis{1}, kMaxTimeout);
    } else if (field.key == "response_timeout") {
      cluster.response_timeout = readDuration(field, Millis{1}, kMaxTimeout);
    } else if (field.key == "idle_timeout") {
      cluster.idle_timeout = readDuration(field, Millis{1}, kMaxTimeout);
    } else if (field.key == "pool") {
      cluster.pool = readPool(field);
    } else if (field.key == "health_check") {
      cluster.health = readHealthCheck(field);
    } else if (field.key == "passive") {
      cluster.passive = readPassive(field);
    } else if (field.key == "retries") {
      cluster.retries = static_cast<uint32_t>(readInteger(field, 0, kMaxRetries));
    } else if (field.key == "retry_backoff") {
      cluster.retry_backoff = readDuration(field, Millis{0}, kMaxRetryBackoff);
    } else if (field.key == "tls") {
      readClusterTls(field, cluster);
    }
  }
  const MapEntry* tls = map.find("tls");
  finishClusterTls(cluster, tls != nullptr ? tls->key_line : 0, tls != nullptr ? tls->path : item.path);
  const MapEntry* hashOn = map.find("hash_on");
  if (cluster.lb == LbPolicy::ConsistentHash && hashOn == nullptr) {
    const MapEntry* lb = map.find("lb");
    fail(lb->line, lb->path, "consistent_hash needs hash_on with a header or cookie to hash");
  }
  if (cluster.lb != LbPolicy::ConsistentHash && hashOn != nullptr) {
    fail(hashOn->key_line, hashOn->path, "hash_on is only used with lb: consistent_hash");
  }
  return cluster;
}

// ---- services --------------------------------------------------------------------

bool isServiceId(std::string_view id) {
  if (id.empty() || id.size() > kMaxServiceIdLength) {
    return false;
  }
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || isDigit(c))) {
      return false;
    }
  }
  return true;
}

// "api/v1" with any leading and trailing '/' dropped; segments must be
// non-empty and not "." or "..", or the gateway path could never match.
std::string readGatewayUrl(const MapEntry& entry) {
  const std::string text = readString(entry);
  const size_t begin = text.find_first_not_of('/');
  const size_t end = text.find_last_not_of('/');
  std::string url = begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
  bool ok = !url.empty() &&
            url.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789._~/-") == std::string::npos;
  std::string_view rest = url;
  while (ok && !rest.empty()) {
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    ok = !segment.empty() && segment != "." && segment != "..";
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  if (!ok) {
    fail(entry.line, entry.path,
         "expected a gateway URL like api/v1 (letters, digits, '.', '_', '~', '-' and '/'), "
         "got " + quoted(text));
  }
  return url;
}

// "" for null or empty; otherwise a path starting with '/'.
std::string readRelativeUrl(const MapEntry& entry) {
  if (entry.value.IsNull() || (entry.value.IsScalar() && entry.value.Scalar().empty())) {
    return "";
  }
  return readPath(entry);
}

std::vector<ServiceRoute> readServiceRoutes(const MapEntry& entry) {
  requireSequence(entry, "routes", true, "route");
  std::vector<ServiceRoute> routes;
  std::map<std::string, int, std::less<>> firstLine;
  size_t index = 0;
  for (const YAML::Node& node : entry.value) {
    const MapEntry item = itemEntry(entry, node, index++);
    const MapReader map(item.value, item.path, item.line, kServiceRouteKeys);
    map.require("gatewayUrl");
    ServiceRoute route;
    route.service_relative_url = "/";
    for (const MapEntry& field : map.entries()) {
      if (field.key == "gatewayUrl") {
        route.gateway_url = readGatewayUrl(field);
        const auto [first, inserted] = firstLine.emplace(route.gateway_url, field.line);
        if (!inserted) {
          fail(field.line, field.path,
               "duplicate gatewayUrl " + quoted(route.gateway_url) + " (first used on line " +
                   std::to_string(first->second) + ")");
        }
      } else if (field.key == "serviceRelativeUrl") {
        std::string url = readRelativeUrl(field);
        while (url.size() > 1 && url.back() == '/') {
          url.pop_back();
        }
        route.service_relative_url = url.empty() ? "/" : url;
      }
    }
    routes.push_back(std::move(route));
  }
  return routes;
}

std::string readAuthentication(const MapEntry& entry) {
  std::string scheme = "bypass";
  if (entry.value.IsNull()) {
    return scheme;
  }
  const MapReader map(entry.value, entry.path, entry.line, kAuthenticationKeys);
  for (const MapEntry& field : map.entries()) {
    if (field.key == "scheme") {
      scheme = readString(field);
      if (scheme != "bypass") {
        fail(field.line, field.path,
             "authentication scheme " + quoted(scheme) +
                 " is not supported yet (supported: bypass)");
      }
    } else if (field.key == "applid") {
      (void)readOptionalString(field);  // for passtickets, which need another scheme
    }
  }
  return scheme;
}

std::vector<ApiInfo> readApiInfo(const MapEntry& entry) {
  std::vector<ApiInfo> apis;
  if (entry.value.IsNull()) {
    return apis;
  }
  requireSequence(entry, "API descriptions", false, "");
  size_t index = 0;
  for (const YAML::Node& node : entry.value) {
    const MapEntry item = itemEntry(entry, node, index++);
    const MapReader map(item.value, item.path, item.line, kApiInfoKeys);
    ApiInfo api;
    for (const MapEntry& field : map.entries()) {
      std::string value = readOptionalString(field);
      if (field.key == "apiId") {
        api.api_id = std::move(value);
      } else if (field.key == "gatewayUrl") {
        api.gateway_url = std::move(value);
      } else if (field.key == "version") {
        api.version = std::move(value);
      } else if (field.key == "swaggerUrl") {
        api.swagger_url = std::move(value);
      } else if (field.key == "documentationUrl") {
        api.documentation_url = std::move(value);
      }  // graphqlUrl: accepted, not used yet
    }
    apis.push_back(std::move(api));
  }
  return apis;
}

Service readService(const MapEntry& item, std::map<std::string, int, std::less<>>& idLines,
                    Cluster& cluster) {
  const MapReader map(item.value, item.path, item.line, kServiceKeys);
  map.require("serviceId");
  map.require("instanceBaseUrls");
  map.require("routes");
  Service service;
  std::vector<int> urlLines;
  const MapEntry* urls = nullptr;
  for (const MapEntry& field : map.entries()) {
    if (field.key == "serviceId") {
      service.service_id = readString(field);
      if (!isServiceId(service.service_id)) {
        fail(field.line, field.path,
             "expected 1 to 40 lowercase letters and digits, got " + quoted(service.service_id));
      }
      const auto [first, inserted] = idLines.emplace(service.service_id, field.line);
      if (!inserted) {
        fail(field.line, field.path,
             "duplicate serviceId " + quoted(service.service_id) + " (first used on line " +
                 std::to_string(first->second) + ")");
      }
    } else if (field.key == "title") {
      service.title = readOptionalString(field);
    } else if (field.key == "description") {
      service.description = readOptionalString(field);
    } else if (field.key == "catalogUiTileId") {
      service.catalog_ui_tile_id = readOptionalString(field);
    } else if (field.key == "instanceBaseUrls") {
      urls = &field;
      cluster.endpoints = readUrlList(field, &urlLines);
      for (const UpstreamEndpoint& endpoint : cluster.endpoints) {
        service.instance_base_urls.push_back(endpoint.url);
      }
    } else if (field.key == "homePageRelativeUrl") {
      service.home_page_relative_url = readRelativeUrl(field);
    } else if (field.key == "statusPageRelativeUrl") {
      service.status_page_relative_url = readRelativeUrl(field);
    } else if (field.key == "healthCheckRelativeUrl") {
      service.health_check_relative_url = readRelativeUrl(field);
    } else if (field.key == "routes") {
      service.routes = readServiceRoutes(field);
    } else if (field.key == "authentication") {
      service.authentication_scheme = readAuthentication(field);
    } else if (field.key == "apiInfo") {
      service.api_info = readApiInfo(field);
    } else if (field.key == "customMetadata") {
      // Free-form by design (Zowe keeps anything there): only the shape is checked.
      if (!field.value.IsMap() && !field.value.IsNull()) {
        fail(field.line, field.path, "expected a mapping, got " + describe(field.value));
      }
    }
  }

  cluster.name = std::string(kServiceClusterPrefix) + service.service_id;
  service.cluster = cluster.name;
  // https:// instances are verified against the system's CA bundle.
  finishClusterTls(cluster, 0, urls != nullptr ? urls->path : item.path);
  if (!service.health_check_relative_url.empty()) {
    // One probe path serves every instance, so they must agree on the base.
    const std::string& base = cluster.endpoints.front().base_path;
    for (size_t i = 1; i < cluster.endpoints.size(); ++i) {
      if (cluster.endpoints[i].base_path != base) {
        fail(urlLines[i], indexPath(urls->path, i),
             "with healthCheckRelativeUrl set, every instance needs the same base path as "
             "the first (" + quoted(base) + "), got " + quoted(cluster.endpoints[i].base_path));
      }
    }
    cluster.health.enabled = true;
    cluster.health.path = base + service.health_check_relative_url;
    cluster.health.interval = kServiceHealthInterval;
    cluster.health.timeout = kServiceHealthTimeout;
  }
  return service;
}

}  // namespace

std::vector<Cluster> readClusters(const MapEntry& entry) {
  std::vector<Cluster> clusters;
  if (entry.value.IsNull()) {
    return clusters;
  }
  requireSequence(entry, "clusters", false, "");
  std::map<std::string, int, std::less<>> nameLines;
  size_t index = 0;
  for (const YAML::Node& node : entry.value) {
    clusters.push_back(readCluster(itemEntry(entry, node, index++), nameLines));
  }
  return clusters;
}

std::vector<Service> readServices(const MapEntry& entry, std::vector<Cluster>& clusters) {
  std::vector<Service> services;
  if (entry.value.IsNull()) {
    return services;
  }
  requireSequence(entry, "services", false, "");
  std::map<std::string, int, std::less<>> idLines;
  size_t index = 0;
  for (const YAML::Node& node : entry.value) {
    Cluster cluster;
    services.push_back(readService(itemEntry(entry, node, index++), idLines, cluster));
    clusters.push_back(std::move(cluster));
  }
  return services;
}

void readCatalogUiTiles(const MapEntry& entry) {
  if (entry.value.IsNull()) {
    return;
  }
  const MapReader tiles(entry.value, entry.path, entry.line, std::nullopt,
                        "a mapping of tile ids to {title, description}");
  for (const MapEntry& tile : tiles.entries()) {
    const MapReader map(tile.value, tile.path, tile.line, kTileKeys);
    for (const MapEntry& field : map.entries()) {
      (void)readOptionalString(field);
    }
  }
}

UpstreamEndpoint readUpstreamUrl(const MapEntry& entry) { return readUrl(entry); }

}  // namespace plexgate::config::detail
