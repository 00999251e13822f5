// Trailer fields that would change framing, routing, connection handling,
// authentication or the content's format if a recipient merged them into
// the header section (RFC 9110 6.5.1: such fields are not allowed in
// trailers; 6.5.2: a recipient must not merge them unless the field's
// definition allows it). A lenient client or upstream could still do so, so
// plexgate, which re-serializes the trailer section of every chunked
// message it forwards, drops those lines in both directions and keeps the
// rest; the message itself is forwarded whole and the connections stay
// usable.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/mailbox.h"
#include "support/scripted_upstream.h"
#include "support/test_client.h"
#include "support/test_server.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;

std::string config(const std::string& upstream_url) {
  return proxyConfig({upstream_url}, "    response_timeout: 2s\n    retries: 0\n");
}

// Every kind of field RFC 9110 6.5.1 keeps out of trailers, in mixed case
// (Transfer-Encoding aside: llhttp refuses it in request trailers).
const char* const kForbidden =
    "Content-Length: 5\r\nHost: evil.example\r\nConnection: close\r\n"
    "Keep-Alive: timeout=1\r\nUpgrade: websocket\r\nProxy-Connection: close\r\nTE: trailers\r\nTrailer: X-Sum\r\n"
    "Content-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Range: bytes 0-1/2\r\nSet-Cookie: s=1\r\n"
    "Cookie: c=1\r\nAuthorization: Basic eDp5\r\nProxy-Authorization: Basic eDp5\r\n"
    "WWW-Authenticate: Basic\r\nProxy-Authenticate: Basic\r\nLocation: http://evil.example/\r\n"
    "Cache-Control: no-store\r\nExpires: 0\r\nAge: 1\r\nDate: Sun, 06 Dec 2026 00:00:00 GMT\r\nVary: *\r\n"
    "Retry-After: 1\r\nPragma: no-cache\r\nExpect: 100-continue\r\nMax-Forwards: 1\r\nRange: bytes=0-1\r\n"
    "If-Match: *\r\nIf-None-Match: *\r\nIf-Modified-Since: x\r\nIf-Unmodified-Since: x\r\nIf-Range: x\r\n"
    "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.example\r\nX-Certificate-CommonName: admin\r\n";


using TrailerFieldsTest = ServerTest;

TEST_F(TrailerFieldsTest, ResponseTrailersThatWouldChangeFramingOrRoutingAreDropped) {
  ScriptedUpstream up([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      if (r->target == "/next") {
        c.sendResponse(200, "next");
        continue;
      }
      c.send(std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: abc\r\n") +
             "TRANSFER-ENCODING: chunked\r\n" + kForbidden + "X-Last: z\r\n\r\n");
    }
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(c.readUntil("X-Last: z\r\n\r\n"));
  const std::string raw = c.extra();
  const std::string tail = raw.substr(raw.find("\r\n\r\n") + 4);
  EXPECT_EQ(tail, "5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-Last: z\r\n\r\n");
  // The response ended cleanly: the same connection carries the next one.
  ASSERT_TRUE(c.send(get("/next")));
  ASSERT_TRUE(c.readUntil("next"));
}

TEST_F(TrailerFieldsTest, ResponseWithOnlyForbiddenTrailersEndsWithAnEmptyTrailerSection) {
  ScriptedUpstream up([](UpstreamConn& c) {
    while (c.readRequest()) {
      c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nContent-Length: 99\r\n"
             "Transfer-Encoding: chunked\r\n\r\n");
    }
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.readResponse(milliseconds(3000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
  ASSERT_TRUE(c.send(get("/2")));
  ASSERT_TRUE(c.readUntil("0\r\n\r\n"));
  const std::string raw = c.extra();
  EXPECT_EQ(raw.substr(raw.find("\r\n\r\n") + 4), "2\r\nok\r\n0\r\n\r\n");
}

TEST_F(TrailerFieldsTest, RequestTrailersThatWouldChangeFramingOrRoutingAreDropped) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, "stored");
    }
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send(std::string("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
                                 "X-Sum: abc\r\n") +
                     kForbidden + "X-Last: z\r\n\r\n"));
  auto r = c.readResponse(milliseconds(3000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto all = seen.all();
  ASSERT_EQ(all.size(), 1u);
  const std::string& q = all[0].raw;
  EXPECT_EQ(q.substr(q.find("\r\n\r\n") + 4), "3\r\nabc\r\n0\r\nX-Sum: abc\r\nX-Last: z\r\n\r\n") << q;
  // Its trailers did not end the connection either (llhttp alone would
  // have taken the trailer's "Connection: close" and refused what follows).
  ASSERT_TRUE(c.send(get("/next")));
  auto r2 = c.readResponse(milliseconds(3000));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
}

// Pinned: llhttp 8.1 itself refuses any Transfer-Encoding among a request's
// trailers (a response's it takes, and plexgate drops, above). The upload is
// abandoned upstream and the client gets 400 and a closed connection.
TEST_F(TrailerFieldsTest, TransferEncodingInRequestTrailersIs400) {
  Mailbox<std::string> upstream_saw;
  ScriptedUpstream up([&](UpstreamConn& c) {
    std::string got;
    for (;;) {
      std::string more = c.readRaw(65536, milliseconds(3000));
      if (more.empty()) {
        break;
      }
      got += more;
    }
    upstream_saw.put(got);
  });
  start(config(up.url()));
  for (const char* te : {"Transfer-Encoding: chunked", "transfer-encoding: gzip"}) {
    TestClient c(port());
    ASSERT_TRUE(c.send(std::string("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n") +
                       te + "\r\n\r\n"));
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r) << te;
    EXPECT_EQ(r->status, 400) << te;
    EXPECT_EQ(r->header("Connection"), "close") << te;
    EXPECT_TRUE(c.waitClosed()) << te;
  }
  ASSERT_TRUE(up.waitConnections(2, milliseconds(3000)));
}

}  // namespace
}  // namespace plexgate::test
