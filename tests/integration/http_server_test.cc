// The HTTP/1.1 server over real sockets on 127.0.0.1 with kernel-chosen
// ports: keep-alive, pipelining, chunked bodies, limits, timeouts, workers,
// graceful drain. Every test ends by stopping the server and asserting that
// every worker loop closed with no handle left open.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/test_client.h"
#include "support/test_server.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;

std::string baseConfig(const std::string& extra = "", int workers = 1) {
  return "workers: " + std::to_string(workers) + R"(
listeners:
  - name: gateway
    address: 127.0.0.1:0
    routes:
      - prefix: /echo
        echo: {}
      - prefix: /slow
        respond:
          body: "slow"
          delay: 300ms
      - prefix: /big
        respond:
          body_size: 64k
      - prefix: /hello
        respond:
          status: 201
          body: "hello"
          headers:
            X-Test: yes
limits:
  max_head_bytes: 4k
  max_headers: 20
  max_uri_bytes: 1k
  max_body_bytes: 1k
)" + extra;
}

using HttpServerTest = ServerTest;

TEST_F(HttpServerTest, RespondRouteServesStatusHeadersAndBody) {
  start(baseConfig());
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/hello")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->header("X-Test"), "yes");
  EXPECT_EQ(r->header("Content-Length"), "5");
  EXPECT_EQ(r->header("Server"), "plexgate");
  EXPECT_EQ(r->header("Date").size(), 29u);  // "Mon, 23 Nov 2026 14:21:10 GMT"
  EXPECT_FALSE(r->hasHeader("Connection"));
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start(baseConfig());
  TestClient c(port());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.send(get("/hello")));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 201);
    EXPECT_TRUE(r->keep_alive);
  }
  EXPECT_EQ(server_->workers().totals().connections_accepted, 1u);
  EXPECT_TRUE(waitFor([&] { return server_->workers().totals().requests == 20; }, milliseconds(2000)));
}

TEST_F(HttpServerTest, TenPipelinedRequestsInOneWriteAnswerInOrder) {
  start(baseConfig());
  TestClient c(port());
  std::string batch;
  for (int i = 0; i < 10; ++i) {
    // Mix a delayed route in: its answer must still come in its place.
    batch += i == 3 ? get("/slow") : get("/echo/" + std::to_string(i));
  }
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 10; ++i) {
    auto r = c.readResponse();
    ASSERT_TRUE(r) << "response " << i;
    EXPECT_EQ(r->status, 200);
    if (i == 3) {
      EXPECT_EQ(r->body, "slow");
    } else {
      EXPECT_EQ(r->body.rfind("GET /echo/" + std::to_string(i) + " HTTP/1.1\r\n", 0), 0u) << r->body;
    }
  }
}

TEST_F(HttpServerTest, EchoReturnsHeadAndContentLengthBody) {
  start(baseConfig());
  TestClient c(port());
  ASSERT_TRUE(c.send("POST /echo/x?q=1 HTTP/1.1\r\nHost: test\r\nX-A: 1\r\nContent-Length: 11\r\n\r\nhello world"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "message/http");
  EXPECT_EQ(r->body,
            "POST /echo/x?q=1 HTTP/1.1\r\nHost: test\r\nX-A: 1\r\nContent-Length: 11\r\n\r\nhello world");
}

TEST_F(HttpServerTest, ChunkedRequestBodyIsEchoedChunked) {
  start(baseConfig());
  TestClient c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->chunked);
  const std::string head = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(r->body, head + "hello world");
  // The connection is still usable afterwards.
  ASSERT_TRUE(c.send(get("/hello")));
  auto r2 = c.readResponse();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 201);
}

TEST_F(HttpServerTest, ChunkedBodySentInPiecesArrivesWhole) {
  start(baseConfig());
  TestClient c(port());
  const std::string req = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
  for (char ch : req) {
    ASSERT_TRUE(c.send(std::string_view(&ch, 1)));
  }
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\r\n\r\nabcdefg"), std::string::npos) << r->body;
}

TEST_F(HttpServerTest, HeadRequestGetsLengthButNoBody) {
  start(baseConfig());
  TestClient c(port());
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
  auto r = c.readResponse(milliseconds(5000), true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Content-Length"), "5");
  EXPECT_EQ(r->body, "");
  ASSERT_TRUE(c.send(get("/hello")));
  auto r2 = c.readResponse();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "hello");  // no stray body bytes were sent for HEAD
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveAsked) {
  start(baseConfig());
  {
    TestClient c(port());
    ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\n\r\n"));
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(c.waitClosed());
  }
  TestClient c(port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "keep-alive");
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(c.readResponse());
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimResponseBeforeBody) {
  start(baseConfig());
  TestClient c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto interim = c.readResponse();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("data"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.substr(r->body.size() - 4), "data");
}

