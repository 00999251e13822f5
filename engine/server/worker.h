// Worker: one thread running one EventLoop, with its own SO_REUSEPORT
// listening socket per configured listener, the sessions it accepted, and its
// counters. Created and driven by WorkerSet on the control thread; every
// method other than the constructor runs on the worker's own thread unless it
// says it is thread-safe.
#pragma once

#include <uv.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "engine/config/config.h"
#include "engine/fanout/credential_store.h"
#include "engine/fanout/fanout_stream.h"
#include "engine/fanout/system_index.h"
#include "engine/loop/event_loop.h"
#include "engine/net/address.h"
#include "engine/proxy/router.h"
#include "engine/proxy/upstream_counters.h"
#include "engine/proxy/upstream_pool.h"
#include "engine/server/access_log.h"
#include "tls/tls_session.h"

namespace plexgate::proxy {
class Session;
struct ClientSlot;
}

namespace plexgate::server {

// Upper bounds (inclusive) of the request duration histogram's buckets, in
// nanoseconds; one more bucket takes everything slower. Prometheus's
// default buckets with 100 and 250 microseconds in front: a proxied request
// on loopback takes well under a millisecond.
inline constexpr std::array<uint64_t, 16> kDurationBoundsNs = {
    100'000,     250'000,     500'000,       1'000'000,     2'500'000,     5'000'000,
    10'000'000,  25'000'000,  50'000'000,    100'000'000,   250'000'000,   500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
inline constexpr size_t kDurationBuckets = kDurationBoundsNs.size() + 1;
// Responses are counted by status class: 1xx .. 5xx.
inline constexpr size_t kStatusClasses = 5;

// Per-worker counters: written by the worker's thread only, read (relaxed)
// by whoever sums them for metrics and tests.
struct WorkerCounters {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> connections_parked{0};  // of which idle, with no Session (see proxy::Session)
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> parse_errors{0};   // hostile or broken input ("glitches")
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> tls_handshakes{0};  // completed, downstream
  std::atomic<uint64_t> tls_resumed{0};     // of which resumed from a ticket
  std::array<std::atomic<uint64_t>, tls::kFailureKinds> tls_failures{};  // by tls::Failure
  fanout::FanoutCounters fanout;
  proxy::UpstreamCounters upstream;
  // Finished requests that got a response: by status class, and by how long
  // they took from their first byte to the last byte queued (buckets are
  // not cumulative here; /metrics sums them).
  std::array<std::atomic<uint64_t>, kStatusClasses> responses{};
  std::array<std::atomic<uint64_t>, kDurationBuckets> duration{};
  std::atomic<uint64_t> duration_ns{0};

  void recordResponse(int status, uint64_t ns) {
    if (status >= 100 && status < 600) {
      add(responses[static_cast<size_t>(status / 100 - 1)]);
    }
    size_t i = 0;
    while (i < kDurationBoundsNs.size() && ns > kDurationBoundsNs[i]) {
      ++i;
    }
    add(duration[i]);
    add(duration_ns, ns);
  }
  void add(std::atomic<uint64_t>& c, uint64_t n = 1) { c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(std::atomic<uint64_t>& c, uint64_t n = 1) { c.store(c.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
};

class Worker;
class WorkerSet;

// What one published configuration means on one worker: a router and the
// trusted proxies per listener, and an upstream pool for its clusters.
// Immutable except the pool; a session takes the newest at each request
// and keeps it for the request's life, so a swap never disturbs a request
// in flight. Retired pools close their idle connections and are freed when
// their last connection is.
struct WorkerRoutes {
  config::ConfigPtr config;
  proxy::UpstreamDirectoryPtr directory;
  std::vector<std::unique_ptr<proxy::Router>> routers;  // per listener
  std::vector<std::vector<net::Cidr>> trusted;           // per listener
  std::shared_ptr<proxy::UpstreamPool> upstreams;
  std::unique_ptr<fanout::SystemIndex> systems;  // the config's fan-out systems, indexed
};
using WorkerRoutesPtr = std::shared_ptr<WorkerRoutes>;

// One listener as one worker sees it: its socket. Its routes live in the
// worker's current WorkerRoutes.
struct ListenerRuntime {
  Worker* worker = nullptr;
  size_t index = 0;  // into Config::listeners and WorkerRoutes
  const config::Listener* config = nullptr;  // the first config's (address, name)
  uv_tcp_t tcp;
  int fd = -1;
  uint16_t port = 0;  // as bound (the config may say 0)
  bool open = false;
};

class Worker {
 public:
  // `fds` holds one bound socket per config listener, in config order.
  Worker(size_t index, config::ConfigPtr config, proxy::UpstreamDirectoryPtr upstreams, std::vector<int> fds,
         AccessLogSink* access_log);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; `on_exit` runs on that thread after the loop closed,
  // with uv_loop_close's result (0 unless a handle leaked).
  void start(std::function<void(size_t index, int loop_close_rc)> on_exit);
  void join();
  // Thread-safe. Stop accepting, let in-flight requests finish, close idle
  // connections; anything still open after `timeout` is closed.
  void drain(config::Millis timeout);

  size_t index() const { return index_; }
  loop::EventLoop& loop() { return loop_; }
  const config::Config& config() const { return *config_; }
  AccessLogSink* accessLog() { return access_log_; }
  WorkerCounters& counters() { return counters_; }
  proxy::UpstreamPool& upstreams() { return *routes_->upstreams; }
  const WorkerRoutesPtr& routes() const { return routes_; }
  // Thread-safe: from the next request on, use these routes and clusters.
  // Listeners (names, addresses) must be the same as the running ones.
  void publish(config::ConfigPtr config, proxy::UpstreamDirectoryPtr directory);
  bool draining() const { return draining_; }
  // Logon credentials for the fan-out, shared by every worker of the set.
  // Set before start().
  void setCredentials(fanout::CredentialStorePtr store) { fanout_.setCredentials(std::move(store)); }
  const fanout::CredentialStorePtr& credentials() const { return fanout_.credentials(); }
  // The set this worker belongs to (its siblings' counters, for /metrics);
  // null for a worker made alone. Set before start().
  void setSet(const WorkerSet* set) { set_ = set; }
  const WorkerSet* set() const { return set_; }
  // What this worker's fan-out requests share (worker thread).
  fanout::FanoutLoop& fanout() { return fanout_; }

  // Connection bookkeeping (worker thread).
  void addClient(proxy::ClientSlot& c);
  void removeClient(proxy::ClientSlot& c);

 private:
  static void onConnection(uv_stream_t* server, int status);
  static void onDrainDeadline(uv_timer_t* t);
  void run();
  void doDrain(config::Millis timeout);
  void maybeFinishDrain();
  WorkerRoutesPtr buildRoutes(config::ConfigPtr config, proxy::UpstreamDirectoryPtr directory);
  void applyTimeouts(const config::Timeouts& t);

  size_t index_;
  config::ConfigPtr config_;
  AccessLogSink* access_log_;
  const WorkerSet* set_ = nullptr;
  loop::EventLoop loop_;
  WorkerRoutesPtr routes_;
  uint64_t routes_generation_ = 0;
  std::vector<std::unique_ptr<ListenerRuntime>> listeners_;
  std::vector<proxy::ClientSlot*> clients_;  // unordered; index kept in the slot
  WorkerCounters counters_;
  fanout::FanoutLoop fanout_;  // after loop_ and counters_: it uses both, and goes first
  uv_timer_t drain_timer_;
  bool drain_timer_open_ = false;
  bool draining_ = false;
  std::thread thread_;
  std::function<void(size_t, int)> on_exit_;
};

}  // namespace plexgate::server
