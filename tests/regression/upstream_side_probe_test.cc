// The upstream side of the reverse proxy against misbehaving or unusual
// upstreams (ScriptedUpstream, exact bytes): framing the client could read
// as complete when it was not, bodies on statuses that have none, interim
// responses, timeouts that a trickling upstream must not defeat, and
// connections that must not go back to the pool.
#include <gtest/gtest.h>

#include <atomic>
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

// response_timeout runs from the request sent to the whole response head:
// an upstream trickling the head a byte at a time must not hold it open.
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

}  // namespace
}  // namespace plexgate::test
