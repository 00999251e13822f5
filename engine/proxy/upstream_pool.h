// Per-worker upstream state: for each cluster its load balancer and
// per-endpoint counters, and the keep-alive pool of idle upstream
// connections per endpoint (LIFO, so the warmest connection is reused first).
// An UpstreamConnection is owned by the pool while idle and lent to one
// ProxyStream while busy; it frees itself (deferred) after its close callback.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/loop/event_loop.h"
#include "engine/loop/timeout_list.h"
#include "engine/net/connection.h"
#include "engine/proxy/load_balancer.h"
#include "engine/proxy/upstream_directory.h"

namespace plexgate::proxy {

class UpstreamPool;

class UpstreamConnection final : public loop::DeferredDeletable, private net::ConnectionHandler {
 public:
  UpstreamConnection(std::shared_ptr<UpstreamPool> pool, size_t cluster, size_t endpoint);

  net::Connection& conn() { return conn_; }
  size_t cluster() const { return cluster_; }
  size_t endpoint() const { return endpoint_; }
  uint32_t requests = 0;  // requests started on this connection
  bool reused() const { return requests > 1; }
  // Events go to `user` while it holds the connection.
  void attach(net::ConnectionHandler& user) { user_ = &user; }
  void detach() { user_ = nullptr; }

 private:
  friend class UpstreamPool;
  void onData() override;
  void onEof() override;
  void onReadError(int err) override;
  void onWritable() override;
  void onWriteError(int err) override;
  void onClosed() override;
  void onConnected(int status) override;
  static void onIdleTimeout(loop::TimeoutNode& node);

  std::shared_ptr<UpstreamPool> keep_;  // a retired pool lives until its last connection is freed
  UpstreamPool& pool_;
  size_t cluster_;
  size_t endpoint_;
  net::Connection conn_;
  net::ConnectionHandler* user_ = nullptr;
  loop::TimeoutNode idle_timeout_;
  size_t idle_index_ = 0;
  bool idle_ = false;
};

struct ClusterRuntime {
  const config::Cluster* config = nullptr;
  const ClusterEntry* entry = nullptr;
  std::unique_ptr<LoadBalancer> lb;
  std::vector<EndpointState> states;
  std::vector<std::vector<UpstreamConnection*>> idle;  // per endpoint, most recent last
  std::vector<tls::ClientSessionCache> tls_sessions;  // per endpoint: resumption for https
};

class UpstreamPool : public std::enable_shared_from_this<UpstreamPool> {
 public:
  UpstreamPool(loop::EventLoop& loop, UpstreamDirectoryPtr directory, uint64_t seed);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  loop::EventLoop& loop() { return loop_; }
  ClusterRuntime& cluster(size_t i) { return clusters_[i]; }
  size_t clusterCount() const { return clusters_.size(); }
  const UpstreamDirectory& directory() const { return *directory_; }

  // An idle connection to that endpoint, attached to `user`, or nullptr.
  UpstreamConnection* takeIdle(size_t cluster, size_t endpoint, net::ConnectionHandler& user);
  // A new connection, connecting, attached to `user`; nullptr with `rc` set
  // when the connect failed synchronously (or the address did not resolve).
  UpstreamConnection* connect(size_t cluster, size_t endpoint, net::ConnectionHandler& user, int& rc);
  // Back to the idle list (reading, to notice a close), or closed when the
  // list is full or the connection served its max requests.
  void release(UpstreamConnection* c);
  // Closes every idle connection, and every one released later (drain).
  void closeIdle();

  uint64_t connectsStarted() const { return connects_; }

 private:
  friend class UpstreamConnection;
  void removeIdle(UpstreamConnection* c);

  loop::EventLoop& loop_;
  UpstreamDirectoryPtr directory_;
  std::vector<ClusterRuntime> clusters_;
  uint64_t connects_ = 0;
  bool draining_ = false;
  size_t live_ = 0;  // connections not yet freed
};

}  // namespace plexgate::proxy
