#include "support/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "parsers/http1_parser.h"

namespace plexgate::test {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

class Collector : public parsers::Http1Handler {
 public:
  explicit Collector(bool head_request) : head_request_(head_request) {}
  parsers::Next onHead(parsers::MessageHead& h) override {
    r.status = h.status;
    r.http_minor = h.http_minor;
    r.keep_alive = h.keep_alive;
    r.chunked = h.chunked;
    for (const auto& f : h.headers) {
      r.headers.emplace_back(std::string(f.name), std::string(f.value));
    }
    return head_request_ ? parsers::Next::SkipBody : parsers::Next::Continue;
  }
  parsers::Next onBody(std::string_view chunk) override {
    r.body.append(chunk);
    return parsers::Next::Continue;
  }
  parsers::Next onMessageComplete() override {
    done = true;
    return parsers::Next::Pause;
  }
  Response r;
  bool done = false;

 private:
  bool head_request_;
};

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) {
      return v;
    }
  }
  return "";
}

bool Response::hasHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.first, name)) {
      return true;
    }
  }
  return false;
}

std::string get(std::string_view target, std::string_view extra_headers) {
  std::string out = "GET ";
  out.append(target).append(" HTTP/1.1\r\nHost: test\r\n").append(extra_headers).append("\r\n");
  return out;
}

TestClient::TestClient(uint16_t port, const char* host) {
  // An IPv4 or IPv6 literal ("127.0.0.1", "::1").
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    return;
  }
  fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

TestClient::~TestClient() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

bool TestClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void TestClient::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

bool TestClient::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_ || fd_ < 0) {
    return false;
  }
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if (rc <= 0) {
      return false;
    }
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }
}

std::optional<Response> TestClient::readResponse(Millis timeout, bool head_request) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Parse from the start of the buffer each time: a partial head's spans
    // must not outlive a reallocation of buffer_ by the next read.
    Collector c(head_request);
    parsers::Http1Parser parser(parsers::Http1Parser::Type::Response, parsers::Http1Limits{}, c);
    const parsers::ExecResult r = parser.execute(buffer_.data(), buffer_.size());
    if (r.status == parsers::ExecResult::Status::Error) {
      return std::nullopt;
    }
    if (c.done) {
      buffer_.erase(0, r.consumed);
      return std::move(c.r);
    }
    if (!fill(deadline)) {
      if (eof_) {
        const parsers::ExecResult f = parser.finish();
        if (f.status != parsers::ExecResult::Status::Error && c.done) {
          buffer_.clear();
          return std::move(c.r);
        }
      }
      return std::nullopt;
    }
  }
}

bool TestClient::readUntil(std::string_view end, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffer_.find(end) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline || !fill(deadline)) {
      return false;
    }
  }
  return true;
}

bool TestClient::waitClosed(Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    if (!fill(deadline) && !eof_) {
      return false;
    }
  }
  return true;
}

std::string TestClient::readAll(Millis timeout) {
  waitClosed(timeout);
  return std::exchange(buffer_, std::string());
}

}  // namespace plexgate::test
