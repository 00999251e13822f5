#include "engine/proxy/upstream_pool.h"

namespace plexgate::proxy {

UpstreamConnection::UpstreamConnection(std::shared_ptr<UpstreamPool> pool, size_t cluster, size_t endpoint)
    : keep_(std::move(pool)),
      pool_(*keep_),
      cluster_(cluster),
      endpoint_(endpoint),
      conn_(pool_.loop(), *this),
      idle_timeout_(&UpstreamConnection::onIdleTimeout, this) {}

// While busy every event goes to the user; while idle in the pool any byte,
// EOF or error means the upstream is done with the connection.
void UpstreamConnection::onData() {
  if (user_ != nullptr) {
    user_->onData();
  } else {
    conn_.close();
  }
}

void UpstreamConnection::onEof() {
  if (user_ != nullptr) {
    user_->onEof();
  } else {
    conn_.close();
  }
}

void UpstreamConnection::onReadError(int err) {
  if (user_ != nullptr) {
    user_->onReadError(err);
  } else {
    conn_.close();
  }
}

void UpstreamConnection::onWritable() {
  if (user_ != nullptr) {
    user_->onWritable();
  }
}

void UpstreamConnection::onWriteError(int err) {
  if (user_ != nullptr) {
    user_->onWriteError(err);
  } else {
    conn_.close();
  }
}

void UpstreamConnection::onConnected(int status) {
  if (user_ != nullptr) {
    user_->onConnected(status);
  } else {
    conn_.close();
  }
}

void UpstreamConnection::onClosed() {
  if (idle_) {
    pool_.removeIdle(this);
  }
  idle_timeout_.cancel();
  net::ConnectionHandler* user = user_;
  user_ = nullptr;
  if (user != nullptr) {
    user->onClosed();
  }
  --pool_.live_;
  pool_.loop().deferredDelete(std::unique_ptr<loop::DeferredDeletable>(this));
}

void UpstreamConnection::onIdleTimeout(loop::TimeoutNode& node) {
  static_cast<UpstreamConnection*>(node.owner())->conn_.close();
}

UpstreamPool::UpstreamPool(loop::EventLoop& loop, UpstreamDirectoryPtr directory, uint64_t seed)
    : loop_(loop), directory_(std::move(directory)) {
  const auto& entries = directory_->clusters();
  clusters_.resize(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    ClusterRuntime& c = clusters_[i];
    c.config = entries[i].config;
    c.entry = &entries[i];
    c.lb = std::make_unique<LoadBalancer>(*c.config, seed + i);
    c.states.resize(entries[i].endpoints.size());
    for (size_t e = 0; e < entries[i].endpoints.size(); ++e) {
      c.states[e].healthy = entries[i].endpoints[e].healthy.get();
    }
    c.idle.resize(entries[i].endpoints.size());
    c.tls_sessions.resize(entries[i].endpoints.size());
  }
}

UpstreamPool::~UpstreamPool() = default;

UpstreamConnection* UpstreamPool::takeIdle(size_t cluster, size_t endpoint, net::ConnectionHandler& user) {
  auto& list = clusters_[cluster].idle[endpoint];
  while (!list.empty()) {
    UpstreamConnection* c = list.back();
    list.pop_back();
    c->idle_ = false;
    c->idle_timeout_.cancel();
    if (!c->conn_.open()) {
      continue;  // closing: its close callback frees it
    }
    c->attach(user);
    return c;
  }
  return nullptr;
}

UpstreamConnection* UpstreamPool::connect(size_t cluster, size_t endpoint, net::ConnectionHandler& user, int& rc) {
  const EndpointEntry& e = directory_->clusters()[cluster].endpoints[endpoint];
  if (!e.address) {
    rc = UV_EAI_NONAME;
    return nullptr;
  }
  auto* c = new UpstreamConnection(shared_from_this(), cluster, endpoint);
  ++live_;
  ++connects_;
  c->attach(user);
  ClusterRuntime& cr = clusters_[cluster];
  const config::UpstreamEndpoint& ep = cr.config->endpoints[endpoint];
  if (ep.scheme == "https" && cr.config->tls_context) {
    // The handshake runs before onConnected; the endpoint's last session
    // resumes it when the upstream still has it.
    c->conn_.startClientTls(cr.config->tls_context, ep.host, &cr.tls_sessions[endpoint]);
  }
  rc = c->conn_.connect(e.address->sa());
  if (rc != 0) {
    c->detach();  // the close callback frees it; the user hears the error from rc
    return nullptr;
  }
  return c;
}

void UpstreamPool::release(UpstreamConnection* c) {
  c->detach();
  ClusterRuntime& cr = clusters_[c->cluster_];
  const config::UpstreamPool& settings = cr.config->pool;
  auto& list = cr.idle[c->endpoint_];
  const bool spent = settings.max_requests != 0 && c->requests >= settings.max_requests;
  if (spent || draining_ || list.size() >= settings.max_idle || !c->conn_.open()) {
    c->conn_.close();
    return;
  }
  c->conn_.releaseIdleInput();  // an idle pooled connection holds no slice
  c->idle_ = true;
  c->idle_index_ = list.size();
  list.push_back(c);
  c->conn_.readStart();  // an idle connection must notice the upstream closing it
  loop_.timeouts(static_cast<uint64_t>(settings.idle_timeout.count())).arm(c->idle_timeout_, loop_.now());
}

void UpstreamPool::removeIdle(UpstreamConnection* c) {
  auto& list = clusters_[c->cluster_].idle[c->endpoint_];
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == c) {
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  c->idle_ = false;
}

void UpstreamPool::closeIdle() {
  draining_ = true;  // connections released from now on are closed
  for (ClusterRuntime& cr : clusters_) {
    for (auto& list : cr.idle) {
      const std::vector<UpstreamConnection*> snapshot = list;
      for (UpstreamConnection* c : snapshot) {
        c->conn_.close();
      }
    }
  }
}

}  // namespace plexgate::proxy
