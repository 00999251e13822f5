// CredentialStore: what POST /zosmf/gateway/logon and /logon/proxy keep, per
// calling user and system, for later fan-outs (Basic to the secondary,
// Proxy-Authorization to its HTTP proxy). An interface so a shared store
// (Redis, for a cluster of gateways) can replace the in-memory one. One per
// process, made by WorkerSet and shared by its workers: thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace plexgate::fanout {

struct Credentials {
  std::string user;
  std::string password;
};

enum class CredentialKind : uint8_t { Secondary, Proxy };

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // `caller` identifies the calling user; `system` is a System::name.
  virtual void put(CredentialKind kind, std::string_view caller, std::string_view system, Credentials c) = 0;
  [[nodiscard]] virtual std::optional<Credentials> find(CredentialKind kind, std::string_view caller,
                                                        std::string_view system) const = 0;
};

using CredentialStorePtr = std::shared_ptr<CredentialStore>;

// Process memory behind one mutex. A logon or a fan-out takes it once per
// system, far off the plain proxy path; a lock-free or per-worker design is
// not worth it for that rate.
class InMemoryCredentialStore final : public CredentialStore {
 public:
  void put(CredentialKind kind, std::string_view caller, std::string_view system, Credentials c) override;
  std::optional<Credentials> find(CredentialKind kind, std::string_view caller,
                                  std::string_view system) const override;

 private:
  using Key = std::pair<std::string, std::string>;  // (kind + caller, system)
  static std::string callerKey(CredentialKind kind, std::string_view caller);
  mutable std::mutex mu_;
  std::map<Key, Credentials> entries_;
};

}  // namespace plexgate::fanout
