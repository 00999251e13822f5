#include "engine/proxy/load_balancer.h"

#include <algorithm>
#include <limits>

#include "parsers/ascii.h"

namespace plexgate::proxy {
namespace {

using parsers::trimOws;

// Virtual nodes per endpoint on the hash ring. 160 (Envoy's ring_hash
// default is 1024 per ring, nginx uses 160 per weight unit) gives 4 endpoints
// 21.9-28.9% of 10,000 keys each (load_balancer_test); the ring for 256
// endpoints is 40,960 nodes (640 KiB) and a lookup is ~16 compares.
constexpr uint32_t kVirtualNodes = 160;

// Random probes P2C makes before falling back to an exact O(n) scan of the
// eligible endpoints; with half of them unavailable 4 probes miss 6% of the time.
constexpr int kProbes = 4;

// The hash walk remembers which endpoints it already checked (stack bitset) so
// that with everything down it stops after n distinct endpoints instead of
// walking all n * 160 nodes. Larger clusters walk the whole ring in that case.
constexpr size_t kSeenBits = 1024;

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

// splitmix64's finalizer: FNV-1a alone clusters similar keys ("user1",
// "user2") on the ring; this spreads them over the whole 64-bit space.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(std::string_view s, uint64_t h = kFnvOffset) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

uint64_t hashKey(std::string_view key) {
  return mix64(fnv1a(key));
}

char toLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

uint64_t hashLowered(std::string_view s) {
  uint64_t h = kFnvOffset;
  for (char c : s) {
    h ^= static_cast<unsigned char>(toLower(c));
    h *= kFnvPrime;
  }
  return h;
}

// lower_bound comparator for vectors sorted by `hash`.
constexpr auto kHashLess = [](const auto& node, uint64_t v) { return node.hash < v; };

// `lower` is already lowercase.
bool equalsIgnoreCase(std::string_view lower, std::string_view s) {
  if (lower.size() != s.size()) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (toLower(s[i]) != lower[i]) {
      return false;
    }
  }
  return true;
}

bool isTried(uint64_t tried_mask, size_t i) {
  return i < 64 && ((tried_mask >> i) & 1u) != 0;
}

}  // namespace

LoadBalancer::LoadBalancer(const config::Cluster& cluster, uint64_t seed)
    : policy_(cluster.lb),
      eject_after_(cluster.passive.consecutive_failures),
      eject_for_ms_(cluster.passive.eject_for.count() > 0 ? static_cast<uint64_t>(cluster.passive.eject_for.count())
                                                          : 0),
      rng_state_(seed) {
  instance_ids_.reserve(cluster.endpoints.size());
  for (const config::UpstreamEndpoint& ep : cluster.endpoints) {
    std::string id = ep.instance_id;
    std::transform(id.begin(), id.end(), id.begin(), toLower);
    if (!id.empty()) {
      id_index_.push_back(RingNode{hashLowered(id), static_cast<uint32_t>(instance_ids_.size())});
    }
    instance_ids_.push_back(std::move(id));
  }
  std::sort(id_index_.begin(), id_index_.end(), [](const RingNode& a, const RingNode& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.endpoint < b.endpoint;
  });
  if (policy_ != config::LbPolicy::ConsistentHash) {
    return;
  }
  ring_.reserve(instance_ids_.size() * kVirtualNodes);
  for (size_t e = 0; e < instance_ids_.size(); ++e) {
    // Hashing the instance id (not the index) keeps an endpoint's ring
    // positions when others are added or removed by a reload.
    std::string base = instance_ids_[e];
    if (base.empty()) {
      base = cluster.endpoints[e].url.empty() ? std::to_string(e) : cluster.endpoints[e].url;
    }
    base += '#';
    const uint64_t prefix = fnv1a(base);
    for (uint32_t v = 0; v < kVirtualNodes; ++v) {
      ring_.push_back(RingNode{mix64(fnv1a(std::to_string(v), prefix)), static_cast<uint32_t>(e)});
    }
  }
  std::sort(ring_.begin(), ring_.end(), [](const RingNode& a, const RingNode& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.endpoint < b.endpoint;
  });
}

