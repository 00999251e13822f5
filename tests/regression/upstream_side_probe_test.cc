// The upstream side of the reverse proxy against misbehaving or unusual
// upstreams (ScriptedUpstream, exact bytes): framing the client could read
// as complete when it was not, bodies on statuses that have none, interim
// responses, timeouts that a trickling upstream must not defeat, and
// connections that must not go back to the pool.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "support/scripted_upstream.h"
#include "support/test_client.h"
#include "support/test_server.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;

std::string config(const std::string& url, const std::string& cluster_extra = "") {
  return R"(
workers: 1
listeners:
  - name: gw
    address: 127.0.0.1:0
    routes:
      - prefix: /
        proxy: {cluster: origin}
clusters:
  - name: origin
    endpoints: [")" +
         url + R"("]
    connect_timeout: 1s
)" + cluster_extra;
}

using UpstreamSideProbeTest = ServerTest;

// An upstream that sends no length and then dies (RST) mid-body: an
// HTTP/1.1 client must be able to tell the body was cut short, so the body
// is re-framed as chunked and the last chunk is sent only on a clean close.
TEST_F(UpstreamSideProbeTest, CloseDelimitedBodyCutByResetIsNotCompleteForHttp11Client) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (!c.readRequest()) {
      return;
    }
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial");
    c.readRaw(1, milliseconds(100));  // let the proxy forward the first bytes
    c.reset();
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  const std::string raw = c.readAll(milliseconds(3000));
  EXPECT_NE(raw.find("partial"), std::string::npos);
  // Whatever arrived must not parse as a whole response.
  EXPECT_NE(raw.find("Transfer-Encoding: chunked"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("0\r\n\r\n"), std::string::npos) << raw;
}

TEST_F(UpstreamSideProbeTest, CloseDelimitedBodyEndedCleanlyIsCompleteForBothClientVersions) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (!c.readRequest()) {
      return;
    }
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nwhole body");
    c.close();
  });
  start(config(up.url()));
  {
    TestClient c(port());
    ASSERT_TRUE(c.send(get("/")));
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "whole body");
    EXPECT_TRUE(r->chunked);
    // Re-framed, the client connection can carry the next request.
    ASSERT_TRUE(c.send(get("/2")));
    auto r2 = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->body, "whole body");
  }
  {
    TestClient c(port());
    ASSERT_TRUE(c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "whole body");
    EXPECT_FALSE(r->chunked);  // an HTTP/1.0 client cannot take chunks: read until close
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(c.waitClosed(milliseconds(3000)));
  }
}

// RFC 9110 8.6: a 304 may carry the Content-Length the 200 would have had,
// and never has a body. The exchange ends at the head: the next request on
// the client connection must not wait for 1234 bytes that never come.
TEST_F(UpstreamSideProbeTest, NotModifiedWithContentLengthEndsAtTheHead) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (!c.readRequest()) {
      return;
    }
    c.send("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 1234\r\n\r\n");
    while (c.readRequest()) {
      c.sendResponse(200, "next");
    }
  });
  start(config(up.url(), "    idle_timeout: 10s\n    response_timeout: 10s\n"));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/", "If-None-Match: \"v1\"\r\n")));
  auto r = c.readResponse(milliseconds(3000), /*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 304);
  ASSERT_TRUE(c.send(get("/2")));
  auto r2 = c.readResponse(milliseconds(2000));
  ASSERT_TRUE(r2) << "the request after a 304 with Content-Length stalled";
  EXPECT_EQ(r2->body, "next");
  EXPECT_EQ(up.connectionsAccepted(), 1u);  // nothing was left unread: pooled
}

// Bytes after a 204 are not its body: they are garbage on that connection,
// which must be closed, never handed to the next request.
TEST_F(UpstreamSideProbeTest, BytesAfterNoContentDiscardTheConnection) {
  std::atomic<int> conns{0};
  ScriptedUpstream up([&](UpstreamConn& c) {
    const int n = ++conns;
    while (c.readRequest()) {
      if (n == 1) {
        c.send("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHELLO");
      } else {
        c.sendResponse(200, "fresh");
      }
    }
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.readResponse(milliseconds(3000), /*head_request=*/true);  // the client parser would wait for 5 bytes
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_FALSE(r->hasHeader("Transfer-Encoding"));
  ASSERT_TRUE(c.send(get("/2")));
  auto r2 = c.readResponse(milliseconds(3000));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "fresh");
  EXPECT_EQ(up.connectionsAccepted(), 2u);
  EXPECT_EQ(c.extra(), "");
}

