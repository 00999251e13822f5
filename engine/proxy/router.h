// Router: (host, path) -> what answers the request, for one listener.
// Immutable once built: built with its config snapshot and shared read-only
// by the worker loops. Entries are the listener's own routes plus, when the
// listener serves services, one entry per Zowe service route
// /{serviceId}/{gatewayUrl}. Longest prefix wins; a route with a host beats
// a host-less one of the same length; service routes match whole segments.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/config.h"

namespace plexgate::proxy {

struct RouteEntry {
  enum class Kind { Respond, Echo, Proxy, Service };
  Kind kind = Kind::Respond;
  std::string prefix;  // "/api/" or "/svc/api/v1"
  std::string host;    // "" = any
  bool whole_segments = false;  // "/svc/api/v1" matches "/svc/api/v1/x", not "/svc/api/v10"
  const config::RespondAction* respond = nullptr;
  const config::ProxyAction* proxy = nullptr;
  const config::Service* service = nullptr;
  const config::ServiceRoute* service_route = nullptr;
  size_t cluster = 0;  // index into Config::clusters (Proxy, Service)
};

struct RouteMatch {
  const RouteEntry* entry = nullptr;
  std::string_view path;       // the request's path (no query)
  std::string_view remainder;  // path after the matched prefix
  std::string_view query;      // "?a=1" or ""
};

class Router {
 public:
  // `config` (and so `listener`) must outlive the router.
  Router(const config::Config& config, const config::Listener& listener);

  RouteMatch match(std::string_view host, std::string_view target) const;
  size_t size() const { return entries_.size(); }

  // The path part of a request-target: origin-form up to '?' or '#',
  // absolute-form after the authority; "*" stays "*".
  static std::string_view pathOf(std::string_view target);
  static bool hostMatches(std::string_view pattern, std::string_view host);

 private:
  std::vector<RouteEntry> entries_;  // longest prefix first
};

}  // namespace plexgate::proxy
