// ScriptedUpstream: a raw TCP server on 127.0.0.1:0, scripted like a VTest
// server, that plays the upstream in reverse-proxy tests (well-behaved or
// not). It owns one accept thread plus one thread per live connection; each
// connection thread runs the test's script on an UpstreamConn. The destructor
// stops accepting, wakes every blocked helper, and joins every thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace plexgate::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

// One request as the upstream received it.
struct ReceivedRequest {
  std::string method;
  std::string target;
  std::string version;  // "HTTP/1.1"
  Headers headers;      // in arrival order, values trimmed
  std::string body;     // decoded (chunk framing removed)
  std::string raw;      // exact bytes, request line through the end of the body
  Headers trailers;     // chunked trailer fields, if any
  bool chunked = false;

  // First header with this name (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
  // How many header lines carry this name (duplicate Content-Length, ...).
  size_t headerCount(std::string_view name) const;
};

namespace detail {
struct UpstreamShared;
}

// One accepted connection, used only by the script thread that owns it. All
// helpers are blocking with deadlines, and all fail at once (false, nullopt,
// "") after the ScriptedUpstream starts shutting down.
class UpstreamConn {
 public:
  using Millis = std::chrono::milliseconds;
  static constexpr Millis kDefaultTimeout{5000};
  // Bound on a send() that the peer does not read.
  static constexpr Millis kSendTimeout{10000};

  UpstreamConn(int fd, detail::UpstreamShared* shared);
  ~UpstreamConn();  // closes the socket if the script did not
  UpstreamConn(const UpstreamConn&) = delete;
  UpstreamConn& operator=(const UpstreamConn&) = delete;

  // One whole HTTP/1.1 request: Content-Length or chunked body, decoded into
  // body; bytes past it stay buffered for the next call (pipelining).
  // nullopt on EOF, timeout, shutdown or a malformed request.
  std::optional<ReceivedRequest> readRequest(Millis timeout = kDefaultTimeout);
  // Writes all bytes (raw, nothing added). False when the peer is gone.
  bool send(std::string_view bytes);
  // Status line + headers + Content-Length (unless `headers` already carry
  // Content-Length or Transfer-Encoding, or the status is 1xx/204) + body.
  bool sendResponse(int status, std::string_view body, const Headers& headers = {});
  void shutdownWrite();  // FIN
  void close();          // close(2); later helpers fail
  void reset();          // RST: SO_LINGER {1, 0}, then close(2)
  // True once the proxy side closed (EOF or reset). Bytes that arrive before
  // that are kept and returned by later reads.
  bool waitPeerClosed(Millis timeout);
  // Buffered bytes if any, else whatever arrives before the deadline, up to
  // `max` bytes. "" on timeout or EOF.
  std::string readRaw(size_t max, Millis timeout);
  // Exactly `n` bytes, or nullopt when they do not all arrive in time.
  std::optional<std::string> readRawExactly(size_t n, Millis timeout);
  bool peerClosed() const { return eof_; }
  bool peerReset() const { return reset_by_peer_; }
  int fd() const { return fd_; }

 private:
  enum class Fill { Data, Eof, Timeout, Stopped };
  // One recv() of whatever arrives before the deadline, appended to in_.
  Fill fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  detail::UpstreamShared* shared_;
  std::string in_;
  bool eof_ = false;
  bool reset_by_peer_ = false;
};

class ScriptedUpstream {
 public:
  using Millis = std::chrono::milliseconds;
  using Script = std::function<void(UpstreamConn&)>;
  // Connection threads alive at once; further connections wait in the
  // listen backlog until one finishes.
  static constexpr size_t kMaxActiveConnections = 64;

  // Binds 127.0.0.1:0 and starts accepting. Fails the test (ADD_FAILURE) and
  // leaves port() == 0 when it cannot listen. The script runs once per
  // connection, concurrently across connections, so anything it shares with
  // the test must be guarded by a mutex. When it returns, the connection is
  // closed (if it is still open).
  explicit ScriptedUpstream(Script script);
  ~ScriptedUpstream();
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:PORT"
  size_t connectionsAccepted() const;
  size_t requestsSeen() const;  // readRequest() successes, all connections
  bool waitConnections(size_t n, Millis timeout) const;
  bool waitRequests(size_t n, Millis timeout) const;
  // Closes the listening socket; later connects are refused. Connections
  // already accepted keep running. Idempotent; callable from a script.
  void stopAccepting();

 private:
  struct Worker {
    std::thread thread;
    bool done = false;  // guarded by shared_->mu
  };

  void acceptLoop();
  void launch(int fd);
  void reapFinished();

  Script script_;
  std::unique_ptr<detail::UpstreamShared> shared_;
  int listen_fd_ = -1;     // owned by the accept thread once it runs
  int accept_wake_fd_ = -1;  // eventfd: readable once stopAccepting() ran
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::mutex stop_accept_mu_;  // serializes stopAccepting()
  std::vector<std::unique_ptr<Worker>> workers_;  // guarded by shared_->mu
};

// Answers every request on the connection with `status` and `body` (kept
// alive) until EOF, idle timeout (30 s) or "Connection: close".
ScriptedUpstream::Script keepAliveResponder(int status, std::string body);

// "HTTP/1.1 <status> <reason>\r\n" + headers + Content-Length (same rule as
// sendResponse) + "\r\n" + body (omitted when `head_only`, e.g. for HEAD).
std::string formatResponse(int status, std::string_view body, const Headers& headers = {},
                           bool head_only = false);

}  // namespace plexgate::test
