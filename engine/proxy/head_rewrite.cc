#include "engine/proxy/head_rewrite.h"

#include <charconv>

#include "engine/http/response_writer.h"
#include "parsers/ascii.h"

namespace plexgate::proxy {

namespace {

using parsers::iequals;

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
void copyEndToEnd(buf::BufferChain& out, const parsers::HeaderField& f, const ConnectionTokens& listed, bool upgrading,
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
  out.appendCopy(f.name);
  out.appendCopy(": ");
  out.appendCopy(f.value);
  out.appendCopy("\r\n");
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
void appendJoined(buf::BufferChain& out, std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '/' && !b.empty() && b.front() == '/') {
    b.remove_prefix(1);
  }
  out.appendCopy(a);
  out.appendCopy(b);
  if (a.empty() && b.empty()) {
    out.appendCopy("/");
  }
}

}  // namespace

void writeUpstreamRequestHead(buf::BufferChain& out, const ProxyRequest& req, std::string_view endpoint_base_path) {
  const parsers::MessageHead& h = *req.head;
  const RouteMatch& m = req.match;
  const RouteEntry& e = *m.entry;
  out.appendCopy(h.method);
  out.appendCopy(" ");
  std::string_view forwarded_prefix;
  if (e.kind == RouteEntry::Kind::Service) {
    const std::string_view rel = e.service_route->service_relative_url;
    out.appendCopy(endpoint_base_path);
    appendJoined(out, rel.empty() ? std::string_view("/") : rel, m.remainder);
    out.appendCopy(m.query);
    forwarded_prefix = e.prefix;
  } else if (e.proxy != nullptr && e.proxy->rewrite_prefix) {
    appendJoined(out, *e.proxy->rewrite_prefix, m.remainder);
    out.appendCopy(m.query);
    forwarded_prefix = std::string_view(e.prefix);
    if (!forwarded_prefix.empty() && forwarded_prefix.back() == '/' && forwarded_prefix.size() > 1) {
      forwarded_prefix.remove_suffix(1);
    }
  } else {
    out.appendCopy(h.target);  // as sent: no re-encoding
  }
  out.appendCopy(" HTTP/1.1\r\n");
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
    out.appendCopy("Connection: upgrade\r\nUpgrade: ");
    out.appendCopy(upgrade);
    out.appendCopy("\r\n");
  }
  if (h.chunked) {
    out.appendCopy("Transfer-Encoding: chunked\r\n");
  }
  out.appendCopy("X-Forwarded-For: ");
  if (!xff.empty()) {
    out.appendCopy(xff);
    out.appendCopy(", ");
  }
  out.appendCopy(req.peer);
  out.appendCopy("\r\nX-Forwarded-Proto: ");
  out.appendCopy(!xfproto.empty() ? xfproto : req.secure ? std::string_view("https") : std::string_view("http"));
  if (!xfhost.empty() || !host.empty()) {
    out.appendCopy("\r\nX-Forwarded-Host: ");
    out.appendCopy(xfhost.empty() ? host : xfhost);
  }
  out.appendCopy("\r\nX-Forwarded-Port: ");
  if (!xfport.empty()) {
    out.appendCopy(xfport);
  } else {
    char port[8];
    auto r = std::to_chars(port, port + sizeof(port), req.listener_port);
    out.appendCopy(std::string_view(port, static_cast<size_t>(r.ptr - port)));
  }
  if (!forwarded_prefix.empty() || !xfprefix.empty()) {
    out.appendCopy("\r\nX-Forwarded-Prefix: ");
    out.appendCopy(xfprefix);
    out.appendCopy(forwarded_prefix);
  }
  if (req.client_cert != nullptr) {
    out.appendCopy("\r\nX-Certificate-Public: ");
    out.appendCopy(req.client_cert->public_der_base64);
    out.appendCopy("\r\nX-Certificate-DistinguishedName: ");
    out.appendCopy(req.client_cert->distinguished_name);
    out.appendCopy("\r\nX-Certificate-CommonName: ");
    out.appendCopy(req.client_cert->common_name);
  }
  out.appendCopy("\r\n\r\n");
}

void writeDownstreamResponseHead(buf::BufferChain& out, const parsers::MessageHead& h, bool close_after, bool client_http10) {
  char status[8];
  auto r = std::to_chars(status, status + sizeof(status), h.status);
  out.appendCopy("HTTP/1.1 ");
  out.appendCopy(std::string_view(status, static_cast<size_t>(r.ptr - status)));
  out.appendCopy(" ");
  out.appendCopy(http::reasonPhrase(h.status));
  out.appendCopy("\r\n");
  std::string_view upgrade;
  const ConnectionTokens listed(h);
  for (const parsers::HeaderField& f : h.headers) {
    copyEndToEnd(out, f, listed, h.status == 101, upgrade);
  }
  if (h.status == 101) {
    out.appendCopy("Connection: upgrade\r\nUpgrade: ");
    out.appendCopy(upgrade);
    out.appendCopy("\r\n\r\n");
    return;
  }
  if (h.chunked) {
    out.appendCopy("Transfer-Encoding: chunked\r\n");
  }
  if (close_after) {
    out.appendCopy("Connection: close\r\n");
  } else if (client_http10) {
    out.appendCopy("Connection: keep-alive\r\n");
  }
  out.appendCopy("\r\n");
}

}  // namespace plexgate::proxy
