// Tests for Router (engine/proxy/router.h): the semantic edge cases (longest
// prefix, host before host-less, exact and "*.suffix" hosts, whole-segment
// service routes, byte prefixes, file order on ties), then the indexed lookup
// against a brute-force reference over seeded random route sets and paths,
// including nodes with enough hosts to be host-indexed.
#include "engine/proxy/router.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace plexgate::proxy {
namespace {

// A config with one listener; routes answer with distinct RespondActions so
// that a match can be traced back to the route it came from.
class RouteSet {
 public:
  RouteSet() {
    config_.listeners.emplace_back();
    config_.listeners[0].name = "test";
  }

  void route(std::string prefix, std::string host = "") {
    config::Route r;
    r.prefix = std::move(prefix);
    r.host = std::move(host);
    r.action = config::RespondAction{};
    config_.listeners[0].routes.push_back(std::move(r));
  }

  void service(const std::string& id, std::vector<std::string> gateway_urls) {
    config_.listeners[0].services = true;
    config::Service s;
    s.service_id = id;
    s.cluster = "service/" + id;
    for (std::string& g : gateway_urls) {
      s.routes.push_back(config::ServiceRoute{std::move(g), "/"});
    }
    config_.services.push_back(std::move(s));
    config::Cluster c;
    c.name = "service/" + id;
    config_.clusters.push_back(std::move(c));
  }

  // Call after the last route()/service(): the router points into config_.
  Router build() const { return Router(config_, config_.listeners[0]); }

  const config::Config& config() const { return config_; }

  // "route N" or "service ID/GATEWAY" for the entry a match points to.
  std::string nameOf(const RouteEntry* e) const {
    if (e == nullptr) {
      return "none";
    }
    if (e->service_route != nullptr) {
      return "service " + e->service->service_id + "/" + e->service_route->gateway_url;
    }
    const auto& routes = config_.listeners[0].routes;
    for (size_t i = 0; i < routes.size(); ++i) {
      if (std::get_if<config::RespondAction>(&routes[i].action) == e->respond) {
        return "route " + std::to_string(i);
      }
    }
    return "unknown";
  }

