#include "engine/fanout/credential_store.h"

namespace plexgate::fanout {

void InMemoryCredentialStore::put(CredentialKind kind, std::string_view caller, std::string_view system,
                                  Credentials c) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = entries_.find(KeyView{kind, caller, system});
  if (it != entries_.end()) {
    it->second = std::move(c);
  } else {
    entries_.emplace(Key{kind, std::string(caller), std::string(system)}, std::move(c));
  }
  any_.store(true, std::memory_order_release);
}

std::optional<Credentials> InMemoryCredentialStore::find(CredentialKind kind, std::string_view caller,
                                                         std::string_view system) const {
  if (!any_.load(std::memory_order_acquire)) {
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = entries_.find(KeyView{kind, caller, system});
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace plexgate::fanout
