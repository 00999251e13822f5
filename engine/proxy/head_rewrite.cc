#include "engine/proxy/head_rewrite.h"

#include <charconv>
#include <cstring>

#include "engine/http/response_writer.h"
#include "parsers/ascii.h"

namespace plexgate::proxy {

namespace {

using parsers::iequals;

// Heads are written through a sink: straight into one region reserved in
// the chain when an upper bound of the head's size fits a slice (nearly
// always: one reserve and plain copies), piece by piece otherwise.
class RawSink {
 public:
  RawSink(char* at, size_t cap) : start_(at), at_(at), end_(at + cap) {}
  void put(std::string_view s) {
    if (s.size() > static_cast<size_t>(end_ - at_)) {
      overflow_ = true;  // the bound was wrong: the caller writes again piece by piece
      return;
    }
    if (!s.empty()) {  // an empty view may be null, which memcpy must not get
      std::memcpy(at_, s.data(), s.size());
      at_ += s.size();
    }
  }
  size_t written() const { return static_cast<size_t>(at_ - start_); }
  bool overflowed() const { return overflow_; }

 private:
  char* start_;
  char* at_;
  char* end_;
  bool overflow_ = false;
};

class ChainSink {
 public:
  explicit ChainSink(buf::BufferChain& out) : out_(out) {}
  void put(std::string_view s) { out_.appendCopy(s); }

 private:
  buf::BufferChain& out_;
};

// Writes what `write(sink)` produces into `out`. `bound` is what the head
// should need at most; a bound that proves short is never overrun (the
// region is abandoned and the head written piece by piece).
template <class Write>
void writeHead(buf::BufferChain& out, size_t bound, const Write& write) {
  if (bound <= buf::kDefaultSliceSize) {
    RawSink sink(out.reserve(bound), bound);
    write(sink);
    if (!sink.overflowed()) {
      out.commit(sink.written());
      return;
    }
  }
  ChainSink sink(out);
  write(sink);
}

// Every field once, with its separators: a head rewritten from `h` repeats
// at most the Host value (as X-Forwarded-Host) besides these.
size_t fieldBytes(const parsers::MessageHead& h) {
  size_t n = 0;
  for (const parsers::HeaderField& f : h.headers) {
    n += f.name.size() + f.value.size() + 4;
  }
  return n;
}

// RFC 9110 7.6.1 hop-by-hop fields, plus the non-standard ones proxies drop.
bool isHopByHop(std::string_view name) {
  switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "trailer") || iequals(name, "upgrade");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16: return iequals(name, "proxy-connection");
    case 17: return iequals(name, "transfer-encoding");
    default: return false;
  }
}

// The field names listed in a head's Connection headers (hop-by-hop by
// declaration), collected once per head; a handful at most.
class ConnectionTokens {
 public:
  explicit ConnectionTokens(const parsers::MessageHead& h) {
    for (const auto& f : h.headers) {
      if (f.name.size() != 10 || !iequals(f.name, "connection")) {
        continue;
      }
      std::string_view v = f.value;
      while (!v.empty() && count_ < kMax) {
        const size_t comma = v.find(',');
        std::string_view tok = v.substr(0, comma);
        while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) {
          tok.remove_prefix(1);
        }
        while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) {
          tok.remove_suffix(1);
        }
        // keep-alive, close and upgrade are options, not field names we forward anyway
        if (!tok.empty() && !iequals(tok, "keep-alive") && !iequals(tok, "close")) {
          tokens_[count_++] = tok;
        }
        if (comma == std::string_view::npos) {
          break;
        }
        v.remove_prefix(comma + 1);
      }
    }
  }
  bool contains(std::string_view name) const {
    for (size_t i = 0; i < count_; ++i) {
      if (iequals(tokens_[i], name)) {
        return true;
      }
    }
    return false;
  }

 private:
  static constexpr size_t kMax = 16;  // more is hostile; the rest are simply not honoured
  std::string_view tokens_[kMax];
  size_t count_ = 0;
};

// Copies one field unless it is hop-by-hop (by name, or listed in
// Connection). An Upgrade field is remembered instead when `upgrading`.
template <class Sink>
void copyEndToEnd(Sink& out, const parsers::HeaderField& f, const ConnectionTokens& listed, bool upgrading,
                  std::string_view& upgrade) {
  if (isHopByHop(f.name)) {
    if (upgrading && f.name.size() == 7 && iequals(f.name, "upgrade")) {
      upgrade = f.value;
    }
    return;
  }
  if (listed.contains(f.name)) {
    return;
  }
  out.put(f.name);
  out.put(": ");
  out.put(f.value);
  out.put("\r\n");
}

bool isForwardedHeader(std::string_view name) {
  return name.size() >= 15 && name.size() <= 18 && iequals(name.substr(0, 12), "x-forwarded-") &&
         (iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") ||
          iequals(name, "x-forwarded-host") || iequals(name, "x-forwarded-port") ||
          iequals(name, "x-forwarded-prefix"));
}

