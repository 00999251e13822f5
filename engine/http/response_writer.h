// Serializes HTTP/1.1 response heads and chunk framing straight into a
// BufferChain's tail slice (one memcpy per piece, no temporary strings).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "engine/buf/buffer_chain.h"

namespace plexgate::http {

enum class ConnectionHeader : uint8_t { None, KeepAlive, Close };

struct ResponseHead {
  int status = 200;
  std::string_view date;  // EventLoop::httpDate()
  ConnectionHeader connection = ConnectionHeader::None;
  std::optional<uint64_t> content_length;  // unset and !chunked: no header
  bool chunked = false;
  const std::pair<std::string, std::string>* headers = nullptr;  // extra headers
  size_t header_count = 0;
  std::string_view content_type;  // written when non-empty
};

std::string_view reasonPhrase(int status);
void writeResponseHead(buf::BufferChain& out, const ResponseHead& head);
// "1a2b\r\n" before a chunk of `len` bytes.
void writeChunkHeader(buf::BufferChain& out, size_t len);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace plexgate::http