// 1xx responses have no body either, whatever they claim.
TEST_F(UpstreamSideProbeTest, InterimResponsesNeverHaveABody) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (!c.readRequest()) {
      return;
    }
    std::string interim;
    for (int i = 0; i < 20; ++i) {
      interim +=
          "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n"
          "Content-Length: 5\r\n\r\n";
    }
    c.send(interim + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.readRequest();
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.readResponse(milliseconds(3000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
}

TEST_F(UpstreamSideProbeTest, StatusBelow100Is502) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (c.readRequest()) {
      c.send("HTTP/1.1 99 Odd\r\nContent-Length: 2\r\n\r\nok");
      c.readRequest(milliseconds(2000));
    }
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.readResponse(milliseconds(3000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_NE(r->body.find("\"messageNumber\":\"PGW502E\""), std::string::npos) << r->body;
}

// A transfer coding other than chunked cannot be forwarded faithfully (the
// Transfer-Encoding field is hop-by-hop and rewritten): nginx answers 502
// "upstream sent unknown Transfer-Encoding"; so must we, rather than hand
// the client gzip-coded bytes labelled as plain ones.
TEST_F(UpstreamSideProbeTest, TransferCodingOtherThanChunkedIs502) {
  for (const char* te : {"gzip", "gzip, chunked"}) {
    ScriptedUpstream up([te](UpstreamConn& c) {
      if (c.readRequest()) {
        c.send(std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: ") + te + "\r\n\r\n" +
               (std::string(te) == "gzip" ? "coded" : "5\r\ncoded\r\n0\r\n\r\n"));
        c.readRequest(milliseconds(2000));
      }
    });
    TestServer server(config(up.url()));
    ASSERT_NE(server.port(), 0);
    {
      TestClient c(server.port());
      ASSERT_TRUE(c.send(get("/")));
      auto r = c.readResponse(milliseconds(3000));
      ASSERT_TRUE(r) << te;
      EXPECT_EQ(r->status, 502) << te;
      EXPECT_TRUE(up.waitConnections(1, milliseconds(1000)));
    }
    EXPECT_TRUE(server.stop());
  }
}

// response_timeout runs from the request sent to the whole response head:
// an upstream trickling the head a byte at a time must not hold it open.
// llhttp 8.1 ends a chunked body on a bare LF ("0\r\n\n"). Forwarded as
// it came, a strict client would take the next response on its connection
// for trailer fields. The response is cut there instead: the client
// connection closes without a last chunk, and the upstream one is dropped.
TEST_F(UpstreamSideProbeTest, ChunkedResponseEndingInABareLfIsCut) {
  std::atomic<int> conns{0};
  ScriptedUpstream up([&](UpstreamConn& c) {
    const int n = ++conns;
    while (c.readRequest()) {
      if (n == 1) {
        c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n");
      } else {
        c.sendResponse(200, "fresh");
      }
    }
  });
  start(config(up.url()));
  {
    TestClient c(port());
    ASSERT_TRUE(c.send(get("/")));
    const std::string got = c.readAll(milliseconds(3000));  // to the close
    EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
    EXPECT_EQ(got.find("0\r\n"), std::string::npos) << got;  // no last chunk: the cut shows
  }
  TestClient c2(port());
  ASSERT_TRUE(c2.send(get("/2")));
  auto r = c2.readResponse(milliseconds(3000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "fresh");
  EXPECT_EQ(up.connectionsAccepted(), 2u);  // the first connection was not pooled
}

TEST_F(UpstreamSideProbeTest, TricklingResponseHeadIs504AtTheResponseTimeout) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (!c.readRequest()) {
      return;
    }
    const std::string head = "HTTP/1.1 200 OK\r\nX-Slow: " + std::string(200, 'a') + "\r\nContent-Length: 2\r\n\r\nok";
    for (char ch : head) {
      if (!c.send(std::string(1, ch)) || c.waitPeerClosed(milliseconds(50))) {
        return;
      }
    }
  });
  start(config(up.url(), "    response_timeout: 300ms\n    idle_timeout: 300ms\n    retries: 0\n"));
  TestClient c(port());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.readResponse(milliseconds(5000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(3000));
}

// An upload that keeps moving after a 100 Continue is progress: the idle
// timeout must not cut it while every gap is well under the timeout.
TEST_F(UpstreamSideProbeTest, SteadyUploadAfterContinueIsNotAnIdleTimeout) {
  ScriptedUpstream up([](UpstreamConn& c) {
    std::string got = c.readRaw(4096, milliseconds(3000));
    if (got.find("\r\n\r\n") == std::string::npos) {
      return;
    }
    c.send("HTTP/1.1 100 Continue\r\n\r\n");
    size_t body = got.size() - (got.find("\r\n\r\n") + 4);
    while (body < 2000) {
      auto more = c.readRaw(4096, milliseconds(3000));
      if (more.empty()) {
        return;
      }
      body += more.size();
    }
    c.sendResponse(200, "stored");
    c.readRequest(milliseconds(1000));
  });
  start(config(up.url(), "    response_timeout: 2s\n    idle_timeout: 400ms\n"));
  TestClient c(port());
  ASSERT_TRUE(c.send(
      "POST /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: 2000\r\n\r\n"));
  ASSERT_TRUE(c.readMore(milliseconds(3000)));
  EXPECT_EQ(c.extra(), "HTTP/1.1 100 Continue\r\n\r\n");
  for (int i = 0; i < 20; ++i) {  // ~2 s in all, 100 ms gaps
    ASSERT_TRUE(c.send(std::string(100, 'u')));
    std::this_thread::sleep_for(milliseconds(100));  // the client's pace is the point of the test
  }
  const std::string rest = c.readAll(milliseconds(3000));
  EXPECT_NE(rest.find("HTTP/1.1 200 OK"), std::string::npos) << rest;
  EXPECT_NE(rest.find("stored"), std::string::npos) << rest;
}

// An HTTP/1.0 client can only read a length-less body until close, so when
// the upstream dies mid-body the one signal left is how the client
// connection ends: a reset, never the FIN of a clean end.
TEST_F(UpstreamSideProbeTest, CloseDelimitedBodyCutByResetResetsHttp10Client) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (!c.readRequest()) {
      return;
    }
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial");
    c.readRaw(1, milliseconds(100));
    c.reset();
  });
  start(config(up.url()));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const std::string req = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string got;
  char b[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd, b, sizeof(b), 0)) > 0) {
    got.append(b, static_cast<size_t>(n));
  }
  const int err = n < 0 ? errno : 0;
  ::close(fd);
  EXPECT_NE(got.find("partial"), std::string::npos);
  EXPECT_EQ(err, ECONNRESET) << "the cut body ended with a clean close: " << got;
}

}  // namespace
}  // namespace plexgate::test
