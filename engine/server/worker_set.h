// WorkerSet: N worker threads, each with its own loop and its own
// SO_REUSEPORT socket per listener. Binds every socket on the control thread
// at creation (so bind errors are reported before anything starts), starts
// the threads, drains them on request, and tells the control loop when the
// last one has exited. Owned by main (or a test) on the control thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/loop/event_loop.h"
#include "engine/net/address.h"
#include "engine/server/access_log.h"
#include "engine/server/worker.h"

namespace plexgate::server {

struct CounterTotals {
  uint64_t connections_accepted = 0;
  uint64_t connections_active = 0;
  uint64_t connections_parked = 0;  // of the active: idle, holding no Session
  uint64_t requests = 0;
  uint64_t parse_errors = 0;
  uint64_t timeouts = 0;
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumed = 0;
  std::array<uint64_t, tls::kFailureKinds> tls_failures{};  // indexed by tls::Failure
  uint64_t fanout_requests = 0;      // fan-outs that called their systems
  uint64_t fanout_system_calls = 0;  // sub-requests they started
  std::array<uint64_t, parsers::kFanoutRcKinds> fanout_rc{};  // finished sub-requests, by parsers::FanoutRc
  std::array<uint64_t, kStatusClasses> responses{};    // [0] 1xx .. [4] 5xx
  std::array<uint64_t, kDurationBuckets> duration{};   // not cumulative; bounds kDurationBoundsNs
  uint64_t duration_ns = 0;
  uint64_t upstream_attempts = 0;
  uint64_t upstream_connects = 0;
  uint64_t upstream_retries = 0;
  std::array<uint64_t, proxy::kUpstreamFailureKinds> upstream_failures{};  // by proxy::UpstreamFailure
};

// What the control thread did with reloads (SIGHUP), for /metrics.
struct ReloadCounters {
  std::atomic<uint64_t> applied{0};
  std::atomic<uint64_t> refused{0};
};

class WorkerSet {
 public:
  // workers == 0 takes the config's value (0 there: one per CPU).
  static std::unique_ptr<WorkerSet> create(config::ConfigPtr config, size_t workers, AccessLogWriter* access_log,
                                           std::string& error);
  ~WorkerSet();

  // The address each listener really bound (port filled in when 0 was asked).
  const std::vector<net::Address>& addresses() const { return addresses_; }
  const proxy::UpstreamDirectoryPtr& upstreams() const { return upstreams_; }
  size_t size() const { return workers_.size(); }
  Worker& worker(size_t i) { return *workers_[i]; }

  // `on_all_exited(ok)` runs on `control`'s thread once every worker loop
  // has closed; ok is false if any loop closed with handles still open.
  void start(loop::EventLoop& control, std::function<void(bool ok)> on_all_exited);
  void drain(config::Millis timeout);
  // Control thread: new routes and clusters for every worker, from their
  // next request on. Listeners must match the running ones (name, address,
  // order); otherwise nothing changes and the reason is returned.
  std::string publish(config::ConfigPtr config);
  void join();
  // Thread-safe: every worker's counters summed (relaxed reads).
  CounterTotals totals() const;
  // When create() ran (wall clock), for /metrics and /application/info.
  std::chrono::system_clock::time_point startTime() const { return start_time_; }
  ReloadCounters& reloads() { return reloads_; }
  const ReloadCounters& reloads() const { return reloads_; }

 private:
  WorkerSet() = default;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<net::Address> addresses_;
  proxy::UpstreamDirectoryPtr upstreams_;
  std::atomic<size_t> exited_{0};
  std::atomic<bool> leaked_{false};
  std::chrono::system_clock::time_point start_time_ = std::chrono::system_clock::now();
  ReloadCounters reloads_;
};

// One worker per CPU the process may run on.
size_t defaultWorkerCount();

}  // namespace plexgate::server
