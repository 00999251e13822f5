#include "engine/proxy/health_checker.h"

#include <cstdio>

#include "engine/server/log.h"

namespace plexgate::proxy {

class HealthChecker::Probe final : private net::ConnectionHandler, private parsers::Http1Handler {
 public:
  Probe(HealthChecker& owner, const ClusterEntry& cluster, size_t endpoint)
      : owner_(owner),
        cluster_(cluster),
        endpoint_(endpoint),
        parser_(parsers::Http1Parser::Type::Response, parsers::Http1Limits{}, *this) {
    uv_timer_init(owner_.loop_.uv(), &timer_);
    timer_.data = this;
    // Spread the first checks over the interval so they do not all fire at once.
    const auto interval = static_cast<uint64_t>(cluster_.config->health.interval.count());
    uv_timer_start(&timer_, &Probe::onTimer, interval == 0 ? 0 : (endpoint * 97) % interval, 0);
  }

  // Closes the timer and any probe connection; `done` runs once all closed.
  void stop() {
    stopping_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Probe::onTimerClosed);
    if (conn_) {
      conn_->close();
    }
  }
  bool closed() const { return timer_closed_ && !conn_; }

 private:
  static void onTimer(uv_timer_t* t) {
    auto* self = static_cast<Probe*>(t->data);
    if (self->conn_) {
      self->finish(false, "timed out");  // the probe's deadline passed
      return;
    }
    self->begin();
  }

  static void onTimerClosed(uv_handle_t* h) { static_cast<Probe*>(h->data)->timer_closed_ = true; }

  void begin() {
    const EndpointEntry& e = cluster_.endpoints[endpoint_];
    if (!e.address) {
      finish(false, "address did not resolve");
      return;
    }
    net::ConnectionHandler& handler = *this;
    conn_ = std::make_unique<net::Connection>(owner_.loop_, handler);
    parser_.reset();
    result_reported_ = false;
    uv_timer_start(&timer_, &Probe::onTimer, static_cast<uint64_t>(cluster_.config->health.timeout.count()), 0);
    const config::UpstreamEndpoint& ep = cluster_.config->endpoints[endpoint_];
    if (ep.scheme == "https" && cluster_.config->tls_context) {
      conn_->startClientTls(cluster_.config->tls_context, ep.host, nullptr);
    }
    if (conn_->connect(e.address->sa()) != 0) {
      // connect() closed the handle; onClosed will reset conn_.
      finish(false, "connect failed");
    }
  }

  void onConnected(int status) override {
    if (status != 0) {
      finish(false, status == net::kErrTlsCertificate ? "TLS certificate not trusted"
                    : status == net::kErrTlsHandshake ? "TLS handshake failed"
                                                      : uv_strerror(status));
      return;
    }
    const EndpointEntry& e = cluster_.endpoints[endpoint_];
    buf::BufferChain out(owner_.loop_.slicePool());
    out.appendCopy("GET ");
    out.appendCopy(cluster_.config->health.path);
    out.appendCopy(" HTTP/1.1\r\nHost: ");
    out.appendCopy(e.authority);
    out.appendCopy("\r\nUser-Agent: plexgate-health\r\nAccept: */*\r\nConnection: close\r\n\r\n");
    conn_->write(out);
    conn_->readStart();
  }

  void onData() override {
    const std::string_view data = conn_->unread();
    const parsers::ExecResult r = parser_.execute(data.data(), data.size());
    conn_->consume(data.size());
    if (r.status == parsers::ExecResult::Status::Error) {
      finish(false, "invalid response");
    }
  }
  parsers::Next onHead(parsers::MessageHead& h) override {
    if (h.status >= 100 && h.status < 200) {
      return parsers::Next::Continue;
    }
    char why[32];
    std::snprintf(why, sizeof(why), "status %d", h.status);
    finish(h.status >= 200 && h.status < 300, why);
    return parsers::Next::Pause;
  }
  parsers::Next onBody(std::string_view) override { return parsers::Next::Continue; }
  parsers::Next onMessageComplete() override { return parsers::Next::Pause; }
  void onEof() override { finish(false, "closed without a response"); }
  void onReadError(int err) override { finish(false, uv_strerror(err)); }
  void onWriteError(int err) override { finish(false, uv_strerror(err)); }
  void onClosed() override {
    conn_.reset();
    if (!stopping_) {
      uv_timer_start(&timer_, &Probe::onTimer, static_cast<uint64_t>(cluster_.config->health.interval.count()), 0);
    }
  }

  void finish(bool pass, const char* why) {
    if (result_reported_) {
      return;
    }
    result_reported_ = true;
    ++owner_.checks_done_;
    const config::HealthCheck& hc = cluster_.config->health;
    std::atomic<bool>& healthy = *cluster_.endpoints[endpoint_].healthy;
    if (pass) {
      fails_ = 0;
      if (++passes_ >= hc.healthy_threshold && !healthy.load(std::memory_order_relaxed)) {
        healthy.store(true, std::memory_order_relaxed);
        server::logf(config::LogLevel::Info, "health: %s %s is healthy again", cluster_.config->name.c_str(),
                     cluster_.config->endpoints[endpoint_].url.c_str());
      }
    } else {
      passes_ = 0;
      if (++fails_ >= hc.unhealthy_threshold && healthy.load(std::memory_order_relaxed)) {
        healthy.store(false, std::memory_order_relaxed);
        server::logf(config::LogLevel::Warn, "health: %s %s is unhealthy (%s)", cluster_.config->name.c_str(),
                     cluster_.config->endpoints[endpoint_].url.c_str(), why);
      }
    }
    uv_timer_stop(&timer_);
    if (conn_) {
      conn_->close();  // onClosed schedules the next check
    } else if (!stopping_) {
      uv_timer_start(&timer_, &Probe::onTimer, static_cast<uint64_t>(hc.interval.count()), 0);
    }
  }

  HealthChecker& owner_;
  const ClusterEntry& cluster_;
  size_t endpoint_;
  uv_timer_t timer_;
  std::unique_ptr<net::Connection> conn_;
  parsers::Http1Parser parser_;
  uint32_t passes_ = 0;
  uint32_t fails_ = 0;
  bool result_reported_ = false;
  bool stopping_ = false;
  bool timer_closed_ = false;
};

HealthChecker::HealthChecker(loop::EventLoop& loop, UpstreamDirectoryPtr directory)
    : loop_(loop), directory_(std::move(directory)) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::start() {
  for (const ClusterEntry& c : directory_->clusters()) {
    if (!c.config->health.enabled) {
      continue;
    }
    for (size_t e = 0; e < c.endpoints.size(); ++e) {
      probes_.push_back(std::make_unique<Probe>(*this, c, e));
    }
  }
}

void HealthChecker::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  for (auto& p : probes_) {
    p->stop();
  }
  // Probes are freed with the checker, after the loop has run their close
  // callbacks (the owner destroys the checker after the loop returns).
}

}  // namespace plexgate::proxy
