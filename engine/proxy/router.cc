#include "engine/proxy/router.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "parsers/ascii.h"

namespace plexgate::proxy {

namespace {

using parsers::asciiLower;
using parsers::iequals;

// A node indexes its hosts once this many routes with a host share its
// prefix; below it, trying them in order is cheaper than the lookups.
constexpr size_t kHostIndexMin = 8;
// Host keys one request can match: its exact host plus one per "*.suffix"
// pattern that fits it. More than this (nested wildcards, 31 deep) falls back
// to trying each host in order, which is slower but still right.
constexpr size_t kMaxHostKeys = 32;

std::string_view stripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  const size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool isWildcard(std::string_view pattern) {
  return pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.';
}

// `host` has its port stripped already.
bool hostMatchesStripped(std::string_view pattern, std::string_view host) {
  if (isWildcard(pattern)) {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && iequals(host.substr(host.size() - suffix.size()), suffix);
  }
  return iequals(pattern, host);
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = asciiLower(c);
  }
  return out;
}

// Orders `a` (any case) against `lower` (already lowercase) as if `a` were
// lowercased first: a binary search over lowercase tables without a copy.
int compareLower(std::string_view a, std::string_view lower) {
  const size_t n = std::min(a.size(), lower.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(asciiLower(a[i]));
    const auto y = static_cast<unsigned char>(lower[i]);
    if (x != y) {
      return x < y ? -1 : 1;
    }
  }
  return a.size() == lower.size() ? 0 : (a.size() < lower.size() ? -1 : 1);
}

// Index of `s` in the sorted lowercase `table`, compared case-insensitively, or -1.
ptrdiff_t findLower(const std::vector<std::string>& table, std::string_view s) {
  size_t lo = 0;
  size_t hi = table.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    const int c = compareLower(s, table[mid]);
    if (c == 0) {
      return static_cast<ptrdiff_t>(mid);
    }
    if (c < 0) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return -1;
}

size_t commonPrefix(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) {
    ++i;
  }
  return i;
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

struct Router::HostKeys {
  bool computed = false;
  bool overflow = false;  // more keys than fit: try hosts in order instead
  size_t count = 0;
  std::array<uint32_t, kMaxHostKeys> keys;  // filled up to count
};

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
  // Priority order: the first entry that matches wins, as in a linear scan.
  std::stable_sort(entries_.begin(), entries_.end(), [](const RouteEntry& a, const RouteEntry& b) {
    if (a.prefix.size() != b.prefix.size()) {
      return a.prefix.size() > b.prefix.size();
    }
    return !a.host.empty() && b.host.empty();
  });

  for (const RouteEntry& e : entries_) {
    if (e.host.empty()) {
      continue;
    }
    if (isWildcard(e.host)) {
      wildcard_suffixes_.push_back(lowered(std::string_view(e.host).substr(1)));
      longest_suffix_ = std::max(longest_suffix_, e.host.size() - 1);
    } else {
      exact_hosts_.push_back(lowered(e.host));
    }
  }
  for (std::vector<std::string>* table : {&exact_hosts_, &wildcard_suffixes_}) {
    std::sort(table->begin(), table->end());
    table->erase(std::unique(table->begin(), table->end()), table->end());
  }

  // Distinct prefixes in byte order, each with its entries in priority order.
  std::map<std::string_view, std::vector<uint32_t>> by_prefix;
  for (size_t i = 0; i < entries_.size(); ++i) {
    by_prefix[entries_[i].prefix].push_back(static_cast<uint32_t>(i));
  }
  std::vector<std::string_view> prefixes;
  std::vector<std::vector<uint32_t>> entries_of;
  prefixes.reserve(by_prefix.size());
  entries_of.reserve(by_prefix.size());
  for (auto& [prefix, ids] : by_prefix) {
    prefixes.push_back(prefix);
    entries_of.push_back(std::move(ids));
  }
  buildNode(prefixes, 0, prefixes.size(), 0, 0, entries_of);
}

