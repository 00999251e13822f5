// Router::match() (engine/proxy/router.h) with 10, 1,000 and 10,000 routes:
// hits (a path under a random route, half of them with a query), misses
// (paths that share the first bytes of routes but match none), Zowe-style
// service routes (whole segments), and virtual hosting (every route on "/"
// with its own host). 1024 distinct requests are cycled so that one cached
// path does not stand for all of them. Reports lookups/s.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "engine/proxy/router.h"

namespace {

using plexgate::proxy::RouteMatch;
using plexgate::proxy::Router;

constexpr size_t kRequests = 1024;

std::string routePrefix(size_t i) {
  return "/app" + std::to_string(i) + "/v" + std::to_string(i % 4) + "/";
}

plexgate::config::Config makeRoutes(size_t n) {
  plexgate::config::Config c;
  c.listeners.emplace_back();
  for (size_t i = 0; i < n; ++i) {
    plexgate::config::Route r;
    r.prefix = routePrefix(i);
    r.host = i % 10 == 3 ? "api" + std::to_string(i) + ".example.com" : "";  // a few with hosts
    r.action = plexgate::config::RespondAction{};
    c.listeners[0].routes.push_back(std::move(r));
  }
  return c;
}

void runMatches(benchmark::State& state, const Router& router, const std::vector<std::string>& hosts,
                const std::vector<std::string>& targets, bool want_hits) {
  size_t i = 0;
  size_t hits = 0;
  for (auto _ : state) {
    const size_t k = i++ & (kRequests - 1);
    const RouteMatch m = router.match(hosts[k], targets[k]);
    benchmark::DoNotOptimize(m);
    hits += m.entry != nullptr ? 1 : 0;
  }
  const bool all_hit = hits == static_cast<size_t>(state.iterations());
  if (want_hits ? !all_hit : hits != 0) {
    state.SkipWithError(want_hits ? "a lookup missed" : "a lookup hit");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_RouterHit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const plexgate::config::Config c = makeRoutes(n);
  const Router router(c, c.listeners[0]);
  std::mt19937 rng(7);
  std::vector<std::string> hosts;
  std::vector<std::string> targets;
  for (size_t k = 0; k < kRequests; ++k) {
    const size_t i = rng() % n;
    hosts.push_back(i % 10 == 3 ? "api" + std::to_string(i) + ".example.com:8080" : "www.example.com");
    targets.push_back(routePrefix(i) + "items/" + std::to_string(k) + (k % 2 == 0 ? "?page=2&size=50" : ""));
  }
  runMatches(state, router, hosts, targets, true);
}

void BM_RouterMiss(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const plexgate::config::Config c = makeRoutes(n);
  const Router router(c, c.listeners[0]);
  std::mt19937 rng(11);
  std::vector<std::string> hosts(kRequests, "www.example.com");
  std::vector<std::string> targets;
  for (size_t k = 0; k < kRequests; ++k) {
    const size_t i = rng() % n;
    // Right app, wrong version; or an app number past the last route.
    targets.push_back(k % 2 == 0 ? "/app" + std::to_string(i) + "/v9/items" : "/app" + std::to_string(n + k) + "/v1/");
  }
  runMatches(state, router, hosts, targets, false);
}

// Service routes /{serviceId}/{gatewayUrl}: n services with one route each.
void BM_RouterServiceHit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  plexgate::config::Config c;
  c.listeners.emplace_back();
  c.listeners[0].services = true;
  for (size_t i = 0; i < n; ++i) {
    plexgate::config::Service s;
    s.service_id = "svc" + std::to_string(i);
    s.routes.push_back(plexgate::config::ServiceRoute{"api/v1", "/api/v1"});
    c.services.push_back(std::move(s));
  }
  const Router router(c, c.listeners[0]);
  std::mt19937 rng(13);
  std::vector<std::string> hosts(kRequests, "gateway.example.com");
  std::vector<std::string> targets;
  for (size_t k = 0; k < kRequests; ++k) {
    targets.push_back("/svc" + std::to_string(rng() % n) + "/api/v1/files/" + std::to_string(k));
  }
  runMatches(state, router, hosts, targets, true);
}

// Virtual hosting: n routes on "/", each with its own host, plus a catch-all.
void BM_RouterVirtualHostHit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  plexgate::config::Config c;
  c.listeners.emplace_back();
  for (size_t i = 0; i <= n; ++i) {
    plexgate::config::Route r;
    r.prefix = "/";
    r.host = i < n ? "site" + std::to_string(i) + ".example.com" : "";
    r.action = plexgate::config::RespondAction{};
    c.listeners[0].routes.push_back(std::move(r));
  }
  const Router router(c, c.listeners[0]);
  std::mt19937 rng(17);
  std::vector<std::string> hosts;
  std::vector<std::string> targets(kRequests, "/index.html");
  for (size_t k = 0; k < kRequests; ++k) {
    hosts.push_back("site" + std::to_string(rng() % n) + ".example.com");
  }
  runMatches(state, router, hosts, targets, true);
}

BENCHMARK(BM_RouterHit)->Arg(10)->Arg(1000)->Arg(10000);
BENCHMARK(BM_RouterMiss)->Arg(10)->Arg(1000)->Arg(10000);
BENCHMARK(BM_RouterServiceHit)->Arg(10)->Arg(1000)->Arg(10000);
BENCHMARK(BM_RouterVirtualHostHit)->Arg(10)->Arg(1000)->Arg(10000);

}  // namespace