// Zowe's client-certificate headers: only plexgate sets them (from a
// verified certificate); a client's own copies would impersonate someone.
bool isCertificateHeader(std::string_view name) {
  return name.size() >= 20 && iequals(name.substr(0, 14), "x-certificate-") &&
         (iequals(name, "x-certificate-public") || iequals(name, "x-certificate-distinguishedname") ||
          iequals(name, "x-certificate-commonname"));
}

// Appends `a` + `b` with exactly one '/' between them when both have one.
template <class Sink>
void appendJoined(Sink& out, std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '/' && !b.empty() && b.front() == '/') {
    b.remove_prefix(1);
  }
  out.put(a);
  out.put(b);
  if (a.empty() && b.empty()) {
    out.put("/");
  }
}

template <class Sink>
void requestHead(Sink& out, const ProxyRequest& req, std::string_view endpoint_base_path) {
  const parsers::MessageHead& h = *req.head;
  const RouteMatch& m = req.match;
  const RouteEntry& e = *m.entry;
  out.put(h.method);
  out.put(" ");
  std::string_view forwarded_prefix;
  if (e.kind == RouteEntry::Kind::Service) {
    const std::string_view rel = e.service_route->service_relative_url;
    out.put(endpoint_base_path);
    appendJoined(out, rel.empty() ? std::string_view("/") : rel, m.remainder);
    out.put(m.query);
    forwarded_prefix = e.prefix;
  } else if (e.proxy != nullptr && e.proxy->rewrite_prefix) {
    appendJoined(out, *e.proxy->rewrite_prefix, m.remainder);
    out.put(m.query);
    forwarded_prefix = std::string_view(e.prefix);
    if (!forwarded_prefix.empty() && forwarded_prefix.back() == '/' && forwarded_prefix.size() > 1) {
      forwarded_prefix.remove_suffix(1);
    }
  } else {
    out.put(h.target);  // as sent: no re-encoding
  }
  out.put(" HTTP/1.1\r\n");
  std::string_view xff, xfproto, xfhost, xfport, xfprefix, host;
  std::string_view upgrade;
  const ConnectionTokens listed(h);
  for (const parsers::HeaderField& f : h.headers) {
    if (isForwardedHeader(f.name)) {
      if (req.peer_trusted) {
        if (iequals(f.name, "x-forwarded-for")) {
          xff = f.value;
        } else if (iequals(f.name, "x-forwarded-proto")) {
          xfproto = f.value;
        } else if (iequals(f.name, "x-forwarded-host")) {
          xfhost = f.value;
        } else if (iequals(f.name, "x-forwarded-port")) {
          xfport = f.value;
        } else {
          xfprefix = f.value;
        }
      }
      continue;
    }
    if (f.name.size() == 4 && iequals(f.name, "host")) {
      host = f.value;
    }
    if (isCertificateHeader(f.name)) {
      continue;
    }
    copyEndToEnd(out, f, listed, h.upgrade, upgrade);
  }
  if (!upgrade.empty()) {
    out.put("Connection: upgrade\r\nUpgrade: ");
    out.put(upgrade);
    out.put("\r\n");
  }
  if (h.chunked) {
    out.put("Transfer-Encoding: chunked\r\n");
  }
  out.put("X-Forwarded-For: ");
  if (!xff.empty()) {
    out.put(xff);
    out.put(", ");
  }
  out.put(req.peer);
  out.put("\r\nX-Forwarded-Proto: ");
  out.put(!xfproto.empty() ? xfproto : req.secure ? std::string_view("https") : std::string_view("http"));
  if (!xfhost.empty() || !host.empty()) {
    out.put("\r\nX-Forwarded-Host: ");
    out.put(xfhost.empty() ? host : xfhost);
  }
  out.put("\r\nX-Forwarded-Port: ");
  if (!xfport.empty()) {
    out.put(xfport);
  } else {
    char port[8];
    auto r = std::to_chars(port, port + sizeof(port), req.listener_port);
    out.put(std::string_view(port, static_cast<size_t>(r.ptr - port)));
  }
  if (!forwarded_prefix.empty() || !xfprefix.empty()) {
    out.put("\r\nX-Forwarded-Prefix: ");
    out.put(xfprefix);
    out.put(forwarded_prefix);
  }
  if (req.client_cert != nullptr) {
    out.put("\r\nX-Certificate-Public: ");
    out.put(req.client_cert->public_der_base64);
    out.put("\r\nX-Certificate-DistinguishedName: ");
    out.put(req.client_cert->distinguished_name);
    out.put("\r\nX-Certificate-CommonName: ");
    out.put(req.client_cert->common_name);
  }
  out.put("\r\n\r\n");
}

