#include "engine/proxy/session.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "engine/http/local_reply.h"
#include "engine/http/response_writer.h"
#include "engine/net/address.h"
#include "engine/proxy/router.h"
#include "parsers/ascii.h"
#include "parsers/url.h"
#include "engine/proxy/proxy_stream.h"

namespace plexgate::proxy {

namespace {

using parsers::iequals;

// Output queued beyond this stops request parsing (pipelining floods, echo to
// a slow reader) until the socket drains below the low mark.
constexpr size_t kOutputHighWatermark = 256 * 1024;
constexpr size_t kOutputLowWatermark = 64 * 1024;
// Unparsed input kept while the current request is still being answered.
constexpr size_t kInputHoldLimit = 8 * 1024;
// A generated body (respond.body_size) is queued in references to one
// shared block of 'x', this big, and only as fast as the client reads.
constexpr size_t kFillBlockBytes = 64 * 1024;
// Up to this, a body is copied next to its head: one piece, one iovec.
constexpr size_t kCopyBodyBytes = 1024;

std::string_view fillBlock() {
  static const std::string block(kFillBlockBytes, 'x');
  return block;
}

parsers::Http1Limits limitsFrom(const config::Limits& l) {
  parsers::Http1Limits out;
  out.max_head_bytes = l.max_head_bytes;
  out.max_headers = l.max_headers;
  out.max_uri_bytes = l.max_uri_bytes;
  out.max_body_bytes = l.max_body_bytes;
  return out;
}

uint64_t monotonicNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// The echo body starts with the request head as received, rebuilt from the
// parsed spans ("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").
size_t echoHeadSize(const parsers::MessageHead& h) {
  size_t n = h.method.size() + 1 + h.target.size() + 11;
  for (const auto& f : h.headers) {
    n += f.name.size() + 2 + f.value.size() + 2;
  }
  return n + 2;
}

}  // namespace

// ---- the slot: a connection's life, parked or not ---------------------------------

ClientSlot::ClientSlot(server::ListenerRuntime& l) : listener(l), timeout(&ClientSlot::onTimeout, this) {}

Session* ClientSlot::session() const {
  // A downstream Connection's handler is always its Session.
  return conn != nullptr ? static_cast<Session*>(&conn->handler()) : nullptr;
}

void ClientSlot::onWake(uv_handle_t* handle) {
  auto& slot = static_cast<ClientSlot&>(*static_cast<net::Socket*>(handle->data));
  (new Session(slot))->resume();
}

void ClientSlot::onTimeout(loop::TimeoutNode& node) {
  auto* slot = static_cast<ClientSlot*>(node.owner());
  if (Session* s = slot->session()) {
    s->onTimeout();
    return;
  }
  auto& c = slot->listener.worker->counters();
  c.add(c.timeouts);
  slot->closeParked();  // keep-alive (or first-request) deadline of a parked connection
}

void ClientSlot::drain() {
  if (Session* s = session()) {
    s->drain();
  } else {
    closeParked();
  }
}

void ClientSlot::forceClose() {
  if (Session* s = session()) {
    s->forceClose();
  } else {
    closeParked();
  }
}

void ClientSlot::closeParked() {
  auto* h = reinterpret_cast<uv_handle_t*>(&tcp);
  if (uv_is_closing(h) != 0) {
    return;
  }
  timeout.cancel();
  uv_close(h, &ClientSlot::onParkedClosed);
}

void ClientSlot::onParkedClosed(uv_handle_t* h) {
  auto* slot = static_cast<ClientSlot*>(static_cast<net::Socket*>(h->data));
  server::Worker& worker = *slot->listener.worker;
  auto& c = worker.counters();
  c.sub(c.connections_active);
  c.sub(c.connections_parked);
  worker.removeClient(*slot);
  delete slot;
}

// ---- the session --------------------------------------------------------------

Session::Session(ClientSlot& slot)
    : slot_(slot),
      worker_(*slot.listener.worker),
      listener_(slot.listener),
      config_(worker_.routes()->config),
      loop_(worker_.loop()),
      conn_(worker_.loop(), *this),
      parser_(parsers::Http1Parser::Type::Request, limitsFrom(config_->limits), *this),
      out_(worker_.loop().slicePool()),
      timeout_(slot.timeout),
      park_(&Session::onPark, this),
      draining_(worker_.draining()) {}

Session::~Session() {
  if (owns_slot_) {
    delete &slot_;
  }
}

bool Session::accept(server::ListenerRuntime& listener, uv_stream_t* server) {
  auto* slot = new ClientSlot(listener);
  return (new Session(*slot))->start(server);
}

void Session::resume() {
  conn_.adopt(slot_);
  auto& c = worker_.counters();
  c.sub(c.connections_parked);
}

bool Session::parkable() const {
  return !conn_closed_ && !ending_ && !draining_ && !tunnel_ && !handshaking_ && !in_input_ && !stream_.active &&
         !parser_.inMessage() && out_.empty() && !fanout_req_ && conn_.tls() == nullptr && conn_.reading() &&
         conn_.pendingBytes() == 0 && conn_.unread().empty();
}

void Session::onPark(loop::TimeoutNode& node) { static_cast<Session*>(node.owner())->park(); }

void Session::park() {
  if (!parkable()) {
    return;
  }
  if (fanout_) {
    fanout_->cancel();  // answered; stop any sub-request still running now
  }
  if (!conn_.detach()) {
    return;
  }
  auto& c = worker_.counters();
  c.add(c.connections_parked);
  loop_.trimSoon();
  if (delay_timer_) {
    uv_close(reinterpret_cast<uv_handle_t*>(delay_timer_.get()), &Session::onDelayTimerClosed);
    return;
  }
  loop_.deferredDelete(std::unique_ptr<loop::DeferredDeletable>(this));
}

bool Session::start(uv_stream_t* server) {
  worker_.addClient(slot_);
  auto& c = worker_.counters();
  c.add(c.connections_accepted);
  c.add(c.connections_active);
  if (!conn_.accept(server, &slot_)) {
    return false;  // close() already ran; onClosed frees us
  }
  const config::Listener& lc = worker_.routes()->config->listeners[listener_.index];
  if (lc.tls_context) {
    // The newest certificates; this connection keeps them for its life.
    if (!conn_.startServerTls(lc.tls_context)) {
      conn_.close();
      return true;
    }
    handshaking_ = true;
    loop_.timeouts(static_cast<uint64_t>(lc.tls->handshake_timeout.count())).arm(timeout_, loop_.now());
    conn_.readStart();
    return true;
  }
  conn_.readStart();
  updateTimeout(false);
  loop_.parkTimeouts().arm(park_, loop_.now());  // a connection that stays silent parks too
  return true;
}

void Session::onTlsHandshake() {
  handshaking_ = false;
  auto& c = worker_.counters();
  const tls::TlsSession& t = *conn_.tls();
  c.add(c.tls_handshakes);
  if (t.resumed()) {
    c.add(c.tls_resumed);
  }
  updateTimeout(false);
}

// ---- input -----------------------------------------------------------------

void Session::onData() {
  got_bytes_ = true;
  park_.cancel();
  if (tunnel_) {
    const std::string_view data = conn_.unread();
    proxy_->tunnelSend(conn_.inputSlice(), data.data(), data.size());
    conn_.consume(data.size());
    if (proxy_->bodyBlocked()) {
      conn_.readStop();
    }
    return;
  }
  processInput();
}

void Session::pinInputSlice() {
  // Head spans point into the input slices that were current while the head
  // arrived; keep each alive until the next message begins.
  const buf::SliceRef& in = conn_.inputSlice();
  if (in && (head_pins_.empty() || head_pins_.back().get() != in.get())) {
    head_pins_.push_back(in);
  }
}

bool Session::canFeed() const {
  if (ending_ || conn_closed_ || !conn_.open() || tunnel_) {
    return false;
  }
  if (stream_.active && stream_.request_done) {
    return false;  // the next request waits for this response
  }
  if (outputHigh()) {
    return false;  // the client is not reading: stop parsing what it sends
  }
  if (raw_body_ && proxy_ && proxy_->bodyBlocked()) {
    return false;  // the upstream is not reading the body
  }
  return true;
}

void Session::processInput() {
  if (in_input_) {
    return;
  }
  in_input_ = true;
  // Flushing may hand everything to the kernel at once (no write callback
  // follows), so after each flush look again for input we can now take.
  for (;;) {
    feedParser();
    if (conn_closed_ || tunnel_) {
      break;
    }
    flush();
    if (conn_closed_ || !canFeed() || conn_.unread().empty()) {
      break;
    }
  }
  in_input_ = false;
  if (conn_closed_ || tunnel_) {
    return;
  }
  if (peer_done_ && !ending_ && conn_.unread().empty() && !(stream_.active && stream_.request_done)) {
    endHalfClosed();  // nothing complete is left to answer
    return;
  }
  if (!parser_.inMessage() && !stream_.active) {
    // Idle between requests: hold no slice (head pins, output tail), so the
    // connection's input slice is released too.
    head_pins_.clear();
    out_.releaseTail();
    parser_.releaseIdleMemory();
    conn_.releaseIdleInput();
  }
  // Keep the socket in the poll set while a response is awaited: stopping
  // and restarting it costs two epoll_ctl calls per proxied request. Stop
  // only when unparsed input piles up (a pipelining client running ahead)
  // or the connection is ending.
  if (!ending_ && !peer_done_ && (canFeed() || conn_.unread().size() < kInputHoldLimit)) {
    conn_.readStart();
  } else {
    conn_.readStop();
  }
  updateTimeout(true);
  if (parkable()) {
    loop_.parkTimeouts().arm(park_, loop_.now());
  }
}

void Session::feedParser() {
  while (canFeed()) {
    const std::string_view data = conn_.unread();
    if (data.empty()) {
      break;
    }
    if (!parser_.inMessage() || parser_.inHead()) {
      pinInputSlice();
    }
    const parsers::ExecResult r = parser_.execute(data.data(), data.size());
    if (raw_body_ && r.before_trailers > 0 && !conn_closed_ && r.status != parsers::ExecResult::Status::Error) {
      // Request body bytes exactly as received (chunk framing included),
      // handed to the upstream by reference. Trailer fields are not: they
      // go re-serialized once the body is complete (below).
      proxy_->sendBody(conn_.inputSlice(), data.data(), r.before_trailers);
    }
    conn_.consume(r.consumed);
    if (conn_closed_) {
      break;
    }
    if (body_start_pending_) {
      body_start_pending_ = false;
      raw_body_ = true;
    }
    if (body_end_pending_) {
      body_end_pending_ = false;
      raw_body_ = false;
      if (!parser_.trailers().empty()) {
        proxy_->sendTrailers(parser_.trailers());
      }
      proxy_->endBody();
    }
    if (r.status == parsers::ExecResult::Status::Paused) {
      parser_.resume();  // we stopped at an exact position; canFeed() decides the rest
    } else if (r.status == parsers::ExecResult::Status::Upgrade) {
      // Not taken over (no 101 from a proxy): keep speaking HTTP/1.1, as
      // RFC 9110 7.8 allows a server that ignores Upgrade.
      parser_.resumeAfterUpgrade();
    } else if (r.status == parsers::ExecResult::Status::Error) {
      onParseError(r);
      break;
    }
  }
}

void Session::onMessageBegin() {
  // The previous message's head is no longer referenced.
  if (head_pins_.size() > 1 || (head_pins_.size() == 1 && head_pins_.back().get() != conn_.inputSlice().get())) {
    head_pins_.clear();
    pinInputSlice();
  }
  stream_ = Stream{};
  stream_.active = true;
  stream_.start_ns = monotonicNs();
  // A route swap takes effect from the next request; this one keeps the
  // routes (and upstream pool) it started with.
  if (routes_ != worker_.routes()) {
    routes_ = worker_.routes();
  }
  if (timeout_.list() != &loop_.headerTimeouts()) {
    loop_.headerTimeouts().arm(timeout_, loop_.now());
  }
}

parsers::Next Session::onHead(parsers::MessageHead& head) {
  Stream& s = stream_;
  s.method = head.method;
  s.target = head.target;
  s.http_major = head.http_major;
  s.http_minor = head.http_minor;
  s.head_request = head.method == "HEAD";
  const config::Limits& limits = config_->limits;
  ++slot_.requests;
  s.keep_alive = head.keep_alive && !draining_ &&
                 (limits.max_requests_per_connection == 0 || slot_.requests < limits.max_requests_per_connection);
  parsers::HeaderField* host_field = nullptr;
  size_t hosts = 0;
  bool expect_continue = false;
  bool unsupported_expectation = false;
  bool framing_nominated = false;
  for (parsers::HeaderField& f : head.headers) {
    if (f.name.size() == 4 && iequals(f.name, "host")) {
      host_field = &f;
      ++hosts;
    } else if (f.name.size() == 10 && iequals(f.name, "user-agent")) {
      s.user_agent = f.value;
    } else if (f.name.size() == 7 && iequals(f.name, "referer")) {
      s.referer = f.value;
    } else if (f.name.size() == 6 && iequals(f.name, "expect")) {
      // HTTP/1.0 has no expectations: a server ignores them (RFC 9110 10.1.1).
      if (head.http_minor >= 1) {
        if (iequals(f.value, "100-continue")) {
          expect_continue = true;
        } else {
          unsupported_expectation = true;
        }
      }
    } else if (f.name.size() == 10 && iequals(f.name, "connection")) {
      // Fields named in Connection are dropped on the way upstream; the
      // framing and the Host are not the client's to drop (without its
      // Content-Length the body would be read upstream as a request).
      framing_nominated = framing_nominated || parsers::listHasToken(f.value, "content-length") ||
                          parsers::listHasToken(f.value, "host");
    }
  }
  if (const Refusal r = checkHead(head, hosts, host_field, framing_nominated); r.status != 0) {
    refuse(r.status, r.message);
    return parsers::Next::Continue;
  }
  if (unsupported_expectation) {
    sendLocal(417, "Only the 100-continue expectation is supported");
    return parsers::Next::Continue;
  }
  const std::string_view host = host_field != nullptr ? host_field->value : std::string_view();
  const config::Listener& listener = routes_->config->listeners[listener_.index];
  if (listener.admin) {
    if (const server::AdminPage page = server::adminPageFor(Router::pathOf(head.target));
        page != server::AdminPage::None) {
      sendAdmin(page);
      return parsers::Next::Continue;
    }
  }
  if (listener.fanout && Router::pathOf(head.target).starts_with(fanout::kGatewayPrefix)) {
    startFanoutRequest(head, expect_continue);
    return parsers::Next::Continue;
  }
  const RouteMatch match = routes_->routers[listener_.index]->match(host, head.target);
  if (match.entry == nullptr) {
    sendLocal(404, "No route matches this request");
    return parsers::Next::Continue;
  }
  if (match.entry->kind == RouteEntry::Kind::Respond) {
    const config::RespondAction* respond = match.entry->respond;
    s.respond = respond;
    if (respond->delay.count() > 0) {
      s.waiting_delay = true;
      if (!delay_timer_) {
        // Only delayed responses (load-testing routes) pay for a timer.
        delay_timer_ = std::make_unique<uv_timer_t>();
        uv_timer_init(loop_.uv(), delay_timer_.get());
        delay_timer_->data = this;
      }
      uv_timer_start(delay_timer_.get(), &Session::onDelayTimer, static_cast<uint64_t>(respond->delay.count()), 0);
    } else {
      sendRespond();
    }
    return parsers::Next::Continue;
  }
  if (match.entry->kind == RouteEntry::Kind::Proxy || match.entry->kind == RouteEntry::Kind::Service) {
    return startProxy(head, match, expect_continue, host_field != nullptr);
  }
  // Echo: stream the request back as it arrives.
  s.echo = true;
  if (expect_continue && head.hasBody()) {
    out_.appendCopy(http::kContinue);
  }
  sendEchoHead(head);
  return parsers::Next::Continue;
}

// What a gateway must refuse before it routes (RFC 9112 3.2, 3.2.2, 6.1;
// RFC 9110 7.2), and the absolute-form made origin-form: the authority
// becomes the Host (the only host the upstream and the router then see).
// The head's spans are rewritten in place; synth_ holds the one target
// that is not a slice of the original ("http://h?q" is "/?q").
Session::Refusal Session::checkHead(parsers::MessageHead& head, size_t hosts, parsers::HeaderField*& host_field,
                                    bool framing_nominated) {
  if (head.method == "CONNECT") {
    return {501, "CONNECT is not served here: this is a reverse proxy"};
  }
  if (hosts > 1) {
    return {400, "A request carries at most one Host header"};
  }
  if (hosts == 0 && head.http_minor >= 1) {
    return {400, "An HTTP/1.1 request needs a Host header"};
  }
  if (host_field != nullptr && !parsers::validHost(host_field->value)) {
    return {400, "The Host header is not a valid host"};
  }
  if (framing_nominated) {
    return {400, "The Connection header may not name Content-Length or Host"};
  }
  if (const std::optional<parsers::AbsoluteForm> af = parsers::splitAbsoluteForm(head.target)) {
    if (!af->valid) {
      return {400, "The request target is not an http or https URI with a valid host"};
    }
    if (af->path_and_query.empty()) {
      head.target = "/";
    } else if (af->query_without_path) {
      synth_.assign("/").append(af->path_and_query);
      head.target = synth_;
    } else {
      head.target = af->path_and_query;
    }
    if (host_field != nullptr) {
      host_field->value = af->authority;
    } else {
      head.headers.push_back({"Host", af->authority});
      host_field = &head.headers.back();
    }
  }
  if (parsers::hasDotSegment(head.target)) {
    return {400, "The request path has a . or .. segment"};
  }
  if (head.chunked) {
    // Transfer codings are hop-by-hop: only chunked is undone and redone on
    // the way upstream, so any other one would be lost (RFC 9112 6.1: 501).
    size_t codings = 0;
    for (const parsers::HeaderField& f : head.headers) {
      if (f.name.size() != 17 || !iequals(f.name, "transfer-encoding")) {
        continue;
      }
      if (++codings > 1 || !iequals(f.value, "chunked")) {
        return {501, "Only the chunked transfer coding is supported"};
      }
    }
  }
  return {};
}

void Session::refuse(int status, std::string_view message) {
  stream_.keep_alive = false;  // before the reply, which then says Connection: close
  sendLocal(status, message);
}

parsers::Next Session::onBody(std::string_view chunk) {
  if (stream_.fanout) {
    fanout_req_->body.append(chunk);  // bounded by limits.max_body_bytes (413)
    return parsers::Next::Continue;
  }
  if (stream_.echo && !stream_.head_request) {
    if (stream_.echo_chunked) {
      http::writeChunkHeader(out_, chunk.size());
    }
    // Zero copy: the response references the request's bytes in the input
    // slice; the write pins the slice until it completes.
    out_.appendRef(conn_.inputSlice(), chunk.data(), chunk.size());
    if (stream_.echo_chunked) {
      out_.appendCopy(http::kChunkEnd);
    }
    stream_.body_sent += chunk.size();
    if (outputHigh()) {
      return parsers::Next::Pause;  // processInput stops feeding until writable
    }
  }
  return parsers::Next::Continue;
}

parsers::Next Session::onMessageComplete() {
  stream_.request_done = true;
  if (raw_body_ || body_start_pending_) {
    body_start_pending_ = false;
    body_end_pending_ = true;  // after this execute's bytes are forwarded
  } else if (stream_.proxy && proxy_) {
    proxy_->endBody();
  }
  if (stream_.echo) {
    if (stream_.echo_chunked && !stream_.head_request) {
      out_.appendCopy(http::kLastChunk);
    }
    stream_.response_done = true;
  }
  if (stream_.fanout && !stream_.response_done) {
    startFanout();
  }
  return completeStream();
}

parsers::Next Session::completeStream() {
  if (!stream_.response_done || !stream_.request_done) {
    // Response still to come (a delay, an upstream): stop exactly here so
    // pipelined requests wait (canFeed() is false until it is done).
    return parsers::Next::Pause;
  }
  finishStream();
  if (ending_ || outputHigh()) {
    return parsers::Next::Pause;
  }
  return parsers::Next::Continue;
}

void Session::finishStream() {
  countRequest();
  stream_.active = false;
  got_bytes_ = false;
  if (!stream_.keep_alive) {
    ending_ = true;
  }
}

// ---- output ----------------------------------------------------------------

bool Session::outputHigh() const { return out_.size() + conn_.pendingBytes() > kOutputHighWatermark; }

http::ConnectionHeader Session::connectionHeader() const {
  if (!stream_.keep_alive) {
    return http::ConnectionHeader::Close;
  }
  return stream_.http_minor == 0 ? http::ConnectionHeader::KeepAlive : http::ConnectionHeader::None;
}

void Session::sendRespond() {
  const config::RespondAction& r = *stream_.respond;
  stream_.status = r.status;
  stream_.response_started = true;
  http::ResponseHead head;
  head.status = r.status;
  head.date = loop_.httpDate();
  head.connection = connectionHeader();
  head.content_length = r.body.size() + r.body_size;
  head.headers = r.headers.data();
  head.header_count = r.headers.size();
  http::writeResponseHead(out_, head);
  stream_.response_done = true;
  if (stream_.head_request) {
    return;
  }
  if (!r.body.empty()) {
    // Small bodies join the head in one piece; large ones go by reference:
    // the body lives in the config snapshot, which config_ pins until every
    // write of this connection has completed.
    if (r.body.size() <= kCopyBodyBytes) {
      out_.appendCopy(r.body);
    } else {
      out_.appendExternal(r.body);
    }
    stream_.body_sent = r.body.size();
  }
  stream_.fill_left = r.body_size;
  pumpFill();
}

// Queues more of a generated body, up to the output high watermark; the
// response is done once all of it is queued. flush() calls it again as
// the client reads.
void Session::pumpFill() {
  const std::string_view block = fillBlock();
  while (stream_.fill_left > 0 && !outputHigh()) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(stream_.fill_left, block.size()));
    if (n <= kCopyBodyBytes) {
      out_.appendCopy(block.substr(0, n));
    } else {
      out_.appendExternal(block.substr(0, n));
    }
    stream_.fill_left -= n;
    stream_.body_sent += n;
  }
  stream_.response_done = stream_.fill_left == 0;
}

