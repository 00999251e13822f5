#include "support/scripted_upstream.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>

namespace plexgate::test {

namespace detail {

// State shared by the accept thread, the connection threads and the test.
struct UpstreamShared {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  size_t accepted = 0;
  size_t requests = 0;
  size_t active = 0;
  bool stop_accepting = false;
  // eventfd written once at shutdown and never read, so it stays readable
  // and wakes every helper that polls it. Immutable after construction.
  int stop_fd = -1;

  void onRequest() {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++requests;
    }
    cv.notify_all();
  }
};

}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Generous bounds so a runaway peer cannot make the fixture allocate forever.
constexpr size_t kMaxHeadBytes = 64 * 1024;
constexpr size_t kMaxChunkLine = 4096;
constexpr uint64_t kMaxBodyBytes = 64ull * 1024 * 1024;

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool isTchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
    return true;
  }
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTchar);
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits a comma list into trimmed, non-empty elements.
std::vector<std::string_view> commaList(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    const std::string_view item = trimOws(s.substr(0, comma));
    if (!item.empty()) {
      out.push_back(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    s.remove_prefix(comma + 1);
  }
  return out;
}

bool hasToken(std::string_view list, std::string_view token) {
  for (const std::string_view item : commaList(list)) {
    if (iequals(item, token)) {
      return true;
    }
  }
  return false;
}

// Field line "name: value" (no obs-fold, no CTLs but HTAB in the value).
bool parseField(std::string_view line, Headers& out) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || !isToken(line.substr(0, colon))) {
    return false;
  }
  const std::string_view value = trimOws(line.substr(colon + 1));
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return false;
    }
  }
  out.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return true;
}

enum class Parse { Complete, NeedMore, Error };

struct ParseOutcome {
  Parse status = Parse::NeedMore;
  size_t consumed = 0;
  // NeedMore: the buffer size below which parsing again cannot succeed, so
  // a large body is not re-parsed on every read.
  size_t need = 0;
  ReceivedRequest request;
};

// Decodes a chunked body starting at `pos`. Sets consumed to the end of the
// trailer section on success.
ParseOutcome parseChunked(std::string_view in, size_t pos, ParseOutcome out) {
  for (;;) {
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      out.status = in.size() - pos > kMaxChunkLine ? Parse::Error : Parse::NeedMore;
      return out;
    }
    const std::string_view line = in.substr(pos, eol - pos);
    size_t digits = 0;
    uint64_t size = 0;
    while (digits < line.size() && std::isxdigit(static_cast<unsigned char>(line[digits])) != 0) {
      if (digits == 15) {
        out.status = Parse::Error;
        return out;
      }
      const char c = lower(line[digits]);
      size = size * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
      ++digits;
    }
    const std::string_view rest = trimOws(line.substr(digits));
    if (digits == 0 || (!rest.empty() && rest.front() != ';')) {
      out.status = Parse::Error;
      return out;
    }
    pos = eol + 2;
    if (size == 0) {
      break;
    }
    if (out.request.body.size() + size > kMaxBodyBytes) {
      out.status = Parse::Error;
      return out;
    }
    if (in.size() - pos < size + 2) {
      out.status = Parse::NeedMore;
      out.need = pos + size + 2;
      return out;
    }
    if (in.substr(pos + size, 2) != "\r\n") {
      out.status = Parse::Error;
      return out;
    }
    out.request.body.append(in.substr(pos, size));
    pos += size + 2;
  }
  // Trailer section: field lines up to an empty line.
  for (;;) {
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      out.status = in.size() - pos > kMaxHeadBytes ? Parse::Error : Parse::NeedMore;
      return out;
    }
    if (eol == pos) {
      out.consumed = eol + 2;
      out.status = Parse::Complete;
      return out;
    }
    if (!parseField(in.substr(pos, eol - pos), out.request.trailers)) {
      out.status = Parse::Error;
      return out;
    }
    pos = eol + 2;
  }
}