template <class Sink>
void responseHead(Sink& out, const parsers::MessageHead& h, bool close_after, bool client_http10) {
  char status[8];
  auto r = std::to_chars(status, status + sizeof(status), h.status);
  out.put("HTTP/1.1 ");
  out.put(std::string_view(status, static_cast<size_t>(r.ptr - status)));
  out.put(" ");
  out.put(http::reasonPhrase(h.status));
  out.put("\r\n");
  std::string_view upgrade;
  const ConnectionTokens listed(h);
  for (const parsers::HeaderField& f : h.headers) {
    copyEndToEnd(out, f, listed, h.status == 101, upgrade);
  }
  if (h.status == 101) {
    out.put("Connection: upgrade\r\nUpgrade: ");
    out.put(upgrade);
    out.put("\r\n\r\n");
    return;
  }
  if (h.chunked) {
    out.put("Transfer-Encoding: chunked\r\n");
  }
  if (close_after) {
    out.put("Connection: close\r\n");
  } else if (client_http10) {
    out.put("Connection: keep-alive\r\n");
  }
  out.put("\r\n");
}

}  // namespace

void writeUpstreamRequestHead(buf::BufferChain& out, const ProxyRequest& req, std::string_view endpoint_base_path) {
  const parsers::MessageHead& h = *req.head;
  const RouteEntry& e = *req.match.entry;
  // The request line's parts, every field, the Host value again, what
  // plexgate adds (fixed names, the peer, the certificate) and slack for
  // separators and the port.
  size_t bound = 256 + h.method.size() + h.target.size() + endpoint_base_path.size() + req.match.remainder.size() +
                 req.match.query.size() + e.prefix.size() + fieldBytes(h) + req.peer.size();
  if (const parsers::HeaderField* host = h.find("host")) {
    bound += host->value.size();
  }
  if (e.service_route != nullptr) {
    bound += e.service_route->service_relative_url.size();
  }
  if (e.proxy != nullptr && e.proxy->rewrite_prefix) {
    bound += e.proxy->rewrite_prefix->size();
  }
  if (req.client_cert != nullptr) {
    bound += 128 + req.client_cert->public_der_base64.size() + req.client_cert->distinguished_name.size() +
             req.client_cert->common_name.size();
  }
  writeHead(out, bound, [&](auto& sink) { requestHead(sink, req, endpoint_base_path); });
}

void writeDownstreamResponseHead(buf::BufferChain& out, const parsers::MessageHead& h, bool close_after,
                                 bool client_http10) {
  // Status line and the fields plexgate adds are under 128 bytes.
  const size_t bound = 128 + fieldBytes(h);
  writeHead(out, bound, [&](auto& sink) { responseHead(sink, h, close_after, client_http10); });
}

namespace {

// Fields a recipient merging trailers into the header section would act on
// as framing, routing, connection handling, request modifiers,
// authentication, response controls or content format: RFC 9110 6.5.1 says
// they cannot be trailers, 6.5.2 that they must not be merged, and a
// lenient peer may merge them all the same. Plus the identities plexgate
// itself vouches for (X-Forwarded-*, X-Certificate-*).
bool forbiddenInTrailers(std::string_view name) {
  if (isHopByHop(name) || isForwardedHeader(name) || isCertificateHeader(name)) {
    return true;  // te, trailer, upgrade, connection, keep-alive, proxy-connection, transfer-encoding
  }
  switch (name.size()) {
    case 3: return iequals(name, "age");
    case 4: return iequals(name, "host") || iequals(name, "date") || iequals(name, "vary");
    case 5: return iequals(name, "range");
    case 6: return iequals(name, "cookie") || iequals(name, "expect") || iequals(name, "pragma");
    case 7: return iequals(name, "expires");
    case 8: return iequals(name, "location") || iequals(name, "if-match") || iequals(name, "if-range");
    case 10: return iequals(name, "set-cookie");
    case 11: return iequals(name, "retry-after");
    case 12: return iequals(name, "content-type") || iequals(name, "max-forwards");
    case 13: return iequals(name, "authorization") || iequals(name, "cache-control") ||
                    iequals(name, "content-range") || iequals(name, "if-none-match");
    case 14: return iequals(name, "content-length");
    case 16: return iequals(name, "content-encoding") || iequals(name, "www-authenticate");
    case 17: return iequals(name, "if-modified-since");
    case 18: return iequals(name, "proxy-authenticate");
    case 19: return iequals(name, "proxy-authorization") || iequals(name, "if-unmodified-since");
    default: return false;
  }
}

}  // namespace

void writeTrailerSection(buf::BufferChain& out, const std::vector<parsers::HeaderField>& trailers) {
  ChainSink sink(out);
  for (const parsers::HeaderField& f : trailers) {
    if (forbiddenInTrailers(f.name)) {
      continue;
    }
    sink.put(f.name);
    sink.put(": ");
    sink.put(f.value);
    sink.put("\r\n");
  }
  sink.put("\r\n");
}

}  // namespace plexgate::proxy
