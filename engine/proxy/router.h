// Router: (host, path) -> route for one listener. Immutable once built, so it
// is built on the control thread with its config snapshot and shared
// read-only by every worker loop. Longest prefix wins; a route with a host
// beats a host-less one of the same prefix length.
#pragma once

#include <string_view>
#include <vector>

#include "engine/config/config.h"

namespace plexgate::proxy {

class Router {
 public:
  // `listener` must outlive the router (both belong to one config snapshot).
  explicit Router(const config::Listener& listener);

  // `host` is the Host header value (port allowed); `target` the request-target.
  const config::Route* match(std::string_view host, std::string_view target) const;

  // The path part of a request-target: origin-form up to '?' or '#',
  // absolute-form after the authority; "*" stays "*".
  static std::string_view pathOf(std::string_view target);
  static bool hostMatches(std::string_view pattern, std::string_view host);

 private:
  std::vector<const config::Route*> routes_;  // longest prefix first
};

}  // namespace plexgate::proxy
