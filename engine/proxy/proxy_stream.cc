#include "engine/proxy/proxy_stream.h"

#include <charconv>

#include "engine/http/response_writer.h"
#include "parsers/ascii.h"

namespace plexgate::proxy {

namespace {

// Body bytes queued toward a peer beyond this stop reading from the other
// side until the queue drains below the low mark (Envoy-style watermarks).
constexpr size_t kHighWatermark = 256 * 1024;
constexpr size_t kLowWatermark = 64 * 1024;
// A request body is kept for a retry only while it is this small.
constexpr size_t kReplayLimit = 64 * 1024;

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE" ||
         method == "TRACE";
}

parsers::Http1Limits responseLimits() {
  parsers::Http1Limits l;
  l.max_head_bytes = 64 * 1024;
  l.max_headers = 256;
  l.max_uri_bytes = 64 * 1024;
  return l;
}

// Counters are this thread's alone: a plain add, no locked instruction.
void bump(std::atomic<uint64_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

}  // namespace

const char* upstreamFailureName(UpstreamFailure f) {
  switch (f) {
    case UpstreamFailure::NoEndpoint: return "no_endpoint";
    case UpstreamFailure::ConnectFailed: return "connect_failed";
    case UpstreamFailure::ConnectTimeout: return "connect_timeout";
    case UpstreamFailure::ResponseTimeout: return "response_timeout";
    case UpstreamFailure::Reset: return "reset";
    case UpstreamFailure::BadResponse: return "bad_response";
    case UpstreamFailure::IdleTimeout: return "idle_timeout";
    case UpstreamFailure::TlsHandshake: return "tls_handshake";
    case UpstreamFailure::TlsCertificate: return "tls_certificate";
  }
  return "other";
}

ProxyStream::ProxyStream(loop::EventLoop& loop, ProxyDownstream& down, UpstreamCounters& counters)
    : down_(down),
      counters_(counters),
      loop_(loop),
      parser_(parsers::Http1Parser::Type::Response, responseLimits(), *this),
      out_(loop.slicePool()),
      queued_(loop.slicePool()),
      replay_(loop.slicePool()),
      timer_(&ProxyStream::onTimer, this) {}

ProxyStream::~ProxyStream() { cancel(); }

void ProxyStream::start(UpstreamPool& pool, const ProxyRequest& req) {
  pool_ = &pool;
  req_ = req;
  cluster_ = &pool.cluster(req.match.entry->cluster);
  state_ = State::Idle;
  endpoint_ = -1;
  tried_mask_ = 0;
  attempts_ = 0;
  body_sent_ = 0;
  replayable_ = true;
  request_complete_ = !req.head->hasBody();
  head_forwarded_ = false;
  continue_sent_ = false;
  queued_.clear();
  replay_.clear();
  attempt();
}

void ProxyStream::attempt() {
  ++attempts_;
  parser_.reset();  // each attempt is a fresh response stream
  got_response_bytes_ = false;
  raw_body_ = body_start_pending_ = complete_pending_ = interim_ = needs_eof_ = retry_503_ = false;
  bad_response_ = switching_ = rechunk_ = false;
  upstream_keep_alive_ = true;
  read_blocked_ = false;
  PickRequest pick;
  pick.tried_mask = tried_mask_;
  const parsers::MessageHead& h = *req_.head;
  const config::Cluster& cc = *cluster_->config;
  if (const auto* pin = h.find("x-instanceid")) {
    pick.instance_id = pin->value;
  }
  if (cc.lb == config::LbPolicy::ConsistentHash) {
    if (!cc.hash_header.empty()) {
      if (const auto* f = h.find(cc.hash_header)) {
        pick.hash_key = f->value;
      }
    } else if (const auto* cookie = h.find("cookie")) {
      pick.hash_key = LoadBalancer::cookieValue(cookie->value, cc.hash_cookie);
    }
  }
  endpoint_ = cluster_->lb->pick(pick, cluster_->states.data(), cluster_->states.size(), loop_.now());
  if (endpoint_ < 0) {
    fail(Failure::NoEndpoint);
    return;
  }
  if (endpoint_ < 64) {
    tried_mask_ |= uint64_t{1} << endpoint_;
  }
  ++cluster_->states[static_cast<size_t>(endpoint_)].active_requests;
  bump(counters_.attempts);
  up_ = pool_->takeIdle(req_.match.entry->cluster, static_cast<size_t>(endpoint_), *this);
  if (up_ != nullptr) {
    ++up_->requests;
    state_ = State::Waiting;
    sendHead();
    return;
  }
  int rc = 0;
  bump(counters_.connects);
  up_ = pool_->connect(req_.match.entry->cluster, static_cast<size_t>(endpoint_), *this, rc);
  if (up_ == nullptr) {
    fail(Failure::ConnectFailed);
    return;
  }
  ++up_->requests;
  state_ = State::Connecting;
  armTimer(cc.connect_timeout);
}

void ProxyStream::onConnected(int status) {
  if (state_ != State::Connecting) {
    return;
  }
  if (status != 0) {
    fail(status == net::kErrTlsCertificate ? Failure::TlsCertificate
         : status == net::kErrTlsHandshake ? Failure::TlsHandshake
                                            : Failure::ConnectFailed);
    return;
  }
  state_ = State::Waiting;
  sendHead();
}

void ProxyStream::sendHead() {
  std::string_view base_path;  // service routes prefix the instance's base path
  if (req_.match.entry->kind == RouteEntry::Kind::Service) {
    base_path = cluster_->config->endpoints[static_cast<size_t>(endpoint_)].base_path;
  }
  writeUpstreamRequestHead(out_, req_, base_path);
  out_.moveFrom(queued_);  // the body so far (all of it on a retry: see fail())
  // write() never calls back (a failure is reported on the next turn), so
  // up_ is still ours here, also when a pooled connection just reset.
  up_->conn().write(out_);
  up_->conn().readStart();
  const config::Cluster& cc = *cluster_->config;
  armTimer(request_complete_ ? cc.response_timeout : cc.idle_timeout);
  if (!bodyBlocked()) {
    down_.onProxyRequestWritable();
  }
}

// `n` more request body bytes, which `append` adds to a chain: kept for a
// retry while the body still fits the replay limit, then queued until the
// head is written, or written now.
template <class Append>
void ProxyStream::forwardBody(size_t n, Append&& append) {
  body_sent_ += n;
  if (replayable_) {
    if (replay_.size() + n <= kReplayLimit) {
      append(replay_);
    } else {
      replay_.clear();
      replayable_ = false;
    }
  }
  if (up_ == nullptr || state_ == State::Connecting || state_ == State::Backoff) {
    append(queued_);
    return;
  }
  append(out_);
  up_->conn().write(out_);  // a failure comes later, through onWriteError -> fail()
  // Request body moving is progress, also after an interim 100 Continue.
  armTimer(cluster_->config->idle_timeout);
}

void ProxyStream::sendBody(const buf::SliceRef& slice, const char* data, size_t len) {
  if (!active() || len == 0) {
    return;  // answered already (a local error): the body is discarded
  }
  forwardBody(len, [&](buf::BufferChain& to) { to.appendRef(slice, data, len); });
}

void ProxyStream::sendTrailers(const std::vector<parsers::HeaderField>& trailers) {
  if (!active()) {
    return;
  }
  // Rare and small (bounded by the head limit): copied once, then referenced.
  buf::BufferChain section(loop_.slicePool());
  writeTrailerSection(section, trailers);
  forwardBody(section.size(), [&](buf::BufferChain& to) { to.appendRefsOf(section); });
}

void ProxyStream::endBody() {
  request_complete_ = true;
  if (state_ == State::Waiting) {
    // Interim responses do not count: the final head is due in time.
    armTimer(cluster_->config->response_timeout);
  }
}

bool ProxyStream::bodyBlocked() const {
  size_t pending = queued_.size();
  if (up_ != nullptr) {
    pending += up_->conn().pendingBytes();
  }
  return pending > kHighWatermark;
}

void ProxyStream::onWritable() {
  if (state_ == State::Tunnel) {
    if (up_ != nullptr && up_->conn().pendingBytes() < kLowWatermark) {
      down_.onProxyRequestWritable();
    }
    return;
  }
  if (!request_complete_ && up_ != nullptr && up_->conn().pendingBytes() < kLowWatermark) {
    down_.onProxyRequestWritable();
  }
}

// ---- response -------------------------------------------------------------------

void ProxyStream::onData() {
  if (state_ == State::Tunnel) {
    tunnelPump();
    return;
  }
  if (state_ != State::Waiting && state_ != State::Receiving) {
    return;
  }
  got_response_bytes_ = true;
  parseResponse();
}

void ProxyStream::parseResponse() {
  while (up_ != nullptr && !read_blocked_ && (state_ == State::Waiting || state_ == State::Receiving)) {
    const std::string_view data = up_->conn().unread();
    if (data.empty()) {
      break;
    }
    if (!parser_.inMessage() || parser_.inHead()) {
      const buf::SliceRef& in = up_->conn().inputSlice();
      if (head_pins_.empty() || head_pins_.back().get() != in.get()) {
        head_pins_.push_back(in);
      }
    }
    const parsers::ExecResult r = parser_.execute(data.data(), data.size());
    if (!parser_.inHead()) {
      head_pins_.clear();  // onHead has run (or no message is open): spans no longer needed
    }
    // Trailer fields are not forwarded as received: finishResponse()
    // writes them from what the parser made of them.
    if (raw_body_ && r.before_trailers > 0) {
      buf::BufferChain& out = down_.downstreamOut();
      if (rechunk_) {
        char size_line[24];
        const auto end = std::to_chars(size_line, size_line + 16, r.before_trailers, 16).ptr;
        out.appendCopy(std::string_view(size_line, static_cast<size_t>(end - size_line)));
        out.appendCopy("\r\n");
      }
      // Zero copy: the client's queue references the upstream read slice.
      out.appendRef(up_->conn().inputSlice(), data.data(), r.before_trailers);
      if (rechunk_) {
        out.appendCopy("\r\n");
      }
      down_.onProxyBodyBytes(r.before_trailers);
    }
    up_->conn().consume(r.consumed);
    if (bad_response_) {
      fail(Failure::BadResponse);
      return;
    }
    if (body_start_pending_) {
      body_start_pending_ = false;
      raw_body_ = true;
    }
    if (retry_503_) {
      fail(Failure::Reset);  // canRetry() held when the 503 head arrived
      return;
    }
    if (r.status == parsers::ExecResult::Status::Paused) {
      parser_.resume();
    }
    if (complete_pending_) {
      finishResponse();
      return;
    }
    if (r.status == parsers::ExecResult::Status::Paused) {
      // resumed above; keep parsing
    } else if (r.status == parsers::ExecResult::Status::Upgrade) {
      state_ = State::Tunnel;
      timer_.cancel();
      down_.downstreamFlush();
      down_.onProxyTunnel();
      tunnelPump();
      return;
    } else if (r.status == parsers::ExecResult::Status::Error) {
      fail(Failure::BadResponse);
      return;
    }
    if (down_.downstreamPending() > kHighWatermark) {
      // Hand it to the kernel first: only what it does not take blocks us
      // (a write it takes whole is never followed by a writable callback).
      down_.downstreamFlush();
      if (up_ != nullptr && down_.downstreamPending() > kHighWatermark) {
        read_blocked_ = true;
        up_->conn().readStop();
      }
    }
  }
  if (state_ == State::Receiving || state_ == State::Waiting) {
    down_.downstreamFlush();
    // Only a body in motion is kept alive by each byte. While the head is
    // due, response_timeout (armed when the request ended) keeps running,
    // so a head (or a run of 1xx) trickled a byte at a time still ends in 504.
    if (state_ == State::Receiving) {
      armTimer(cluster_->config->idle_timeout);
    }
  }
}

parsers::Next ProxyStream::onHead(parsers::MessageHead& h) {
  const bool head_request = req_.head->method == "HEAD";
  if (h.status < 100) {
    bad_response_ = true;  // "HTTP/1.1 99": not a status code (RFC 9110 15: 3 digits)
    return parsers::Next::Pause;
  }
  if (h.status < 200 && h.status != 101) {
    // Interim: pass a 100 on when the client asked for it; drop the rest.
    // A 1xx ends at its head whatever framing fields it carries.
    interim_ = true;
    if (h.status == 100 && req_.expect_continue && !continue_sent_) {
      continue_sent_ = true;
      down_.downstreamOut().appendCopy(http::kContinue);
      down_.downstreamFlush();
    }
    return parsers::Next::SkipBody;
  }
  // Transfer-Encoding is rewritten on the way out, so any coding but a lone
  // chunked would reach the client unlabelled (nginx: 502 too). A response
  // with a Content-Length has none (both: 502 in the parser), so the usual
  // case skips the lookup.
  if (h.chunked || !h.content_length) {
    if (const parsers::HeaderField* te = h.find("transfer-encoding");
        te != nullptr && !(h.chunked && parsers::iequals(te->value, "chunked"))) {
      bad_response_ = true;
      return parsers::Next::Pause;
    }
  }
  LoadBalancer::onSuccess(cluster_->states[static_cast<size_t>(endpoint_)]);
  if (h.status == 503 && canRetry(Failure::Reset)) {
    retry_503_ = true;
    return parsers::Next::Pause;
  }
  if (h.status == 101 && !req_.head->upgrade) {
    bad_response_ = true;  // a switch nobody asked for
    return parsers::Next::Pause;
  }
  switching_ = h.status == 101;
  state_ = State::Receiving;
  upstream_keep_alive_ = h.keep_alive;
  // 204 and 304 end at their head (RFC 9112 6.3), even with a
  // Content-Length (a 304 may carry the 200's) or chunked: bytes after it are
  // not theirs, and the connection is then not reused.
  const bool no_content = h.status == 204 || h.status == 304;
  const bool no_body = head_request || no_content || h.status == 101;
  needs_eof_ = !no_body && !h.chunked && !h.content_length;
  // A body that ends at the upstream's close is re-framed as chunked for an
  // HTTP/1.1 client, so that a reset mid-body (no last chunk) never looks
  // like the end of it. An HTTP/1.0 client can only read until close.
  rechunk_ = needs_eof_ && req_.head->http_minor >= 1;
  const bool close_after = (needs_eof_ && !rechunk_) || !down_.downstreamKeepAlive() || !request_complete_;
  const bool chunked = h.chunked;
  if (rechunk_) {
    h.chunked = true;  // the head written says Transfer-Encoding: chunked
  } else if (no_content) {
    h.chunked = false;  // never Transfer-Encoding on a 204/304 (RFC 9112 6.1)
  }
  writeDownstreamResponseHead(down_.downstreamOut(), h, close_after, req_.head->http_minor == 0);
  h.chunked = chunked;
  head_forwarded_ = true;
  down_.onProxyResponseHead(h.status, close_after);
  if (head_request || no_content) {
    return parsers::Next::SkipBody;
  }
  if (!no_body) {
    body_start_pending_ = true;
    return parsers::Next::Pause;  // the exact end of the head
  }
  return parsers::Next::Continue;
}

parsers::Next ProxyStream::onBody(std::string_view) { return parsers::Next::Continue; }

parsers::Next ProxyStream::onMessageComplete() {
  if (interim_) {
    interim_ = false;
    return parsers::Next::Continue;
  }
  if (switching_) {
    return parsers::Next::Continue;  // llhttp stops with PAUSED_UPGRADE next
  }
  complete_pending_ = true;
  return parsers::Next::Pause;
}

void ProxyStream::finishResponse() {
  complete_pending_ = false;
  raw_body_ = false;
  timer_.cancel();
  if (rechunk_) {
    rechunk_ = false;
    down_.downstreamOut().appendCopy("0\r\n\r\n");
  } else if (!parser_.trailers().empty()) {
    writeTrailerSection(down_.downstreamOut(), parser_.trailers());  // the raw bytes stopped before them
  }
  --cluster_->states[static_cast<size_t>(endpoint_)].active_requests;
  const bool reusable = request_complete_ && upstream_keep_alive_ && !needs_eof_ && up_->conn().open() &&
                        up_->conn().unread().empty() && up_->conn().pendingBytes() == 0;
  UpstreamConnection* c = up_;
  up_ = nullptr;
  // The exchange is over: hold no slice between requests (head pins, the
  // replay copy, the tails the request head was written into).
  head_pins_.clear();
  replay_.clear();
  out_.releaseTail();
  queued_.releaseTail();
  replay_.releaseTail();
  if (reusable) {
    pool_->release(c);
  } else {
    c->detach();
    c->conn().close();
  }
  state_ = State::Done;
  down_.downstreamFlush();
  down_.onProxyResponseComplete();
}

void ProxyStream::onDownstreamWritable() {
  if (up_ == nullptr) {
    return;
  }
  if (read_blocked_ && down_.downstreamPending() < kLowWatermark) {
    read_blocked_ = false;
    up_->conn().readStart();
    if (state_ == State::Tunnel) {
      tunnelPump();
    } else {
      parseResponse();
    }
  }
}

// ---- failures, timers -------------------------------------------------------------

void ProxyStream::onEof() {
  if (state_ == State::Tunnel) {
    dropConnection();
    state_ = State::Done;
    down_.onProxyTunnelEnd();
    return;
  }
  if (state_ == State::Receiving && needs_eof_) {
    // Read-until-close body: EOF is its end.
    const parsers::ExecResult r = parser_.finish();
    if (r.status != parsers::ExecResult::Status::Error) {
      upstream_keep_alive_ = false;
      finishResponse();
      return;
    }
  }
  fail(Failure::Reset);
}

void ProxyStream::onReadError(int) { state_ == State::Tunnel ? onEof() : fail(Failure::Reset); }

void ProxyStream::onWriteError(int) { state_ == State::Tunnel ? onEof() : fail(Failure::Reset); }

void ProxyStream::onClosed() {
  // We detach before closing deliberately, so this is a close we did not ask for.
  up_ = nullptr;
  if (active()) {
    fail(Failure::Reset);
  }
}

bool ProxyStream::canRetry(Failure f) const {
  if (head_forwarded_ || attempts_ > cluster_->config->retries || !idempotent(req_.head->method)) {
    return false;
  }
  if (req_.head->hasBody() && !replayable_) {
    return false;
  }
  switch (f) {
    case Failure::ConnectFailed:
    case Failure::ConnectTimeout:
    case Failure::Reset:
      return true;
    default:
      return false;
  }
}

void ProxyStream::dropConnection() {
  timer_.cancel();
  head_pins_.clear();
  if (up_ != nullptr) {
    UpstreamConnection* c = up_;
    up_ = nullptr;
    c->detach();
    c->conn().close();  // a connection that saw an error never goes back to the pool
  }
}

void ProxyStream::fail(Failure f) {
  bump(counters_.failures[static_cast<size_t>(f)]);
  const bool had_endpoint = endpoint_ >= 0 && state_ != State::Idle && state_ != State::Backoff;
  dropConnection();
  if (had_endpoint) {
    EndpointState& s = cluster_->states[static_cast<size_t>(endpoint_)];
    --s.active_requests;
    if (f != Failure::BadResponse && !retry_503_) {
      cluster_->lb->onFailure(s, loop_.now());
    }
  }
  if (f != Failure::NoEndpoint && canRetry(f)) {
    // Back off a little (jittered into 5 ms buckets) and try again, on
    // another endpoint when there is one.
    bump(counters_.retries);
    // What the retry must send: every body byte so far, and no byte twice
    // (what came while connecting is in both replay_ and queued_). From now
    // on queued_ holds it all, so the body may outgrow replay_ during the
    // backoff without losing its start.
    queued_.clear();
    queued_.appendRefsOf(replay_);
    state_ = State::Backoff;
    const uint64_t base = static_cast<uint64_t>(cluster_->config->retry_backoff.count());
    const uint64_t jitter = base == 0 ? 0 : ((loop_.now() * 2654435761u + attempts_) % (base + 1)) / 5 * 5;
    armTimer(std::chrono::milliseconds(base + jitter));
    return;
  }
  state_ = State::Done;
  if (head_forwarded_) {
    down_.onProxyAbort(needs_eof_ && !rechunk_);
    return;
  }
  switch (f) {
    case Failure::NoEndpoint:
      down_.onProxyError(503, "No healthy instance is available for this service");
      return;
    case Failure::ConnectFailed:
      down_.onProxyError(502, "The upstream could not be reached");
      return;
    case Failure::ConnectTimeout:
      down_.onProxyError(504, "The upstream did not accept the connection in time");
      return;
    case Failure::ResponseTimeout:
    case Failure::IdleTimeout:
      down_.onProxyError(504, "The upstream did not answer in time");
      return;
    case Failure::Reset:
      down_.onProxyError(502, "The upstream closed the connection without a complete response");
      return;
    case Failure::BadResponse:
      down_.onProxyError(502, "The upstream sent an invalid response");
      return;
    case Failure::TlsHandshake:
      down_.onProxyError(502, "The TLS handshake with the upstream failed");
      return;
    case Failure::TlsCertificate:
      down_.onProxyError(502, "The upstream's TLS certificate could not be verified");
      return;
  }
}

void ProxyStream::armTimer(std::chrono::milliseconds d) {
  loop_.timeouts(static_cast<uint64_t>(d.count())).arm(timer_, loop_.now());
}

void ProxyStream::onTimer(loop::TimeoutNode& node) {
  auto* self = static_cast<ProxyStream*>(node.owner());
  switch (self->state_) {
    case State::Backoff:
      self->attempt();
      return;
    case State::Connecting:
      self->fail(Failure::ConnectTimeout);
      return;
    case State::Waiting:
      self->fail(self->request_complete_ ? Failure::ResponseTimeout : Failure::IdleTimeout);
      return;
    case State::Receiving:
      self->fail(Failure::IdleTimeout);
      return;
    default:
      return;
  }
}

void ProxyStream::cancel() {
  if (state_ == State::Idle || state_ == State::Done) {
    return;
  }
  const bool had_endpoint = endpoint_ >= 0 && state_ != State::Backoff;
  dropConnection();
  if (had_endpoint) {
    --cluster_->states[static_cast<size_t>(endpoint_)].active_requests;
  }
  state_ = State::Done;
}

// ---- tunnel -----------------------------------------------------------------------

void ProxyStream::tunnelSend(const buf::SliceRef& slice, const char* data, size_t len) {
  if (state_ != State::Tunnel || up_ == nullptr || len == 0) {
    return;
  }
  out_.appendRef(slice, data, len);
  up_->conn().write(out_);
}

void ProxyStream::tunnelPump() {
  if (up_ == nullptr) {
    return;
  }
  const std::string_view data = up_->conn().unread();
  if (!data.empty()) {
    down_.downstreamOut().appendRef(up_->conn().inputSlice(), data.data(), data.size());
    up_->conn().consume(data.size());
    down_.downstreamFlush();
  }
  if (down_.downstreamPending() > kHighWatermark) {
    read_blocked_ = true;
    up_->conn().readStop();
  }
}

}  // namespace plexgate::proxy
