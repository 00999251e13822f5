// HealthChecker: active health checks, run on the control loop. For every
// endpoint of every cluster with a health_check, it GETs the check path
// every interval (one probe in flight at a time, each with its own
// deadline) and flips the endpoint's shared health flag after the
// configured number of consecutive failures or passes. Workers only read the
// flags. Owned by main (or a test) on the control thread; stop() closes
// every handle it opened.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/loop/event_loop.h"
#include "engine/net/connection.h"
#include "engine/proxy/upstream_directory.h"
#include "parsers/http1_parser.h"

namespace plexgate::proxy {

class HealthChecker {
 public:
  HealthChecker(loop::EventLoop& loop, UpstreamDirectoryPtr directory);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void start();
  void stop();
  size_t probeCount() const { return probes_.size(); }
  uint64_t checksDone() const { return checks_done_; }

 private:
  class Probe;
  loop::EventLoop& loop_;
  UpstreamDirectoryPtr directory_;
  std::vector<std::unique_ptr<Probe>> probes_;
  uint64_t checks_done_ = 0;
  bool stopped_ = false;
};

}  // namespace plexgate::proxy
