#include "engine/net/address.h"

#include <arpa/inet.h>
#include <uv.h>

#include <charconv>
#include <cstring>

namespace plexgate::net {

uint16_t Address::port() const {
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

void Address::setPort(uint16_t port) {
  if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  }
}

std::string Address::hostString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof(buf));
  }
  return buf;
}

std::string Address::toString() const {
  if (family() == AF_INET6) {
    return "[" + hostString() + "]:" + std::to_string(port());
  }
  return hostString() + ":" + std::to_string(port());
}

std::optional<Address> makeAddress(std::string_view host, uint16_t port) {
  Address a;
  std::string h(host == "localhost" ? std::string_view("127.0.0.1") : host);
  if (h.empty()) {
    h = "0.0.0.0";
  }
  if (h.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (uv_ip6_addr(h.c_str(), port, in6) != 0) {
      return std::nullopt;
    }
    a.len = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    if (uv_ip4_addr(h.c_str(), port, in4) != 0) {
      return std::nullopt;
    }
    a.len = sizeof(sockaddr_in);
  }
  return a;
}

std::optional<Address> parseHostPort(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return std::nullopt;  // IPv6 needs brackets
    }
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    return std::nullopt;
  }
  return makeAddress(host, static_cast<uint16_t>(value));
}

std::string peerString(const sockaddr_storage& ss) {
  Address a;
  a.storage = ss;
  return a.hostString();
}

}  // namespace plexgate::net

namespace plexgate::net {

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  const size_t slash = text.find('/');
  const std::string host(text.substr(0, slash));
  c.family = host.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(c.family, host.c_str(), c.bytes) != 1) {
    return std::nullopt;
  }
  const int max = c.family == AF_INET ? 32 : 128;
  c.prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    int v = -1;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || v < 0 || v > max) {
      return std::nullopt;
    }
    c.prefix = v;
  }
  return c;
}

bool Cidr::contains(const sockaddr_storage& ss) const {
  const uint8_t* addr = nullptr;
  if (ss.ss_family == AF_INET && family == AF_INET) {
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (family == AF_INET6) {
      addr = a6;
    } else if (std::memcmp(a6, kMapped, 12) == 0) {
      addr = a6 + 12;
    }
  }
  if (addr == nullptr) {
    return false;
  }
  const int full = prefix / 8;
  if (std::memcmp(addr, bytes, static_cast<size_t>(full)) != 0) {
    return false;
  }
  const int rest = prefix % 8;
  if (rest == 0) {
    return true;
  }
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (bytes[full] & mask);
}

}  // namespace plexgate::net
