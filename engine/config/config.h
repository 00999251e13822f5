// The validated, immutable configuration snapshot. Built once by the loader on
// the control thread (config_loader.h), then shared read-only by every worker
// loop as std::shared_ptr<const Config>; a reload builds a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tls/tls_context.h"
#include "tls/tls_options.h"

namespace plexgate::config {

using Millis = std::chrono::milliseconds;

// A route that answers locally with a canned response (load-testing target).
// The largest respond.body_size and respond.delay (the file's and the
// command line's).
inline constexpr uint64_t kMaxRespondBodySize = uint64_t{1} << 30;
inline constexpr Millis kMaxRespondDelay{60 * 60 * 1000};

struct RespondAction {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
  std::string body;           // `body: TEXT`
  uint64_t body_size = 0;     // `body_size: N`: N bytes of 'x', made as they are sent
  Millis delay{0};
};

// A route that answers with the request it received (head and body).
struct EchoAction {};

// A route that forwards to an upstream cluster.
struct ProxyAction {
  std::string cluster;  // a name in Config::clusters
  // The matched route prefix is replaced by this before forwarding; unset
  // keeps the path as it came. "/" with prefix "/api/" sends /api/x as /x.
  std::optional<std::string> rewrite_prefix;
};

using RouteAction = std::variant<RespondAction, EchoAction, ProxyAction>;

// One upstream instance, from "http://host:port[/base/path]".
struct UpstreamEndpoint {
  std::string url;        // as written
  std::string scheme;     // "http" or "https" (TLS with the cluster's tls settings)
  std::string host;       // name or IP literal, no brackets
  uint16_t port = 0;      // default 80 / 443 by scheme
  std::string base_path;  // "" or "/discoverableclient" (no trailing '/')
  std::string instance_id;  // what X-InstanceId pins to: "host:port"
};

enum class LbPolicy { RoundRobin, LeastRequest, ConsistentHash };

struct HealthCheck {
  bool enabled = false;
  std::string path;  // GET this; 2xx = healthy
  Millis interval{5'000};
  Millis timeout{2'000};
  uint32_t healthy_threshold = 2;    // consecutive passes to come back
  uint32_t unhealthy_threshold = 3;  // consecutive failures to be taken out
};

struct PassiveHealth {
  uint32_t consecutive_failures = 5;  // 0 = off; 5xx-free connection errors and timeouts count
  Millis eject_for{10'000};
};

struct UpstreamPool {
  uint32_t max_idle = 64;  // idle keep-alive connections per endpoint per worker
  Millis idle_timeout{60'000};
  uint32_t max_requests = 0;  // per connection; 0 = unlimited
};

struct Cluster {
  std::string name;  // unique; services get "service/<serviceId>"
  std::vector<UpstreamEndpoint> endpoints;
  LbPolicy lb = LbPolicy::RoundRobin;
  std::string hash_header;  // ConsistentHash: exactly one of these two
  std::string hash_cookie;
  Millis connect_timeout{5'000};
  Millis response_timeout{60'000};  // request sent -> response head
  Millis idle_timeout{60'000};      // no byte either way while a body moves
  UpstreamPool pool;
  HealthCheck health;
  PassiveHealth passive;
  uint32_t retries = 1;  // extra attempts when safe (see proxy/upstream_request)
  Millis retry_backoff{25};  // base; jittered up to 2x
  // TLS to https:// endpoints: the `tls:` settings (defaults when absent)
  // and the context built from them; null when no endpoint is https.
  tls::ClientOptions tls;
  tls::ClientContextPtr tls_context;
};

// A Zowe API ML static service definition (static onboarding fields).
struct ServiceRoute {
  std::string gateway_url;           // "api/v1" (no leading or trailing '/')
  std::string service_relative_url;  // "/api/v1", appended to the instance base path
};

struct ApiInfo {
  std::string api_id;
  std::string gateway_url;
  std::string version;
  std::string swagger_url;
  std::string documentation_url;
};

struct Service {
  std::string service_id;  // lowercase alphanumeric, at most 40
  std::string title;
  std::string description;
  std::string catalog_ui_tile_id;
  std::vector<std::string> instance_base_urls;
  std::string home_page_relative_url;
  std::string status_page_relative_url;
  std::string health_check_relative_url;
  std::vector<ServiceRoute> routes;
  std::string authentication_scheme = "bypass";  // only bypass for now
  std::vector<ApiInfo> api_info;
  std::string cluster;  // the Cluster built for it: "service/<serviceId>"
};

struct Route {
  std::string host;    // empty = any; "example.com" exact; "*.example.com" suffix
  std::string prefix;  // path prefix, starts with '/'; longest match wins
  RouteAction action;
};

struct Listener {
  std::string name;     // unique among listeners
  std::string address;  // "127.0.0.1:7554", "[::1]:7554", "0.0.0.0:80"
  std::string host;     // parsed from address (no brackets)
  uint16_t port = 0;
  std::vector<Route> routes;  // in file order
  // Serve the gateway's service routes /{serviceId}/{gatewayUrl}/** here.
  bool services = false;
  // Inbound X-Forwarded-* is kept only from these peers ("127.0.0.1/32",
  // "::1/128", "10.0.0.0/8"); from anyone else it is replaced.
  std::vector<std::string> trusted_proxies;
  // TLS termination: set when the listener has `tls:`; the context holds
  // the loaded certificates (and stays alive with connections using it).
  std::optional<tls::ServerOptions> tls;
  tls::ServerContextPtr tls_context;
  // Answer the multisystem fan-out API (/zosmf/gateway/...) here, ahead of
  // the routes, with the config's `systems:`.
  bool fanout = false;
  // Answer the admin pages (/application/health, /application/info,
  // /metrics; server/admin.h) here, ahead of the routes.
  bool admin = false;
};

// An HTTP proxy between the gateway and some systems (z/OSMF's HTTP proxy
// definition). Credentials come from POST /zosmf/gateway/logon/proxy, never
// from the file.
struct HttpProxy {
  std::string name;  // unique; what System::http_proxy names
  std::string host;
  uint16_t port = 0;
  // `tls: true`: TLS to the proxy itself, verified against its host with
  // `ca_file` (or the system bundle). Only http:// systems can use such a
  // proxy: an https:// one would need TLS inside TLS.
  bool tls = false;
  std::string ca_file;
  tls::ClientContextPtr tls_context;  // set when tls
};

// A secondary for the multisystem fan-out (z/OSMF's system definition).
struct System {
  std::string name;         // nickname: what `target` names; unique
  std::string system_name;  // the z/OS system name (logon accepts it too)
  std::string sysplex;      // "" when not set
  std::string cpc;          // "" when not set
  // Facts about the system a fan-out reply reports ("" = unknown, null in
  // the reply): systemVersion.zosNode (the JES2 MAS or JES3 complex member
  // name), systemVersion.zosVrm (z/OS level "vv.rr.mm"), and the version
  // of the secondary's multisystem routing interface (secondaryApiVersion).
  std::string zos_node;
  std::string zos_vrm;
  std::string secondary_api_version;
  std::vector<std::string> groups;
  std::string url;          // the secondary's base URL, as written
  UpstreamEndpoint target;  // parsed from url
  // A name in Config::http_proxies, or "" for a direct connection. With a
  // proxy the system's cluster endpoint is the proxy: http:// systems get
  // absolute-form requests, https:// ones a CONNECT tunnel per request with
  // TLS to the system inside it (the cluster's tls_context stays the
  // system's; the cluster's endpoint is the plain proxy).
  std::string http_proxy;
  std::string cluster;      // the Cluster built for it: "system/<name>"
  size_t cluster_index = 0;  // into Config::clusters
  Millis timeout{30'000};   // per-system deadline when content sets none
};

struct Limits {
  uint32_t max_head_bytes = 16 * 1024;       // 431 past it
  uint32_t max_headers = 100;                // 431 past it
  uint32_t max_uri_bytes = 8 * 1024;         // 414 past it
  uint64_t max_body_bytes = 16 * 1024 * 1024;  // 413 past it
  uint32_t max_requests_per_connection = 0;  // 0 = unlimited
};

struct Timeouts {
  Millis header{10'000};  // whole request head must arrive within it: 408
  Millis idle{60'000};    // keep-alive connection with no request in progress
  Millis park{500};       // idle that long, a plain connection frees its Session (proxy::Session); 0 = at once
  Millis drain{10'000};   // graceful shutdown limit
};

enum class AccessLogFormat { Combined, Json };

struct AccessLog {
  bool enabled = false;
  std::string path = "-";  // "-" = stdout
  AccessLogFormat format = AccessLogFormat::Combined;
};

enum class LogLevel { Debug, Info, Warn, Error };

struct Config {
  std::string source;  // file the snapshot came from ("" for quick modes)
  // Loaded, but probably not what was meant ("FILE:LINE: key: message"):
  // printed at start-up, on reload and by --check, which still says valid.
  std::vector<std::string> warnings;
  uint32_t workers = 0;  // 0 = auto: one per CPU
  std::vector<Listener> listeners;
  std::vector<Cluster> clusters;  // declared ones, then one per service, then one per system
  std::vector<Service> services;
  std::vector<HttpProxy> http_proxies;
  std::vector<System> systems;  // their clusters follow the services'
  Limits limits;
  Timeouts timeouts;
  AccessLog access_log;
  LogLevel log_level = LogLevel::Info;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace plexgate::config
