// Router: (host, path) -> what answers the request, for one listener.
// Immutable once built: built with its config snapshot and shared read-only
// by the worker loops. Entries are the listener's own routes plus, when the
// listener serves services, one entry per Zowe service route
// /{serviceId}/{gatewayUrl}. Longest prefix wins; a route with a host beats
// a host-less one of the same length; service routes match whole segments.
// Lookup walks a byte radix tree of the prefixes once (O(path length), no
// allocation), so 10,000 routes cost about what 10 do (bench/router_bench.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/config.h"

namespace plexgate::proxy {

struct RouteEntry {
  enum class Kind { Respond, Echo, Proxy, Service };
  Kind kind = Kind::Respond;
  std::string prefix;           // "/api/" or "/svc/api/v1"
  std::string host;             // "" = any
  bool whole_segments = false;  // "/svc/api/v1" matches "/svc/api/v1/x", not "/svc/api/v10"
  const config::RespondAction* respond = nullptr;
  const config::ProxyAction* proxy = nullptr;
  const config::Service* service = nullptr;
  const config::ServiceRoute* service_route = nullptr;
  size_t cluster = 0;  // index into Config::clusters (Proxy, Service)
};

struct RouteMatch {
  const RouteEntry* entry = nullptr;
  std::string_view path;       // the request's path (no query)
  std::string_view remainder;  // path after the matched prefix
  std::string_view query;      // "?a=1" or ""
};

class Router {
 public:
  // `config` (and so `listener`) must outlive the router.
  Router(const config::Config& config, const config::Listener& listener);

  RouteMatch match(std::string_view host, std::string_view target) const;
  size_t size() const { return entries_.size(); }

  // The path part of a request-target: origin-form up to '?' or '#',
  // absolute-form after the authority; "*" stays "*".
  static std::string_view pathOf(std::string_view target);
  static bool hostMatches(std::string_view pattern, std::string_view host);

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  // One node per distinct prefix, and one per branching point between them.
  // The edge from its parent is labels_[label, +(depth - parent's depth)):
  // one flat string, so a walk touches few cache lines (and offsets, unlike
  // pointers, stay valid when a Router is copied).
  struct Node {
    uint32_t label = 0;
    uint32_t depth = 0;        // length of this node's prefix
    uint32_t first_child = 0;  // children_[first_child, +child_count), by byte
    uint32_t child_count = 0;
    uint32_t first_entry = 0;  // node_entries_[first_entry, +entry_count)
    uint32_t entry_count = 0;
    // Set when many routes with hosts share this prefix (virtual hosting):
    // then hosts are looked up in host_slots_ instead of tried one by one.
    bool host_indexed = false;
    uint32_t first_slot = 0;  // host_slots_[first_slot, +slot_count), by key
    uint32_t slot_count = 0;
    uint32_t hostless_plain = kNone;     // first host-less entry by bytes
    uint32_t hostless_segments = kNone;  // first host-less whole-segment entry
  };
  struct Child {
    char byte;
    uint32_t node;
  };
  // The first entries (indices into entries_) for one host pattern at one node.
  struct HostSlot {
    uint32_t key;  // exact_hosts_ index, or exact_hosts_.size() + wildcard_suffixes_ index
    uint32_t plain = kNone;
    uint32_t segments = kNone;
  };
  // The host keys a request's Host header matches, computed once per match()
  // and only when an indexed node is reached.
  struct HostKeys;

  uint32_t buildNode(const std::vector<std::string_view>& prefixes, size_t lo, size_t hi, uint32_t parent_depth,
                     uint32_t depth, const std::vector<std::vector<uint32_t>>& entries_of);
  void indexHosts(Node& node);
  uint32_t hostKey(std::string_view pattern) const;
  uint32_t findChild(const Node& node, char byte) const;
  uint32_t bestAt(const Node& node, std::string_view path, std::string_view host, HostKeys& keys) const;
  void computeHostKeys(std::string_view host, HostKeys& keys) const;

  std::vector<RouteEntry> entries_;  // longest prefix first: entry order is priority order
  std::vector<Node> nodes_;          // nodes_[0] is the root (the empty prefix)
  std::vector<Child> children_;
  std::string labels_;
  std::vector<uint32_t> node_entries_;  // per node, ascending (priority order)
  std::vector<HostSlot> host_slots_;
  std::vector<std::string> exact_hosts_;        // lowercase, sorted, unique
  std::vector<std::string> wildcard_suffixes_;  // ".example.com" for "*.example.com", lowercase, sorted
  size_t longest_suffix_ = 0;
};

}  // namespace plexgate::proxy