// A small strict HTTP/1.1 request parser, independent of the proxy's own
// (llhttp-based) one so that a bug there cannot hide a bug in what the
// proxy sends. CRLF line endings only; TE wins over CL, TE must end in
// chunked; conflicting Content-Lengths are malformed.
ParseOutcome parseRequest(std::string_view in) {
  ParseOutcome out;
  size_t start = 0;
  while (in.substr(start, 2) == "\r\n") {  // RFC 9112 2.2: ignore leading empty lines
    start += 2;
  }
  const size_t first_eol = in.find("\r\n", start);
  if (first_eol == std::string_view::npos) {
    const bool bad = in.size() - start > kMaxHeadBytes || in.find('\n', start) != std::string_view::npos;
    out.status = bad ? Parse::Error : Parse::NeedMore;  // a bare LF is an error
    return out;
  }
  // Request line, checked as soon as it is complete so garbage fails fast.
  const std::string_view line = in.substr(start, first_eol - start);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    out.status = Parse::Error;
    return out;
  }
  ReceivedRequest& r = out.request;
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  r.version = std::string(line.substr(sp2 + 1));
  const bool version_ok = r.version.size() == 8 && r.version.compare(0, 5, "HTTP/") == 0 &&
                          std::isdigit(static_cast<unsigned char>(r.version[5])) != 0 && r.version[6] == '.' &&
                          std::isdigit(static_cast<unsigned char>(r.version[7])) != 0;
  const bool target_ok = !r.target.empty() && std::none_of(r.target.begin(), r.target.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
  if (!isToken(r.method) || !target_ok || !version_ok) {
    out.status = Parse::Error;
    return out;
  }
  const size_t head_end = in.find("\r\n\r\n", first_eol);
  if (head_end == std::string_view::npos) {
    out.status = in.size() - start > kMaxHeadBytes ? Parse::Error : Parse::NeedMore;
    return out;
  }
  // Field lines.
  size_t pos = first_eol + 2;
  while (pos < head_end + 2) {
    const size_t eol = in.find("\r\n", pos);
    const std::string_view field = in.substr(pos, eol - pos);
    if (field.find('\n') != std::string_view::npos || field.find('\r') != std::string_view::npos ||
        !parseField(field, r.headers)) {
      out.status = Parse::Error;
      return out;
    }
    pos = eol + 2;
  }
  const size_t body_start = head_end + 4;
  // Framing.
  std::string te;
  std::optional<uint64_t> content_length;
  for (const auto& [name, value] : r.headers) {
    if (iequals(name, "transfer-encoding")) {
      te += te.empty() ? value : "," + value;
    } else if (iequals(name, "content-length")) {
      for (const std::string_view item : commaList(value)) {
        if (item.size() > 15 || !std::all_of(item.begin(), item.end(), [](char c) {
              return std::isdigit(static_cast<unsigned char>(c)) != 0;
            })) {
          out.status = Parse::Error;
          return out;
        }
        const uint64_t n = std::stoull(std::string(item));
        if (content_length && *content_length != n) {
          out.status = Parse::Error;
          return out;
        }
        content_length = n;
      }
    }
  }
  if (!te.empty()) {
    const auto codings = commaList(te);
    if (codings.empty() || !iequals(codings.back(), "chunked")) {
      out.status = Parse::Error;
      return out;
    }
    r.chunked = true;
    out = parseChunked(in, body_start, std::move(out));
  } else {
    const uint64_t length = content_length.value_or(0);
    if (length > kMaxBodyBytes) {
      out.status = Parse::Error;
      return out;
    }
    if (in.size() - body_start < length) {
      out.status = Parse::NeedMore;
      out.need = body_start + length;
      return out;
    }
    r.body = std::string(in.substr(body_start, length));
    out.consumed = body_start + length;
    out.status = Parse::Complete;
  }
  if (out.status == Parse::Complete) {
    out.request.raw = std::string(in.substr(start, out.consumed - start));
  }
  return out;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

int msLeft(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<Millis>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30));
}

bool stopRequested(int stop_fd) {
  pollfd p{stop_fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

// ---------------------------------------------------------------------------
// ReceivedRequest

std::string ReceivedRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) {
      return v;
    }
  }
  return "";
}

bool ReceivedRequest::hasHeader(std::string_view name) const { return headerCount(name) > 0; }

size_t ReceivedRequest::headerCount(std::string_view name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(),
                                           [&](const auto& h) { return iequals(h.first, name); }));
}

