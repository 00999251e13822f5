#include "engine/fanout/fanout_stream.h"

#include <charconv>
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

bool isTargetByte(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) {
    return false;
  }
  switch (c) {
    case '#': case '"': case '<': case '>': case '\\': case '^': case '`': case '{': case '|': case '}':
      return false;
    default:
      return true;
  }
}

// resource_path holds decoded bytes; a request-target may not carry some.
void appendTarget(std::string& out, std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    if (isTargetByte(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
}

parsers::Http1Limits responseLimits() {
  parsers::Http1Limits l;
  l.max_head_bytes = 64 * 1024;
  l.max_headers = 256;
  l.max_uri_bytes = 64 * 1024;
  l.max_body_bytes = kMaxSystemOutputBytes;
  return l;
}

bool hasContentParam(std::string_view query) {
  return query.starts_with("content=") || query.find("&content=") != std::string_view::npos;
}

// "host:port" for a Host header or an absolute-form target.
std::string authorityOf(const config::UpstreamEndpoint& ep) {
  const bool v6 = ep.host.find(':') != std::string::npos;
  return (v6 ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(ep.port);
}

const config::System* findSystem(const config::Config& c, std::string_view name) {
  for (const config::System& s : c.systems) {
    if (s.name == name) {
      return &s;
    }
  }
  for (const config::System& s : c.systems) {
    if (s.system_name == name) {
      return &s;
    }
  }
  return nullptr;
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

class FanoutStream::SubRequest final : private net::ConnectionHandler, private parsers::Http1Handler {
 public:
  SubRequest(FanoutStream& fan, const config::System& system)
      : fan_(fan),
        system_(system),
        parser_(parsers::Http1Parser::Type::Response, responseLimits(), *this),
        out_(fan.loop_.slicePool()),
        deadline_(&SubRequest::onDeadline, this) {}
  ~SubRequest() override { cancel(); }

  // `connect_head` is the CONNECT request for an https system behind an
  // HTTP proxy ("" otherwise); `request` then goes through the tunnel.
  void start(uint64_t timeout_ms, std::string request, std::string connect_head, bool had_credentials,
             bool had_proxy_credentials) {
    had_credentials_ = had_credentials;
    had_proxy_credentials_ = had_proxy_credentials;
    request_ = std::move(request);
    connect_head_ = std::move(connect_head);
    tunnel_ = !connect_head_.empty();
    fan_.loop_.timeouts(quantizeTimeoutMs(timeout_ms)).arm(deadline_, fan_.loop_.now());
    proxy::UpstreamPool& pool = *fan_.pool_;
    const size_t cluster = system_.cluster_index;
    // A tunnel is never pooled (see complete()), so there is none idle to take.
    up_ = tunnel_ ? nullptr : pool.takeIdle(cluster, 0, *this);
    if (up_ != nullptr) {
      ++up_->requests;
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

  parsers::FanoutSystemResult result() {
    parsers::FanoutSystemResult r;
    r.system_name = system_.name;
    r.rc = rc_;
    r.output = body_;
    r.output_capacity = body_.capacity();
    if (rc_ != FanoutRc::Ok) {
      const RcMessage m = messageFor(rc_);
      r.error = parsers::FanoutError{m.msgid, msgtxt_.empty() ? m.msgtxt : std::string_view(msgtxt_)};
    }
    // What the config knows about the system; a member it does not know is
    // null, and systemVersion is null when it knows none of them.
    auto known = [](const std::string& s) {
      return s.empty() ? std::nullopt : std::optional<std::string_view>(s);
    };
    if (!system_.zos_node.empty() || !system_.zos_vrm.empty() || !system_.sysplex.empty()) {
      r.system_version =
          parsers::FanoutSystemVersion{known(system_.zos_node), known(system_.zos_vrm), known(system_.sysplex)};
    }
    r.secondary_api_version = known(system_.secondary_api_version);
    return r;
  }

 private:
  void send() {
    out_.appendCopy(request_);
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
        out_.appendCopy(connect_head_);
        up_->conn().write(out_);
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
    if (!system_.http_proxy.empty() && !tunnel_ && h.status == 401) {
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
    const proxy::ClusterRuntime& cr = fan_.pool_->cluster(system_.cluster_index);
    parser_.reset();
    pins_.clear();
    complete_ = false;
    status_ = 0;
    got_bytes_ = false;
    proxy_401_ = false;
    body_.clear();
    phase_ = Phase::Handshake;
    if (!cr.config->tls_context ||
        !up_->conn().upgradeToClientTls(cr.config->tls_context, system_.target.host,
                                        &fan_.pool_->cluster(system_.cluster_index).tls_sessions[0])) {
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
      fan_.pool_->release(c);
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
      char num[8];
      const auto end = std::to_chars(num, num + sizeof(num), status_).ptr;
      msgtxt_ = "The HTTP proxy refused the tunnel with HTTP " + std::string(num, end);
    } else if (status_ == 401) {
      rc = had_credentials_ ? FanoutRc::InvalidLogin : FanoutRc::LoginRequired;
    } else if (status_ >= 400) {
      rc = body_.empty() ? FanoutRc::UnexpectedFailure : FanoutRc::FailedWithMessage;
      char num[8];
      const auto end = std::to_chars(num, num + sizeof(num), status_).ptr;
      msgtxt_ = "The system answered HTTP " + std::string(num, end);
    }
    finish(rc);
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
    fan_.onSubDone();
  }

  static void onDeadline(loop::TimeoutNode& node) {
    auto* self = static_cast<SubRequest*>(node.owner());
    self->finish(FanoutRc::HttpConnectionTimedOut);
  }

  // Connecting -> Exchange, or for a tunnel: Connecting (to the proxy) ->
  // Tunnel (CONNECT sent) -> Handshake (TLS with the system) -> Exchange.
  enum class Phase : uint8_t { Connecting, Tunnel, Handshake, Exchange };

  FanoutStream& fan_;
  const config::System& system_;
  parsers::Http1Parser parser_;
  buf::BufferChain out_;
  loop::TimeoutNode deadline_;
  std::vector<buf::SliceRef> pins_;
  proxy::UpstreamConnection* up_ = nullptr;
  std::string request_;
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

// ---- the fan-out ------------------------------------------------------------------------

FanoutStream::FanoutStream(loop::EventLoop& loop, FanoutOwner& owner, CredentialStorePtr credentials)
    : loop_(loop), owner_(owner), credentials_(std::move(credentials)) {}

FanoutStream::~FanoutStream() { cancel(); }

void FanoutStream::cancel() {
  done_ = true;
  for (auto& s : subs_) {
    s->cancel();
  }
}

void FanoutStream::start(proxy::UpstreamPool& pool, const config::Config& config, GatewayRequest req) {
  pool_ = &pool;
  config_ = &config;
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
  parsers::FanoutContentParser parser;
  // POST and PUT: content= in the query, the body goes to every system. A
  // POST or PUT without content= carries the content as its body, and then
  // nothing is forwarded.
  const bool body_forwarded = (req_.method == "POST" || req_.method == "PUT") && hasContentParam(req_.query);
  const bool content_in_body = (req_.method == "POST" || req_.method == "PUT") && !body_forwarded;
  parsers::FanoutContentResult parsed =
      content_in_body ? parser.parseJson(req_.body, kind) : parser.parseQuery(req_.query, kind);
  if (!parsed) {
    done_ = true;
    owner_.onFanoutError(400, parsed.error());
    return;
  }
  content_ = std::move(parsed).value();
  // Targets to systems, in the order named (a group/sysplex/cpc: file order).
  std::vector<const config::System*> systems;
  const std::string& first = content_.targets.front();
  if (kind == parsers::FanoutKind::System || kind == parsers::FanoutKind::Systems) {
    for (const std::string& t : content_.targets) {
      const config::System* s = nullptr;
      for (const config::System& c : config_->systems) {
        if (c.name == t) {
          s = &c;
          break;
        }
      }
      if (s == nullptr) {
        done_ = true;
        owner_.onFanoutError(404, "No system is named '" + t + "'");
        return;
      }
      systems.push_back(s);
    }
  } else {
    for (const config::System& c : config_->systems) {
      bool member = false;
      if (kind == parsers::FanoutKind::Sysplex) {
        member = c.sysplex == first;
      } else if (kind == parsers::FanoutKind::Cpc) {
        member = c.cpc == first;
      } else {
        for (const std::string& g : c.groups) {
          member = member || g == first;
        }
      }
      if (member) {
        systems.push_back(&c);
      }
    }
    if (systems.empty()) {
      done_ = true;
      owner_.onFanoutError(404, "No system is in " + std::string(parsers::fanoutKindName(kind)) + " '" + first + "'");
      return;
    }
  }
  subs_.reserve(systems.size());
  for (const config::System* s : systems) {
    subs_.push_back(std::make_unique<SubRequest>(*this, *s));
  }
  pending_ = subs_.size();
  for (size_t i = 0; i < subs_.size(); ++i) {
    const config::System& s = *systems[i];
    const std::string authority = authorityOf(s.target);
    const bool via_proxy = !s.http_proxy.empty();
    // https behind a proxy: a CONNECT tunnel, then the request in
    // origin-form inside TLS. http: absolute-form to the proxy.
    const bool tunnel = via_proxy && s.target.scheme == "https";
    std::string head;
    head.reserve(256 + content_.resource_path.size());
    head.append(req_.method).append(" ");
    if (via_proxy && !tunnel) {
      // Absolute-form: the proxy forwards it to the secondary.
      head.append("http://").append(authority);
    }
    appendTarget(head, s.target.base_path);
    appendTarget(head, content_.resource_path);
    head.append(" HTTP/1.1\r\nHost: ").append(authority);
    // z/OSMF refuses state-changing calls without it (CSRF guard).
    head.append("\r\nX-CSRF-ZOSMF-HEADER: true");
    std::optional<Credentials> cred;
    if (credentials_) {
      cred = credentials_->find(CredentialKind::Secondary, req_.caller, s.name);
    }
    if (cred) {
      head.append("\r\nAuthorization: Basic ").append(tls::base64Encode(cred->user + ":" + cred->password));
    }
    std::optional<Credentials> proxy_cred;
    if (via_proxy && credentials_) {
      proxy_cred = credentials_->find(CredentialKind::Proxy, req_.caller, s.name);
    }
    std::string connect_head;
    if (tunnel) {
      connect_head.append("CONNECT ").append(authority).append(" HTTP/1.1\r\nHost: ").append(authority);
    }
    if (proxy_cred) {
      // For a tunnel the proxy reads it on CONNECT; the system never sees it.
      (tunnel ? connect_head : head)
          .append("\r\nProxy-Authorization: Basic ")
          .append(tls::base64Encode(proxy_cred->user + ":" + proxy_cred->password));
    }
    if (tunnel) {
      connect_head.append("\r\n\r\n");
    }
    for (const parsers::FanoutHeader& h : content_.request_properties) {
      head.append("\r\n").append(h.name).append(": ").append(h.value);
    }
    if (body_forwarded) {
      if (!req_.content_type.empty()) {
        head.append("\r\nContent-Type: ").append(req_.content_type);
      }
      head.append("\r\nContent-Length: ").append(std::to_string(req_.body.size()));
    } else if (req_.method == "POST" || req_.method == "PUT") {
      head.append("\r\nContent-Length: 0");
    }
    head.append("\r\n\r\n");
    if (body_forwarded) {
      head.append(req_.body);
    }
    const uint64_t timeout = content_.timeout_ms ? *content_.timeout_ms : static_cast<uint64_t>(s.timeout.count());
    subs_[i]->start(timeout, std::move(head), std::move(connect_head), cred.has_value(), proxy_cred.has_value());
    if (done_) {
      return;  // cannot happen while a later sub is still pending; kept for safety
    }
  }
}

void FanoutStream::onSubDone() {
  if (done_ || pending_ == 0) {
    return;
  }
  if (--pending_ == 0) {
    reply();
  }
}

void FanoutStream::reply() {
  done_ = true;
  std::vector<parsers::FanoutSystemResult> results;
  results.reserve(subs_.size());
  for (auto& s : subs_) {
    results.push_back(s->result());
  }
  parsers::FanoutAggregateWriter writer;
  std::string json;
  writer.append(json, kPrimaryApiVersion, results);
  owner_.onFanoutReply(200, std::move(json));
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
  const config::System* s = findSystem(*config_, system);
  if (s == nullptr) {
    owner_.onFanoutError(404, "No system is named '" + std::string(system) + "'");
    return;
  }
  if (credentials_) {
    credentials_->put(kind, req_.caller, s->name, Credentials{std::string(user), std::string(password)});
  }
  std::string reply = "{\"rc\":\"OK\",\"systemName\":";
  parsers::appendJsonString(reply, s->name);
  reply += "}";
  owner_.onFanoutReply(200, std::move(reply));
}

}  // namespace plexgate::fanout
