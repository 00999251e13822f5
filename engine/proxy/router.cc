#include "engine/proxy/router.h"

#include <algorithm>

namespace plexgate::proxy {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view stripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  const size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

Router::Router(const config::Listener& listener) {
  for (const config::Route& r : listener.routes) {
    routes_.push_back(&r);
  }
  std::stable_sort(routes_.begin(), routes_.end(), [](const config::Route* a, const config::Route* b) {
    if (a->prefix.size() != b->prefix.size()) {
      return a->prefix.size() > b->prefix.size();
    }
    return !a->host.empty() && b->host.empty();
  });
}

std::string_view Router::pathOf(std::string_view target) {
  if (!target.empty() && target.front() != '/' && target != "*") {
    // absolute-form: scheme://authority/path
    const size_t scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      const size_t slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
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

const config::Route* Router::match(std::string_view host, std::string_view target) const {
  const std::string_view path = pathOf(target);
  for (const config::Route* r : routes_) {
    if (path.substr(0, r->prefix.size()) != r->prefix) {
      continue;
    }
    if (!r->host.empty() && !hostMatches(r->host, host)) {
      continue;
    }
    return r;
  }
  return nullptr;
}

}  // namespace plexgate::proxy
