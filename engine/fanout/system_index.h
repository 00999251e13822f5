// SystemIndex: one configuration snapshot's `systems:` looked up by nickname,
// by z/OS system name (logon), and by group, sysplex and CPC (members in file
// order), plus the parts of each system's request heads that never change,
// encoded once. Built with a worker's routes for each published snapshot (so
// resolving a target costs a hash lookup, not a scan of every system), then
// read-only on that worker's loop; it points into the snapshot it was built
// from, which the routes keep alive.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/config/config.h"
#include "parsers/fanout_content.h"

namespace plexgate::fanout {

class SystemIndex {
 public:
  // What each system's request heads start with.
  struct Wire {
    std::string authority;      // "host:port" ("[v6]:port"): the Host header and CONNECT target
    std::string target_prefix;  // "http://host:port/base" (absolute-form via a proxy) or "/base", encoded
    bool tunnel = false;        // https behind an HTTP proxy: CONNECT first
    bool via_proxy = false;
  };

  explicit SystemIndex(const config::Config& config);
  SystemIndex(const SystemIndex&) = delete;
  SystemIndex& operator=(const SystemIndex&) = delete;

  size_t size() const { return systems_->size(); }
  const config::System& system(uint32_t i) const { return (*systems_)[i]; }
  const Wire& wire(uint32_t i) const { return wires_[i]; }

  // The system with this nickname, or -1.
  [[nodiscard]] int64_t byName(std::string_view nickname) const;
  // By nickname, else by z/OS system name (the first system with it), or -1.
  [[nodiscard]] int64_t byNameOrSystemName(std::string_view name) const;
  // The members of a group, sysplex or CPC (kind Group, Sysplex or Cpc), in
  // file order; empty for an unknown name or another kind.
  [[nodiscard]] std::span<const uint32_t> members(parsers::FanoutKind kind, std::string_view name) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using NameMap = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;
  using MemberMap = std::unordered_map<std::string, std::vector<uint32_t>, Hash, std::equal_to<>>;

  const std::vector<config::System>* systems_;
  std::vector<Wire> wires_;
  NameMap by_name_;
  NameMap by_system_name_;
  MemberMap groups_;
  MemberMap sysplexes_;
  MemberMap cpcs_;
};

// Appends `path` to `out` as request-target bytes: those a request-target may
// not carry ('#', spaces, controls, non-ASCII, ...) become %XX.
void appendTarget(std::string& out, std::string_view path);

}  // namespace plexgate::fanout
