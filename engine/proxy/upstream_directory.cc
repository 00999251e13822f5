#include "engine/proxy/upstream_directory.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

namespace plexgate::proxy {

namespace {

std::optional<net::Address> resolve(const std::string& host, uint16_t port) {
  if (auto literal = net::makeAddress(host, port)) {
    return literal;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    return std::nullopt;
  }
  net::Address a;
  std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  a.setPort(port);
  ::freeaddrinfo(res);
  return a;
}

}  // namespace

UpstreamDirectory::UpstreamDirectory(config::ConfigPtr config) : config_(std::move(config)) {
  for (const config::Cluster& c : config_->clusters) {
    ClusterEntry ce;
    ce.config = &c;
    for (const config::UpstreamEndpoint& ep : c.endpoints) {
      EndpointEntry e;
      e.address = resolve(ep.host, ep.port);
      if (!e.address) {
        unresolved_.push_back(c.name + ": " + ep.url);
      }
      e.authority = ep.instance_id;
      e.healthy = std::make_unique<std::atomic<bool>>(true);
      ce.endpoints.push_back(std::move(e));
    }
    clusters_.push_back(std::move(ce));
  }
}

}  // namespace plexgate::proxy
