// Tests for LoadBalancer (engine/proxy/load_balancer.h): round robin fairness
// and skipping, P2C preferring the less loaded endpoint, consistent hash
// stability and minimal disruption, X-InstanceId pinning, active and passive
// health, tried_mask de-prioritising, and Cookie parsing. Time is passed in.
#include "engine/proxy/load_balancer.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <string>
#include <vector>

namespace plexgate::proxy {
namespace {

using config::LbPolicy;

constexpr uint64_t kNow = 1'000'000;

config::Cluster makeCluster(size_t n, LbPolicy lb) {
  config::Cluster c;
  c.name = "backend";
  c.lb = lb;
  for (size_t i = 0; i < n; ++i) {
    config::UpstreamEndpoint ep;
    ep.scheme = "http";
    ep.host = "10.0.0." + std::to_string(i + 1);
    ep.port = 8080;
    ep.url = "http://" + ep.host + ":8080";
    ep.instance_id = ep.host + ":8080";
    c.endpoints.push_back(ep);
  }
  return c;
}

// How often each endpoint is picked over `picks` calls (index n counts -1).
std::vector<int> histogram(LoadBalancer& lb, const std::vector<EndpointState>& states, int picks,
                           const PickRequest& req = {}) {
  std::vector<int> hits(states.size() + 1, 0);
  for (int i = 0; i < picks; ++i) {
    const int p = lb.pick(req, states.data(), states.size(), kNow);
    hits[p < 0 ? states.size() : static_cast<size_t>(p)]++;
  }
  return hits;
}

void eject(EndpointState& s) {
  s.ejected_until_ms = kNow + 1;
}

// ---- Round robin ----

TEST(LoadBalancerTest, RoundRobinHitsEachEndpointOncePerRound) {
  LoadBalancer lb(makeCluster(4, LbPolicy::RoundRobin), 1);
  std::vector<EndpointState> states(4);
  for (int round = 0; round < 50; ++round) {
    std::array<int, 4> hits{};
    for (int i = 0; i < 4; ++i) {
      const int p = lb.pick({}, states.data(), states.size(), kNow);
      ASSERT_GE(p, 0);
      hits[static_cast<size_t>(p)]++;
    }
    EXPECT_EQ(hits, (std::array<int, 4>{1, 1, 1, 1})) << "round " << round;
  }
}

TEST(LoadBalancerTest, RoundRobinSkipsUnavailableEndpoints) {
  LoadBalancer lb(makeCluster(4, LbPolicy::RoundRobin), 1);
  std::vector<EndpointState> states(4);
  std::atomic<bool> down{false};
  eject(states[1]);
  states[2].healthy = &down;
  const std::vector<int> hits = histogram(lb, states, 100);
  EXPECT_EQ(hits, (std::vector<int>{50, 0, 0, 50, 0}));
}

TEST(LoadBalancerTest, RoundRobinAvoidsTriedEndpoints) {
  LoadBalancer lb(makeCluster(4, LbPolicy::RoundRobin), 1);
  std::vector<EndpointState> states(4);
  PickRequest req;
  req.tried_mask = 0b0011;
  const std::vector<int> hits = histogram(lb, states, 100, req);
  EXPECT_EQ(hits, (std::vector<int>{0, 0, 50, 50, 0}));
}

TEST(LoadBalancerTest, RoundRobinPicksTriedWhenNothingElseIsAvailable) {
  LoadBalancer lb(makeCluster(4, LbPolicy::RoundRobin), 1);
  std::vector<EndpointState> states(4);
  eject(states[2]);
  eject(states[3]);
  PickRequest req;
  req.tried_mask = 0b0011;  // both available ones were tried
  const std::vector<int> hits = histogram(lb, states, 100, req);
  EXPECT_EQ(hits[2] + hits[3] + hits[4], 0);
  EXPECT_EQ(hits[0] + hits[1], 100);
}

TEST(LoadBalancerTest, TriedMaskIgnoresEndpointsPast64) {
  LoadBalancer lb(makeCluster(70, LbPolicy::RoundRobin), 1);
  std::vector<EndpointState> states(70);
  for (size_t i = 0; i < 69; ++i) {
    eject(states[i]);
  }
  PickRequest req;
  req.tried_mask = ~uint64_t{0};
  EXPECT_EQ(lb.pick(req, states.data(), states.size(), kNow), 69);
}

// ---- Least request (power of two choices) ----

TEST(LoadBalancerTest, LeastRequestNeverPicksLoadedOfTwo) {
  for (size_t loaded = 0; loaded < 2; ++loaded) {
    LoadBalancer lb(makeCluster(2, LbPolicy::LeastRequest), 7);
    std::vector<EndpointState> states(2);
    states[loaded].active_requests = 100;
    const std::vector<int> hits = histogram(lb, states, 1000);
    EXPECT_EQ(hits[loaded], 0);
    EXPECT_EQ(hits[1 - loaded], 1000);
  }
}

TEST(LoadBalancerTest, LeastRequestNeverPicksTheOnlyLoadedOne) {
  // The second choice is always distinct, so one of the two is idle.
  LoadBalancer lb(makeCluster(4, LbPolicy::LeastRequest), 7);
  std::vector<EndpointState> states(4);
  states[2].active_requests = 100;
  const std::vector<int> hits = histogram(lb, states, 3000);
  EXPECT_EQ(hits[2], 0);
  for (size_t i : {0u, 1u, 3u}) {
    EXPECT_GT(hits[i], 800) << i;
    EXPECT_LT(hits[i], 1200) << i;
  }
}

TEST(LoadBalancerTest, LeastRequestPrefersTheOnlyIdleOne) {
  // Idle endpoint 0 is among the two choices with probability 1 - C(3,2)/C(4,2) = 1/2.
  LoadBalancer lb(makeCluster(4, LbPolicy::LeastRequest), 7);
  std::vector<EndpointState> states(4);
  states[1].active_requests = 100;
  states[2].active_requests = 100;
  states[3].active_requests = 100;
  const std::vector<int> hits = histogram(lb, states, 1000);
  EXPECT_GT(hits[0], 420);
  EXPECT_LT(hits[0], 580);
  for (size_t i : {1u, 2u, 3u}) {
    EXPECT_LT(hits[i], 250) << i;  // each loaded one ~1/6
  }
}

TEST(LoadBalancerTest, LeastRequestTiesSpreadUniformly) {
  LoadBalancer lb(makeCluster(8, LbPolicy::LeastRequest), 3);
  std::vector<EndpointState> states(8);
  const std::vector<int> hits = histogram(lb, states, 8000);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_GT(hits[i], 850) << i;
    EXPECT_LT(hits[i], 1150) << i;
  }
}

TEST(LoadBalancerTest, LeastRequestIsDeterministicForASeed) {
  std::vector<EndpointState> states(16);
  for (size_t i = 0; i < states.size(); ++i) {
    states[i].active_requests = static_cast<uint32_t>((i * 7) % 5);
  }
  const config::Cluster cluster = makeCluster(16, LbPolicy::LeastRequest);
  LoadBalancer a(cluster, 42);
  LoadBalancer b(cluster, 42);
  LoadBalancer c(cluster, 43);
  std::vector<int> seq_a, seq_b, seq_c;
  for (int i = 0; i < 200; ++i) {
    seq_a.push_back(a.pick({}, states.data(), states.size(), kNow));
    seq_b.push_back(b.pick({}, states.data(), states.size(), kNow));
    seq_c.push_back(c.pick({}, states.data(), states.size(), kNow));
  }
  EXPECT_EQ(seq_a, seq_b);
  EXPECT_NE(seq_a, seq_c);
}

TEST(LoadBalancerTest, LeastRequestWithOneAvailablePicksIt) {
  LoadBalancer lb(makeCluster(4, LbPolicy::LeastRequest), 7);
  std::vector<EndpointState> states(4);
  eject(states[0]);
  eject(states[1]);
  eject(states[3]);
  states[2].active_requests = 1000;
  const std::vector<int> hits = histogram(lb, states, 100);
  EXPECT_EQ(hits[2], 100);
}

TEST(LoadBalancerTest, LeastRequestFindsTheFewAvailableAmongMany) {
  // Random probes mostly miss here, so this exercises the exact fallback.
  LoadBalancer lb(makeCluster(256, LbPolicy::LeastRequest), 7);
  std::vector<EndpointState> states(256);
  for (auto& s : states) {
    eject(s);
  }
  for (size_t i : {5u, 130u, 255u}) {
    states[i].ejected_until_ms = 0;
  }
  const std::vector<int> hits = histogram(lb, states, 3000);
  EXPECT_EQ(hits[5] + hits[130] + hits[255], 3000);
  for (size_t i : {5u, 130u, 255u}) {
    EXPECT_GT(hits[i], 800) << i;
  }
}

TEST(LoadBalancerTest, LeastRequestAvoidsTriedEvenWhenIdle) {
  LoadBalancer lb(makeCluster(4, LbPolicy::LeastRequest), 7);
  std::vector<EndpointState> states(4);
  states[2].active_requests = 50;
  states[3].active_requests = 60;
  PickRequest req;
  req.tried_mask = 0b0011;
  std::vector<int> hits = histogram(lb, states, 500, req);
  EXPECT_EQ(hits[2], 500);  // both untried ones are always the two choices

  req.tried_mask = 0b1111;  // everything tried: choose among all again
  hits = histogram(lb, states, 500, req);
  EXPECT_EQ(hits[4], 0);
  EXPECT_GT(hits[0] + hits[1], 350);  // ~5/6 of them
}

// ---- Consistent hash ----

std::vector<std::string> makeKeys(int n) {
  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    keys.push_back("user-" + std::to_string(i));
  }
  return keys;
}