int LoadBalancer::pick(const PickRequest& req, const EndpointState* states, size_t count, uint64_t now_ms) {
  const size_t n = std::min(count, instance_ids_.size());
  if (n == 0 || states == nullptr) {
    return -1;
  }
  if (!req.instance_id.empty()) {
    const int p = pinned(req.instance_id, states, n, req.tried_mask, now_ms);
    if (p >= 0) {
      return p;
    }
  }
  switch (policy_) {
    case config::LbPolicy::LeastRequest:
      return pickLeastRequest(states, n, req.tried_mask, now_ms);
    case config::LbPolicy::ConsistentHash:
      if (!req.hash_key.empty()) {
        return pickHash(req.hash_key, states, n, req.tried_mask, now_ms);
      }
      return pickRoundRobin(states, n, req.tried_mask, now_ms);
    case config::LbPolicy::RoundRobin:
      break;
  }
  return pickRoundRobin(states, n, req.tried_mask, now_ms);
}

// A pinned endpoint that this request already tried is not pinned again: the
// retry goes through the policy, which still returns it when nothing else is
// available.
int LoadBalancer::pinned(std::string_view instance_id, const EndpointState* states, size_t n, uint64_t tried,
                         uint64_t now_ms) const {
  const uint64_t h = hashLowered(instance_id);
  auto it = std::lower_bound(id_index_.begin(), id_index_.end(), h, kHashLess);
  for (; it != id_index_.end() && it->hash == h; ++it) {
    const size_t i = it->endpoint;
    if (i < n && equalsIgnoreCase(instance_ids_[i], instance_id)) {
      if (states[i].available(now_ms) && !isTried(tried, i)) {
        return static_cast<int>(i);
      }
      return -1;
    }
  }
  return -1;
}

int LoadBalancer::pickRoundRobin(const EndpointState* states, size_t n, uint64_t tried, uint64_t now_ms) {
  size_t i = rr_next_ < n ? rr_next_ : rr_next_ % n;
  int fallback = -1;  // first available endpoint that was already tried
  for (size_t step = 0; step < n; ++step) {
    if (states[i].available(now_ms)) {
      if (!isTried(tried, i)) {
        rr_next_ = i + 1;
        return static_cast<int>(i);
      }
      if (fallback < 0) {
        fallback = static_cast<int>(i);
      }
    }
    if (++i == n) {
      i = 0;
    }
  }
  if (fallback >= 0) {
    rr_next_ = static_cast<size_t>(fallback) + 1;
  }
  return fallback;
}

// Power of two choices over the eligible set: the untried available
// endpoints, or every available one when all of those were tried.
int LoadBalancer::pickLeastRequest(const EndpointState* states, size_t n, uint64_t tried, uint64_t now_ms) {
  const uint32_t n32 = static_cast<uint32_t>(std::min<size_t>(n, std::numeric_limits<uint32_t>::max()));
  bool untried_only = true;
  auto eligible = [&](size_t i) { return states[i].available(now_ms) && (!untried_only || !isTried(tried, i)); };

  int a = -1;
  for (int p = 0; p < kProbes && a < 0; ++p) {
    const size_t i = randomBelow(n32);
    if (eligible(i)) {
      a = static_cast<int>(i);
    }
  }
  if (a < 0) {
    const Pick first = randomEligible(states, n32, tried, now_ms);
    if (first.index < 0) {
      return -1;
    }
    a = first.index;
    untried_only = first.untried_only;
  }
  if (n32 == 1) {
    return a;
  }

  // Uniform over the other n-1 indices, so the two choices are distinct.
  int b = -1;
  for (int p = 0; p < kProbes && b < 0; ++p) {
    size_t i = static_cast<size_t>(a) + 1 + randomBelow(n32 - 1);
    if (i >= n32) {
      i -= n32;
    }
    if (eligible(i)) {
      b = static_cast<int>(i);
    }
  }
  if (b < 0) {
    b = randomOther(states, n32, tried, now_ms, a, untried_only);
    if (b < 0) {
      return a;
    }
  }
  return states[b].active_requests < states[a].active_requests ? b : a;
}

LoadBalancer::Pick LoadBalancer::randomEligible(const EndpointState* states, size_t n, uint64_t tried,
                                                uint64_t now_ms) {
  uint32_t untried = 0;
  uint32_t available = 0;
  for (size_t i = 0; i < n; ++i) {
    if (states[i].available(now_ms)) {
      ++available;
      untried += isTried(tried, i) ? 0 : 1;
    }
  }
  if (available == 0) {
    return Pick{-1, true};
  }
  const bool untried_only = untried > 0;
  uint32_t k = randomBelow(untried_only ? untried : available);
  for (size_t i = 0; i < n; ++i) {
    if (states[i].available(now_ms) && (!untried_only || !isTried(tried, i))) {
      if (k == 0) {
        return Pick{static_cast<int>(i), untried_only};
      }
      --k;
    }
  }
  return Pick{-1, true};  // unreachable: availability cannot change between the two passes
}

