// Fuzzes the whole server session: each input is one client connection to a
// real plexgate WorkerSet (one worker on its own thread, as in production)
// on 127.0.0.1. Input layout:
//   byte 0: seed for the cut points
//   byte 1: cut mode (0 whole, 1 pieces up to 8 bytes, 2 up to 64, 3 up to 1 KiB)
//   rest:   the bytes the client sends
// The client sends the pieces as separate segments (TCP_NODELAY) while it
// reads whatever the server answers, shuts its write side, and reads until
// the server closes. Behind the front listener are every kind of route:
// respond, echo, a proxy to a live origin (a second listener of the same
// server: responses with Content-Length and chunked bodies stream back), a
// proxy to a dead port (502), the fan-out API (/zosmf/gateway/...) with
// systems on the live origin and on the dead port, and the admin pages
// (/metrics, /admin, /application/health, /application/info). Idle connections park
// at once (`park: 0ms`), so one input's requests often land on several
// Sessions of the same connection.
//
// What would be a finding (__builtin_trap, or a sanitizer report from any
// thread):
//   - the server does not close within kCloseDeadline after the client
//     finished sending (a hang);
//   - what it wrote does not parse as a sequence of HTTP/1.1 responses
//     (checked when no request used HEAD, whose answers carry no body, and
//     up to a 101);
//   - more responses than the input has request lines could ask for.
// The server is built once per process and drained at exit, so LSan sees
// every session freed. Seeds live in fuzz/corpus/session/. With
// SESSION_FUZZ_VERBOSE set, each answer's start is printed.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/config/config_loader.h"
#include "engine/loop/event_loop.h"
#include "engine/server/worker_set.h"
#include "parsers/http1_parser.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kCloseDeadline = std::chrono::seconds(10);
constexpr size_t kMaxKeptOutput = 1 << 20;  // answers past this are read and dropped

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "session_fuzz: %s\n", what);
  __builtin_trap();
}

// A port bound (not listening) with SO_REUSEPORT for the process's life:
// the server's origin listener binds the same port, and nothing else can
// take it between choosing it and binding it.
uint16_t reservePort(int& fd_out) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    finding("cannot bind 127.0.0.1:0");
  }
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  fd_out = fd;
  return ntohs(a.sin_port);
}

std::string configFor(uint16_t origin_port) {
  const std::string origin = "http://127.0.0.1:" + std::to_string(origin_port);
  return R"(workers: 1
listeners:
  - name: front
    address: 127.0.0.1:0
    fanout: true
    admin: true
    trusted_proxies: [127.0.0.1/32]
    routes:
      - prefix: /echo
        echo: {}
      - prefix: /big
        respond: {body_size: 20k}
      - prefix: /up
        proxy: {cluster: origin}
      - prefix: /dead
        proxy: {cluster: dead}
      - host: "*.example.com"
        prefix: /
        respond: {status: 201, body: "wild"}
      - prefix: /
        respond:
          body: "hello"
          headers: {X-A: b}
  - name: origin
    address: 127.0.0.1:)" +
         std::to_string(origin_port) + R"(
    routes:
      - prefix: /up/echo
        echo: {}
      - prefix: /up/big
        respond: {body_size: 40k}
      - prefix: /
        respond:
          body: '{"ok":true}'
          headers: {Content-Type: application/json}
clusters:
  - name: origin
    endpoints: [")" +
         origin + R"("]
    connect_timeout: 500ms
  - name: dead
    endpoints: ["http://127.0.0.1:1"]
    connect_timeout: 200ms
systems:
  - name: S1
    sysplex: P1
    groups: [G]
    url: )" + origin +
         R"(
    timeout: 1s
  - name: S2
    sysplex: P1
    url: )" + origin +
         R"(
    timeout: 1s
  - name: S3
    groups: [G]
    url: http://127.0.0.1:1
    timeout: 1s
limits:
  max_head_bytes: 8k
  max_headers: 32
  max_uri_bytes: 2k
  max_body_bytes: 64k
timeouts:
  header: 3s
  idle: 3s
  park: 0ms  # park between requests at once: each split may land on a new Session
  drain: 1s
)";
}

// The server, started on first use and drained when the process exits.
class Server {
 public:
  Server() {
    const uint16_t origin_port = reservePort(reserved_fd_);
    auto loaded = plexgate::config::loadString(configFor(origin_port), "session_fuzz.yaml");
    if (!loaded.ok()) {
      std::fprintf(stderr, "session_fuzz: %s\n", loaded.error->toString().c_str());
      std::abort();
    }
    std::string error;
    workers_ = plexgate::server::WorkerSet::create(loaded.config, 1, nullptr, error);
    if (!workers_) {
      std::fprintf(stderr, "session_fuzz: %s\n", error.c_str());
      std::abort();
    }
    control_ = std::make_unique<plexgate::loop::EventLoop>();
    workers_->start(*control_, [this](bool ok) {
      std::lock_guard<std::mutex> l(mu_);
      exited_ = true;
      clean_ = ok;
      cv_.notify_all();
      control_->stop();
    });
    control_thread_ = std::thread([this] { control_->run(); });
    port_ = workers_->addresses()[0].port();
  }

  ~Server() {
    workers_->drain(std::chrono::milliseconds(1000));
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return exited_; });
    }
    control_thread_.join();
    workers_->join();
    ::close(reserved_fd_);
    if (!clean_) {
      finding("a worker loop closed with handles still open");
    }
  }

  uint16_t port() const { return port_; }

 private:
  int reserved_fd_ = -1;
  std::unique_ptr<plexgate::server::WorkerSet> workers_;
  std::unique_ptr<plexgate::loop::EventLoop> control_;
  std::thread control_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool exited_ = false;
  bool clean_ = false;
  uint16_t port_ = 0;
};

