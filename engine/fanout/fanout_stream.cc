#include "engine/fanout/fanout_stream.h"

#include <charconv>
#include <cstring>
#include <utility>

#include "engine/loop/timeout_list.h"
#include "engine/net/connection.h"
#include "parsers/http1_parser.h"
#include "tls/tls_session.h"

namespace plexgate::fanout {

namespace {

using parsers::FanoutRc;

// Our own message numbers for the per-system `error` (DESIGN.md: the Zowe
// shape, our numbers).
struct RcMessage {
  std::string_view msgid;
  std::string_view msgtxt;
};

RcMessage messageFor(FanoutRc rc) {
  switch (rc) {
    case FanoutRc::Ok: return {"", ""};
    case FanoutRc::HttpConnectionFailed: return {"PGW0601E", "The connection to the system failed"};
    case FanoutRc::HttpConnectionTimedOut: return {"PGW0602E", "The system did not answer in time"};
    case FanoutRc::CertificateError: return {"PGW0603E", "The system's TLS certificate is not trusted"};
    case FanoutRc::LoginRequired: return {"PGW0604E", "The system requires a login: POST /zosmf/gateway/logon"};
    case FanoutRc::InvalidLogin: return {"PGW0605E", "The system refused the credentials held for it"};
    case FanoutRc::ProxyLoginRequired: return {"PGW0606E", "The HTTP proxy requires a login"};
    case FanoutRc::InvalidProxyLogin: return {"PGW0607E", "The HTTP proxy refused the credentials held for it"};
    case FanoutRc::FailedWithMessage: return {"PGW0608E", "The system answered with an error"};
    case FanoutRc::UnexpectedFailure: return {"PGW0609E", "An unexpected failure occurred"};
  }
  return {"PGW0609E", "An unexpected failure occurred"};
}

parsers::Http1Limits makeResponseLimits() {
  parsers::Http1Limits l;
  l.max_head_bytes = 64 * 1024;
  l.max_headers = 256;
  l.max_uri_bytes = 64 * 1024;
  l.max_body_bytes = kMaxSystemOutputBytes;
  return l;
}

const parsers::Http1Limits kResponseLimits = makeResponseLimits();

// Recycled SystemCalls per loop, and the buffers one may keep: beyond these
// the memory goes back (a reply of one huge body must not stay pinned).
constexpr size_t kMaxIdleCalls = 1024;
constexpr size_t kRetainBodyBytes = 64 * 1024;
constexpr size_t kRetainReplyBytes = 1024 * 1024;

bool hasContentParam(std::string_view query) {
  return query.starts_with("content=") || query.find("&content=") != std::string_view::npos;
}

}  // namespace

uint64_t quantizeTimeoutMs(uint64_t ms) {
  auto up = [](uint64_t v, uint64_t step) { return (v + step - 1) / step * step; };
  if (ms <= 1000) {
    return up(ms == 0 ? 1 : ms, 50);
  }
  if (ms <= 10'000) {
    return up(ms, 500);
  }
  return up(ms, 10'000);
}

// ---- one system's exchange ---------------------------------------------------------

// One system's sub-request. Made by FanoutLoop, lent to one FanoutStream at
// a time (which owns it while lent) and recycled between fan-outs, so its
// HTTP parser, buffers and body capacity are set up once per loop, not once
// per call.
class SystemCall final : private net::ConnectionHandler, private parsers::Http1Handler {
 public:
  explicit SystemCall(loop::EventLoop& loop)
      : parser_(parsers::Http1Parser::Type::Response, kResponseLimits, *this),
        out_(loop.slicePool()),
        deadline_(&SystemCall::onDeadline, this) {}
  ~SystemCall() override { cancel(); }
  SystemCall(const SystemCall&) = delete;
  SystemCall& operator=(const SystemCall&) = delete;

  // For `system` of `fan`'s fan-out; the request is appended to out() next.
  void bind(FanoutStream& fan, const config::System& system, bool tunnel) {
    fan_ = &fan;
    system_ = &system;
    tunnel_ = tunnel;
  }
  buf::BufferChain& out() { return out_; }
  std::string& connectHead() { return connect_head_; }

  // out() holds the request; connectHead() the CONNECT request when tunnel.
  void start(loop::TimeoutList& deadline, bool had_credentials, bool had_proxy_credentials) {
    had_credentials_ = had_credentials;
    had_proxy_credentials_ = had_proxy_credentials;
    deadline.arm(deadline_, fan_->loop_.now());
    proxy::UpstreamPool& pool = *fan_->pool_;
    const size_t cluster = system_->cluster_index;
    // A tunnel is never pooled (see complete()), so there is none idle to take.
    up_ = tunnel_ ? nullptr : pool.takeIdle(cluster, 0, *this);
    if (up_ != nullptr) {
      ++up_->requests;
      phase_ = Phase::Exchange;
      send();
      return;
    }
    int rc = 0;
    up_ = pool.connect(cluster, 0, *this, rc);
    if (up_ == nullptr) {
      finish(FanoutRc::HttpConnectionFailed);
      return;
    }
    ++up_->requests;
  }

  // Stops the exchange: the deadline is cancelled and a connection still
  // held is closed, never pooled. Idempotent.
  void cancel() {
    deadline_.cancel();
    pins_.clear();
    if (up_ != nullptr) {
      proxy::UpstreamConnection* c = up_;
      up_ = nullptr;
      c->detach();
      c->conn().close();  // a connection cut mid-exchange never goes back to the pool
    }
    done_ = true;
  }

  // Back to the state of a new call, keeping what is worth keeping.
  void recycle() {
    cancel();
    fan_ = nullptr;
    system_ = nullptr;
    parser_.reset();
    out_.clear();
    body_.clear();
    if (body_.capacity() > kRetainBodyBytes) {
      std::string().swap(body_);
    }
    connect_head_.clear();
    msgtxt_.clear();
    rc_ = FanoutRc::UnexpectedFailure;
    status_ = 0;
    keep_alive_ = true;
    complete_ = interim_ = got_bytes_ = false;
    had_credentials_ = had_proxy_credentials_ = proxy_401_ = tunnel_ = false;
    phase_ = Phase::Connecting;
    done_ = false;
  }

  FanoutRc rc() const { return rc_; }
  size_t outputSize() const { return body_.size(); }

  parsers::FanoutSystemResult result() const {
    const config::System& s = *system_;
    parsers::FanoutSystemResult r;
    r.system_name = s.name;
    r.rc = rc_;
    r.output = body_;
    r.output_capacity = body_.capacity();
    if (rc_ != FanoutRc::Ok) {
      const RcMessage m = messageFor(rc_);
      r.error = parsers::FanoutError{m.msgid, msgtxt_.empty() ? m.msgtxt : std::string_view(msgtxt_)};
    }
    // What the config knows about the system; a member it does not know is
    // null, and systemVersion is null when it knows none of them.
    auto known = [](const std::string& v) {
      return v.empty() ? std::nullopt : std::optional<std::string_view>(v);
    };
    if (!s.zos_node.empty() || !s.zos_vrm.empty() || !s.sysplex.empty()) {
      r.system_version = parsers::FanoutSystemVersion{known(s.zos_node), known(s.zos_vrm), known(s.sysplex)};
    }
    r.secondary_api_version = known(s.secondary_api_version);
    return r;
  }

 private:
  void send() {
    // write() never calls back (a failure is reported on the next turn,
    // through onWriteError), so up_ is still ours, also when a pooled
    // connection just reset.
    up_->conn().write(out_);
    up_->conn().readStart();
  }

  void onConnected(int status) override {
    if (done_) {
      return;
    }
    if (status == 0) {
      if (tunnel_ && phase_ == Phase::Connecting) {
        // Connected to the proxy: ask it for a tunnel to the system.
        phase_ = Phase::Tunnel;
        buf::BufferChain connect(fan_->loop_.slicePool());
        connect.appendCopy(connect_head_);
        up_->conn().write(connect);  // as in send(): never calls back
        up_->conn().readStart();
        return;
      }
      phase_ = Phase::Exchange;
      send();
      return;
    }
    if (status == net::kErrTlsCertificate) {
      finish(FanoutRc::CertificateError);
      return;
    }
    finish(FanoutRc::HttpConnectionFailed);
  }

  void onData() override {
    if (done_ || up_ == nullptr) {
      return;
    }
    got_bytes_ = true;
    while (!done_ && up_ != nullptr) {
      const std::string_view data = up_->conn().unread();
      if (data.empty()) {
        break;
      }
      if (!parser_.inMessage() || parser_.inHead()) {
        const buf::SliceRef& in = up_->conn().inputSlice();
        if (pins_.empty() || pins_.back().get() != in.get()) {
          pins_.push_back(in);
        }
      }
      const parsers::ExecResult r = parser_.execute(data.data(), data.size());
      if (!parser_.inHead()) {
        pins_.clear();
      }
      up_->conn().consume(r.consumed);
      if (complete_) {
        if (phase_ == Phase::Tunnel && status_ >= 200 && status_ < 300) {
          startTunnelTls();
        } else {
          complete();
        }
        return;
      }
      if (r.status == parsers::ExecResult::Status::Paused) {
        parser_.resume();
      } else if (r.status != parsers::ExecResult::Status::Ok) {
        // Malformed, too large, or an upgrade nobody asked for.
        msgtxt_ = parser_.bodyBytes() >= kMaxSystemOutputBytes ? "The system's response is too large"
                                                               : "The system sent an invalid HTTP response";
        body_.clear();
        finish(FanoutRc::UnexpectedFailure);
        return;
      }
    }
  }

  void onEof() override {
    if (done_) {
      return;
    }
    if (parser_.inMessage() && !parser_.inHead()) {
      const parsers::ExecResult r = parser_.finish();
      if (r.status != parsers::ExecResult::Status::Error && complete_) {
        keep_alive_ = false;
        complete();
        return;
      }
    }
    // A reset before any answer is what a refused or dropped connection
    // looks like from here.
    finish(got_bytes_ ? FanoutRc::UnexpectedFailure : FanoutRc::HttpConnectionFailed);
  }

  void onReadError(int err) override {
    if (done_) {
      return;
    }
    if (err == net::kErrTlsCertificate) {
      finish(FanoutRc::CertificateError);
      return;
    }
    // As onEof: a reset before any answer is a failed connection; one in the
    // middle of an answer leaves a truncated response.
    finish(got_bytes_ ? FanoutRc::UnexpectedFailure : FanoutRc::HttpConnectionFailed);
  }

  void onWriteError(int) override {
    if (!done_) {
      finish(FanoutRc::HttpConnectionFailed);
    }
  }

  void onClosed() override {
    // We detach before closing, so this is a close we did not ask for.
    up_ = nullptr;
    if (!done_) {
      finish(FanoutRc::HttpConnectionFailed);
    }
  }

  parsers::Next onHead(parsers::MessageHead& h) override {
    if (h.status >= 100 && h.status < 200) {
      interim_ = true;
      return parsers::Next::Continue;  // 100 Continue and friends: wait for the real answer
    }
    status_ = h.status;
    keep_alive_ = h.keep_alive;
    if (phase_ == Phase::Tunnel) {
      // The proxy's answer to CONNECT: a 2xx has no body (RFC 9110 9.3.6),
      // the tunnel's bytes follow; anything else is the proxy's own answer,
      // 401 included (tinyproxy's, see below).
      proxy_401_ = h.status == 401;
      return h.status >= 200 && h.status < 300 ? parsers::Next::SkipBody : parsers::Next::Continue;
    }
    if (!system_->http_proxy.empty() && !tunnel_ && h.status == 401) {
      // tinyproxy 1.11 (Debian's) answers wrong proxy credentials with 401
      // and WWW-Authenticate instead of 407; its Server header tells its
      // 401 from the secondary's. A proxy that follows RFC 9110 sends 407.
      const parsers::HeaderField* server = h.find("server");
      proxy_401_ = h.find("proxy-authenticate") != nullptr ||
                   (server != nullptr && server->value.starts_with("tinyproxy/"));
    }
    if (h.content_length) {
      body_.reserve(static_cast<size_t>(*h.content_length) + simdjson::SIMDJSON_PADDING);
    }
    return parsers::Next::Continue;
  }

  parsers::Next onBody(std::string_view chunk) override {
    body_.append(chunk);
    return parsers::Next::Continue;
  }

  parsers::Next onMessageComplete() override {
    if (interim_) {
      interim_ = false;
      return parsers::Next::Continue;
    }
    complete_ = true;
    return parsers::Next::Pause;
  }

  // The proxy opened the tunnel: TLS with the system over it, verified
  // against the system's host with the system's own TLS settings.
  void startTunnelTls() {
    proxy::ClusterRuntime& cr = fan_->pool_->cluster(system_->cluster_index);
    parser_.reset();
    pins_.clear();
    complete_ = false;
    status_ = 0;
    got_bytes_ = false;
    proxy_401_ = false;
    body_.clear();
    phase_ = Phase::Handshake;
    if (!cr.config->tls_context ||
        !up_->conn().upgradeToClientTls(cr.config->tls_context, system_->target.host, &cr.tls_sessions[0])) {
      // Bytes after the proxy's 200 (a TLS server never speaks first), or
      // no memory for the session.
      msgtxt_ = "TLS could not start in the HTTP proxy's tunnel";
      finish(FanoutRc::UnexpectedFailure);
    }
    // onConnected reports the handshake.
  }

  void complete() {
    deadline_.cancel();
    proxy::UpstreamConnection* c = up_;
    up_ = nullptr;
    // A tunnel is never pooled: the proxy checked one caller's
    // Proxy-Authorization when it opened it, and a pooled tunnel would carry
    // that login to another caller's request. (A refused CONNECT leaves a
    // plain proxy connection that nothing here would take from the pool.)
    const bool reusable = !tunnel_ && keep_alive_ && c->conn().open() && c->conn().unread().empty() &&
                          c->conn().pendingBytes() == 0;
    if (reusable) {
      fan_->pool_->release(c);
    } else {
      c->detach();
      c->conn().close();
    }
    FanoutRc rc = FanoutRc::Ok;
    if (status_ == 407 || (status_ == 401 && proxy_401_)) {
      rc = had_proxy_credentials_ ? FanoutRc::InvalidProxyLogin : FanoutRc::ProxyLoginRequired;
    } else if (phase_ == Phase::Tunnel) {
      // The proxy refused the tunnel. Its 5xx means it could not reach the
      // system (tinyproxy: "500 Unable to connect", others 502/503/504).
      rc = status_ >= 500 ? FanoutRc::HttpConnectionFailed : FanoutRc::FailedWithMessage;
      msgtxt_ = "The HTTP proxy refused the tunnel with HTTP ";
      appendStatus(msgtxt_);
    } else if (status_ == 401) {
      rc = had_credentials_ ? FanoutRc::InvalidLogin : FanoutRc::LoginRequired;
    } else if (status_ >= 400) {
      rc = body_.empty() ? FanoutRc::UnexpectedFailure : FanoutRc::FailedWithMessage;
      msgtxt_ = "The system answered HTTP ";
      appendStatus(msgtxt_);
    }
    finish(rc);
  }

  void appendStatus(std::string& out) const {
    char num[8];
    const auto end = std::to_chars(num, num + sizeof(num), status_).ptr;
    out.append(num, end);
  }

  void finish(FanoutRc rc) {
    if (done_) {
      return;
    }
    if (rc == FanoutRc::HttpConnectionFailed || rc == FanoutRc::HttpConnectionTimedOut ||
        rc == FanoutRc::CertificateError) {
      body_.clear();
    }
    rc_ = rc;
    cancel();  // done_ = true; closes the connection unless complete() handed it back
    FanoutCounters::add(fan_->shared_.counters().rc[static_cast<size_t>(rc)]);
    fan_->onCallDone();
  }

  static void onDeadline(loop::TimeoutNode& node) {
    auto* self = static_cast<SystemCall*>(node.owner());
    self->finish(FanoutRc::HttpConnectionTimedOut);
  }

  // Connecting -> Exchange, or for a tunnel: Connecting (to the proxy) ->
  // Tunnel (CONNECT sent) -> Handshake (TLS with the system) -> Exchange.
  enum class Phase : uint8_t { Connecting, Tunnel, Handshake, Exchange };

  FanoutStream* fan_ = nullptr;            // the fan-out it is lent to; it outlives the exchange
  const config::System* system_ = nullptr;  // in the fan-out's pinned config
  parsers::Http1Parser parser_;
  buf::BufferChain out_;  // the request, until written
  loop::TimeoutNode deadline_;
  std::vector<buf::SliceRef> pins_;
  proxy::UpstreamConnection* up_ = nullptr;
  std::string connect_head_;
  std::string body_;
  std::string msgtxt_;
  FanoutRc rc_ = FanoutRc::UnexpectedFailure;
  int status_ = 0;
  bool keep_alive_ = true;
  bool complete_ = false;
  bool interim_ = false;
  bool got_bytes_ = false;
  bool had_credentials_ = false;
  bool had_proxy_credentials_ = false;
  bool proxy_401_ = false;  // a 401 that came from the HTTP proxy itself
  bool tunnel_ = false;     // https through an HTTP proxy: CONNECT first
  Phase phase_ = Phase::Connecting;
  bool done_ = false;
};

// ---- per-loop state -----------------------------------------------------------------------

FanoutLoop::FanoutLoop(loop::EventLoop& loop, FanoutCounters& counters)
    : loop_(loop), counters_(counters), heads_(loop.slicePool()) {}

FanoutLoop::~FanoutLoop() = default;

std::unique_ptr<SystemCall> FanoutLoop::takeCall() {
  if (!idle_calls_.empty()) {
    std::unique_ptr<SystemCall> c = std::move(idle_calls_.back());
    idle_calls_.pop_back();
    return c;
  }
  ++calls_alive_;
  return std::make_unique<SystemCall>(loop_);
}

void FanoutLoop::recycle(std::unique_ptr<SystemCall> call) {
  if (idle_calls_.size() >= kMaxIdleCalls) {
    --calls_alive_;
    return;  // `call` is freed here
  }
  call->recycle();
  idle_calls_.push_back(std::move(call));
}

// ---- the fan-out ------------------------------------------------------------------------

FanoutStream::FanoutStream(FanoutLoop& shared, FanoutOwner& owner)
    : shared_(shared), loop_(shared.loop()), owner_(owner), body_(shared.loop().slicePool()) {}

FanoutStream::~FanoutStream() {
  cancel();
  for (auto& c : calls_) {
    shared_.recycle(std::move(c));
  }
}

void FanoutStream::cancel() {
  done_ = true;
  for (auto& c : calls_) {
    c->cancel();
  }
}

void FanoutStream::start(proxy::UpstreamPool& pool, const config::Config& config, const SystemIndex& systems,
                         GatewayRequest req) {
  pool_ = &pool;
  config_ = &config;
  systems_ = &systems;
  req_ = std::move(req);
  if (req_.path == "logon" || req_.path == "logon/proxy") {
    if (req_.method != "POST") {
      done_ = true;
      owner_.onFanoutError(405, "Logon takes POST");
      return;
    }
    logon(req_.path == "logon" ? CredentialKind::Secondary : CredentialKind::Proxy);
    return;
  }
  const std::optional<parsers::FanoutKind> kind = parsers::fanoutKindFromName(req_.path);
  if (!kind) {
    done_ = true;
    owner_.onFanoutError(404, "No multisystem routing service at this path");
    return;
  }
  if (req_.method != "GET" && req_.method != "POST" && req_.method != "PUT" && req_.method != "DELETE") {
    done_ = true;
    owner_.onFanoutError(405, "Multisystem routing takes GET, POST, PUT or DELETE");
    return;
  }
  startFanout(*kind);
}

void FanoutStream::startFanout(parsers::FanoutKind kind) {
  // POST and PUT: content= in the query, the body goes to every system. A
  // POST or PUT without content= carries the content as its body, and then
  // nothing is forwarded.
  const bool has_body = req_.method == "POST" || req_.method == "PUT";
  const bool body_forwarded = has_body && hasContentParam(req_.query);
  parsers::FanoutContentParser& parser = shared_.content_parser_;
  parsers::FanoutContentResult parsed =
      has_body && !body_forwarded ? parser.parseJson(req_.body, kind) : parser.parseQuery(req_.query, kind);
  if (!parsed) {
    done_ = true;
    owner_.onFanoutError(400, parsed.error());
    return;
  }
  content_ = std::move(parsed).value();

  // Targets to systems, in the order named (a group/sysplex/cpc: file order).
  const SystemIndex& index = *systems_;
  std::vector<uint32_t> named;
  std::span<const uint32_t> members;
  if (kind == parsers::FanoutKind::System || kind == parsers::FanoutKind::Systems) {
    named.reserve(content_.targets.size());
    for (const std::string& t : content_.targets) {
      const int64_t i = index.byName(t);
      if (i < 0) {
        done_ = true;
        owner_.onFanoutError(404, "No system is named '" + t + "'");
        return;
      }
      named.push_back(static_cast<uint32_t>(i));
    }
    members = named;
  } else {
    const std::string& name = content_.targets.front();
    members = index.members(kind, name);
    if (members.empty()) {
      done_ = true;
      owner_.onFanoutError(404, "No system is in " + std::string(parsers::fanoutKindName(kind)) + " '" + name + "'");
      return;
    }
  }

  // What every system's request shares, written once: the encoded resource
  // path, and the head's tail (requestProperties, the body's framing).
  std::string path;
  appendTarget(path, content_.resource_path);
  path.append(" HTTP/1.1\r\nHost: ");
  std::string tail;
  for (const parsers::FanoutHeader& h : content_.request_properties) {
    tail.append("\r\n").append(h.name).append(": ").append(h.value);
  }
  if (body_forwarded) {
    if (!req_.content_type.empty()) {
      tail.append("\r\nContent-Type: ").append(req_.content_type);
    }
    char num[24];
    const auto end = std::to_chars(num, num + sizeof(num), req_.body.size()).ptr;
    tail.append("\r\nContent-Length: ").append(num, end);
    body_.appendCopy(req_.body);  // once; each call's request refers to it
  } else if (has_body) {
    tail.append("\r\nContent-Length: 0");
  }
  tail.append("\r\n\r\n");

  calls_.reserve(members.size());
  for (const uint32_t i : members) {
    calls_.push_back(shared_.takeCall());
    calls_.back()->bind(*this, index.system(i), index.wire(i).tunnel);
  }
  pending_ = calls_.size();
  FanoutCounters::add(shared_.counters().requests);
  FanoutCounters::add(shared_.counters().system_calls, calls_.size());
  // Credentials: none to look up for the anonymous-and-empty common case is
  // the store's business; each lookup is one map probe.
  CredentialStore* store = shared_.credentials().get();
  loop::TimeoutList* deadlines = nullptr;  // the list for the last timeout used
  uint64_t deadline_ms = 0;
  std::string& head = shared_.head_;
  for (size_t k = 0; k < calls_.size(); ++k) {
    const uint32_t i = members[k];
    const config::System& s = index.system(i);
    const SystemIndex::Wire& w = index.wire(i);
    SystemCall& call = *calls_[k];
    head.clear();
    head.append(req_.method).append(" ").append(w.target_prefix).append(path).append(w.authority);
    // z/OSMF refuses state-changing calls without it (CSRF guard).
    head.append("\r\nX-CSRF-ZOSMF-HEADER: true");
    std::optional<Credentials> cred;
    if (store != nullptr) {
      cred = store->find(CredentialKind::Secondary, req_.caller, s.name);
    }
    if (cred) {
      head.append("\r\nAuthorization: Basic ").append(tls::base64Encode(cred->user + ":" + cred->password));
    }
    std::optional<Credentials> proxy_cred;
    if (w.via_proxy && store != nullptr) {
      proxy_cred = store->find(CredentialKind::Proxy, req_.caller, s.name);
    }
    if (w.tunnel) {
      // https behind a proxy: a CONNECT tunnel, then the request in
      // origin-form inside TLS; the proxy credentials go on CONNECT and the
      // system never sees them.
      std::string& connect = call.connectHead();
      connect.append("CONNECT ").append(w.authority).append(" HTTP/1.1\r\nHost: ").append(w.authority);
      if (proxy_cred) {
        connect.append("\r\nProxy-Authorization: Basic ")
            .append(tls::base64Encode(proxy_cred->user + ":" + proxy_cred->password));
      }
      connect.append("\r\n\r\n");
    } else if (proxy_cred) {
      head.append("\r\nProxy-Authorization: Basic ")
          .append(tls::base64Encode(proxy_cred->user + ":" + proxy_cred->password));
    }
    head.append(tail);
    if (head.size() <= buf::kDefaultSliceSize) {
      buf::BufferChain& heads = shared_.heads_;
      char* at = heads.reserve(head.size());
      std::memcpy(at, head.data(), head.size());
      heads.commit(head.size());
      call.out().appendRef(heads.piece(heads.pieceCount() - 1).owner, at, head.size());
    } else {
      call.out().appendCopy(head);  // huge requestProperties: its own slices
    }
    if (body_forwarded) {
      call.out().appendRefsOf(body_);
    }
    const uint64_t ms = quantizeTimeoutMs(content_.timeout_ms ? *content_.timeout_ms
                                                              : static_cast<uint64_t>(s.timeout.count()));
    if (deadlines == nullptr || ms != deadline_ms) {
      deadlines = &loop_.timeouts(ms);
      deadline_ms = ms;
    }
    call.start(*deadlines, cred.has_value(), proxy_cred.has_value());
    if (done_) {
      break;  // cannot happen while a later call is still pending; kept for safety
    }
  }
  // The calls hold their heads; the tail slice is reused once they are written.
  shared_.heads_.clear();
}

void FanoutStream::onCallDone() {
  if (done_ || pending_ == 0) {
    return;
  }
  if (--pending_ == 0) {
    reply();
  }
}

void FanoutStream::reply() {
  done_ = true;
  std::string& json = shared_.reply_;
  parsers::FanoutAggregateWriter& writer = shared_.writer_;
  json.clear();
  // Expected size, not worst case (escaping may still grow it): ~200 bytes
  // of keys and values per system around its output.
  size_t expected = 64;
  for (const auto& c : calls_) {
    expected += 256 + c->outputSize();
  }
  json.reserve(expected);
  writer.begin(json, kPrimaryApiVersion);
  for (const auto& c : calls_) {
    writer.appendSystem(json, c->result());
  }
  writer.end(json);
  owner_.onFanoutReply(200, json);
  // The owner copied it. A nested fan-out (a pipelined request answered
  // synchronously) may have reused the buffer meanwhile; either way it is
  // free now.
  if (json.capacity() > kRetainReplyBytes) {
    std::string().swap(json);
  }
}

void FanoutStream::logon(CredentialKind kind) {
  done_ = true;
  const std::string_view user_key = kind == CredentialKind::Secondary ? "userid" : "proxyUserId";
  const std::string_view password_key = kind == CredentialKind::Secondary ? "password" : "proxyPassword";
  std::string json;
  if (!parsers::singleToDoubleQuotes(req_.body, json)) {
    owner_.onFanoutError(400, "The logon body is not JSON");
    return;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    owner_.onFanoutError(400, "The logon body must be a JSON object");
    return;
  }
  std::string_view user, password, system;
  if (doc[user_key].get(user) != simdjson::SUCCESS || doc[password_key].get(password) != simdjson::SUCCESS ||
      doc["systemName"].get(system) != simdjson::SUCCESS) {
    owner_.onFanoutError(400, "The logon body needs string members " + std::string(user_key) + ", " +
                                  std::string(password_key) + " and systemName");
    return;
  }
  const int64_t i = systems_->byNameOrSystemName(system);
  if (i < 0) {
    owner_.onFanoutError(404, "No system is named '" + std::string(system) + "'");
    return;
  }
  const config::System& s = systems_->system(static_cast<uint32_t>(i));
  if (shared_.credentials()) {
    shared_.credentials()->put(kind, req_.caller, s.name, Credentials{std::string(user), std::string(password)});
  }
  std::string reply = "{\"rc\":\"OK\",\"systemName\":";
  parsers::appendJsonString(reply, s.name);
  reply += "}";
  owner_.onFanoutReply(200, reply);
}

}  // namespace plexgate::fanout
