// TestServer: a real plexgate WorkerSet on 127.0.0.1 with kernel-chosen
// ports, run in-process on its own control thread, for integration tests.
// stop() drains it and reports whether every loop closed with no handle
// left open (libuv's uv_loop_close == 0), which each test asserts.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/config/config.h"
#include "engine/loop/event_loop.h"
#include "engine/proxy/health_checker.h"
#include "engine/server/worker_set.h"

namespace plexgate::test {

class TestServer {
 public:
  // `yaml` is a full config; listener ports should be 0. Fails the test
  // (ADD_FAILURE) and leaves port() == 0 when it does not load or bind.
  explicit TestServer(const std::string& yaml);
  ~TestServer();

  uint16_t port(size_t listener = 0) const;
  server::WorkerSet& workers() { return *workers_; }
  const config::Config& config() const { return *config_; }

  // Upstream connections opened by all workers so far (a relaxed read of a
  // worker-thread counter: use it once the traffic has settled).
  size_t upstreamConnects() const;
  // Loads `yaml` and publishes its routes and clusters to every worker, as
  // SIGHUP does; returns "" or why it was refused. The health checker
  // restarts with the new clusters.
  std::string publish(const std::string& yaml);
  // Starts a graceful drain from the control thread.
  void drain(std::chrono::milliseconds timeout);
  // Waits for every worker to exit (drain first, or after drain()).
  // True when all exited in time and every loop closed cleanly.
  bool waitExited(std::chrono::milliseconds timeout);
  // drain(1s) + waitExited(5s).
  bool stop();

 private:
  config::ConfigPtr config_;
  std::unique_ptr<loop::EventLoop> control_;
  std::unique_ptr<server::WorkerSet> workers_;
  std::unique_ptr<proxy::HealthChecker> health_;  // on the control loop, as in main
  std::vector<std::unique_ptr<proxy::HealthChecker>> retired_health_;  // stopped; freed after the loop
  std::thread control_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool exited_ = false;
  bool clean_ = false;
  bool stopped_ = false;
};

// Base fixture: start(yaml) runs a TestServer; TearDown stops it and fails
// the test unless every worker loop closed with no handle left open.
class ServerTest : public ::testing::Test {
 protected:
  void start(const std::string& yaml) {
    server_ = std::make_unique<TestServer>(yaml);
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    if (server_) {
      EXPECT_TRUE(server_->stop()) << "a worker loop closed with handles still open, or did not exit";
    }
  }
  uint16_t port() const { return server_->port(); }
  std::unique_ptr<TestServer> server_;
};

// One worker, one listener "gw" on 127.0.0.1:0 sending everything to the
// cluster "origin" (connect_timeout 1s, idle_timeout 2s). The extras are
// YAML lines appended to the listener's keys, the route list and the
// cluster's keys ("    retries: 0\n").
std::string proxyConfig(const std::vector<std::string>& endpoints, const std::string& cluster_extra = "",
                        const std::string& listener_extra = "", const std::string& route_extra = "");

// A polling wait without sleeping on a fixed delay: true once pred() holds.
template <class Pred>
bool waitFor(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

}  // namespace plexgate::test