void Session::sendEchoHead(const parsers::MessageHead& h) {
  stream_.status = 200;
  stream_.response_started = true;
  const size_t head_size = echoHeadSize(h);
  http::ResponseHead rh;
  rh.status = 200;
  rh.date = loop_.httpDate();
  rh.connection = connectionHeader();
  rh.content_type = "message/http";
  if (h.chunked) {
    stream_.echo_chunked = true;
    rh.chunked = true;
  } else {
    rh.content_length = head_size + h.content_length.value_or(0);
  }
  http::writeResponseHead(out_, rh);
  if (stream_.head_request) {
    return;
  }
  std::string text;
  text.reserve(head_size);
  text.append(h.method).append(" ").append(h.target).append(" HTTP/");
  text += static_cast<char>('0' + h.http_major);
  text += '.';
  text += static_cast<char>('0' + h.http_minor);
  text.append("\r\n");
  for (const auto& f : h.headers) {
    text.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  text.append("\r\n");
  if (stream_.echo_chunked) {
    http::writeChunkHeader(out_, text.size());
    out_.appendCopy(text);
    out_.appendCopy(http::kChunkEnd);
  } else {
    out_.appendCopy(text);
  }
  stream_.body_sent = text.size();
}

// An admin page (admin: true listeners), whole: the bodies are small. A
// request body is read and dropped, as for a respond route.
void Session::sendAdmin(server::AdminPage page) {
  static const std::pair<std::string, std::string> kNoStore{"Cache-Control", "no-store"};
  static const std::pair<std::string, std::string> kAllow{"Allow", "GET, HEAD"};
  server::AdminReply r;
  const bool allowed = stream_.method == "GET" || stream_.head_request;
  if (allowed) {
    r = server::adminReply(page, worker_);
  } else {
    r.status = 405;
    r.content_type = "application/json";
    r.body = http::errorBody(405, "The admin pages answer only GET and HEAD");
  }
  stream_.status = r.status;
  stream_.response_started = true;
  stream_.response_done = true;
  http::ResponseHead h;
  h.status = r.status;
  h.date = loop_.httpDate();
  h.connection = connectionHeader();
  h.content_length = r.body.size();
  h.content_type = r.content_type;
  h.headers = allowed ? &kNoStore : &kAllow;
  h.header_count = 1;
  http::writeResponseHead(out_, h);
  if (!stream_.head_request) {
    out_.appendCopy(r.body);
    stream_.body_sent = r.body.size();
  }
}

void Session::sendLocal(int status, std::string_view message) {
  stream_.status = status;
  stream_.response_started = true;
  stream_.response_done = true;
  stream_.body_sent =
      http::writeLocalReply(out_, status, message, loop_.httpDate(), connectionHeader(), stream_.head_request);
}

void Session::flush() {
  if (!out_.empty() && !conn_closed_) {
    conn_.write(out_);
  }
  // A generated body goes on while the socket takes it at once (no write
  // callback follows then); else onWritable -> processInput brings us back.
  while (stream_.fill_left > 0 && !conn_closed_ && conn_.open() && conn_.pendingBytes() < kOutputLowWatermark) {
    pumpFill();
    conn_.write(out_);
    if (stream_.response_done && stream_.request_done) {
      finishStream();  // canFeed() now lets the caller parse what follows
    }
  }
  if (ending_ && !stream_.active && conn_.open()) {
    conn_.finish();
    loop_.lingerTimeouts().arm(timeout_, loop_.now());
  }
}

void Session::onWritable() {
  if (proxy_ && stream_.proxy) {
    proxy_->onDownstreamWritable();
    if (conn_closed_) {
      return;
    }
  }
  if (tunnel_) {
    return;
  }
  if (conn_.pendingBytes() < kOutputLowWatermark && !in_input_) {
    processInput();
    return;
  }
  updateTimeout(true);
}

void Session::onDelayTimer(uv_timer_t* t) {
  auto* self = static_cast<Session*>(t->data);
  if (self->conn_closed_ || !self->stream_.active) {
    return;
  }
  self->stream_.waiting_delay = false;
  self->sendRespond();
  if (self->stream_.request_done && self->stream_.response_done) {
    self->finishStream();
  }
  self->flush();
  self->processInput();
}

// ---- errors, timeouts, shutdown -----------------------------------------------

void Session::onParseError(const parsers::ExecResult& r) {
  auto& c = worker_.counters();
  c.add(c.parse_errors);
  ending_ = true;
  if (stream_.active && stream_.proxy && proxy_ && !stream_.response_started) {
    // The request went bad after its head went upstream: abandon that
    // exchange (its connection is dropped, never pooled), so that nothing
    // it says later (an answer, a 502) follows our 400 to the client.
    proxy_->cancel();
    raw_body_ = body_start_pending_ = body_end_pending_ = false;
  }
  if (stream_.active && stream_.response_started) {
    // The answer is already on its way; the rest of this request is not
    // trustworthy, so finish the response and close.
    stream_.keep_alive = false;
    if (stream_.response_done) {
      stream_.request_done = true;
      finishStream();
    } else {
      stream_.active = false;
    }
    return;
  }
  const http::LocalReply reply = http::replyFor(r.error);
  sendLastReply(reply.status, reply.message);
}

void Session::sendLastReply(int status, std::string_view message) {
  if (!stream_.active) {
    stream_ = Stream{};
    stream_.active = true;
    stream_.start_ns = monotonicNs();
  }
  stream_.keep_alive = false;
  stream_.request_done = true;
  sendLocal(status, message);
  finishStream();
}

void Session::updateTimeout(bool progress) {
  if (conn_closed_ || ending_ || handshaking_) {
    return;  // lingering close and the TLS handshake have their own timeouts
  }
  if (stream_.waiting_delay || (stream_.active && (stream_.proxy || stream_.fanout) && !stream_.response_started)) {
    timeout_.cancel();  // the delay, or the upstreams' own timeouts, apply
    return;
  }
  const bool idle = !stream_.active && !parser_.inMessage() && conn_.pendingBytes() == 0;
  if (idle && slot_.requests == 0) {
    // Waiting for the first request: the header timeout, from accept.
    if (timeout_.list() != &loop_.headerTimeouts()) {
      loop_.headerTimeouts().arm(timeout_, loop_.now());
    }
    return;
  }
  if (parser_.inHead()) {
    if (timeout_.list() != &loop_.headerTimeouts()) {
      loop_.headerTimeouts().arm(timeout_, loop_.now());
    }
    return;
  }
  // Keep-alive wait, body upload or response download: idle timeout,
  // restarted by progress.
  if (progress || timeout_.list() != &loop_.idleTimeouts()) {
    loop_.idleTimeouts().arm(timeout_, loop_.now());
  }
}

void Session::onTimeout() {
  auto& c = worker_.counters();
  c.add(c.timeouts);
  if (ending_ || conn_closed_) {
    conn_.close();  // linger expired
    return;
  }
  if (handshaking_) {
    conn_.tls()->setFailure(tls::Failure::Timeout);
    c.add(c.tls_failures[static_cast<size_t>(tls::Failure::Timeout)]);
    conn_.close();
    return;
  }
  if (parser_.inHead() && got_bytes_ && !stream_.response_started) {
    ending_ = true;
    sendLastReply(408, "The request head did not arrive in time");
    conn_.readStop();
    flush();
    return;
  }
  conn_.close();
}

void Session::drain() {
  draining_ = true;
  if (!stream_.active && !parser_.inMessage() && conn_.pendingBytes() == 0) {
    ending_ = true;
    conn_.close();
    return;
  }
  // The request in flight is the last: its response (if not yet written)
  // says Connection: close, and the connection ends after it.
  stream_.keep_alive = false;
  if (!stream_.active) {
    ending_ = true;
    flush();
  }
}

void Session::forceClose() { conn_.close(); }

void Session::onEof() {
  if (tunnel_) {
    ending_ = true;
    if (proxy_) {
      proxy_->cancel();
    }
    flush();
    return;
  }
  // The client finished sending (shutdown(SHUT_WR)) but may still read:
  // every complete request it sent is answered in order, then the
  // connection ends (processInput decides when). Only a request cut short
  // closes it at once.
  peer_done_ = true;
  if (stream_.active && stream_.request_done) {
    if (conn_.unread().empty()) {
      stream_.keep_alive = false;  // the last one: its answer says so, if not yet written
    }
    return;
  }
  if (!stream_.active && !conn_.unread().empty()) {
    if (!in_input_) {
      processInput();  // pipelined requests held back by output backpressure
    }
    return;
  }
  endHalfClosed();
}

void Session::endHalfClosed() {
  if (stream_.active && !stream_.request_done) {
    if (!parser_.inHead() || stream_.response_started) {
      conn_.close();  // cut short in its body: its exchange (and any upstream one) is abandoned
      return;
    }
    stream_.active = false;  // cut short in its head: nothing of it is in flight
  }
  if (!ending_ && conn_.pendingBytes() == 0 && out_.empty()) {
    conn_.close();  // nothing owed
    return;
  }
  ending_ = true;
  flush();  // what earlier requests are owed still goes out, then the connection ends
}

void Session::onReadError(int err) {
  if (err == net::kErrTlsHandshake || err == net::kErrTlsCertificate) {
    auto& c = worker_.counters();
    c.add(c.tls_failures[static_cast<size_t>(conn_.tls()->failure())]);
  }
  peer_gone_ = true;
  conn_.close();
}

void Session::onWriteError(int) {
  peer_gone_ = true;
  conn_.close();
}

void Session::onClosed() {
  conn_closed_ = true;
  // A request the connection ended under is still logged and counted, as
  // nginx does: with its response's status when that had started (the
  // bytes sent show it was cut), else 499 when the client went away first
  // (nginx's "client closed request"), or 503 when we closed (a forced
  // drain).
  if (stream_.active && !stream_.method.empty() && !tunnel_) {
    if (!stream_.response_started) {
      stream_.status = peer_done_ || peer_gone_ ? 499 : 503;
    }
    countRequest();
    stream_.active = false;
  }
  timeout_.cancel();
  park_.cancel();
  if (proxy_) {
    proxy_->cancel();  // the upstream connection is dropped, never pooled
  }
  if (fanout_) {
    fanout_->cancel();  // every sub-request's connection is dropped
  }
  head_pins_.clear();
  out_.clear();
  auto& c = worker_.counters();
  c.sub(c.connections_active);
  if (delay_timer_) {
    uv_close(reinterpret_cast<uv_handle_t*>(delay_timer_.get()), &Session::onDelayTimerClosed);
    return;
  }
  destroy();
}

void Session::onDelayTimerClosed(uv_handle_t* h) {
  auto* self = static_cast<Session*>(h->data);
  if (self->conn_closed_) {
    self->destroy();  // the connection closed: the slot goes too
  } else {
    self->loop_.deferredDelete(std::unique_ptr<loop::DeferredDeletable>(self));  // parked: the slot lives on
  }
}

void Session::destroy() {
  worker_.removeClient(slot_);
  owns_slot_ = true;
  loop_.deferredDelete(std::unique_ptr<loop::DeferredDeletable>(this));
}

// ---- proxying -------------------------------------------------------------------

bool Session::peerTrusted() const {
  const std::vector<net::Cidr>& trusted = routes_->trusted[listener_.index];
  if (trusted.empty()) {
    return false;
  }
  const sockaddr_storage peer = conn_.peer();
  for (const net::Cidr& c : trusted) {
    if (c.contains(peer)) {
      return true;
    }
  }
  return false;
}

parsers::Next Session::startProxy(parsers::MessageHead& head, const RouteMatch& match, bool expect_continue,
                                  bool has_host) {
  stream_.proxy = true;
  if (!proxy_) {
    ProxyDownstream& down = *this;
    proxy_ = std::make_unique<ProxyStream>(loop_, down, worker_.counters().upstream);
  }
  if (peer_text_.empty()) {
    peer_text_ = net::peerString(conn_.peer());
  }
  if (!has_host) {
    // HTTP/1.0 without Host: the upstream gets HTTP/1.1, which must carry
    // one (RFC 9112 3.2). The address the client connected to is the host
    // it addressed.
    sockaddr_storage local{};
    int len = sizeof(local);
    synth_.clear();
    if (uv_tcp_getsockname(&slot_.tcp, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      net::Address a;
      a.storage = local;
      a.len = static_cast<socklen_t>(len);
      synth_ = a.toString();
    }
    head.headers.push_back({"Host", synth_});
  }
  ProxyRequest req;
  req.head = &head;
  req.match = match;
  req.peer = peer_text_;
  req.peer_trusted = peerTrusted();
  req.listener_port = listener_.port;
  req.expect_continue = expect_continue;
  if (const tls::TlsSession* t = conn_.tls()) {
    req.secure = true;
    if (!client_cert_ && t->isServer()) {
      tls::PeerCertificate pc = t->peerCertificate();
      if (pc.present) {
        client_cert_ = std::make_unique<ClientCertHeaders>();
        client_cert_->distinguished_name = std::move(pc.subject_dn);
        client_cert_->common_name = std::move(pc.common_name);
        client_cert_->public_der_base64 = tls::base64Encode(pc.der);
      }
    }
    req.client_cert = client_cert_.get();
  }
  proxy_->start(*routes_->upstreams, req);
  if (head.hasBody() && !stream_.response_started) {
    body_start_pending_ = true;
    return parsers::Next::Pause;  // the exact end of the head: the body follows
  }
  return parsers::Next::Continue;
}

void Session::downstreamFlush() {
  if (!out_.empty() && !conn_closed_) {
    conn_.write(out_);
  }
}

void Session::onProxyResponseHead(int status, bool close_after) {
  stream_.status = status;
  stream_.response_started = true;
  if (close_after) {
    stream_.keep_alive = false;
  }
  updateTimeout(true);
}

void Session::onProxyResponseComplete() {
  stream_.response_done = true;
  if (!stream_.request_done) {
    // The upstream answered before the request body ended: the rest of the
    // body is not read, so this connection cannot carry another request.
    stream_.keep_alive = false;
    stream_.request_done = true;
    raw_body_ = body_start_pending_ = body_end_pending_ = false;
  }
  finishStream();
  flush();
  if (!in_input_) {
    processInput();  // the next pipelined request, if any
  }
}

void Session::onProxyError(int status, std::string_view message) {
  sendLocal(status, message);
  if (stream_.request_done) {
    finishStream();
    flush();
    if (!in_input_) {
      processInput();
    }
  }
}

void Session::onProxyAbort(bool reset) {
  // Part of the response is out: never let it look complete.
  ending_ = true;
  flush();
  reset ? conn_.reset() : conn_.close();
}

void Session::onProxyRequestWritable() {
  if (tunnel_) {
    conn_.readStart();
    return;
  }
  if (!in_input_) {
    processInput();
  }
}

void Session::onProxyTunnel() {
  tunnel_ = true;
  raw_body_ = false;
  timeout_.cancel();
  stream_.response_done = true;
  countRequest();  // the exchange is a tunnel now; its request is done
  // Bytes the client sent after the upgrade request belong to the tunnel.
  const std::string_view rest = conn_.unread();
  if (!rest.empty()) {
    proxy_->tunnelSend(conn_.inputSlice(), rest.data(), rest.size());
    conn_.consume(rest.size());
  }
  conn_.readStart();
}

void Session::onProxyTunnelEnd() {
  ending_ = true;
  stream_.active = false;
  flush();
  if (conn_.open()) {
    conn_.finish();
    loop_.lingerTimeouts().arm(timeout_, loop_.now());
  }
}

// ---- multisystem fan-out -----------------------------------------------------------

void Session::startFanoutRequest(const parsers::MessageHead& head, bool expect_continue) {
  stream_.fanout = true;
  fanout_req_ = std::make_unique<fanout::GatewayRequest>();
  fanout_req_->method = std::string(head.method);
  fanout_req_->path = std::string(Router::pathOf(head.target).substr(fanout::kGatewayPrefix.size()));
  const size_t q = head.target.find('?');
  if (q != std::string_view::npos) {
    std::string_view query = head.target.substr(q + 1);
    query = query.substr(0, query.find('#'));
    fanout_req_->query = std::string(query);
  }
  if (const parsers::HeaderField* f = head.find("content-type")) {
    fanout_req_->content_type = std::string(f->value);
  }
  // No authentication exists yet: the caller is whoever sends this
  // Authorization header, or one anonymous user (see GatewayRequest).
  const parsers::HeaderField* auth = head.find("authorization");
  fanout_req_->caller = auth != nullptr ? std::string(auth->value) : std::string("anonymous");
  if (expect_continue && head.hasBody()) {
    out_.appendCopy(http::kContinue);
  }
}

void Session::startFanout() {
  if (fanout_) {
    loop_.deferredDelete(std::move(fanout_));  // its callbacks may still be unwinding
  }
  fanout::FanoutOwner& owner = *this;
  fanout_ = std::make_unique<fanout::FanoutStream>(worker_.fanout(), owner);
  fanout_starting_ = true;
  fanout_->start(*routes_->upstreams, *routes_->config, *routes_->systems, std::move(*fanout_req_));
  fanout_starting_ = false;
  fanout_req_.reset();
}

void Session::onFanoutReply(int status, std::string_view json) {
  stream_.status = status;
  stream_.response_started = true;
  stream_.response_done = true;
  http::ResponseHead h;
  h.status = status;
  h.date = loop_.httpDate();
  h.connection = connectionHeader();
  h.content_length = json.size();
  h.content_type = "application/json";
  http::writeResponseHead(out_, h);
  if (!stream_.head_request) {
    out_.appendCopy(json);
    stream_.body_sent = json.size();
  }
  fanoutAnswered();
}

void Session::onFanoutError(int status, std::string_view message) {
  sendLocal(status, message);
  fanoutAnswered();
}

void Session::fanoutAnswered() {
  if (fanout_starting_) {
    return;  // answered synchronously: onMessageComplete's completeStream finishes it
  }
  finishStream();
  flush();
  if (!in_input_) {
    processInput();
  }
}

void Session::countRequest() {
  const uint64_t ns = monotonicNs() - stream_.start_ns;
  logRequest(ns);
  auto& c = worker_.counters();
  c.add(c.requests);
  if (stream_.status != 0) {
    c.recordResponse(stream_.status, ns);
  }
}

void Session::logRequest(uint64_t duration_ns) {
  server::AccessLogSink* sink = worker_.accessLog();
  if (sink == nullptr || !sink->enabled()) {
    return;
  }
  if (peer_text_.empty()) {
    peer_text_ = net::peerString(conn_.peer());
  }
  server::AccessRecord r;
  r.remote = peer_text_;
  r.time = loop_.logTime();
  r.method = stream_.method.empty() ? std::string_view("-") : stream_.method;
  r.target = stream_.target.empty() ? std::string_view("-") : stream_.target;
  r.http_major = stream_.http_major;
  r.http_minor = stream_.http_minor;
  r.status = stream_.status;
  r.bytes_sent = stream_.body_sent;
  r.duration_ms = static_cast<double>(duration_ns) / 1e6;
  r.referer = stream_.referer;
  r.user_agent = stream_.user_agent;
  sink->record(r);
}

}  // namespace plexgate::proxy
