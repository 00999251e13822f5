// FanoutStream: one request to the multisystem fan-out API (/zosmf/gateway/
// ...): the fan-out itself (one upstream sub-request per target system, all
// in parallel on this loop, each with its own deadline, over the worker's
// pooled upstream connections), and the logon calls that fill the
// CredentialStore. Made by the Session for one request; freed by deferred
// delete (the Session hands it over when the request ends or the downstream
// closes), so a sub-request callback on the stack never sees it die.
// FanoutLoop is what every FanoutStream of one worker shares.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/buf/buffer_chain.h"
#include "engine/config/config.h"
#include "engine/fanout/credential_store.h"
#include "engine/fanout/system_index.h"
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
  // `json` is valid during the call only (a buffer the loop reuses).
  virtual void onFanoutReply(int status, std::string_view json) = 0;
  // A local error reply in DESIGN.md's JSON shape (400, 404, 405).
  virtual void onFanoutError(int status, std::string_view message) = 0;
};

// Per-worker fan-out counters: written by the worker's thread only, read
// (relaxed) by whoever sums them for metrics and tests.
struct FanoutCounters {
  std::atomic<uint64_t> requests{0};      // fan-outs that called their systems
  std::atomic<uint64_t> system_calls{0};  // sub-requests started
  // Sub-requests that finished, by rc (parsers::FanoutRc); one the client
  // cancelled by leaving has none.
  std::array<std::atomic<uint64_t>, parsers::kFanoutRcKinds> rc{};

  static void add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

class SystemCall;  // one system's exchange (fanout_stream.cc)

// What every FanoutStream on one worker loop shares: the credential store,
// the worker's counters, and what is worth keeping warm between requests
// (the content parser's and the aggregate writer's simdjson buffers, the
// reply buffer, recycled SystemCalls with their HTTP parsers). Owned by the
// Worker, used on its loop only; every FanoutStream is freed before it (the
// loop frees deferred objects before run() returns).
class FanoutLoop {
 public:
  FanoutLoop(loop::EventLoop& loop, FanoutCounters& counters);
  ~FanoutLoop();
  FanoutLoop(const FanoutLoop&) = delete;
  FanoutLoop& operator=(const FanoutLoop&) = delete;

  // Set before the worker starts.
  void setCredentials(CredentialStorePtr store) { credentials_ = std::move(store); }
  const CredentialStorePtr& credentials() const { return credentials_; }
  loop::EventLoop& loop() { return loop_; }
  FanoutCounters& counters() { return counters_; }
  // SystemCalls made and not yet freed (recycled ones included).
  size_t callsAlive() const { return calls_alive_; }

 private:
  friend class FanoutStream;
  friend class SystemCall;
  std::unique_ptr<SystemCall> takeCall();
  void recycle(std::unique_ptr<SystemCall> call);

  loop::EventLoop& loop_;
  FanoutCounters& counters_;
  CredentialStorePtr credentials_;
  parsers::FanoutContentParser content_parser_;
  parsers::FanoutAggregateWriter writer_;
  std::string reply_;  // the aggregate JSON being written
  std::string head_;   // one sub-request's head being written
  // Where the heads of one fan-out land, back to back in one slice (not one
  // slice per call); each call's request refers to its own head in it.
  buf::BufferChain heads_;
  std::vector<std::unique_ptr<SystemCall>> idle_calls_;
  size_t calls_alive_ = 0;
};

class FanoutStream final : public loop::DeferredDeletable {
 public:
  FanoutStream(FanoutLoop& shared, FanoutOwner& owner);
  ~FanoutStream() override;
  FanoutStream(const FanoutStream&) = delete;
  FanoutStream& operator=(const FanoutStream&) = delete;

  // `pool`, `config` and `systems` are the routes the request started with
  // (the Session pins them for the request's life; `systems` indexes
  // `config`).
  void start(proxy::UpstreamPool& pool, const config::Config& config, const SystemIndex& systems,
             GatewayRequest req);
  // The downstream went away: every sub-request's connection is closed
  // (never pooled) and its deadline cancelled; the owner hears nothing more.
  void cancel();
  size_t subRequests() const { return calls_.size(); }

 private:
  friend class SystemCall;

  void startFanout(parsers::FanoutKind kind);
  void logon(CredentialKind kind);
  void onCallDone();
  void reply();

  FanoutLoop& shared_;
  loop::EventLoop& loop_;
  FanoutOwner& owner_;
  proxy::UpstreamPool* pool_ = nullptr;
  const config::Config* config_ = nullptr;
  const SystemIndex* systems_ = nullptr;
  GatewayRequest req_;
  parsers::FanoutContent content_;
  buf::BufferChain body_;  // a POST's or PUT's body, once, shared by reference by every call
  std::vector<std::unique_ptr<SystemCall>> calls_;
  size_t pending_ = 0;
  bool done_ = false;
};

// Rounds a deadline up so one loop keeps a bounded number of timeout lists
// (one per distinct duration): 50 ms steps to 1 s, 500 ms to 10 s, then 10 s.
[[nodiscard]] uint64_t quantizeTimeoutMs(uint64_t ms);

}  // namespace plexgate::fanout
