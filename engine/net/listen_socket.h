// Creates listening sockets bound with SO_REUSEPORT, so each worker loop has
// its own socket on the same address and the kernel spreads connections
// (Debian's libuv 1.44 has no UV_TCP_REUSEPORT). Plain fds: created on the
// control thread at start-up, handed to worker loops, opened there with
// uv_tcp_open. Another plexgate process can bind the same port alongside.
#pragma once

#include <string>
#include <vector>

#include "engine/net/address.h"

namespace plexgate::net {

struct BoundSockets {
  std::vector<int> fds;  // one per worker
  Address address;       // with the real port when 0 was asked for
  std::string error;     // non-empty on failure (fds then empty)
};

// Binds `count` sockets to `addr`. Port 0: the first bind picks the port and
// the others join it.
BoundSockets bindReusePort(const Address& addr, size_t count);

}  // namespace plexgate::net
