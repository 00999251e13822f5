// What the proxied requests of one worker did upstream, for /metrics. Written
// by the worker's thread only, read (relaxed) by whoever sums them.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace plexgate::proxy {

// Why an upstream attempt failed (ProxyStream). The counters index by it.
enum class UpstreamFailure : uint8_t {
  NoEndpoint,       // no healthy instance to try: 503
  ConnectFailed,    // refused, unreachable, reset while connecting
  ConnectTimeout,
  ResponseTimeout,  // request sent, no response head in time
  Reset,            // the connection broke while the exchange ran (or a retried 503)
  BadResponse,      // the response was not valid HTTP/1.x
  IdleTimeout,      // a body stopped moving
  TlsHandshake,
  TlsCertificate,   // the upstream's certificate did not verify
};
inline constexpr size_t kUpstreamFailureKinds = static_cast<size_t>(UpstreamFailure::TlsCertificate) + 1;

// "no_endpoint", "connect_failed", ...: the /metrics label value.
const char* upstreamFailureName(UpstreamFailure f);

struct UpstreamCounters {
  std::atomic<uint64_t> attempts{0};  // each try, retries included
  std::atomic<uint64_t> connects{0};  // of which on a new connection (the rest reused a pooled one)
  std::atomic<uint64_t> retries{0};   // failed attempts that were tried again
  std::array<std::atomic<uint64_t>, kUpstreamFailureKinds> failures{};  // by UpstreamFailure
};

}  // namespace plexgate::proxy