 private:
  config::Config config_;
};

// ---------------------------------------------------------------- reference
// The documented semantics, written as plainly as possible and independent of
// router.cc: every candidate is checked, the best one kept.

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool sameIgnoringCase(std::string_view a, std::string_view b) {
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

bool refHostMatches(std::string_view pattern, std::string_view host) {
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.find(']');
    if (close != std::string_view::npos) {
      host = host.substr(0, close + 1);
    }
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    const std::string_view suffix = pattern.substr(1);
    return host.size() > suffix.size() && sameIgnoringCase(host.substr(host.size() - suffix.size()), suffix);
  }
  return sameIgnoringCase(pattern, host);
}

struct RefEntry {
  std::string name;
  std::string prefix;
  std::string host;
  bool whole_segments = false;
};

std::vector<RefEntry> refEntries(const RouteSet& set) {
  std::vector<RefEntry> out;
  const config::Config& cfg = set.config();
  for (size_t i = 0; i < cfg.listeners[0].routes.size(); ++i) {
    const config::Route& r = cfg.listeners[0].routes[i];
    out.push_back(RefEntry{"route " + std::to_string(i), r.prefix, r.host, false});
  }
  if (cfg.listeners[0].services) {
    for (const config::Service& s : cfg.services) {
      for (const config::ServiceRoute& sr : s.routes) {
        out.push_back(RefEntry{"service " + s.service_id + "/" + sr.gateway_url,
                               "/" + s.service_id + "/" + sr.gateway_url, "", true});
      }
    }
  }
  return out;
}

// Longest prefix; then one with a host; then the earlier one (routes in file
// order, then services).
std::string refMatch(const std::vector<RefEntry>& entries, std::string_view host, std::string_view path) {
  const RefEntry* best = nullptr;
  for (const RefEntry& e : entries) {
    if (path.size() < e.prefix.size() || path.substr(0, e.prefix.size()) != e.prefix) {
      continue;
    }
    if (e.whole_segments && path.size() > e.prefix.size() && path[e.prefix.size()] != '/') {
      continue;
    }
    if (!e.host.empty() && !refHostMatches(e.host, host)) {
      continue;
    }
    if (best == nullptr || e.prefix.size() > best->prefix.size() ||
        (e.prefix.size() == best->prefix.size() && !e.host.empty() && best->host.empty())) {
      best = &e;
    }
  }
  return best == nullptr ? "none" : best->name;
}

// ---------------------------------------------------------------- edge cases

TEST(RouterTest, LongestPrefixWins) {
  RouteSet set;
  set.route("/");
  set.route("/api/v1");
  set.route("/api");
  const Router router = set.build();
  EXPECT_EQ(set.nameOf(router.match("h", "/api/v1/items").entry), "route 1");
  EXPECT_EQ(set.nameOf(router.match("h", "/api/v2").entry), "route 2");
  EXPECT_EQ(set.nameOf(router.match("h", "/other").entry), "route 0");
  EXPECT_EQ(router.match("h", "/api/v1/items").remainder, "/items");
  EXPECT_EQ(router.size(), 3u);
}

TEST(RouterTest, PlainPrefixesMatchByBytes) {
  RouteSet set;
  set.route("/api");
  const Router router = set.build();
  EXPECT_EQ(set.nameOf(router.match("h", "/apix").entry), "route 0");
  EXPECT_EQ(router.match("h", "/apix").remainder, "x");
  EXPECT_EQ(set.nameOf(router.match("h", "/api").entry), "route 0");
  EXPECT_EQ(router.match("h", "/ap").entry, nullptr);
  EXPECT_EQ(router.match("h", "").entry, nullptr);
}

TEST(RouterTest, HostBeatsHostlessOfSameLengthOnly) {
  RouteSet set;
  set.route("/api");
  set.route("/api", "example.com");
  set.route("/api/v1");
  const Router router = set.build();
  EXPECT_EQ(set.nameOf(router.match("example.com", "/api/x").entry), "route 1");
  EXPECT_EQ(set.nameOf(router.match("other.com", "/api/x").entry), "route 0");
  // A longer host-less prefix still beats a shorter one with a host.
  EXPECT_EQ(set.nameOf(router.match("example.com", "/api/v1/x").entry), "route 2");
}

TEST(RouterTest, HostPatterns) {
  RouteSet set;
  set.route("/", "example.com");
  set.route("/", "*.example.com");
  set.route("/", "[::1]");
  const Router router = set.build();
  EXPECT_EQ(set.nameOf(router.match("example.com", "/").entry), "route 0");
  EXPECT_EQ(set.nameOf(router.match("EXAMPLE.com:8080", "/").entry), "route 0");
  EXPECT_EQ(set.nameOf(router.match("a.example.com", "/").entry), "route 1");
  EXPECT_EQ(set.nameOf(router.match("A.B.Example.COM:8443", "/").entry), "route 1");
  EXPECT_EQ(set.nameOf(router.match("[::1]:8080", "/").entry), "route 2");
  EXPECT_EQ(router.match("aexample.com", "/").entry, nullptr);
  EXPECT_EQ(router.match(".example.com", "/").entry, nullptr);
  EXPECT_EQ(router.match("example.org", "/").entry, nullptr);
  EXPECT_EQ(router.match("", "/").entry, nullptr);
}

TEST(RouterTest, EqualRoutesKeepFileOrder) {
  RouteSet set;
  set.route("/a", "*.example.com");
  set.route("/a", "x.example.com");
  set.route("/a");
  set.route("/a");
  const Router router = set.build();
  EXPECT_EQ(set.nameOf(router.match("x.example.com", "/a").entry), "route 0");
  EXPECT_EQ(set.nameOf(router.match("y.com", "/a").entry), "route 2");
}

TEST(RouterTest, ServiceRoutesMatchWholeSegments) {
  RouteSet set;
  set.route("/svc/");
  set.service("svc", {"api/v1", "api/v1/admin"});
  const Router router = set.build();
  EXPECT_EQ(set.nameOf(router.match("h", "/svc/api/v1").entry), "service svc/api/v1");
  EXPECT_EQ(set.nameOf(router.match("h", "/svc/api/v1/x").entry), "service svc/api/v1");
  EXPECT_EQ(set.nameOf(router.match("h", "/svc/api/v1?q=1").entry), "service svc/api/v1");
  EXPECT_EQ(set.nameOf(router.match("h", "/svc/api/v1/admin/users").entry), "service svc/api/v1/admin");
  EXPECT_EQ(set.nameOf(router.match("h", "/svc/api/v1/adminx").entry), "service svc/api/v1");
  // Not a whole segment: falls back to the shorter byte prefix.
  EXPECT_EQ(set.nameOf(router.match("h", "/svc/api/v10").entry), "route 0");
  EXPECT_EQ(router.match("h", "/svc/api/v10").remainder, "api/v10");
  EXPECT_EQ(router.match("h", "/svc/api/v1/x").remainder, "/x");
  EXPECT_EQ(router.match("h", "/svc/api/v1/x").entry->kind, RouteEntry::Kind::Service);
}

TEST(RouterTest, TargetForms) {
  RouteSet set;
  set.route("/api");
  const Router router = set.build();
  RouteMatch m = router.match("h", "/api/x?a=1#frag");
  EXPECT_EQ(m.path, "/api/x");
  EXPECT_EQ(m.query, "?a=1");
  EXPECT_EQ(m.remainder, "/x");
  m = router.match("h", "http://example.com/api/y?b");
  EXPECT_EQ(m.path, "/api/y");
  EXPECT_EQ(set.nameOf(m.entry), "route 0");
  EXPECT_EQ(router.match("h", "*").entry, nullptr);
}

TEST(RouterTest, EmptyRouterMatchesNothing) {
  RouteSet set;
  const Router router = set.build();
  EXPECT_EQ(router.size(), 0u);
  EXPECT_EQ(router.match("h", "/").entry, nullptr);
}

TEST(RouterTest, EmptyPrefixMatchesEverything) {
  RouteSet set;
  set.route("");
  set.route("/a");
  const Router router = set.build();
  EXPECT_EQ(set.nameOf(router.match("h", "").entry), "route 0");
  EXPECT_EQ(set.nameOf(router.match("h", "/b").entry), "route 0");
  EXPECT_EQ(set.nameOf(router.match("h", "/a").entry), "route 1");
}

TEST(RouterTest, CopiedRouterStillMatches) {
  RouteSet set;
  set.route("/api/v1/long/enough/to/leave/small/string/storage");
  set.route("/a");
  const Router original = set.build();
  const Router copy = original;  // NOLINT(performance-unnecessary-copy-initialization): the point of the test
  const RouteMatch m = copy.match("h", "/api/v1/long/enough/to/leave/small/string/storage/x");
  ASSERT_NE(m.entry, nullptr);
  EXPECT_EQ(m.remainder, "/x");
  EXPECT_EQ(set.nameOf(copy.match("h", "/ab").entry), "route 1");
}

// Many routes with hosts on one prefix: the node is host-indexed.
TEST(RouterTest, VirtualHostsOnOnePrefix) {
  RouteSet set;
  for (int i = 0; i < 100; ++i) {
    set.route("/", "h" + std::to_string(i) + ".example.com");
  }
  set.route("/", "*.wild.example.com");
  set.route("/", "*.example.com");
  set.route("/");
  const Router router = set.build();
  EXPECT_EQ(set.nameOf(router.match("h42.example.com", "/x").entry), "route 42");
  EXPECT_EQ(set.nameOf(router.match("H99.EXAMPLE.COM:80", "/x").entry), "route 99");
  EXPECT_EQ(set.nameOf(router.match("a.wild.example.com", "/x").entry), "route 100");
  EXPECT_EQ(set.nameOf(router.match("h100.example.com", "/x").entry), "route 101");
  EXPECT_EQ(set.nameOf(router.match("example.com", "/x").entry), "route 102");
}

// More nested wildcards matching one host than the router keeps keys for:
// it must fall back to trying each host, with the same answer.
TEST(RouterTest, ManyNestedWildcards) {
  std::string suffix = ".a";
  std::vector<std::string> patterns;  // "*.a", "*.a.a", ...
  for (int i = 0; i < 40; ++i) {
    patterns.push_back("*" + suffix);
    suffix += ".a";
  }
  // Deepest pattern first in the file, then shallowest first: the winner is
  // found first, then last, among the keys a host matches.
  for (const bool deepest_first : {true, false}) {
    RouteSet set;
    for (size_t i = 0; i < patterns.size(); ++i) {
      set.route("/p", patterns[deepest_first ? patterns.size() - 1 - i : i]);
    }
    set.route("/p");
    const Router router = set.build();
    const std::vector<RefEntry> ref = refEntries(set);
    std::string host = "a";
    for (int depth = 0; depth < 45; ++depth) {
      EXPECT_EQ(set.nameOf(router.match(host, "/p/x").entry), refMatch(ref, host, "/p/x")) << host;
      host += ".a";
    }
  }
}

// ---------------------------------------------------------------- randomized

struct Shape {
  int routes;
  int services;
  int prefixes;  // distinct prefixes drawn from (small = many shared nodes)
  int hosts;     // distinct host patterns drawn from
  int host_percent;
};

std::string randomPath(std::mt19937& rng, int max_segments) {
  static const char* const kSegments[] = {"a", "ab", "abc", "api", "v1", "v10", "v2", "x", "items", "b"};
  std::uniform_int_distribution<int> seg(0, 9);
  std::uniform_int_distribution<int> count(0, max_segments);
  std::string p;
  const int n = count(rng);
  for (int i = 0; i < n; ++i) {
    p += "/";
    p += kSegments[seg(rng)];
  }
  switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
    case 0:
      p += "/";
      break;
    case 1:
      if (!p.empty()) {
        p.resize(std::uniform_int_distribution<size_t>(1, p.size())(rng));  // cut mid-segment
      }
      break;
    default:
      break;
  }
  return p.empty() ? "/" : p;
}