TEST_F(HttpServerTest, UnknownExpectationIs417) {
  start(baseConfig());
  TestClient c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: test\r\nExpect: teapot\r\nContent-Length: 0\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 417);
}

TEST_F(HttpServerTest, UnroutedPathIs404InJsonShape) {
  start(R"(
workers: 1
listeners:
  - name: gateway
    address: 127.0.0.1:0
    routes:
      - prefix: /only
        respond: {body: "x"}
)");
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/other")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(r->body,
            R"({"messages":[{"messageType":"ERROR","messageNumber":"PGW404E","messageContent":"No route matches this request"}]})");
  // A 404 keeps the connection.
  ASSERT_TRUE(c.send(get("/only")));
  auto r2 = c.readResponse();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
}

TEST_F(HttpServerTest, MissingHostOnHttp11Is400) {
  start(baseConfig());
  TestClient c(port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

// ---- limits ------------------------------------------------------------------

struct LimitCase {
  const char* name;
  std::string request;
  int status;
};

TEST_F(HttpServerTest, EveryLimitProducesItsStatusAndCloses) {
  start(baseConfig());
  std::string many_headers = "GET /hello HTTP/1.1\r\nHost: test\r\n";
  for (int i = 0; i < 25; ++i) {
    many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  }
  many_headers += "\r\n";
  const std::vector<LimitCase> cases = {
      {"head too large", "GET /hello HTTP/1.1\r\nHost: test\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n", 431},
      {"too many headers", many_headers, 431},
      {"uri too long", "GET /hello/" + std::string(1100, 'u') + " HTTP/1.1\r\nHost: test\r\n\r\n", 414},
      {"body too large", "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 2048\r\n\r\n", 413},
      {"malformed", "GET /hello HTTP/1.1\r\nHost test\r\n\r\n", 400},
      {"not http", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},
  };
  for (const LimitCase& lc : cases) {
    TestClient c(port());
    ASSERT_TRUE(c.send(lc.request)) << lc.name;
    auto r = c.readResponse();
    ASSERT_TRUE(r) << lc.name;
    EXPECT_EQ(r->status, lc.status) << lc.name;
    EXPECT_EQ(r->header("Connection"), "close") << lc.name;
    EXPECT_NE(r->body.find("\"messageNumber\":\"PGW" + std::to_string(lc.status) + "E\""), std::string::npos)
        << lc.name;
    EXPECT_TRUE(c.waitClosed()) << lc.name;
  }
  EXPECT_GE(server_->workers().totals().parse_errors, cases.size());
}

TEST_F(HttpServerTest, ChunkedBodyPastLimitClosesTheConnection) {
  start(baseConfig());
  TestClient c(port());
  // The echo answer has started streaming when the limit is crossed, so the
  // only honest signal left is to close before the final chunk.
  std::string req = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    req += "200\r\n" + std::string(512, 'b') + "\r\n";
  }
  req += "0\r\n\r\n";
  ASSERT_TRUE(c.send(req));
  const std::string all = c.readAll();
  EXPECT_EQ(all.find("\r\n0\r\n\r\n"), std::string::npos) << "response must not look complete";
}

// ---- timeouts -----------------------------------------------------------------

TEST_F(HttpServerTest, SlowHeadGets408AndClose) {
  start(baseConfig("timeouts:\n  header: 300ms\n  idle: 10s\n"));
  TestClient c(port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: te"));
  auto r = c.readResponse(milliseconds(5000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.waitClosed());
  EXPECT_GE(server_->workers().totals().timeouts, 1u);
}

TEST_F(HttpServerTest, SilentConnectionIsClosedWithoutAResponse) {
  start(baseConfig("timeouts:\n  header: 200ms\n  idle: 10s\n"));
  TestClient c(port());
  EXPECT_TRUE(c.waitClosed(milliseconds(5000)));
  EXPECT_EQ(c.extra(), "");
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  start(baseConfig("timeouts:\n  header: 10s\n  idle: 200ms\n"));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/hello")));
  ASSERT_TRUE(c.readResponse());
  EXPECT_TRUE(c.waitClosed(milliseconds(5000)));
}

// ---- workers and drain -----------------------------------------------------

TEST_F(HttpServerTest, TwoWorkersBothAcceptConnections) {
  start(baseConfig("", 2));
  ASSERT_EQ(server_->workers().size(), 2u);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(std::make_unique<TestClient>(port()));
    ASSERT_TRUE(clients.back()->send(get("/hello")));
  }
  for (auto& c : clients) {
    auto r = c->readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201);
  }
  // SO_REUSEPORT hashes connections over both sockets; with 64 connections
  // the chance that one worker got none is 2^-63.
  EXPECT_GT(server_->workers().worker(0).counters().connections_accepted.load(), 0u);
  EXPECT_GT(server_->workers().worker(1).counters().connections_accepted.load(), 0u);
}

TEST_F(HttpServerTest, GracefulDrainFinishesInFlightRequestThenExits) {
  start(baseConfig());
  TestClient busy(port());
  TestClient idle(port());
  ASSERT_TRUE(idle.send(get("/hello")));
  ASSERT_TRUE(idle.readResponse());
  ASSERT_TRUE(busy.send(get("/slow")));
  // Drain once the slow request is in flight.
  ASSERT_TRUE(waitFor([&] { return server_->workers().totals().connections_accepted == 2; }, milliseconds(2000)));
  ASSERT_TRUE(waitFor([&] { return server_->workers().totals().requests == 1; }, milliseconds(2000)));
  server_->drain(milliseconds(5000));
  // The idle keep-alive connection is closed at once.
  EXPECT_TRUE(idle.waitClosed(milliseconds(2000)));
  // The in-flight request completes, told that the connection ends.
  auto r = busy.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(busy.waitClosed());
  EXPECT_TRUE(server_->waitExited(milliseconds(5000)));
  // Nothing listens any more.
  TestClient late(port());
  EXPECT_FALSE(late.connected() && late.send(get("/hello")) && late.readResponse(milliseconds(500)));
}

TEST_F(HttpServerTest, DrainDeadlineClosesStragglers) {
  start(baseConfig());
  TestClient c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\npartial"));
  ASSERT_TRUE(waitFor([&] { return server_->workers().totals().connections_accepted == 1; }, milliseconds(2000)));
  server_->drain(milliseconds(200));
  EXPECT_TRUE(c.waitClosed(milliseconds(5000)));
  EXPECT_TRUE(server_->waitExited(milliseconds(5000)));
}

TEST_F(HttpServerTest, MaxRequestsPerConnectionClosesAfterTheLast) {
  start(baseConfig() + "  max_requests_per_connection: 2\n");
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/hello") + get("/hello") + get("/hello")));
  auto r1 = c.readResponse();
  auto r2 = c.readResponse();
  ASSERT_TRUE(r1);
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r1->hasHeader("Connection"));
  EXPECT_EQ(r2->header("Connection"), "close");
  EXPECT_TRUE(c.waitClosed());
  EXPECT_EQ(c.extra(), "");  // the third request was not answered
}

