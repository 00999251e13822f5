#include "engine/http/response_writer.h"

#include <charconv>
#include <cstring>
#include <string>

namespace plexgate::http {

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: break;
  }
  return status < 200 ? "Informational" : status < 300 ? "OK" : status < 400 ? "Redirect"
       : status < 500 ? "Client Error" : "Server Error";
}

namespace {

struct Out {
  char* p;
  void put(std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void putNum(uint64_t v) {
    auto r = std::to_chars(p, p + 20, v);
    p = r.ptr;
  }
};

}  // namespace

void writeResponseHead(buf::BufferChain& out, const ResponseHead& h) {
  const std::string_view reason = reasonPhrase(h.status);
  size_t bound = 9 + 4 + reason.size() + 2 + 8 + h.date.size() + 2 + 18 + 40 + 28 + 24 + 2 +
                 16 + h.content_type.size();
  for (size_t i = 0; i < h.header_count; ++i) {
    bound += h.headers[i].first.size() + h.headers[i].second.size() + 4;
  }
  std::string heap;
  char* base;
  const bool in_slice = bound <= buf::kDefaultSliceSize;
  if (in_slice) {
    base = out.reserve(bound);
  } else {
    heap.resize(bound);
    base = heap.data();
  }
  Out o{base};
  o.put("HTTP/1.1 ");
  o.putNum(static_cast<uint64_t>(h.status));
  o.put(" ");
  o.put(reason);
  o.put("\r\nServer: plexgate\r\nDate: ");
  o.put(h.date);
  o.put("\r\n");
  if (!h.content_type.empty()) {
    o.put("Content-Type: ");
    o.put(h.content_type);
    o.put("\r\n");
  }
  for (size_t i = 0; i < h.header_count; ++i) {
    o.put(h.headers[i].first);
    o.put(": ");
    o.put(h.headers[i].second);
    o.put("\r\n");
  }
  if (h.chunked) {
    o.put("Transfer-Encoding: chunked\r\n");
  } else if (h.content_length) {
    o.put("Content-Length: ");
    o.putNum(*h.content_length);
    o.put("\r\n");
  }
  if (h.connection == ConnectionHeader::Close) {
    o.put("Connection: close\r\n");
  } else if (h.connection == ConnectionHeader::KeepAlive) {
    o.put("Connection: keep-alive\r\n");
  }
  o.put("\r\n");
  const size_t used = static_cast<size_t>(o.p - base);
  if (in_slice) {
    out.commit(used);
  } else {
    out.appendCopy(std::string_view(base, used));
  }
}

void writeChunkHeader(buf::BufferChain& out, size_t len) {
  char* p = out.reserve(20);
  auto r = std::to_chars(p, p + 16, static_cast<uint64_t>(len), 16);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  out.commit(static_cast<size_t>(r.ptr + 2 - p));
}

}  // namespace plexgate::http