// Builds the node for prefixes[lo, hi), which all start with the same
// `depth` bytes, and its subtree; returns its index. Children are appended
// to children_ as one block after their subtrees, so each block is contiguous.
uint32_t Router::buildNode(const std::vector<std::string_view>& prefixes, size_t lo, size_t hi, uint32_t parent_depth,
                           uint32_t depth, const std::vector<std::vector<uint32_t>>& entries_of) {
  const auto index = static_cast<uint32_t>(nodes_.size());
  nodes_.emplace_back();
  std::vector<Child> kids;
  size_t i = lo;
  const std::vector<uint32_t>* own = nullptr;
  if (i < hi && prefixes[i].size() == depth) {
    own = &entries_of[i];  // byte order puts the prefix that ends here first
    ++i;
  }
  while (i < hi) {
    const char byte = prefixes[i][depth];
    size_t j = i + 1;
    while (j < hi && prefixes[j][depth] == byte) {
      ++j;
    }
    // Sorted, so the range's common prefix is that of its first and last.
    const auto child_depth = static_cast<uint32_t>(
        depth + 1 + commonPrefix(prefixes[i].substr(depth + 1), prefixes[j - 1].substr(depth + 1)));
    kids.push_back(Child{byte, buildNode(prefixes, i, j, depth, child_depth, entries_of)});
    i = j;
  }
  Node& node = nodes_[index];
  node.depth = depth;
  node.label = static_cast<uint32_t>(labels_.size());
  if (lo < hi) {
    labels_.append(prefixes[lo].substr(parent_depth, depth - parent_depth));
  }
  node.first_child = static_cast<uint32_t>(children_.size());
  node.child_count = static_cast<uint32_t>(kids.size());
  children_.insert(children_.end(), kids.begin(), kids.end());
  node.first_entry = static_cast<uint32_t>(node_entries_.size());
  if (own != nullptr) {
    node.entry_count = static_cast<uint32_t>(own->size());
    node_entries_.insert(node_entries_.end(), own->begin(), own->end());
    indexHosts(node);
  }
  return index;
}

void Router::indexHosts(Node& node) {
  size_t with_host = 0;
  std::map<uint32_t, HostSlot> slots;
  for (uint32_t k = 0; k < node.entry_count; ++k) {
    const uint32_t id = node_entries_[node.first_entry + k];
    const RouteEntry& e = entries_[id];
    uint32_t* first = nullptr;
    if (e.host.empty()) {
      first = e.whole_segments ? &node.hostless_segments : &node.hostless_plain;
    } else {
      ++with_host;
      HostSlot& slot = slots[hostKey(e.host)];
      first = e.whole_segments ? &slot.segments : &slot.plain;
    }
    if (*first == kNone) {
      *first = id;  // ids ascend: the first one seen has the priority
    }
  }
  if (with_host < kHostIndexMin) {
    return;
  }
  node.host_indexed = true;
  node.first_slot = static_cast<uint32_t>(host_slots_.size());
  node.slot_count = static_cast<uint32_t>(slots.size());
  for (auto& [key, slot] : slots) {
    slot.key = key;
    host_slots_.push_back(slot);
  }
}

uint32_t Router::hostKey(std::string_view pattern) const {
  if (isWildcard(pattern)) {
    return static_cast<uint32_t>(exact_hosts_.size() + findLower(wildcard_suffixes_, pattern.substr(1)));
  }
  return static_cast<uint32_t>(findLower(exact_hosts_, pattern));
}

void Router::computeHostKeys(std::string_view host, HostKeys& keys) const {
  keys.computed = true;
  const ptrdiff_t exact = findLower(exact_hosts_, host);
  if (exact >= 0) {
    keys.keys[keys.count++] = static_cast<uint32_t>(exact);
  }
  // "*.example.com" matches when the host ends with ".example.com" and has
  // something before it: try the suffix at each '.' past the first byte.
  const size_t from = host.size() > longest_suffix_ ? host.size() - longest_suffix_ : 1;
  for (size_t p = std::max<size_t>(from, 1); p < host.size(); ++p) {
    if (host[p] != '.') {
      continue;
    }
    const ptrdiff_t w = findLower(wildcard_suffixes_, host.substr(p));
    if (w < 0) {
      continue;
    }
    if (keys.count == keys.keys.size()) {
      keys.overflow = true;
      return;
    }
    keys.keys[keys.count++] = static_cast<uint32_t>(exact_hosts_.size() + static_cast<size_t>(w));
  }
}

