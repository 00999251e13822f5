// The heads a proxied exchange rewrites: the request head sent upstream and
// the response head sent back to the client. Both copy the end-to-end
// fields as they came and drop hop-by-hop ones (RFC 9110 7.6.1, plus those
// named in Connection). The request head also gets its target rewritten for
// service and prefix-rewrite routes, X-Forwarded-* (inbound copies kept only
// from trusted peers) and, with a verified client certificate, Zowe's
// X-Certificate-* fields (inbound copies always dropped).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/buf/buffer_chain.h"
#include "engine/proxy/router.h"
#include "parsers/http1_parser.h"

namespace plexgate::proxy {

// A verified client certificate as the upstream is told of it (Zowe API ML's
// header names). Made once per connection by the Session.
struct ClientCertHeaders {
  std::string distinguished_name;  // X-Certificate-DistinguishedName
  std::string common_name;         // X-Certificate-CommonName
  std::string public_der_base64;   // X-Certificate-Public
};

// One request to forward, as the Session hands it over.
struct ProxyRequest {
  const parsers::MessageHead* head = nullptr;  // valid for the whole stream
  RouteMatch match;
  std::string_view peer;         // client address, for X-Forwarded-For
  bool peer_trusted = false;     // inbound X-Forwarded-* kept
  uint16_t listener_port = 0;
  bool expect_continue = false;  // client asked for 100-continue
  bool secure = false;           // arrived over TLS: X-Forwarded-Proto https
  // The downstream's verified client certificate, forwarded as Zowe's
  // X-Certificate-* headers; null without one.
  const ClientCertHeaders* client_cert = nullptr;
};

// The request head for the upstream. `endpoint_base_path` is the chosen
// instance's base path, used by service routes ("" otherwise).
void writeUpstreamRequestHead(buf::BufferChain& out, const ProxyRequest& req, std::string_view endpoint_base_path);

// The upstream's response head for the client. `close_after`: the client
// connection ends with this response; `client_http10`: the client spoke
// HTTP/1.0 and keeps the connection only when told so.
void writeDownstreamResponseHead(buf::BufferChain& out, const parsers::MessageHead& h, bool close_after,
                                 bool client_http10);

// The trailer section of a chunked message whose fields the parser took
// apart (parsers::Http1Parser::trailers()), after its last-chunk line: one
// "name: value" line per field, then the empty line. The trailers are
// forwarded this way, never as received, so no folded line reaches a peer.
// Fields that are not allowed in trailers (framing, routing, connection,
// authentication, content format...: RFC 9110 6.5.1) are dropped, since a
// lenient recipient might merge them into the header section.
void writeTrailerSection(buf::BufferChain& out, const std::vector<parsers::HeaderField>& trailers);

}  // namespace plexgate::proxy
