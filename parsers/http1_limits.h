// Limits the HTTP/1 parser enforces while it parses, so a hostile peer cannot
// make it hold more than these many bytes of head. Plain values, copied into
// each parser; 0 in max_body_bytes means "no body allowed beyond 0 bytes".
#pragma once

#include <cstdint>
#include <limits>

namespace plexgate::parsers {

struct Http1Limits {
  uint32_t max_head_bytes = 16 * 1024;
  uint32_t max_headers = 100;
  uint32_t max_uri_bytes = 8 * 1024;
  uint64_t max_body_bytes = std::numeric_limits<uint64_t>::max();
};

}  // namespace plexgate::parsers
