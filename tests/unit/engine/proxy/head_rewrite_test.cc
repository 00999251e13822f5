// Exact bytes of the heads a proxied exchange writes (head_rewrite.h): the
// request head for the upstream and the response head for the client.
#include "engine/proxy/head_rewrite.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/buf/buffer_chain.h"
#include "engine/buf/slice.h"
#include "parsers/http1_parser.h"

namespace plexgate::proxy {
namespace {

// Parses one head and keeps it (and the bytes its views point into).
class ParsedHead final : public parsers::Http1Handler {
 public:
  ParsedHead(std::string bytes, parsers::Http1Parser::Type type) : bytes_(std::move(bytes)) {
    parsers::Http1Limits limits;
    limits.max_head_bytes = 128 * 1024;
    limits.max_headers = 256;
    parser_ = std::make_unique<parsers::Http1Parser>(type, limits, *this);
    const parsers::ExecResult r = parser_->execute(bytes_.data(), bytes_.size());
    EXPECT_NE(r.status, parsers::ExecResult::Status::Error) << r.reason;
    EXPECT_TRUE(got_) << "no complete head";
  }
  const parsers::MessageHead& head() const { return head_; }

 private:
  parsers::Next onHead(parsers::MessageHead& head) override {
    head_ = head;
    got_ = true;
    return parsers::Next::Pause;
  }
  parsers::Next onBody(std::string_view) override { return parsers::Next::Continue; }
  parsers::Next onMessageComplete() override { return parsers::Next::Continue; }

  std::string bytes_;
  std::unique_ptr<parsers::Http1Parser> parser_;
  parsers::MessageHead head_;
  bool got_ = false;
};

class HeadRewriteTest : public ::testing::Test {
 protected:
  std::string upstreamHead(const std::string& request, ProxyRequest req, std::string_view base_path = "") {
    ParsedHead parsed(request, parsers::Http1Parser::Type::Request);
    req.head = &parsed.head();
    if (req.match.entry == nullptr) {
      req.match.entry = &plain_;
    }
    if (req.peer.empty()) {
      req.peer = "10.1.2.3";
    }
    if (req.listener_port == 0) {
      req.listener_port = 8080;
    }
    buf::BufferChain out(pool_);
    writeUpstreamRequestHead(out, req, base_path);
    return out.toString();
  }
  std::string downstreamHead(const std::string& response, bool close_after, bool http10) {
    ParsedHead parsed(response, parsers::Http1Parser::Type::Response);
    buf::BufferChain out(pool_);
    writeDownstreamResponseHead(out, parsed.head(), close_after, http10);
    return out.toString();
  }

  static RouteEntry proxyEntry() {
    RouteEntry e;
    e.kind = RouteEntry::Kind::Proxy;
    return e;
  }