TEST_F(HttpServerTest, LargeResponseToAClientThatReadsLate) {
  start(baseConfig());
  TestClient c(port());
  std::string batch;
  for (int i = 0; i < 40; ++i) {
    batch += get("/big");  // 40 x 64 KiB, more than the socket buffers hold
  }
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 40; ++i) {
    auto r = c.readResponse();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body.size(), 65536u);
  }
}

TEST_F(HttpServerTest, HalfClosedClientStillGetsTheWholeResponse) {
  start(baseConfig());
  TestClient c(port());
  std::string batch;
  for (int i = 0; i < 20; ++i) {
    batch += get("/big");
  }
  ASSERT_TRUE(c.send(batch));
  c.shutdownWrite();  // like `nc -q`: done sending, still reading
  for (int i = 0; i < 20; ++i) {
    auto r = c.readResponse();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body.size(), 65536u);
  }
  EXPECT_TRUE(c.waitClosed());
}

// An idle keep-alive connection holds no buffer slice: not its input slice,
// not the pins of its last request's head, not the tail its responses were
// written into. (10,000 idle connections holding a 16 KiB slice each would
// be 160 MiB.) The connections stay open and keep working afterwards.
TEST_F(HttpServerTest, IdleKeepAliveConnectionsHoldNoBufferSlices) {
  start(baseConfig("", 2));
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<TestClient>(port()));
    TestClient& c = *clients.back();
    // Small answers, a 64 KiB one, an echoed body and a pipelined pair.
    const std::string batch = i % 2 == 0 ? get("/hello") + get("/big")
                                         : "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" + get("/hello");
    ASSERT_TRUE(c.send(batch));
    for (int k = 0; k < 2; ++k) {
      auto r = c.readResponse();
      ASSERT_TRUE(r) << "client " << i << " response " << k;
      EXPECT_TRUE(r->keep_alive);
    }
  }
  const auto held = [&] {
    size_t n = 0;
    for (size_t w = 0; w < server_->workers().size(); ++w) {
      n += server_->workers().worker(w).loop().slicePool().outstanding();
    }
    return n;
  };
  EXPECT_TRUE(waitFor([&] { return held() == 0; }, milliseconds(2000))) << held() << " slices held by 8 idle connections";
  EXPECT_EQ(server_->workers().totals().connections_active, 8u);
  for (auto& c : clients) {
    ASSERT_TRUE(c->send(get("/hello")));
    auto r = c->readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
  }
}

}  // namespace
}  // namespace plexgate::test
