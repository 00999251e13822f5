#include "engine/fanout/system_index.h"

namespace plexgate::fanout {

namespace {

bool isTargetByte(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) {
    return false;
  }
  switch (c) {
    case '#': case '"': case '<': case '>': case '\\': case '^': case '`': case '{': case '|': case '}':
      return false;
    default:
      return true;
  }
}

std::string authorityOf(const config::UpstreamEndpoint& ep) {
  const bool v6 = ep.host.find(':') != std::string::npos;
  return (v6 ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(ep.port);
}

}  // namespace

void appendTarget(std::string& out, std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char* p = path.data();
  const char* const end = p + path.size();
  while (p < end) {
    const char* run = p;
    while (p < end && isTargetByte(static_cast<unsigned char>(*p))) {
      ++p;
    }
    out.append(run, static_cast<size_t>(p - run));
    if (p < end) {
      const auto c = static_cast<unsigned char>(*p++);
      const char esc[3] = {'%', kHex[c >> 4], kHex[c & 0xf]};
      out.append(esc, sizeof(esc));
    }
  }
}

SystemIndex::SystemIndex(const config::Config& config) : systems_(&config.systems) {
  const std::vector<config::System>& systems = config.systems;
  wires_.reserve(systems.size());
  by_name_.reserve(systems.size());
  by_system_name_.reserve(systems.size());
  for (uint32_t i = 0; i < systems.size(); ++i) {
    const config::System& s = systems[i];
    Wire w;
    w.authority = authorityOf(s.target);
    w.via_proxy = !s.http_proxy.empty();
    w.tunnel = w.via_proxy && s.target.scheme == "https";
    if (w.via_proxy && !w.tunnel) {
      w.target_prefix = "http://" + w.authority;  // absolute-form: the proxy forwards it
    }
    appendTarget(w.target_prefix, s.target.base_path);
    wires_.push_back(std::move(w));
    by_name_.emplace(s.name, i);  // names are unique (the loader checks)
    by_system_name_.emplace(s.system_name, i);  // the first keeps a shared name
    for (const std::string& g : s.groups) {
      std::vector<uint32_t>& m = groups_[g];
      if (m.empty() || m.back() != i) {  // a group listed twice on one system
        m.push_back(i);
      }
    }
    if (!s.sysplex.empty()) {
      sysplexes_[s.sysplex].push_back(i);
    }
    if (!s.cpc.empty()) {
      cpcs_[s.cpc].push_back(i);
    }
  }
}

int64_t SystemIndex::byName(std::string_view nickname) const {
  const auto it = by_name_.find(nickname);
  return it == by_name_.end() ? -1 : static_cast<int64_t>(it->second);
}

int64_t SystemIndex::byNameOrSystemName(std::string_view name) const {
  const int64_t i = byName(name);
  if (i >= 0) {
    return i;
  }
  const auto it = by_system_name_.find(name);
  return it == by_system_name_.end() ? -1 : static_cast<int64_t>(it->second);
}

std::span<const uint32_t> SystemIndex::members(parsers::FanoutKind kind, std::string_view name) const {
  const MemberMap* map = nullptr;
  switch (kind) {
    case parsers::FanoutKind::Group: map = &groups_; break;
    case parsers::FanoutKind::Sysplex: map = &sysplexes_; break;
    case parsers::FanoutKind::Cpc: map = &cpcs_; break;
    default: return {};
  }
  const auto it = map->find(name);
  if (it == map->end()) {
    return {};
  }
  return it->second;
}

}  // namespace plexgate::fanout