  buf::SlicePool pool_;
  RouteEntry plain_ = proxyEntry();  // a proxy route that forwards the target as sent
};

TEST_F(HeadRewriteTest, DropsHopByHopAndUntrustedForwardedFieldsAndAddsForwarded) {
  const std::string out = upstreamHead(
      "GET /a/b?x=1 HTTP/1.1\r\nHost: front.example\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n"
      "Keep-Alive: 300\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nX-Forwarded-For: 6.6.6.6\r\n"
      "X-Forwarded-Proto: https\r\nX-Certificate-CommonName: admin\r\nX-Keep: yes\r\n\r\n",
      {});
  EXPECT_EQ(out,
            "GET /a/b?x=1 HTTP/1.1\r\nHost: front.example\r\nX-Keep: yes\r\n"
            "X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: front.example\r\n"
            "X-Forwarded-Port: 8080\r\n\r\n");
}

TEST_F(HeadRewriteTest, TrustedPeerExtendsForwardedFields) {
  ProxyRequest req;
  req.peer_trusted = true;
  req.secure = true;
  const std::string out = upstreamHead(
      "POST /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: pub.example\r\n"
      "X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /edge\r\nTransfer-Encoding: chunked\r\n\r\n",
      req);
  EXPECT_EQ(out,
            "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
            "X-Forwarded-For: 6.6.6.6, 10.1.2.3\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: pub.example\r\n"
            "X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /edge\r\n\r\n");
}

TEST_F(HeadRewriteTest, PrefixRewriteJoinsPathsAndSetsForwardedPrefix) {
  config::ProxyAction action;
  action.rewrite_prefix = "/v2/";
  RouteEntry entry;
  entry.kind = RouteEntry::Kind::Proxy;
  entry.prefix = "/api/";
  entry.proxy = &action;
  ProxyRequest req;
  req.match.entry = &entry;
  req.match.remainder = "users/7";
  req.match.query = "?full=1";
  EXPECT_EQ(upstreamHead("GET /api/users/7?full=1 HTTP/1.1\r\nHost: h\r\n\r\n", req),
            "GET /v2/users/7?full=1 HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.1.2.3\r\n"
            "X-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nX-Forwarded-Port: 8080\r\n"
            "X-Forwarded-Prefix: /api\r\n\r\n");
}

TEST_F(HeadRewriteTest, ServiceRouteUsesEndpointBasePathAndServiceUrl) {
  config::ServiceRoute route;
  route.service_relative_url = "/api/v1/";
  RouteEntry entry;
  entry.kind = RouteEntry::Kind::Service;
  entry.prefix = "/svc/api/v1";
  entry.service_route = &route;
  ProxyRequest req;
  req.match.entry = &entry;
  req.match.remainder = "/items";
  EXPECT_EQ(upstreamHead("DELETE /svc/api/v1/items HTTP/1.1\r\n\r\n", req, "/base"),
            "DELETE /base/api/v1/items HTTP/1.1\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\n"
            "X-Forwarded-Port: 8080\r\nX-Forwarded-Prefix: /svc/api/v1\r\n\r\n");
}

TEST_F(HeadRewriteTest, UpgradeIsForwardedAsConnectionUpgrade) {
  EXPECT_EQ(upstreamHead("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n",
                         {}),
            "GET /ws HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Version: 13\r\nConnection: upgrade\r\n"
            "Upgrade: websocket\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: h\r\nX-Forwarded-Port: 8080\r\n\r\n");
}

TEST_F(HeadRewriteTest, VerifiedClientCertificateBecomesZoweHeaders) {
  ClientCertHeaders cert{"CN=alice,O=Example", "alice", "TUlJQg=="};
  ProxyRequest req;
  req.client_cert = &cert;
  EXPECT_EQ(upstreamHead("GET / HTTP/1.1\r\nX-Certificate-Public: forged\r\n\r\n", req),
            "GET / HTTP/1.1\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\n"
            "X-Forwarded-Port: 8080\r\nX-Certificate-Public: TUlJQg==\r\n"
            "X-Certificate-DistinguishedName: CN=alice,O=Example\r\nX-Certificate-CommonName: alice\r\n\r\n");
}

// A head bigger than one slice still comes out whole and in order.
TEST_F(HeadRewriteTest, HeadLargerThanASliceIsWrittenWhole) {
  std::string request = "GET /big HTTP/1.1\r\nHost: h\r\n";
  std::string expected_fields;
  for (int i = 0; i < 40; ++i) {
    const std::string field = "X-F" + std::to_string(i) + ": " + std::string(1000, static_cast<char>('a' + i % 26)) + "\r\n";
    request += field;
    expected_fields += field;
  }
  request += "\r\n";
  const std::string out = upstreamHead(request, {});
  const std::string expected = "GET /big HTTP/1.1\r\nHost: h\r\n" + expected_fields +
                               "X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n"
                               "X-Forwarded-Port: 8080\r\n\r\n";
  EXPECT_EQ(out.size(), expected.size());
  EXPECT_TRUE(out == expected) << "the 40 KiB head differs";  // not printed: too big
}

TEST_F(HeadRewriteTest, ResponseHeadDropsHopByHopAndSaysHowTheConnectionGoesOn) {
  const std::string upstream =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: X-Secret\r\nX-Secret: s\r\n"
      "Keep-Alive: timeout=5\r\nX-Up: 1\r\n\r\n";
  EXPECT_EQ(downstreamHead(upstream, false, false), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Up: 1\r\n\r\n");
  EXPECT_EQ(downstreamHead(upstream, true, false),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Up: 1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(downstreamHead(upstream, false, true),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Up: 1\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(downstreamHead("HTTP/1.1 404 Whatever\r\nTransfer-Encoding: chunked\r\n\r\n", false, false),
            "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(downstreamHead("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
                           "Sec-WebSocket-Accept: x\r\n\r\n",
                           false, false),
            "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\n"
            "Upgrade: websocket\r\n\r\n");
}

// Trailers go out one line per field; the ones RFC 9110 6.5.1 keeps out of
// trailers (framing, routing, connection, modifiers, authentication,
// response controls, content format) and plexgate's own identities are
// dropped, matched case-insensitively; everything else is kept in order.
TEST_F(HeadRewriteTest, TrailerSectionDropsFieldsNotAllowedInTrailers) {
  std::vector<parsers::HeaderField> trailers;
  for (const char* name :
       {"Content-Length", "transfer-encoding", "TRAILER", "Host", "Connection", "Keep-Alive", "Proxy-Connection", "TE",
        "Upgrade", "Expect", "Max-Forwards", "Range", "If-Match", "If-None-Match", "If-Modified-Since",
        "If-Unmodified-Since", "If-Range", "Cache-Control", "Pragma", "Authorization", "Proxy-Authorization",
        "WWW-Authenticate", "Proxy-Authenticate", "Cookie", "Set-Cookie", "Age", "Expires", "Date", "Location",
        "Retry-After", "Vary", "Content-Type", "Content-Encoding", "Content-Range", "X-Forwarded-For",
        "X-Forwarded-Prefix", "X-Certificate-CommonName"}) {
    trailers.push_back({name, "v"});
  }
  trailers.insert(trailers.begin() + 3, {"X-Checksum", "abc"});
  trailers.push_back({"Server-Timing", "db;dur=53"});
  trailers.push_back({"Content-MD5", "x"});  // not a content-format field of RFC 9110: kept
  trailers.push_back({"X-Empty", ""});
  buf::BufferChain out(pool_);
  writeTrailerSection(out, trailers);
  EXPECT_EQ(out.toString(), "X-Checksum: abc\r\nServer-Timing: db;dur=53\r\nContent-MD5: x\r\nX-Empty: \r\n\r\n");
  buf::BufferChain none(pool_);
  writeTrailerSection(none, {{"Content-Length", "5"}});
  EXPECT_EQ(none.toString(), "\r\n");
}

}  // namespace
}  // namespace plexgate::proxy