Server& server() {
  static Server s;
  return s;
}

// The piece sizes for `n` bytes: a small xorshift stream from the seed.
std::vector<size_t> cuts(uint8_t seed, uint8_t mode, size_t n) {
  static constexpr size_t kMax[] = {0, 8, 64, 1024};
  std::vector<size_t> sizes;
  if (mode % 4 == 0 || n == 0) {
    sizes.push_back(n);
    return sizes;
  }
  uint32_t x = 0x9e3779b9u ^ seed;
  for (size_t left = n; left > 0;) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    const size_t take = std::min(left, 1 + x % kMax[mode % 4]);
    sizes.push_back(take);
    left -= take;
  }
  return sizes;
}

// One connection: sends `input` in `pieces`, reads until the server closes.
// Returns what the server wrote (at most kMaxKeptOutput bytes of it).
std::string converse(uint16_t port, std::string_view input, const std::vector<size_t>& pieces) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    finding("cannot connect to the server");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  std::string output;
  size_t piece = 0;
  size_t offset = 0;      // into input
  size_t piece_sent = 0;  // of pieces[piece]
  bool write_shut = false;
  const auto deadline_after_shut = [] { return Clock::now() + kCloseDeadline; };
  Clock::time_point deadline = Clock::now() + kCloseDeadline;
  for (;;) {
    if (!write_shut && piece == pieces.size()) {
      ::shutdown(fd, SHUT_WR);
      write_shut = true;
      deadline = deadline_after_shut();
    }
    pollfd p{fd, static_cast<short>(POLLIN | (write_shut ? 0 : POLLOUT)), 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      finding(write_shut ? "the server did not close after the client finished sending"
                         : "the server stopped reading and writing");
    }
    if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) {
      finding("poll failed");
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[16384];
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        break;  // closed (or reset): the conversation is over
      }
      if (n > 0) {
        if (output.size() < kMaxKeptOutput) {
          output.append(buf, static_cast<size_t>(n));
        }
        if (!write_shut) {
          deadline = Clock::now() + kCloseDeadline;  // progress
        }
      }
    }
    if (!write_shut && (p.revents & POLLOUT) != 0) {
      const size_t want = pieces[piece] - piece_sent;
      const ssize_t n = ::send(fd, input.data() + offset, want, MSG_NOSIGNAL);
      if (n > 0) {
        offset += static_cast<size_t>(n);
        piece_sent += static_cast<size_t>(n);
        if (piece_sent == pieces[piece]) {
          ++piece;
          piece_sent = 0;
        }
        deadline = Clock::now() + kCloseDeadline;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        piece = pieces.size();  // the server closed its side: stop sending
      }
    }
  }
  ::close(fd);
  return output;
}

// Counts the responses in `out` with the project's response parser; traps
// when they do not parse.
class ResponseCounter final : public plexgate::parsers::Http1Handler {
 public:
  plexgate::parsers::Next onHead(plexgate::parsers::MessageHead& head) override {
    ++heads;
    if (head.status / 100 != 1 || head.status == 101) {
      ++finals;
    }
    return plexgate::parsers::Next::Continue;
  }
  plexgate::parsers::Next onBody(std::string_view) override { return plexgate::parsers::Next::Continue; }
  plexgate::parsers::Next onMessageComplete() override { return plexgate::parsers::Next::Continue; }
  size_t heads = 0;
  size_t finals = 0;
};

void checkResponses(std::string_view input, const std::string& out) {
  if (out.empty() || out.size() >= kMaxKeptOutput || input.find("HEAD") != std::string_view::npos) {
    return;
  }
  ResponseCounter counter;
  plexgate::parsers::Http1Limits limits;
  limits.max_head_bytes = 64 * 1024;
  limits.max_headers = 256;
  plexgate::parsers::Http1Parser parser(plexgate::parsers::Http1Parser::Type::Response, limits, counter);
  const plexgate::parsers::ExecResult r = parser.execute(out.data(), out.size());
  using Status = plexgate::parsers::ExecResult::Status;
  if (r.status == Status::Error) {
    finding("the server wrote something that is not an HTTP/1.1 response");
  }
  // A response cut short is no finding by itself: the client may have ended
  // mid-request (EOF in a body), which aborts the exchange.
  // Each final response answers a request, and each request has a line
  // ending: more answers than line feeds sent is impossible (the 400 for a
  // head cut off by EOF is the one extra answer allowed).
  size_t lines = 1;
  for (char c : input) {
    lines += c == '\n' ? 1 : 0;
  }
  if (counter.finals > lines) {
    finding("more responses than requests");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 64 * 1024) {
    return 0;
  }
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::vector<size_t> pieces = cuts(data[0], data[1], input.size());
  const std::string out = converse(server().port(), input, pieces);
  static const bool verbose = std::getenv("SESSION_FUZZ_VERBOSE") != nullptr;
  if (verbose) {  // for reproducing a finding by hand
    std::fprintf(stderr, "--- %zu bytes in %zu pieces -> %zu bytes:\n%.*s\n", input.size(), pieces.size(),
                 out.size(), static_cast<int>(std::min<size_t>(out.size(), 600)), out.data());
  }
  checkResponses(input, out);
  return 0;
}
