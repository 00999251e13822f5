// Request heads shared by the benchmarks (parsing, head rewriting): a
// minimal GET (~60 B), a typical browser request (~500 B, 12 headers) and
// a 60-header request, chosen by a benchmark argument 0, 1 or 2.
#pragma once

#include <cstdint>
#include <string>

namespace plexgate::bench {

inline std::string smallRequest() {
  return "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
}

inline std::string browserRequest() {
  return "GET /search?q=plexgate&lang=en HTTP/1.1\r\n"
         "Host: www.example.com\r\n"
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
         "Safari/537.36\r\n"
         "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
         "Accept-Language: en-US,en;q=0.9\r\n"
         "Accept-Encoding: gzip, deflate, br\r\n"
         "Connection: keep-alive\r\n"
         "Cookie: session=4f2a9c1e7b; theme=dark\r\n"
         "Upgrade-Insecure-Requests: 1\r\n"
         "Sec-Fetch-Dest: document\r\n"
         "Sec-Fetch-Mode: navigate\r\n"
         "Sec-Fetch-Site: none\r\n"
         "Cache-Control: max-age=0\r\n"
         "\r\n";
}

inline std::string manyHeadersRequest() {
  std::string r = "GET /api/v1/items HTTP/1.1\r\nHost: api.example.com\r\n";
  for (int i = 1; i < 60; ++i) {
    r += "X-Custom-Header-" + std::to_string(i) + ": value-" + std::to_string(i * 7919) + "\r\n";
  }
  return r + "\r\n";
}

inline std::string requestFor(int64_t shape) {
  switch (shape) {
    case 0:
      return smallRequest();
    case 1:
      return browserRequest();
    default:
      return manyHeadersRequest();
  }
}

inline const char* shapeName(int64_t shape) {
  switch (shape) {
    case 0:
      return "small";
    case 1:
      return "browser";
    default:
      return "60_headers";
  }
}

}  // namespace plexgate::bench
