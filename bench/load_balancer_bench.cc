// LoadBalancer::pick() per policy over 2, 16 and 256 endpoints, all healthy
// (the common case), plus the degraded cases that fall off the fast paths:
// a quarter of the endpoints ejected, and a retry with tried_mask set.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "engine/proxy/load_balancer.h"

namespace {

using plexgate::config::LbPolicy;
using plexgate::proxy::EndpointState;
using plexgate::proxy::LoadBalancer;
using plexgate::proxy::PickRequest;

constexpr uint64_t kNow = 1'000'000;

plexgate::config::Cluster makeCluster(size_t n, LbPolicy lb) {
  plexgate::config::Cluster c;
  c.name = "bench";
  c.lb = lb;
  for (size_t i = 0; i < n; ++i) {
    plexgate::config::UpstreamEndpoint ep;
    ep.host = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    ep.port = 8080;
    ep.instance_id = ep.host + ":8080";
    c.endpoints.push_back(ep);
  }
  return c;
}

std::vector<EndpointState> makeStates(size_t n, bool degraded) {
  std::vector<EndpointState> states(n);
  for (size_t i = 0; i < n; ++i) {
    states[i].active_requests = static_cast<uint32_t>((i * 2654435761u) % 17);
    if (degraded && i % 4 == 1) {
      states[i].ejected_until_ms = kNow + 1;
    }
  }
  return states;
}

// 1024 distinct session keys, cycled, so the ring lookup is not one cached path.
const std::vector<std::string>& keys() {
  static const std::vector<std::string> k = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 1024; ++i) {
      v.push_back("session-" + std::to_string(i * 7919));
    }
    return v;
  }();
  return k;
}

void runPick(benchmark::State& state, LbPolicy policy, bool degraded, uint64_t tried_mask) {
  const size_t n = static_cast<size_t>(state.range(0));
  LoadBalancer lb(makeCluster(n, policy), 42);
  std::vector<EndpointState> states = makeStates(n, degraded);
  const std::vector<std::string>& k = keys();
  size_t i = 0;
  for (auto _ : state) {
    PickRequest req;
    if (policy == LbPolicy::ConsistentHash) {
      req.hash_key = k[i++ & 1023];
    }
    req.tried_mask = tried_mask;
    int picked = lb.pick(req, states.data(), states.size(), kNow);
    benchmark::DoNotOptimize(picked);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_PickRoundRobin(benchmark::State& state) {
  runPick(state, LbPolicy::RoundRobin, false, 0);
}
void BM_PickLeastRequest(benchmark::State& state) {
  runPick(state, LbPolicy::LeastRequest, false, 0);
}
void BM_PickConsistentHash(benchmark::State& state) {
  runPick(state, LbPolicy::ConsistentHash, false, 0);
}
void BM_PickRoundRobinDegraded(benchmark::State& state) {
  runPick(state, LbPolicy::RoundRobin, true, 0b1);
}
void BM_PickLeastRequestDegraded(benchmark::State& state) {
  runPick(state, LbPolicy::LeastRequest, true, 0b1);
}
void BM_PickConsistentHashDegraded(benchmark::State& state) {
  runPick(state, LbPolicy::ConsistentHash, true, 0b1);
}

// X-InstanceId pinning scans the instance ids (case-insensitively) before the
// policy runs; this pins to the last endpoint, the worst case.
void BM_PickPinned(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const plexgate::config::Cluster cluster = makeCluster(n, LbPolicy::RoundRobin);
  LoadBalancer lb(cluster, 42);
  std::vector<EndpointState> states = makeStates(n, false);
  PickRequest req;
  req.instance_id = cluster.endpoints.back().instance_id;
  for (auto _ : state) {
    int picked = lb.pick(req, states.data(), states.size(), kNow);
    benchmark::DoNotOptimize(picked);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_PickRoundRobin)->Arg(2)->Arg(16)->Arg(256);
BENCHMARK(BM_PickLeastRequest)->Arg(2)->Arg(16)->Arg(256);
BENCHMARK(BM_PickConsistentHash)->Arg(2)->Arg(16)->Arg(256);
BENCHMARK(BM_PickRoundRobinDegraded)->Arg(2)->Arg(16)->Arg(256);
BENCHMARK(BM_PickLeastRequestDegraded)->Arg(2)->Arg(16)->Arg(256);
BENCHMARK(BM_PickConsistentHashDegraded)->Arg(2)->Arg(16)->Arg(256);
BENCHMARK(BM_PickPinned)->Arg(2)->Arg(16)->Arg(256);

}  // namespace
