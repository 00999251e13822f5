#include "engine/net/listen_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace plexgate::net {

namespace {
constexpr int kBacklog = 4096;
}  // namespace

BoundSockets bindReusePort(const Address& addr, size_t count) {
  BoundSockets out;
  out.address = addr;
  for (size_t i = 0; i < count; ++i) {
    const int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      out.error = std::string("socket: ") + std::strerror(errno);
      break;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      out.error = std::string("setsockopt(SO_REUSEPORT): ") + std::strerror(errno);
      ::close(fd);
      break;
    }
    if (addr.family() == AF_INET6) {
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (::bind(fd, out.address.sa(), out.address.len) != 0) {
      out.error = "bind " + out.address.toString() + ": " + std::strerror(errno);
      ::close(fd);
      break;
    }
    // Listen now, on the control thread: connections that arrive before the
    // worker loop starts wait in the backlog instead of being refused.
    if (::listen(fd, kBacklog) != 0) {
      out.error = "listen " + out.address.toString() + ": " + std::strerror(errno);
      ::close(fd);
      break;
    }
    if (out.address.port() == 0) {
      sockaddr_storage ss{};
      socklen_t len = sizeof(ss);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      Address bound;
      bound.storage = ss;
      bound.len = len;
      out.address.setPort(bound.port());
    }
    out.fds.push_back(fd);
  }
  if (!out.error.empty()) {
    for (int fd : out.fds) {
      ::close(fd);
    }
    out.fds.clear();
  }
  return out;
}

}  // namespace plexgate::net