uint32_t Router::findChild(const Node& node, char byte) const {
  const Child* lo = children_.data() + node.first_child;
  const Child* hi = lo + node.child_count;
  const auto b = static_cast<unsigned char>(byte);
  while (lo < hi) {
    const Child* mid = lo + (hi - lo) / 2;
    const auto m = static_cast<unsigned char>(mid->byte);
    if (m == b) {
      return mid->node;
    }
    if (m < b) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return kNone;
}

// The highest-priority entry of `node` that accepts this path and host, or
// kNone. Every entry of a node has the same prefix, the node's.
uint32_t Router::bestAt(const Node& node, std::string_view path, std::string_view host, HostKeys& keys) const {
  const bool boundary = path.size() == node.depth || path[node.depth] == '/';
  if (node.host_indexed) {
    if (!keys.computed) {
      computeHostKeys(host, keys);
    }
    if (!keys.overflow) {
      uint32_t best = kNone;
      const HostSlot* begin = host_slots_.data() + node.first_slot;
      const HostSlot* end = begin + node.slot_count;
      for (size_t k = 0; k < keys.count; ++k) {
        const HostSlot* slot =
            std::lower_bound(begin, end, keys.keys[k], [](const HostSlot& s, uint32_t key) { return s.key < key; });
        if (slot != end && slot->key == keys.keys[k]) {
          best = std::min({best, slot->plain, boundary ? slot->segments : kNone});
        }
      }
      if (best != kNone) {
        return best;  // entries with a host come before host-less ones
      }
      return std::min(node.hostless_plain, boundary ? node.hostless_segments : kNone);
    }
  }
  for (uint32_t k = 0; k < node.entry_count; ++k) {
    const uint32_t id = node_entries_[node.first_entry + k];
    const RouteEntry& e = entries_[id];
    if (e.whole_segments && !boundary) {
      continue;
    }
    if (!e.host.empty() && !hostMatchesStripped(e.host, host)) {
      continue;
    }
    return id;
  }
  return kNone;
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
  // A plain loop: find_first_of("?#") runs a memchr over the set per byte.
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '?' || target[i] == '#') {
      return target.substr(0, i);
    }
  }
  return target;
}

bool Router::hostMatches(std::string_view pattern, std::string_view host) {
  return hostMatchesStripped(pattern, stripPort(host));
}

RouteMatch Router::match(std::string_view host, std::string_view target) const {
  RouteMatch m;
  m.path = pathOf(target);
  const size_t q = target.find('?');
  if (q != std::string_view::npos) {
    const size_t hash = target.find('#', q);
    m.query = target.substr(q, hash == std::string_view::npos ? std::string_view::npos : hash - q);
  }
  const std::string_view path = m.path;
  const std::string_view bare_host = stripPort(host);
  HostKeys keys;
  uint32_t best = kNone;
  // Walk down the prefixes the path starts with, shortest first; a match at
  // a deeper node is longer, so it replaces any found above it.
  const Node* node = &nodes_[0];
  while (true) {
    if (node->entry_count > 0) {
      const uint32_t id = bestAt(*node, path, bare_host, keys);
      if (id != kNone) {
        best = id;
      }
    }
    if (node->depth >= path.size()) {
      break;
    }
    const uint32_t child = findChild(*node, path[node->depth]);
    if (child == kNone) {
      break;
    }
    const Node& next = nodes_[child];
    if (next.depth > path.size()) {
      break;
    }
    // findChild matched the edge's first byte; compare the rest of it.
    const size_t from = node->depth + 1;
    if (std::memcmp(path.data() + from, labels_.data() + next.label + 1, next.depth - from) != 0) {
      break;
    }
    node = &next;
  }
  if (best != kNone) {
    m.entry = &entries_[best];
    m.remainder = path.substr(m.entry->prefix.size());
  }
  return m;
}

}  // namespace plexgate::proxy
