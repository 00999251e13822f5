// The admin pages a listener with `admin: true` answers ahead of its routes
// (DESIGN.md section 8): /application/health and /application/info (the
// Spring Boot actuator paths Zowe's services expose), /metrics
// (Prometheus text format 0.0.4) and /admin, a small HTML page of the
// listeners, clusters and their instances, services, systems and counters. Answered on the worker that accepted the
// request; /metrics sums every worker's counters with relaxed reads, so a
// scrape never stops a loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/proxy/upstream_directory.h"
#include "engine/server/worker_set.h"

namespace plexgate::server {

class Worker;

enum class AdminPage : uint8_t { None, Health, Info, Metrics, Overview };

// The page an origin-form path names (no query), or None.
AdminPage adminPageFor(std::string_view path);

struct AdminReply {
  int status = 200;
  std::string_view content_type;
  std::string body;
};

// The page as `worker` (the calling thread's) sees the process now.
AdminReply adminReply(AdminPage page, const Worker& worker);

// What /metrics shows, from its parts (tests build them directly).
struct MetricsInput {
  const CounterTotals* totals = nullptr;
  const ReloadCounters* reloads = nullptr;  // null: no reload line
  size_t workers = 0;
  std::chrono::system_clock::time_point start_time;
  const proxy::UpstreamDirectory* upstreams = nullptr;  // null: no upstream health
};
std::string renderMetrics(const MetricsInput& in);

}  // namespace plexgate::server
