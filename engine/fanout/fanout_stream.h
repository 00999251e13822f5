// FanoutStream: one request to the multisystem fan-out API (/zosmf/gateway/
// ...): the fan-out itself (one upstream sub-request per target system, all
// in parallel on this loop, each with its own deadline, over the worker's
// pooled upstream connections), and the logon calls that fill the
// CredentialStore. Made by the Session for one request; freed by deferred
// delete (the Session hands it over when the request ends or the downstream
// closes), so a sub-request callback on the stack never sees it die.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/config.h"
#include "engine/fanout/credential_store.h"
#include "engine/loop/event_loop.h"
#include "engine/proxy/upstream_pool.h"
#include "parsers/fanout_aggregate.h"
#include "parsers/fanout_content.h"

namespace plexgate::fanout {

// The paths this answers, below the listener's root.
inline constexpr std::string_view kGatewayPrefix = "/zosmf/gateway/";
// Per-system response bodies past this end as UnexpectedFailure (16 MiB).
inline constexpr size_t kMaxSystemOutputBytes = 16 * 1024 * 1024;
inline constexpr std::string_view kPrimaryApiVersion = "1";

// What the Session copies out of the downstream request.
struct GatewayRequest {
  std::string method;
  std::string path;   // after kGatewayPrefix: "systems", "logon", "logon/proxy"
  std::string query;  // without '?'
  std::string body;
  std::string content_type;
  // The calling user: no authentication exists yet, so this is the caller's
  // Authorization header as sent, or "anonymous" without one.
  std::string caller;
};

// The Session's side. Exactly one of the two is called, once, possibly from
// inside start().
class FanoutOwner {
 public:
  virtual ~FanoutOwner() = default;
  virtual void onFanoutReply(int status, std::string json) = 0;
  // A local error reply in DESIGN.md's JSON shape (400, 404, 405).
  virtual void onFanoutError(int status, std::string_view message) = 0;
};

class FanoutStream final : public loop::DeferredDeletable {
 public:
  FanoutStream(loop::EventLoop& loop, FanoutOwner& owner, CredentialStorePtr credentials);
  ~FanoutStream() override;
  FanoutStream(const FanoutStream&) = delete;
  FanoutStream& operator=(const FanoutStream&) = delete;

  // `pool` and `config` are the routes the request started with (the
  // Session pins them for the request's life).
  void start(proxy::UpstreamPool& pool, const config::Config& config, GatewayRequest req);
  // The downstream went away: every sub-request's connection is closed
  // (never pooled) and its deadline cancelled; the owner hears nothing more.
  void cancel();
  size_t subRequests() const { return subs_.size(); }

 private:
  class SubRequest;
  friend class SubRequest;

  void startFanout(parsers::FanoutKind kind);
  void logon(CredentialKind kind);
  void onSubDone();
  void reply();

  loop::EventLoop& loop_;
  FanoutOwner& owner_;
  CredentialStorePtr credentials_;
  proxy::UpstreamPool* pool_ = nullptr;
  const config::Config* config_ = nullptr;
  GatewayRequest req_;
  parsers::FanoutContent content_;
  std::vector<std::unique_ptr<SubRequest>> subs_;
  size_t pending_ = 0;
  bool done_ = false;
};

// Rounds a deadline up so one loop keeps a bounded number of timeout lists
// (one per distinct duration): 50 ms steps to 1 s, 500 ms to 10 s, then 10 s.
[[nodiscard]] uint64_t quantizeTimeoutMs(uint64_t ms);

}  // namespace plexgate::fanout
