// TestClient: a blocking HTTP/1.1 client over a real socket to 127.0.0.1,
// for integration tests. Every read waits with poll() up to a deadline, so
// tests await conditions instead of sleeping. Responses are parsed with the
// project's own parser in response mode (llhttp underneath).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plexgate::test {

struct Response {
  int status = 0;
  uint8_t http_minor = 1;
  bool keep_alive = true;
  bool chunked = false;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First header with this name (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
};

class TestClient {
 public:
  using Millis = std::chrono::milliseconds;

  // `host` is an IPv4 or IPv6 literal.
  explicit TestClient(uint16_t port, const char* host = "127.0.0.1");
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Writes all bytes (blocking). False when the peer is gone.
  bool send(std::string_view bytes);
  // Half-closes the write side.
  void shutdownWrite();
  // One whole response, or nullopt on timeout/close/garbage. Set
  // `head_request` when the request was HEAD (no body follows).
  std::optional<Response> readResponse(Millis timeout = Millis(5000), bool head_request = false);
  // True when the server closes (EOF or reset) before `timeout`, with no
  // more response bytes; bytes that do arrive are kept in extra().
  bool waitClosed(Millis timeout = Millis(5000));
  // Reads until close or timeout; returns everything (buffered bytes too).
  std::string readAll(Millis timeout = Millis(5000));
  // Reads whatever arrives before `timeout` into extra() (raw protocols,
  // such as a tunnel after 101). False on timeout or close.
  bool readMore(Millis timeout) { return fill(std::chrono::steady_clock::now() + timeout); }
  // Reads into extra() until `end` appears there. False on timeout or close.
  bool readUntil(std::string_view end, Millis timeout = Millis(3000));
  // Bytes received but not part of a returned response.
  const std::string& extra() const { return buffer_; }
  int fd() const { return fd_; }

 private:
  // Appends what arrives before the deadline; false on timeout, EOF or error.
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool eof_ = false;
  std::string buffer_;
};

// "GET / HTTP/1.1\r\nHost: test\r\n\r\n"
std::string get(std::string_view target, std::string_view extra_headers = "");

}  // namespace plexgate::test