std::string hostPattern(int i) {
  static const char* const kBase[] = {"example.com", "*.example.com", "a.example.com", "*.a.example.com",
                                      "Other.ORG",   "*.org",         "[::1]",         "*.b.a.example.com"};
  if (i < 8) {
    return kBase[i];
  }
  return (i % 3 == 0 ? "*.d" : "h") + std::to_string(i) + ".example.com";
}

std::string randomRequestHost(std::mt19937& rng, int hosts) {
  static const char* const kFixed[] = {"example.com",     "EXAMPLE.com:8080",  "a.example.com",
                                       "x.a.example.com", "c.b.a.example.com", "other.org",
                                       "foo.ORG:1",       "[::1]:443",         "",
                                       "nowhere.net",     "example.com.",      ".example.com"};
  std::uniform_int_distribution<int> pick(0, 13);
  const int k = pick(rng);
  if (k < 12) {
    return kFixed[k];
  }
  const int i = std::uniform_int_distribution<int>(0, hosts + 3)(rng);
  std::string h = hostPattern(i);
  if (h[0] == '*') {
    h = "z" + h.substr(1);
  }
  return k == 12 ? h : h + ":80";
}

void compareWithReference(uint32_t seed, const Shape& shape) {
  std::mt19937 rng(seed);
  std::vector<std::string> prefixes;
  for (int i = 0; i < shape.prefixes; ++i) {
    prefixes.push_back(randomPath(rng, 4));
  }
  RouteSet set;
  std::uniform_int_distribution<int> pick_prefix(0, shape.prefixes - 1);
  std::uniform_int_distribution<int> pick_host(0, shape.hosts - 1);
  std::uniform_int_distribution<int> percent(0, 99);
  for (int i = 0; i < shape.routes; ++i) {
    set.route(prefixes[pick_prefix(rng)], percent(rng) < shape.host_percent ? hostPattern(pick_host(rng)) : "");
  }
  static const char* const kIds[] = {"a", "api", "svc"};
  for (int i = 0; i < shape.services; ++i) {
    std::vector<std::string> gateways;
    for (int g = 0; g < 3; ++g) {
      std::string p = randomPath(rng, 3);
      while (!p.empty() && p.back() == '/') {
        p.pop_back();
      }
      gateways.push_back(p.empty() ? "api" : p.substr(1));
    }
    set.service(std::string(kIds[i % 3]) + (i < 3 ? "" : std::to_string(i)), std::move(gateways));
  }
  const Router router = set.build();
  const std::vector<RefEntry> ref = refEntries(set);
  for (int i = 0; i < 2000; ++i) {
    std::string path = randomPath(rng, 6);
    if (percent(rng) < 30) {
      path = prefixes[pick_prefix(rng)] + path.substr(percent(rng) < 50 ? 1 : 0);  // extend a known prefix
    }
    const std::string host = randomRequestHost(rng, shape.hosts);
    const RouteMatch m = router.match(host, path);
    const std::string want = refMatch(ref, host, path);
    ASSERT_EQ(set.nameOf(m.entry), want) << "seed " << seed << " host '" << host << "' path '" << path << "'";
    if (m.entry != nullptr) {
      ASSERT_EQ(m.remainder, std::string_view(path).substr(m.entry->prefix.size()));
    }
  }
}

TEST(RouterTest, MatchesReferenceOnFewRoutes) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    compareWithReference(seed, Shape{10, 2, 8, 8, 30});
  }
}

TEST(RouterTest, MatchesReferenceOnManyRoutes) {
  for (uint32_t seed = 100; seed <= 110; ++seed) {
    compareWithReference(seed, Shape{1000, 20, 300, 8, 20});
  }
}

// Few prefixes, many routes with hosts on each: the host-indexed nodes.
TEST(RouterTest, MatchesReferenceOnVirtualHosts) {
  for (uint32_t seed = 200; seed <= 220; ++seed) {
    compareWithReference(seed, Shape{400, 3, 6, 60, 85});
  }
}

}  // namespace
}  // namespace plexgate::proxy
