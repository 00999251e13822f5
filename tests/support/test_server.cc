#include "support/test_server.h"

#include <gtest/gtest.h>

#include "engine/config/config_loader.h"

namespace plexgate::test {

TestServer::TestServer(const std::string& yaml) {
  auto loaded = config::loadString(yaml, "test.yaml");
  if (!loaded.ok()) {
    ADD_FAILURE() << "config: " << loaded.error->toString();
    return;
  }
  config_ = loaded.config;
  std::string error;
  workers_ = server::WorkerSet::create(config_, 0, nullptr, error);
  if (!workers_) {
    ADD_FAILURE() << "workers: " << error;
    return;
  }
  control_ = std::make_unique<loop::EventLoop>();
  health_ = std::make_unique<proxy::HealthChecker>(*control_, workers_->upstreams());
  health_->start();
  workers_->start(*control_, [this](bool ok) {
    health_->stop();
    {
      std::lock_guard<std::mutex> lock(mu_);
      exited_ = true;
      clean_ = ok;
    }
    cv_.notify_all();
    control_->stop();
  });
  control_thread_ = std::thread([this] {
    const int rc = control_->run();
    if (rc != 0) {
      std::lock_guard<std::mutex> lock(mu_);
      clean_ = false;
    }
  });
}

TestServer::~TestServer() {
  if (workers_ && !stopped_) {
    stop();
  }
  if (control_thread_.joinable()) {
    control_thread_.join();
  }
  if (workers_) {
    workers_->join();
  }
}

uint16_t TestServer::port(size_t listener) const {
  if (!workers_ || listener >= workers_->addresses().size()) {
    return 0;
  }
  return workers_->addresses()[listener].port();
}

void TestServer::drain(std::chrono::milliseconds timeout) {
  if (workers_) {
    workers_->drain(timeout);
  }
}

std::string TestServer::publish(const std::string& yaml) {
  auto loaded = config::loadString(yaml, "test.yaml");
  if (!loaded.ok()) {
    return loaded.error->toString();
  }
  // The directory and health checker belong to the control thread.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::string result;
  control_->post([&] {
    result = workers_->publish(loaded.config);
    if (result.empty()) {
      health_->stop();
      retired_health_.push_back(std::move(health_));
      health_ = std::make_unique<proxy::HealthChecker>(*control_, workers_->upstreams());
      health_->start();
    }
    std::lock_guard<std::mutex> l(mu);
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return done; });
  return result;
}

size_t TestServer::upstreamConnects() const {
  size_t n = 0;
  for (size_t i = 0; i < workers_->size(); ++i) {
    n += workers_->worker(i).upstreams().connectsStarted();
  }
  return n;
}

bool TestServer::waitExited(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [this] { return exited_; })) {
    return false;
  }
  lock.unlock();
  if (control_thread_.joinable()) {
    control_thread_.join();
  }
  workers_->join();
  stopped_ = true;
  std::lock_guard<std::mutex> relock(mu_);
  return clean_;
}

bool TestServer::stop() {
  if (!workers_) {
    return false;
  }
  if (stopped_) {
    return clean_;
  }
  drain(std::chrono::milliseconds(1000));
  return waitExited(std::chrono::milliseconds(5000));
}

std::string proxyConfig(const std::vector<std::string>& endpoints, const std::string& cluster_extra,
                        const std::string& listener_extra, const std::string& route_extra) {
  std::string eps;
  for (const auto& e : endpoints) {
    eps += (eps.empty() ? "\"" : ", \"") + e + "\"";
  }
  return R"(
workers: 1
listeners:
  - name: gw
    address: 127.0.0.1:0
)" + listener_extra + R"(
    routes:
      - prefix: /
        proxy: {cluster: origin}
)" + route_extra + R"(
clusters:
  - name: origin
    endpoints: [)" + eps + R"(]
    connect_timeout: 1s
    idle_timeout: 2s
)" + cluster_extra;
}

}  // namespace plexgate::test
