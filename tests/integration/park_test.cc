// Parking: a plain keep-alive connection idle for `timeouts.park` gives its
// Session back and keeps only its slot (socket, deadline, request count);
// its next bytes make a new Session. These tests park connections (most
// with `park: 0ms`, at the next loop turn), wake them and check that nothing
// a connection carries across requests is lost: its request count, its
// deadlines, its peer address, its pooled upstream, drain. Every test stops
// the server and checks that every worker loop closed with no handle open.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/mailbox.h"
#include "support/scripted_upstream.h"
#include "support/test_client.h"
#include "support/test_server.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;

std::string parkConfig(const std::string& timeouts, const std::string& extra = "") {
  return R"(
workers: 1
listeners:
  - name: gateway
    address: 127.0.0.1:0
    routes:
      - prefix: /echo
        echo: {}
      - prefix: /slow
        respond:
          body: "slow"
          delay: 20ms
      - prefix: /hello
        respond:
          body: "hello"
timeouts:
)" + timeouts + extra;
}

class ParkTest : public ServerTest {
 protected:
  server::CounterTotals totals() { return server_->workers().totals(); }
  bool parked(uint64_t n) {
    return waitFor([&] { return totals().connections_parked == n; }, milliseconds(5000));
  }
};

TEST_F(ParkTest, IdleConnectionsParkAndWakeForTheirNextRequests) {
  start(parkConfig("  park: 50ms\n"));
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<TestClient>(port()));
    ASSERT_TRUE(clients.back()->send(get("/hello")));
    auto r = clients.back()->readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
  }
  ASSERT_TRUE(parked(8)) << totals().connections_parked;
  EXPECT_EQ(totals().connections_active, 8u);
  // Each wakes for an echoed body (a fresh parser and buffers), answers in
  // order a pipelined pair, and parks again.
  for (int round = 0; round < 3; ++round) {
    for (auto& c : clients) {
      ASSERT_TRUE(c->send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" + get("/hello")));
      auto echo = c->readResponse();
      auto hello = c->readResponse();
      ASSERT_TRUE(echo && hello) << "round " << round;
      EXPECT_EQ(echo->body.substr(echo->body.size() - 3), "abc");
      EXPECT_EQ(hello->body, "hello");
      EXPECT_TRUE(hello->keep_alive);
    }
    ASSERT_TRUE(parked(8)) << "round " << round << ": " << totals().connections_parked;
  }
  EXPECT_EQ(totals().connections_accepted, 8u);
  EXPECT_EQ(totals().requests, 8u + 8u * 2 * 3);
}

TEST_F(ParkTest, RequestCountSurvivesParking) {
  start(parkConfig("  park: 0ms\n", "limits:\n  max_requests_per_connection: 3\n"));
  TestClient c(port());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c.send(get("/hello")));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << i;
    if (i < 3) {
      EXPECT_FALSE(r->hasHeader("Connection")) << i;
      ASSERT_TRUE(parked(1)) << "after request " << i;
    } else {
      EXPECT_EQ(r->header("Connection"), "close");  // the third, across two parkings
    }
  }
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(ParkTest, ParkedConnectionClosesAtItsKeepAliveTimeout) {
  start(parkConfig("  park: 0ms\n  idle: 300ms\n"));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/hello")));
  ASSERT_TRUE(c.readResponse());
  ASSERT_TRUE(parked(1));
  EXPECT_TRUE(c.waitClosed(milliseconds(5000)));
  EXPECT_EQ(c.extra(), "");
  EXPECT_TRUE(waitFor([&] { return totals().connections_active == 0; }, milliseconds(2000)));
  EXPECT_EQ(totals().connections_parked, 0u);
  EXPECT_GE(totals().timeouts, 1u);
}

TEST_F(ParkTest, SilentConnectionParksAndKeepsItsHeaderTimeout) {
  start(parkConfig("  park: 0ms\n  header: 300ms\n  idle: 10s\n"));
  TestClient c(port());
  ASSERT_TRUE(parked(1));
  EXPECT_TRUE(c.waitClosed(milliseconds(5000)));
  EXPECT_EQ(c.extra(), "");
  EXPECT_TRUE(waitFor([&] { return totals().connections_active == 0; }, milliseconds(2000)));
}

TEST_F(ParkTest, HeadSplitAcrossAParkingStillGets408InTime) {
  // A partial head is a request in progress: the connection does not park
  // with it, and the header timeout answers 408.
  start(parkConfig("  park: 0ms\n  header: 300ms\n  idle: 10s\n"));
  TestClient c(port());
  ASSERT_TRUE(parked(1));
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHo"));
  ASSERT_TRUE(waitFor([&] { return totals().connections_parked == 0; }, milliseconds(2000)));
  auto r = c.readResponse(milliseconds(5000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(ParkTest, ClientClosingAParkedConnectionFreesIt) {
  start(parkConfig("  park: 0ms\n"));
  {
    TestClient c(port());
    ASSERT_TRUE(c.send(get("/hello")));
    ASSERT_TRUE(c.readResponse());
    ASSERT_TRUE(parked(1));
  }
  EXPECT_TRUE(waitFor([&] { return totals().connections_active == 0 && totals().connections_parked == 0; },
                      milliseconds(5000)));
}

TEST_F(ParkTest, ConnectionThatWaitedForADelayedResponseParks) {
  // The delay timer is a libuv handle of its own: parking closes it first.
  start(parkConfig("  park: 0ms\n"));
  TestClient c(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(get("/slow")));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "slow");
    ASSERT_TRUE(parked(1)) << i;
  }
}

TEST_F(ParkTest, DrainClosesParkedConnectionsAtOnce) {
  start(parkConfig("  park: 0ms\n", "  drain: 30s\n"));
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<TestClient>(port()));
    ASSERT_TRUE(clients.back()->send(get("/hello")));
    ASSERT_TRUE(clients.back()->readResponse());
  }
  ASSERT_TRUE(parked(4));
  server_->drain(milliseconds(30000));
  for (auto& c : clients) {
    EXPECT_TRUE(c->waitClosed(milliseconds(5000)));
    EXPECT_EQ(c->extra(), "");
  }
  // Well before the 30 s drain deadline.
  EXPECT_TRUE(server_->waitExited(milliseconds(5000)));
}

TEST_F(ParkTest, ProxiedConnectionWakesWithItsPeerAddressAndPooledUpstream) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  start(R"(
workers: 1
listeners:
  - name: gw
    address: 127.0.0.1:0
    routes:
      - prefix: /
        proxy: {cluster: origin}
clusters:
  - name: origin
    endpoints: [")" + up.url() + R"("]
    idle_timeout: 30s
timeouts:
  park: 0ms
)");
  TestClient c(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(get("/p" + std::to_string(i))));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "ok");
    ASSERT_TRUE(parked(1)) << i;
  }
  const auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto& r : reqs) {
    EXPECT_EQ(r.header("X-Forwarded-For"), "127.0.0.1");
  }
  EXPECT_EQ(server_->upstreamConnects(), 1u);  // the pooled connection outlived each Session
}

}  // namespace
}  // namespace plexgate::test
