#include "engine/proxy/router.h"

#include <algorithm>

#include "parsers/ascii.h"

namespace plexgate::proxy {

namespace {

using parsers::iequals;

std::string_view stripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  const size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

size_t clusterIndex(const config::Config& cfg, std::string_view name) {
  for (size_t i = 0; i < cfg.clusters.size(); ++i) {
    if (cfg.clusters[i].name == name) {
      return i;
    }
  }
  return cfg.clusters.size();  // the loader guarantees this does not happen
}

}  // namespace

Router::Router(const config::Config& config, const config::Listener& listener) {
  for (const config::Route& r : listener.routes) {
    RouteEntry e;
    e.prefix = r.prefix;
    e.host = r.host;
    if (const auto* respond = std::get_if<config::RespondAction>(&r.action)) {
      e.kind = RouteEntry::Kind::Respond;
      e.respond = respond;
    } else if (const auto* proxy = std::get_if<config::ProxyAction>(&r.action)) {
      e.kind = RouteEntry::Kind::Proxy;
      e.proxy = proxy;
      e.cluster = clusterIndex(config, proxy->cluster);
    } else {
      e.kind = RouteEntry::Kind::Echo;
    }
    entries_.push_back(std::move(e));
  }
  if (listener.services) {
    for (const config::Service& s : config.services) {
      for (const config::ServiceRoute& sr : s.routes) {
        RouteEntry e;
        e.kind = RouteEntry::Kind::Service;
        e.prefix = "/" + s.service_id + "/" + sr.gateway_url;
        e.whole_segments = true;
        e.service = &s;
        e.service_route = &sr;
        e.cluster = clusterIndex(config, s.cluster);
        entries_.push_back(std::move(e));
      }
    }
  }
  std::stable_sort(entries_.begin(), entries_.end(), [](const RouteEntry& a, const RouteEntry& b) {
    if (a.prefix.size() != b.prefix.size()) {
      return a.prefix.size() > b.prefix.size();
    }
    return !a.host.empty() && b.host.empty();
  });
}

std::string_view Router::pathOf(std::string_view target) {
  if (!target.empty() && target.front() != '/' && target != "*") {
    // absolute-form: scheme://authority/path
    const size_t scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      const size_t slash = target.find_first_of("/?#", scheme + 3);
      target = (slash == std::string_view::npos || target[slash] != '/') ? std::string_view("/") : target.substr(slash);
    }
  }
  const size_t end = target.find_first_of("?#");
  return end == std::string_view::npos ? target : target.substr(0, end);
}

bool Router::hostMatches(std::string_view pattern, std::string_view host) {
  host = stripPort(host);
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && iequals(host.substr(host.size() - suffix.size()), suffix);
  }
  return iequals(pattern, host);
}

RouteMatch Router::match(std::string_view host, std::string_view target) const {
  RouteMatch m;
  m.path = pathOf(target);
  const size_t q = target.find('?');
  if (q != std::string_view::npos) {
    const size_t hash = target.find('#', q);
    m.query = target.substr(q, hash == std::string_view::npos ? std::string_view::npos : hash - q);
  }
  for (const RouteEntry& e : entries_) {
    if (m.path.substr(0, e.prefix.size()) != e.prefix) {
      continue;
    }
    if (e.whole_segments && m.path.size() > e.prefix.size() && m.path[e.prefix.size()] != '/') {
      continue;
    }
    if (!e.host.empty() && !hostMatches(e.host, host)) {
      continue;
    }
    m.entry = &e;
    m.remainder = m.path.substr(e.prefix.size());
    return m;
  }
  return m;
}

}  // namespace plexgate::proxy