int LoadBalancer::randomOther(const EndpointState* states, size_t n, uint64_t tried, uint64_t now_ms, int exclude,
                              bool untried_only) {
  auto eligible = [&](size_t i) {
    return static_cast<int>(i) != exclude && states[i].available(now_ms) && (!untried_only || !isTried(tried, i));
  };
  uint32_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    total += eligible(i) ? 1 : 0;
  }
  if (total == 0) {
    return -1;
  }
  uint32_t k = randomBelow(total);
  for (size_t i = 0; i < n; ++i) {
    if (eligible(i)) {
      if (k == 0) {
        return static_cast<int>(i);
      }
      --k;
    }
  }
  return -1;
}

// First available endpoint clockwise from hash(key); untried ones first.
int LoadBalancer::pickHash(std::string_view key, const EndpointState* states, size_t n, uint64_t tried,
                           uint64_t now_ms) const {
  if (ring_.empty()) {
    return -1;
  }
  const uint64_t h = hashKey(key);
  size_t pos = static_cast<size_t>(std::lower_bound(ring_.begin(), ring_.end(), h, kHashLess) - ring_.begin());
  if (pos == ring_.size()) {
    pos = 0;
  }
  // Fast path: the key's own endpoint is up and new to this request.
  const uint32_t home = ring_[pos].endpoint;
  if (home < n && states[home].available(now_ms) && !isTried(tried, home)) {
    return static_cast<int>(home);
  }

  const size_t endpoints = instance_ids_.size();
  const bool track = endpoints <= kSeenBits;
  uint64_t seen[kSeenBits / 64] = {};
  size_t distinct = 0;
  int fallback = -1;
  for (size_t step = 0; step < ring_.size(); ++step) {
    const uint32_t e = ring_[pos].endpoint;
    if (++pos == ring_.size()) {
      pos = 0;
    }
    if (track) {
      uint64_t& word = seen[e / 64];
      const uint64_t bit = uint64_t{1} << (e % 64);
      if ((word & bit) != 0) {
        continue;
      }
      word |= bit;
      ++distinct;
    }
    if (e < n && states[e].available(now_ms)) {
      if (!isTried(tried, e)) {
        return static_cast<int>(e);
      }
      if (fallback < 0) {
        fallback = static_cast<int>(e);
      }
    }
    if (track && distinct == endpoints) {
      break;
    }
  }
  return fallback;
}

void LoadBalancer::onSuccess(EndpointState& s) {
  s.consecutive_failures = 0;
}

bool LoadBalancer::onFailure(EndpointState& s, uint64_t now_ms) const {
  if (s.consecutive_failures < std::numeric_limits<uint32_t>::max()) {
    ++s.consecutive_failures;
  }
  if (eject_after_ == 0 || s.consecutive_failures < eject_after_) {
    return false;
  }
  s.ejected_until_ms = now_ms + eject_for_ms_;
  s.consecutive_failures = 0;
  return true;
}

std::string_view LoadBalancer::cookieValue(std::string_view cookie_header, std::string_view name) {
  if (name.empty()) {
    return {};
  }
  while (!cookie_header.empty()) {
    const size_t end = cookie_header.find(';');
    const std::string_view pair = cookie_header.substr(0, end);
    cookie_header = end == std::string_view::npos ? std::string_view{} : cookie_header.substr(end + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trimOws(pair.substr(0, eq)) != name) {
      continue;
    }
    std::string_view value = trimOws(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return {};
}

uint64_t LoadBalancer::nextRandom() {
  rng_state_ += 0x9e3779b97f4a7c15ull;  // splitmix64
  return mix64(rng_state_);
}

// Lemire's multiply-shift: unbiased enough for load balancing, no division.
uint32_t LoadBalancer::randomBelow(uint32_t bound) {
  return static_cast<uint32_t>(((nextRandom() >> 32) * bound) >> 32);
}

}  // namespace plexgate::proxy