std::vector<int> mapKeys(LoadBalancer& lb, const std::vector<EndpointState>& states,
                         const std::vector<std::string>& keys) {
  std::vector<int> out;
  out.reserve(keys.size());
  for (const std::string& k : keys) {
    PickRequest req;
    req.hash_key = k;
    out.push_back(lb.pick(req, states.data(), states.size(), kNow));
  }
  return out;
}

TEST(LoadBalancerTest, ConsistentHashIsStablePerKeyAndAcrossInstances) {
  const config::Cluster cluster = makeCluster(8, LbPolicy::ConsistentHash);
  LoadBalancer a(cluster, 1);
  LoadBalancer b(cluster, 999);
  std::vector<EndpointState> states(8);
  const std::vector<std::string> keys = makeKeys(1000);
  const std::vector<int> first = mapKeys(a, states, keys);
  EXPECT_EQ(mapKeys(a, states, keys), first);
  EXPECT_EQ(mapKeys(b, states, keys), first);
}

TEST(LoadBalancerTest, ConsistentHashSpreadsKeysRoughlyEvenly) {
  LoadBalancer lb(makeCluster(4, LbPolicy::ConsistentHash), 1);
  std::vector<EndpointState> states(4);
  const std::vector<std::string> keys = makeKeys(10'000);
  std::array<int, 4> hits{};
  for (int p : mapKeys(lb, states, keys)) {
    ASSERT_GE(p, 0);
    hits[static_cast<size_t>(p)]++;
  }
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_GE(hits[i], 1500) << i;
    EXPECT_LE(hits[i], 3500) << i;
  }
}

