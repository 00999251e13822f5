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
  // Chunk extensions (";name=value" after a chunk size) across one message.
  // They are not body bytes, so max_body_bytes does not see them, yet a
  // proxy forwards them (CVE-2024-22019 is the same hole in Node's llhttp).
  uint32_t max_chunk_extension_bytes = 16 * 1024;
};

}  // namespace plexgate::parsers
