// Socket address parsing and formatting for listeners and upstreams.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace plexgate::net {

struct Address {
  sockaddr_storage storage{};
  socklen_t len = 0;

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  std::string toString() const;  // "127.0.0.1:80", "[::1]:80"
  std::string hostString() const;  // "127.0.0.1", "::1"
};

// `host` is an IPv4 or IPv6 literal (no brackets) or "localhost".
std::optional<Address> makeAddress(std::string_view host, uint16_t port);
// "127.0.0.1:8080", "[::1]:8080", "localhost:8080", ":8080" (all IPv4).
std::optional<Address> parseHostPort(std::string_view text);
// The peer address of a connected socket, as the access log prints it.
std::string peerString(const sockaddr_storage& ss);

// An address block, "10.0.0.0/8" or "::1/128"; IPv4-mapped IPv6 peers
// match IPv4 blocks.
struct Cidr {
  int family = 0;
  uint8_t bytes[16] = {};
  int prefix = 0;
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const sockaddr_storage& ss) const;
};

}  // namespace plexgate::net