TEST(LoadBalancerTest, ConsistentHashRemovalRemapsOnlyTheRemovedEndpointsKeys) {
  LoadBalancer lb(makeCluster(4, LbPolicy::ConsistentHash), 1);
  const std::vector<std::string> keys = makeKeys(10'000);
  std::vector<EndpointState> states(4);
  const std::vector<int> before = mapKeys(lb, states, keys);
  for (size_t removed = 0; removed < 4; ++removed) {
    std::vector<EndpointState> down(4);
    eject(down[removed]);
    const std::vector<int> after = mapKeys(lb, down, keys);
    int moved = 0;
    int on_removed = 0;
    for (size_t k = 0; k < keys.size(); ++k) {
      on_removed += before[k] == static_cast<int>(removed) ? 1 : 0;
      if (after[k] != before[k]) {
        ++moved;
        EXPECT_EQ(before[k], static_cast<int>(removed)) << keys[k];
      }
      EXPECT_NE(after[k], static_cast<int>(removed));
    }
    EXPECT_EQ(moved, on_removed);
    EXPECT_GE(moved, 1500) << "removed " << removed;
    EXPECT_LE(moved, 3500) << "removed " << removed;
  }
}

TEST(LoadBalancerTest, ConsistentHashAddingEndpointMovesKeysOnlyToIt) {
  // Ring positions come from instance ids, so a reload that appends an
  // endpoint keeps every other key where it was.
  LoadBalancer four(makeCluster(4, LbPolicy::ConsistentHash), 1);
  LoadBalancer five(makeCluster(5, LbPolicy::ConsistentHash), 1);
  const std::vector<std::string> keys = makeKeys(10'000);
  std::vector<EndpointState> s4(4);
  std::vector<EndpointState> s5(5);
  const std::vector<int> before = mapKeys(four, s4, keys);
  const std::vector<int> after = mapKeys(five, s5, keys);
  int moved = 0;
  for (size_t k = 0; k < keys.size(); ++k) {
    if (after[k] != before[k]) {
      ++moved;
      EXPECT_EQ(after[k], 4);
    }
  }
  EXPECT_GT(moved, 1000);
  EXPECT_LT(moved, 3000);
}

TEST(LoadBalancerTest, ConsistentHashTriedMovesToNextEndpointClockwise) {
  LoadBalancer lb(makeCluster(4, LbPolicy::ConsistentHash), 1);
  std::vector<EndpointState> states(4);
  PickRequest req;
  req.hash_key = "session-abc";
  const int home = lb.pick(req, states.data(), states.size(), kNow);
  ASSERT_GE(home, 0);

  // A retry goes where the key would go with its home endpoint down.
  std::vector<EndpointState> down(4);
  eject(down[static_cast<size_t>(home)]);
  const int next = lb.pick(req, down.data(), down.size(), kNow);
  req.tried_mask = uint64_t{1} << home;
  EXPECT_EQ(lb.pick(req, states.data(), states.size(), kNow), next);
  EXPECT_NE(next, home);

  req.tried_mask = 0b1111;  // everything tried: back to the home endpoint
  EXPECT_EQ(lb.pick(req, states.data(), states.size(), kNow), home);
}

TEST(LoadBalancerTest, ConsistentHashEmptyKeyFallsBackToRoundRobin) {
  LoadBalancer lb(makeCluster(4, LbPolicy::ConsistentHash), 1);
  std::vector<EndpointState> states(4);
  EXPECT_EQ(histogram(lb, states, 400), (std::vector<int>{100, 100, 100, 100, 0}));
}

TEST(LoadBalancerTest, ConsistentHashAllDownReturnsMinusOne) {
  for (size_t n : {4u, 256u, 1100u}) {  // 1100 walks the whole ring (no seen-bitset)
    LoadBalancer lb(makeCluster(n, LbPolicy::ConsistentHash), 1);
    std::vector<EndpointState> states(n);
    for (auto& s : states) {
      eject(s);
    }
    PickRequest req;
    req.hash_key = "k";
    EXPECT_EQ(lb.pick(req, states.data(), states.size(), kNow), -1) << n;
    states[n - 1].ejected_until_ms = 0;
    EXPECT_EQ(lb.pick(req, states.data(), states.size(), kNow), static_cast<int>(n - 1)) << n;
  }
}

// ---- Instance pinning ----

TEST(LoadBalancerTest, InstanceIdPinsUnderEveryPolicy) {
  for (LbPolicy policy : {LbPolicy::RoundRobin, LbPolicy::LeastRequest, LbPolicy::ConsistentHash}) {
    LoadBalancer lb(makeCluster(4, policy), 1);
    std::vector<EndpointState> states(4);
    states[2].active_requests = 1000;  // P2C would avoid it
    PickRequest req;
    req.instance_id = "10.0.0.3:8080";
    req.hash_key = "some-key";
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(lb.pick(req, states.data(), states.size(), kNow), 2);
    }
  }
}

TEST(LoadBalancerTest, InstanceIdMatchesCaseInsensitively) {
  config::Cluster cluster = makeCluster(3, LbPolicy::RoundRobin);
  cluster.endpoints[1].instance_id = "Host-B.Example:443";
  LoadBalancer lb(cluster, 1);
  std::vector<EndpointState> states(3);
  PickRequest req;
  req.instance_id = "HOST-b.example:443";
  EXPECT_EQ(lb.pick(req, states.data(), states.size(), kNow), 1);
  req.instance_id = "host-b.example:4430";  // not a prefix match
  EXPECT_EQ(histogram(lb, states, 3, req), (std::vector<int>{1, 1, 1, 0}));
}

TEST(LoadBalancerTest, InstanceIdFallsBackWhenPinnedIsUnavailable) {
  LoadBalancer lb(makeCluster(3, LbPolicy::RoundRobin), 1);
  std::vector<EndpointState> states(3);
  PickRequest req;
  req.instance_id = "10.0.0.2:8080";
  eject(states[1]);
  EXPECT_EQ(histogram(lb, states, 10, req), (std::vector<int>{5, 0, 5, 0}));

  std::atomic<bool> healthy{false};
  states[1].ejected_until_ms = 0;
  states[1].healthy = &healthy;
  EXPECT_EQ(histogram(lb, states, 10, req), (std::vector<int>{5, 0, 5, 0}));

  healthy.store(true);
  EXPECT_EQ(histogram(lb, states, 10, req), (std::vector<int>{0, 10, 0, 0}));
}

TEST(LoadBalancerTest, InstanceIdUnknownUsesThePolicy) {
  LoadBalancer lb(makeCluster(2, LbPolicy::RoundRobin), 1);
  std::vector<EndpointState> states(2);
  PickRequest req;
  req.instance_id = "nowhere:1";
  EXPECT_EQ(histogram(lb, states, 10, req), (std::vector<int>{5, 5, 0}));
}

TEST(LoadBalancerTest, InstanceIdAlreadyTriedGoesElsewhereIfPossible) {
  LoadBalancer lb(makeCluster(3, LbPolicy::RoundRobin), 1);
  std::vector<EndpointState> states(3);
  PickRequest req;
  req.instance_id = "10.0.0.1:8080";
  req.tried_mask = 0b001;
  EXPECT_EQ(histogram(lb, states, 10, req), (std::vector<int>{0, 5, 5, 0}));
  eject(states[1]);
  eject(states[2]);
  EXPECT_EQ(lb.pick(req, states.data(), states.size(), kNow), 0);
}

// ---- Health ----

TEST(LoadBalancerTest, ActiveHealthFlagExcludesAndReadmits) {
  for (LbPolicy policy : {LbPolicy::RoundRobin, LbPolicy::LeastRequest, LbPolicy::ConsistentHash}) {
    LoadBalancer lb(makeCluster(2, policy), 1);
    std::vector<EndpointState> states(2);
    std::atomic<bool> healthy{false};
    states[0].healthy = &healthy;
    PickRequest req;
    req.hash_key = policy == LbPolicy::ConsistentHash ? "k" : "";
    EXPECT_EQ(histogram(lb, states, 50, req), (std::vector<int>{0, 50, 0}));
    healthy.store(true);
    std::atomic<bool> other{false};
    states[1].healthy = &other;
    EXPECT_EQ(histogram(lb, states, 50, req), (std::vector<int>{50, 0, 0}));
  }
}

TEST(LoadBalancerTest, PassiveEjectionAfterConsecutiveFailures) {
  config::Cluster cluster = makeCluster(2, LbPolicy::RoundRobin);
  cluster.passive.consecutive_failures = 3;
  cluster.passive.eject_for = config::Millis{1'000};
  LoadBalancer lb(cluster, 1);
  std::vector<EndpointState> states(2);

  EXPECT_FALSE(lb.onFailure(states[0], kNow));
  EXPECT_FALSE(lb.onFailure(states[0], kNow));
  LoadBalancer::onSuccess(states[0]);  // a success breaks the streak
  EXPECT_EQ(states[0].consecutive_failures, 0u);
  EXPECT_FALSE(lb.onFailure(states[0], kNow));
  EXPECT_FALSE(lb.onFailure(states[0], kNow));
  EXPECT_TRUE(lb.onFailure(states[0], kNow));
  EXPECT_EQ(states[0].consecutive_failures, 0u);
  EXPECT_EQ(states[0].ejected_until_ms, kNow + 1'000);

  for (uint64_t t : {kNow, kNow + 999}) {
    EXPECT_FALSE(states[0].available(t));
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(lb.pick({}, states.data(), states.size(), t), 1);
    }
  }
  EXPECT_TRUE(states[0].available(kNow + 1'000));
  std::array<int, 2> hits{};
  for (int i = 0; i < 4; ++i) {
    hits[static_cast<size_t>(lb.pick({}, states.data(), states.size(), kNow + 1'000))]++;
  }
  EXPECT_EQ(hits, (std::array<int, 2>{2, 2}));
}

TEST(LoadBalancerTest, PassiveEjectionOffWhenThresholdIsZero) {
  config::Cluster cluster = makeCluster(1, LbPolicy::RoundRobin);
  cluster.passive.consecutive_failures = 0;
  LoadBalancer lb(cluster, 1);
  EndpointState s;
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(lb.onFailure(s, kNow));
  }
  EXPECT_EQ(s.ejected_until_ms, 0u);
  EXPECT_TRUE(s.available(kNow));
}

TEST(LoadBalancerTest, AllUnavailableReturnsMinusOne) {
  for (LbPolicy policy : {LbPolicy::RoundRobin, LbPolicy::LeastRequest, LbPolicy::ConsistentHash}) {
    LoadBalancer lb(makeCluster(3, policy), 1);
    std::vector<EndpointState> states(3);
    std::atomic<bool> healthy{false};
    eject(states[0]);
    eject(states[1]);
    states[2].healthy = &healthy;
    for (std::string_view key : {"", "k"}) {
      PickRequest req;
      req.hash_key = key;
      req.instance_id = "10.0.0.1:8080";
      req.tried_mask = 0b010;
      EXPECT_EQ(lb.pick(req, states.data(), states.size(), kNow), -1);
    }
    EXPECT_EQ(lb.pick({}, states.data(), 0, kNow), -1);
  }
  LoadBalancer empty(config::Cluster{}, 1);
  EndpointState s;
  EXPECT_EQ(empty.pick({}, &s, 1, kNow), -1);
}

// ---- Cookie parsing ----

TEST(LoadBalancerTest, CookieValueParsing) {
  using LB = LoadBalancer;
  EXPECT_EQ(LB::cookieValue("a=1; b=2", "a"), "1");
  EXPECT_EQ(LB::cookieValue("a=1; b=2", "b"), "2");
  EXPECT_EQ(LB::cookieValue("a=1;b=2", "b"), "2");
  EXPECT_EQ(LB::cookieValue("  a = 1 ;\tb=2  ", "a"), "1");
  EXPECT_EQ(LB::cookieValue("a=1; b=2  ", "b"), "2");
  EXPECT_EQ(LB::cookieValue("sid=\"abc def\"; x=1", "sid"), "abc def");
  EXPECT_EQ(LB::cookieValue("sid=\"", "sid"), "\"");         // lone quote stays
  EXPECT_EQ(LB::cookieValue("xsid=1; sid=2", "sid"), "2");   // name as a suffix of another
  EXPECT_EQ(LB::cookieValue("sidx=1; sid=2", "sid"), "2");   // ...and as a prefix
  EXPECT_EQ(LB::cookieValue("a=sid=3; sid=4", "sid"), "4");  // not inside a value
  EXPECT_EQ(LB::cookieValue("tok=a=b", "tok"), "a=b");
  EXPECT_EQ(LB::cookieValue("a=1; b=2", "c"), "");
  EXPECT_EQ(LB::cookieValue("a=1; b=2", ""), "");
  EXPECT_EQ(LB::cookieValue("", "a"), "");
  EXPECT_EQ(LB::cookieValue("a; b=2", "a"), "");  // no '='
  EXPECT_EQ(LB::cookieValue("a=; b=2", "a"), "");
  EXPECT_EQ(LB::cookieValue(";;a=1;;", "a"), "1");
  EXPECT_EQ(LB::cookieValue("A=1; a=2", "a"), "2");  // names are case-sensitive
  EXPECT_EQ(LB::cookieValue("a=1; a=2", "a"), "1");  // first wins
}

}  // namespace
}  // namespace plexgate::proxy
