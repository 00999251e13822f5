// LoadBalancer: picks an upstream endpoint of one cluster for one request
// attempt (round robin, power-of-two-choices least request, or a consistent
// hash ring), after X-InstanceId pinning. One instance per cluster per worker
// loop, owned by that worker: pick() advances a cursor and a PRNG, so it is
// not shared across threads. It copies what it needs from the Cluster, so it
// may outlive the config snapshot it was built from.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/config.h"

namespace plexgate::proxy {

// Per-worker, per-endpoint state the balancer reads and the proxy updates.
// Indexed like Cluster::endpoints.
struct EndpointState {
  uint32_t active_requests = 0;       // in flight from this worker
  uint32_t consecutive_failures = 0;  // passive health
  uint64_t ejected_until_ms = 0;      // passive ejection (loop ms clock)
  // Active health, written by the control thread; nullptr = healthy.
  const std::atomic<bool>* healthy = nullptr;

  bool available(uint64_t now_ms) const {
    return (healthy == nullptr || healthy->load(std::memory_order_relaxed)) && now_ms >= ejected_until_ms;
  }
};

struct PickRequest {
  std::string_view hash_key;     // ConsistentHash: header or cookie value ("" = none: round robin)
  std::string_view instance_id;  // X-InstanceId value ("" = none)
  // Endpoints (index < 64) already tried by this request's earlier attempts:
  // avoided while any other endpoint is available, never excluded outright.
  uint64_t tried_mask = 0;
};

class LoadBalancer {
 public:
  // `seed` makes the P2C choices deterministic (tests, benchmarks).
  LoadBalancer(const config::Cluster& cluster, uint64_t seed);

  // Index of the chosen endpoint, or -1 when none is available (the caller
  // answers 503). `states[i]` belongs to endpoint i; entries past the
  // cluster's endpoint count are ignored. Never allocates.
  int pick(const PickRequest& req, const EndpointState* states, size_t count, uint64_t now_ms);

  // Passive health bookkeeping, called by the proxy after each attempt.
  static void onSuccess(EndpointState& s);
  // Counts a failure; at cluster.passive.consecutive_failures (when > 0) it
  // ejects until now_ms + eject_for and resets the count. True when this
  // call ejected the endpoint.
  bool onFailure(EndpointState& s, uint64_t now_ms) const;

  // Cookie `name`'s value in a Cookie header value ("a=1; b=2"), without
  // surrounding DQUOTEs; "" when absent. Names are case-sensitive.
  static std::string_view cookieValue(std::string_view cookie_header, std::string_view name);

  config::LbPolicy policy() const { return policy_; }
  size_t endpointCount() const { return instance_ids_.size(); }

 private:
  struct RingNode {
    uint64_t hash;
    uint32_t endpoint;
  };
  struct Pick {
    int index;          // -1 = none
    bool untried_only;  // whether it came from the untried endpoints
  };

  int pinned(std::string_view instance_id, const EndpointState* states, size_t n, uint64_t tried,
             uint64_t now_ms) const;
  int pickRoundRobin(const EndpointState* states, size_t n, uint64_t tried, uint64_t now_ms);
  int pickLeastRequest(const EndpointState* states, size_t n, uint64_t tried, uint64_t now_ms);
  int pickHash(std::string_view key, const EndpointState* states, size_t n, uint64_t tried, uint64_t now_ms) const;
  // Uniformly random endpoint of the eligible set: the untried available
  // ones, or every available one when all of those were tried.
  Pick randomEligible(const EndpointState* states, size_t n, uint64_t tried, uint64_t now_ms);
  // Uniformly random available endpoint other than `exclude`, untried only
  // when `untried_only`; -1 when there is none.
  int randomOther(const EndpointState* states, size_t n, uint64_t tried, uint64_t now_ms, int exclude,
                  bool untried_only);
  uint64_t nextRandom();
  uint32_t randomBelow(uint32_t bound);

  config::LbPolicy policy_;
  uint32_t eject_after_;  // consecutive failures; 0 = passive ejection off
  uint64_t eject_for_ms_;
  std::vector<std::string> instance_ids_;  // lowercased, for X-InstanceId
  std::vector<RingNode> id_index_;         // (hash of lowercased id, endpoint), sorted: pinning is O(log n)
  std::vector<RingNode> ring_;             // ConsistentHash only; sorted by hash
  size_t rr_next_ = 0;
  uint64_t rng_state_;
};

}  // namespace plexgate::proxy
