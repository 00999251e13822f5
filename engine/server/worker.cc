#include "engine/server/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "engine/proxy/session.h"
#include "engine/server/log.h"

namespace plexgate::server {

Worker::Worker(size_t index, config::ConfigPtr config, proxy::UpstreamDirectoryPtr upstreams, std::vector<int> fds,
               AccessLogSink* access_log)
    : index_(index), config_(std::move(config)), access_log_(access_log), fanout_(loop_, counters_.fanout) {
  routes_ = buildRoutes(config_, std::move(upstreams));
  applyTimeouts(config_->timeouts);
  loop_.setParkedWake(&proxy::ClientSlot::onWake);
  for (size_t i = 0; i < fds.size(); ++i) {
    auto lr = std::make_unique<ListenerRuntime>();
    lr->worker = this;
    lr->index = i;
    lr->config = &config_->listeners[i];
    lr->fd = fds[i];
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(lr->fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      net::Address bound;
      bound.storage = ss;
      bound.len = len;
      lr->port = bound.port();
    }
    listeners_.push_back(std::move(lr));
  }
}

void Worker::applyTimeouts(const config::Timeouts& t) {
  loop_.headerTimeouts().setDuration(static_cast<uint64_t>(t.header.count()));
  loop_.idleTimeouts().setDuration(static_cast<uint64_t>(t.idle.count()));
  loop_.parkTimeouts().setDuration(static_cast<uint64_t>(t.park.count()));
}

WorkerRoutesPtr Worker::buildRoutes(config::ConfigPtr config, proxy::UpstreamDirectoryPtr directory) {
  auto r = std::make_shared<WorkerRoutes>();
  r->config = config;
  r->directory = directory;
  for (const config::Listener& l : config->listeners) {
    r->routers.push_back(std::make_unique<proxy::Router>(*config, l));
    std::vector<net::Cidr> trusted;
    for (const std::string& cidr : l.trusted_proxies) {
      if (auto c = net::Cidr::parse(cidr)) {
        trusted.push_back(*c);
      }
    }
    r->trusted.push_back(std::move(trusted));
  }
  ++routes_generation_;
  r->upstreams = std::make_shared<proxy::UpstreamPool>(loop_, std::move(directory),
                                                       0x9e3779b97f4a7c15ull * (index_ + 1) + routes_generation_);
  r->systems = std::make_unique<fanout::SystemIndex>(*config);
  return r;
}

void Worker::publish(config::ConfigPtr config, proxy::UpstreamDirectoryPtr directory) {
  loop_.post([this, config = std::move(config), directory = std::move(directory)]() mutable {
    if (draining_) {
      return;
    }
    WorkerRoutesPtr old = std::move(routes_);
    routes_ = buildRoutes(std::move(config), std::move(directory));
    // The header, idle and park timeouts apply at once, to what is armed too;
    // limits apply to each connection from its next Session (a new or woken one).
    applyTimeouts(routes_->config->timeouts);
    // Idle connections of the old pool close now; busy ones after their
    // request. Sessions still holding `old` keep it alive until they finish.
    old->upstreams->closeIdle();
  });
}

Worker::~Worker() {
  for (auto& lr : listeners_) {
    if (!lr->open && lr->fd >= 0) {
      ::close(lr->fd);  // never handed to libuv (start() not called)
    }
  }
}

void Worker::start(std::function<void(size_t, int)> on_exit) {
  on_exit_ = std::move(on_exit);
  thread_ = std::thread([this] { run(); });
}

void Worker::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Worker::run() {
  for (auto& lr : listeners_) {
    uv_tcp_init(loop_.uv(), &lr->tcp);
    lr->tcp.data = lr.get();
    int rc = uv_tcp_open(&lr->tcp, lr->fd);
    if (rc == 0) {
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&lr->tcp), 4096, &Worker::onConnection);
    }
    lr->open = true;  // the handle owns the fd now, even on failure
    if (rc != 0) {
      logf(config::LogLevel::Error, "worker %zu: listen on %s failed: %s", index_,
                   lr->config->address.c_str(), uv_strerror(rc));
    }
  }
  const int rc = loop_.run();
  if (on_exit_) {
    on_exit_(index_, rc);
  }
}

void Worker::onConnection(uv_stream_t* server, int status) {
  auto* lr = static_cast<ListenerRuntime*>(server->data);
  Worker* self = lr->worker;
  if (status < 0) {
    logf(config::LogLevel::Error, "worker %zu: accept: %s", self->index_, uv_strerror(status));
    return;
  }
  proxy::Session::accept(*lr, server);  // on failure the session frees itself
}

void Worker::addClient(proxy::ClientSlot& c) {
  c.list_index = static_cast<uint32_t>(clients_.size());
  clients_.push_back(&c);
}

void Worker::removeClient(proxy::ClientSlot& c) {
  const size_t i = c.list_index;
  if (i < clients_.size() && clients_[i] == &c) {
    clients_[i] = clients_.back();
    clients_[i]->list_index = static_cast<uint32_t>(i);
    clients_.pop_back();
  }
  maybeFinishDrain();
}

void Worker::drain(config::Millis timeout) {
  loop_.post([this, timeout] { doDrain(timeout); });
}

void Worker::doDrain(config::Millis timeout) {
  if (draining_) {
    // A second drain (a second SIGTERM asks for 0 ms) can only bring the
    // deadline closer; 0 force-closes every client on the next loop turn.
    const auto ms = static_cast<uint64_t>(timeout.count());
    if (drain_timer_open_ && ms < uv_timer_get_due_in(&drain_timer_)) {
      uv_timer_start(&drain_timer_, &Worker::onDrainDeadline, ms, 0);
    }
    return;
  }
  draining_ = true;
  for (auto& lr : listeners_) {
    if (lr->open && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&lr->tcp))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&lr->tcp), nullptr);
    }
  }
  uv_timer_init(loop_.uv(), &drain_timer_);
  drain_timer_.data = this;
  drain_timer_open_ = true;
  uv_timer_start(&drain_timer_, &Worker::onDrainDeadline, static_cast<uint64_t>(timeout.count()), 0);
  const std::vector<proxy::ClientSlot*> snapshot = clients_;
  for (proxy::ClientSlot* c : snapshot) {
    c->drain();
  }
  routes_->upstreams->closeIdle();
  maybeFinishDrain();
}

void Worker::onDrainDeadline(uv_timer_t* t) {
  auto* self = static_cast<Worker*>(t->data);
  const std::vector<proxy::ClientSlot*> snapshot = self->clients_;
  for (proxy::ClientSlot* c : snapshot) {
    c->forceClose();
  }
}

void Worker::maybeFinishDrain() {
  if (!draining_ || !clients_.empty() || loop_.stopping()) {
    return;
  }
  routes_->upstreams->closeIdle();
  if (drain_timer_open_) {
    drain_timer_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  }
  loop_.stop();
}

}  // namespace plexgate::server
