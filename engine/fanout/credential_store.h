// CredentialStore: what POST /zosmf/gateway/logon and /logon/proxy keep, per
// calling user and system, for later fan-outs (Basic to the secondary,
// Proxy-Authorization to its HTTP proxy). An interface so a shared store
// (Redis, for a cluster of gateways) can replace the in-memory one. One per
// process, made by WorkerSet and shared by its workers: thread-safe.
#pragma once

#include <atomic>
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
// not worth it for that rate. A lookup allocates nothing unless it finds
// something, and takes no lock while nothing was ever stored.
class InMemoryCredentialStore final : public CredentialStore {
 public:
  void put(CredentialKind kind, std::string_view caller, std::string_view system, Credentials c) override;
  std::optional<Credentials> find(CredentialKind kind, std::string_view caller,
                                  std::string_view system) const override;

 private:
  struct Key {
    CredentialKind kind;
    std::string caller;
    std::string system;
  };
  struct KeyView {
    CredentialKind kind;
    std::string_view caller;
    std::string_view system;
  };
  struct Less {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      if (a.kind != b.kind) {
        return a.kind < b.kind;
      }
      if (const int c = std::string_view(a.caller).compare(b.caller); c != 0) {
        return c < 0;
      }
      return std::string_view(a.system) < std::string_view(b.system);
    }
  };
  mutable std::mutex mu_;
  std::map<Key, Credentials, Less> entries_;
  std::atomic<bool> any_{false};  // set by the first put, never cleared
};

}  // namespace plexgate::fanout
