#include "engine/fanout/credential_store.h"

namespace plexgate::fanout {

std::string InMemoryCredentialStore::callerKey(CredentialKind kind, std::string_view caller) {
  std::string k(kind == CredentialKind::Secondary ? "s:" : "p:");
  k.append(caller);
  return k;
}

void InMemoryCredentialStore::put(CredentialKind kind, std::string_view caller, std::string_view system,
                                  Credentials c) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_[Key(callerKey(kind, caller), std::string(system))] = std::move(c);
}

std::optional<Credentials> InMemoryCredentialStore::find(CredentialKind kind, std::string_view caller,
                                                         std::string_view system) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = entries_.find(Key(callerKey(kind, caller), std::string(system)));
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace plexgate::fanout
