#include "engine/server/worker_set.h"

#include <sched.h>
#include <unistd.h>

#include <cstdio>

#include "engine/net/listen_socket.h"
#include "engine/server/log.h"

namespace plexgate::server {

size_t defaultWorkerCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) {
      return static_cast<size_t>(n);
    }
  }
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<size_t>(n) : 1;
}

std::unique_ptr<WorkerSet> WorkerSet::create(config::ConfigPtr config, size_t workers, AccessLogWriter* access_log,
                                             std::string& error) {
  if (workers == 0) {
    workers = config->workers != 0 ? config->workers : defaultWorkerCount();
  }
  std::unique_ptr<WorkerSet> set(new WorkerSet());
  set->upstreams_ = std::make_shared<const proxy::UpstreamDirectory>(config);
  std::vector<std::vector<int>> per_worker(workers);
  for (const config::Listener& l : config->listeners) {
    auto addr = net::makeAddress(l.host, l.port);
    if (!addr) {
      error = "listener " + l.name + ": bad address " + l.address;
    } else {
      net::BoundSockets bound = net::bindReusePort(*addr, workers);
      if (!bound.error.empty()) {
        error = "listener " + l.name + ": " + bound.error;
      } else {
        set->addresses_.push_back(bound.address);
        for (size_t w = 0; w < workers; ++w) {
          per_worker[w].push_back(bound.fds[w]);
        }
      }
    }
    if (!error.empty()) {
      for (auto& fds : per_worker) {
        for (int fd : fds) {
          ::close(fd);
        }
      }
      return nullptr;
    }
  }
  // One store for the process, so a logon on one worker serves fan-outs on
  // every worker; it outlives reloads (publish keeps the workers).
  auto credentials = std::make_shared<fanout::InMemoryCredentialStore>();
  for (size_t w = 0; w < workers; ++w) {
    AccessLogSink* sink = access_log != nullptr ? access_log->sink(w) : nullptr;
    set->workers_.push_back(std::make_unique<Worker>(w, config, set->upstreams_, std::move(per_worker[w]), sink));
    set->workers_.back()->setCredentials(credentials);
    set->workers_.back()->setSet(set.get());
  }
  return set;
}

WorkerSet::~WorkerSet() { join(); }

void WorkerSet::start(loop::EventLoop& control, std::function<void(bool)> on_all_exited) {
  const size_t total = workers_.size();
  for (auto& w : workers_) {
    w->start([this, total, &control, on_all_exited](size_t index, int rc) {
      if (rc != 0) {
        logf(config::LogLevel::Error, "worker %zu: loop closed with handles open (%s)", index, uv_strerror(rc));
        leaked_ = true;
      }
      if (exited_.fetch_add(1) + 1 == total) {
        control.post([this, on_all_exited] { on_all_exited(!leaked_); });
      }
    });
  }
}

std::string WorkerSet::publish(config::ConfigPtr config) {
  const config::Config& running = workers_.front()->config();
  if (config->listeners.size() != running.listeners.size()) {
    return "listeners changed (added or removed): restart to apply";
  }
  for (size_t i = 0; i < config->listeners.size(); ++i) {
    const config::Listener& a = config->listeners[i];
    const config::Listener& b = running.listeners[i];
    if (a.name != b.name || a.host != b.host || (a.port != b.port && a.port != 0)) {
      return "listener " + a.name + " changed its name or address: restart to apply";
    }
  }
  upstreams_ = std::make_shared<const proxy::UpstreamDirectory>(config);
  for (auto& w : workers_) {
    w->publish(config, upstreams_);
  }
  return "";
}

void WorkerSet::drain(config::Millis timeout) {
  for (auto& w : workers_) {
    w->drain(timeout);
  }
}

void WorkerSet::join() {
  for (auto& w : workers_) {
    w->join();
  }
}

CounterTotals WorkerSet::totals() const {
  CounterTotals t;
  for (const auto& w : workers_) {
    const WorkerCounters& c = w->counters();
    t.connections_accepted += c.connections_accepted.load(std::memory_order_relaxed);
    t.connections_active += c.connections_active.load(std::memory_order_relaxed);
    t.connections_parked += c.connections_parked.load(std::memory_order_relaxed);
    t.requests += c.requests.load(std::memory_order_relaxed);
    t.parse_errors += c.parse_errors.load(std::memory_order_relaxed);
    t.timeouts += c.timeouts.load(std::memory_order_relaxed);
    t.tls_handshakes += c.tls_handshakes.load(std::memory_order_relaxed);
    t.tls_resumed += c.tls_resumed.load(std::memory_order_relaxed);
    for (size_t i = 0; i < t.tls_failures.size(); ++i) {
      t.tls_failures[i] += c.tls_failures[i].load(std::memory_order_relaxed);
    }
    t.fanout_requests += c.fanout.requests.load(std::memory_order_relaxed);
    t.fanout_system_calls += c.fanout.system_calls.load(std::memory_order_relaxed);
    for (size_t i = 0; i < t.fanout_rc.size(); ++i) {
      t.fanout_rc[i] += c.fanout.rc[i].load(std::memory_order_relaxed);
    }
    for (size_t i = 0; i < t.responses.size(); ++i) {
      t.responses[i] += c.responses[i].load(std::memory_order_relaxed);
    }
    for (size_t i = 0; i < t.duration.size(); ++i) {
      t.duration[i] += c.duration[i].load(std::memory_order_relaxed);
    }
    t.duration_ns += c.duration_ns.load(std::memory_order_relaxed);
    t.upstream_attempts += c.upstream.attempts.load(std::memory_order_relaxed);
    t.upstream_connects += c.upstream.connects.load(std::memory_order_relaxed);
    t.upstream_retries += c.upstream.retries.load(std::memory_order_relaxed);
    for (size_t i = 0; i < t.upstream_failures.size(); ++i) {
      t.upstream_failures[i] += c.upstream.failures[i].load(std::memory_order_relaxed);
    }
  }
  return t;
}

}  // namespace plexgate::server