std::string formatResponse(int status, std::string_view body, const Headers& headers, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  bool framed = (status >= 100 && status < 200) || status == 204;
  for (const auto& [name, value] : headers) {
    out.append(name).append(": ").append(value).append("\r\n");
    framed = framed || iequals(name, "content-length") || iequals(name, "transfer-encoding");
  }
  if (!framed) {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n");
  if (!head_only) {
    out.append(body);
  }
  return out;
}

// ---------------------------------------------------------------------------
// UpstreamConn

UpstreamConn::UpstreamConn(int fd, detail::UpstreamShared* shared) : fd_(fd), shared_(shared) {}

UpstreamConn::~UpstreamConn() { close(); }

UpstreamConn::Fill UpstreamConn::fill(Clock::time_point deadline) {
  if (fd_ < 0 || eof_) {
    return Fill::Eof;
  }
  for (;;) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {shared_->stop_fd, POLLIN, 0}};
    const int rc = ::poll(p, 2, msLeft(deadline));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if ((p[1].revents & POLLIN) != 0) {
      return Fill::Stopped;
    }
    if (rc <= 0) {
      return Fill::Timeout;
    }
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n <= 0) {
      reset_by_peer_ = n < 0 && errno == ECONNRESET;
      eof_ = true;
      return Fill::Eof;
    }
    in_.append(buf, static_cast<size_t>(n));
    return Fill::Data;
  }
}

std::optional<ReceivedRequest> UpstreamConn::readRequest(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (stopRequested(shared_->stop_fd)) {
      return std::nullopt;
    }
    ParseOutcome parsed = parseRequest(in_);
    if (parsed.status == Parse::Error) {
      return std::nullopt;
    }
    if (parsed.status == Parse::Complete) {
      in_.erase(0, parsed.consumed);
      shared_->onRequest();
      return std::move(parsed.request);
    }
    do {
      if (fill(deadline) != Fill::Data) {
        return std::nullopt;
      }
    } while (in_.size() < parsed.need);
  }
}

bool UpstreamConn::send(std::string_view bytes) {
  const auto deadline = Clock::now() + kSendTimeout;
  while (!bytes.empty()) {
    if (fd_ < 0) {
      return false;
    }
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno != EAGAIN) {
      return false;
    }
    pollfd p[2] = {{fd_, POLLOUT, 0}, {shared_->stop_fd, POLLIN, 0}};
    const int rc = ::poll(p, 2, msLeft(deadline));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if (rc <= 0 || (p[1].revents & POLLIN) != 0) {
      return false;
    }
  }
  return true;
}

bool UpstreamConn::sendResponse(int status, std::string_view body, const Headers& headers) {
  return send(formatResponse(status, body, headers));
}

void UpstreamConn::shutdownWrite() {
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_WR);
  }
}

void UpstreamConn::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void UpstreamConn::reset() {
  if (fd_ >= 0) {
    const linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close();
  }
}

bool UpstreamConn::waitPeerClosed(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!eof_) {
    const Fill f = fill(deadline);
    if (f == Fill::Timeout || f == Fill::Stopped) {
      return false;
    }
    if (f == Fill::Eof && fd_ < 0) {
      return false;  // we closed it ourselves
    }
  }
  return true;
}

std::string UpstreamConn::readRaw(size_t max, Millis timeout) {
  if (in_.empty() && fill(Clock::now() + timeout) != Fill::Data) {
    return "";
  }
  const size_t n = std::min(max, in_.size());
  std::string out = in_.substr(0, n);
  in_.erase(0, n);
  return out;
}

std::optional<std::string> UpstreamConn::readRawExactly(size_t n, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (in_.size() < n) {
    if (fill(deadline) != Fill::Data) {
      return std::nullopt;
    }
  }
  std::string out = in_.substr(0, n);
  in_.erase(0, n);
  return out;
}

// ---------------------------------------------------------------------------
// ScriptedUpstream

ScriptedUpstream::ScriptedUpstream(Script script)
    : script_(std::move(script)), shared_(std::make_unique<detail::UpstreamShared>()) {
  shared_->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  accept_wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (shared_->stop_fd < 0 || accept_wake_fd_ < 0 || listen_fd_ < 0) {
    ADD_FAILURE() << "ScriptedUpstream: " << std::strerror(errno);
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "ScriptedUpstream: cannot listen: " << std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return;
  }
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { acceptLoop(); });
}

ScriptedUpstream::~ScriptedUpstream() {
  stopAccepting();
  if (shared_->stop_fd >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(shared_->stop_fd, &one, sizeof(one));
  }
  std::vector<std::unique_ptr<Worker>> workers;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    workers.swap(workers_);
  }
  for (auto& w : workers) {
    w->thread.join();
  }
  if (listen_fd_ >= 0) {  // the accept thread never started
    ::close(listen_fd_);
  }
  if (accept_wake_fd_ >= 0) {
    ::close(accept_wake_fd_);
  }
  if (shared_->stop_fd >= 0) {
    ::close(shared_->stop_fd);
  }
}

std::string ScriptedUpstream::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

size_t ScriptedUpstream::connectionsAccepted() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->accepted;
}

size_t ScriptedUpstream::requestsSeen() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->requests;
}

bool ScriptedUpstream::waitConnections(size_t n, Millis timeout) const {
  std::unique_lock<std::mutex> lock(shared_->mu);
  return shared_->cv.wait_for(lock, timeout, [&] { return shared_->accepted >= n; });
}

bool ScriptedUpstream::waitRequests(size_t n, Millis timeout) const {
  std::unique_lock<std::mutex> lock(shared_->mu);
  return shared_->cv.wait_for(lock, timeout, [&] { return shared_->requests >= n; });
}

void ScriptedUpstream::stopAccepting() {
  std::lock_guard<std::mutex> serial(stop_accept_mu_);
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stop_accepting = true;
  }
  shared_->cv.notify_all();
  if (accept_wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(accept_wake_fd_, &one, sizeof(one));
  }
  if (accept_thread_.joinable()) {
    accept_thread_.join();  // it closes the listening socket on its way out
  }
}

void ScriptedUpstream::acceptLoop() {
  for (;;) {
    reapFinished();
    {
      std::unique_lock<std::mutex> lock(shared_->mu);
      shared_->cv.wait(lock, [&] { return shared_->stop_accepting || shared_->active < kMaxActiveConnections; });
      if (shared_->stop_accepting) {
        break;
      }
    }
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {accept_wake_fd_, POLLIN, 0}};
    // Waits for a connection or stopAccepting(), whichever comes first.
    const int rc = ::poll(p, 2, -1);
    if (rc < 0 && errno != EINTR) {
      ADD_FAILURE() << "ScriptedUpstream: poll: " << std::strerror(errno);
      break;
    }
    if ((p[1].revents & POLLIN) != 0) {
      break;
    }
    if ((p[0].revents & POLLIN) == 0) {
      continue;
    }
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      continue;  // EAGAIN (the peer went away first), ECONNABORTED, EINTR
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    launch(fd);
  }
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void ScriptedUpstream::launch(int fd) {
  auto worker = std::make_unique<Worker>();
  Worker* w = worker.get();
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    ++shared_->accepted;
    ++shared_->active;
    workers_.push_back(std::move(worker));
  }
  shared_->cv.notify_all();
  // The thread object is written here and read only by reapFinished() (this
  // same thread) or the destructor (after this thread has been joined).
  w->thread = std::thread([this, w, fd] {
    {
      UpstreamConn conn(fd, shared_.get());
      try {
        script_(conn);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "ScriptedUpstream script threw: " << e.what();
      } catch (...) {
        ADD_FAILURE() << "ScriptedUpstream script threw";
      }
    }
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      w->done = true;
      --shared_->active;
    }
    shared_->cv.notify_all();
  });
}

void ScriptedUpstream::reapFinished() {
  std::vector<std::unique_ptr<Worker>> finished;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    auto it = std::stable_partition(workers_.begin(), workers_.end(), [](const auto& w) { return !w->done; });
    for (auto j = it; j != workers_.end(); ++j) {
      finished.push_back(std::move(*j));
    }
    workers_.erase(it, workers_.end());
  }
  for (auto& w : finished) {
    w->thread.join();
  }
}

ScriptedUpstream::Script keepAliveResponder(int status, std::string body) {
  return [status, body = std::move(body)](UpstreamConn& conn) {
    for (;;) {
      const auto request = conn.readRequest(std::chrono::seconds(30));
      if (!request) {
        return;
      }
      const bool close = hasToken(request->header("connection"), "close") ||
                         (request->version == "HTTP/1.0" && !hasToken(request->header("connection"), "keep-alive"));
      Headers headers;
      if (close) {
        headers.emplace_back("Connection", "close");
      }
      if (!conn.send(formatResponse(status, body, headers, request->method == "HEAD")) || close) {
        return;
      }
    }
  };
}

}  // namespace plexgate::test
