// The reverse proxy against real upstreams: ScriptedUpstream (raw sockets,
// scripted like VTest) for exact bytes and misbehaviour, nginx for a real
// keep-alive origin. Every test stops the server and checks that every
// worker loop closed with no handle left open.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/free_port.h"
#include "support/nginx_fixture.h"
#include "support/scripted_upstream.h"
#include "support/mailbox.h"
#include "support/test_client.h"
#include "support/test_server.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;

using ProxyTest = ServerTest;


TEST_F(ProxyTest, ForwardsAndRewritesHeadersBothWays) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: X-Secret\r\nX-Secret: s\r\n"
             "Keep-Alive: timeout=5\r\nX-Up: 1\r\n\r\nok");
    }
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  ASSERT_TRUE(c.send("GET /a/b?x=1 HTTP/1.1\r\nHost: front.example\r\nConnection: keep-alive, X-Drop\r\n"
                     "X-Drop: 1\r\nKeep-Alive: 300\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n"
                     "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Keep: yes\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(r->header("X-Up"), "1");
  EXPECT_FALSE(r->hasHeader("X-Secret"));
  EXPECT_FALSE(r->hasHeader("Keep-Alive"));
  EXPECT_FALSE(r->hasHeader("Connection"));
  auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 1u);
  const ReceivedRequest& q = reqs[0];
  EXPECT_EQ(q.target, "/a/b?x=1");
  EXPECT_EQ(q.header("Host"), "front.example");
  EXPECT_EQ(q.header("X-Keep"), "yes");
  for (const char* gone : {"X-Drop", "Keep-Alive", "TE", "Proxy-Connection", "Connection"}) {
    EXPECT_FALSE(q.hasHeader(gone)) << gone;
  }
  // Not a trusted proxy: inbound X-Forwarded-* is replaced, not extended.
  EXPECT_EQ(q.header("X-Forwarded-For"), "127.0.0.1");
  EXPECT_EQ(q.headerCount("X-Forwarded-For"), 1u);
  EXPECT_EQ(q.header("X-Forwarded-Proto"), "http");
  EXPECT_EQ(q.header("X-Forwarded-Host"), "front.example");
  EXPECT_EQ(q.header("X-Forwarded-Port"), std::to_string(port()));
}

TEST_F(ProxyTest, TrustedProxyForwardedHeadersAreKept) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, "ok");
    }
  });
  start(proxyConfig({up.url()}, "", "    trusted_proxies: [127.0.0.0/8]\n"));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/", "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: pub.example\r\n")));
  ASSERT_TRUE(c.readResponse());
  auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("X-Forwarded-For"), "6.6.6.6, 127.0.0.1");
  EXPECT_EQ(reqs[0].header("X-Forwarded-Proto"), "https");
  EXPECT_EQ(reqs[0].header("X-Forwarded-Host"), "pub.example");
}

TEST_F(ProxyTest, PrefixRewriteAndForwardedPrefix) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, "ok");
    }
  });
  start(proxyConfig({up.url()}, "", "",
                    "      - prefix: /api/\n        proxy: {cluster: origin, rewrite_prefix: /v2/}\n"));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/api/items/7?full=1")));
  ASSERT_TRUE(c.readResponse());
  auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v2/items/7?full=1");
  EXPECT_EQ(reqs[0].header("X-Forwarded-Prefix"), "/api");
}

TEST_F(ProxyTest, ZoweServiceRoutesRewriteToServiceUrlAndLongestGatewayUrlWins) {
  Mailbox<std::string> targets;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      targets.put(r->target);
      c.sendResponse(200, r->target);
    }
  });
  start(R"(
workers: 1
listeners:
  - name: gateway
    address: 127.0.0.1:0
    services: true
services:
  - serviceId: discoverableclient
    title: Discoverable client
    instanceBaseUrls: [")" + up.url() + R"(/discoverableclient"]
    routes:
      - gatewayUrl: api/v1
        serviceRelativeUrl: /api/v1
      - gatewayUrl: api
        serviceRelativeUrl: /legacy
      - gatewayUrl: ui/v1
        serviceRelativeUrl: /
)");
  struct Case {
    std::string path;
    int status;
    std::string upstream;
  };
  const std::vector<Case> cases = {
      {"/discoverableclient/api/v1/greeting?name=x", 200, "/discoverableclient/api/v1/greeting?name=x"},
      {"/discoverableclient/api/v1", 200, "/discoverableclient/api/v1"},
      {"/discoverableclient/api/other", 200, "/discoverableclient/legacy/other"},
      {"/discoverableclient/ui/v1/index.html", 200, "/discoverableclient/index.html"},
      {"/discoverableclient/api/v10/x", 200, "/discoverableclient/legacy/v10/x"},  // api, not api/v1
      {"/discoverableclientx/api/v1/a", 404, ""},
      {"/other/api/v1", 404, ""},
  };
  TestClient c(port());
  for (const Case& k : cases) {
    ASSERT_TRUE(c.send(get(k.path)));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << k.path;
    EXPECT_EQ(r->status, k.status) << k.path;
    if (k.status == 200) {
      EXPECT_EQ(r->body, k.upstream) << k.path;
    }
  }
}

// After proxied exchanges, neither the idle downstream connections nor the
// idle pooled upstream connections hold a buffer slice (input, head pins,
// output tail), and both are reused for the next request.
TEST_F(ProxyTest, IdleConnectionsBothSidesHoldNoBufferSlices) {
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      const std::string body = r->target == "/big" ? std::string(100000, 'b') : "ok";
      c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    }
  });
  start(proxyConfig({up.url()}));
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<TestClient>(port()));
    ASSERT_TRUE(clients.back()->send(get("/a") + get("/big") +
                                     "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody"));
    for (int k = 0; k < 3; ++k) {
      auto r = clients.back()->readResponse();
      ASSERT_TRUE(r) << "client " << i << " response " << k;
      EXPECT_EQ(r->status, 200);
    }
  }
  const auto held = [&] { return server_->workers().worker(0).loop().slicePool().outstanding(); };
  EXPECT_TRUE(waitFor([&] { return held() == 0; }, milliseconds(2000))) << held() << " slices held while idle";
  const size_t connects = server_->upstreamConnects();
  for (auto& c : clients) {
    ASSERT_TRUE(c->send(get("/again")));
    auto r = c->readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "ok");
  }
  EXPECT_EQ(server_->upstreamConnects(), connects);  // pooled connections reused
}

// A client on IPv6 loopback: its address reaches the upstream in
// X-Forwarded-For, and a trusted ::1/128 keeps inbound X-Forwarded-For.
TEST_F(ProxyTest, Ipv6ClientAddressIsForwardedAndMatchedAgainstTrustedProxies) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  std::string yaml = proxyConfig({up.url()}, "", "    trusted_proxies: ['::1/128']\n");
  yaml.replace(yaml.find("address: 127.0.0.1:0"), 20, "address: '[::1]:0'");
  start(yaml);
  TestClient c(port(), "::1");
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/v6", "X-Forwarded-For: 192.0.2.1\r\n")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("X-Forwarded-For"), "192.0.2.1, ::1");
}

TEST_F(ProxyTest, PipelinedClientRequestsAnsweredInOrder) {
  ScriptedUpstream up([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.sendResponse(200, r->target);
    }
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  std::string batch;
  for (int i = 0; i < 10; ++i) {
    batch += get("/p" + std::to_string(i));
  }
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 10; ++i) {
    auto r = c.readResponse();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "/p" + std::to_string(i));
  }
}

TEST_F(ProxyTest, ChunkedRequestBodyPassesThroughWithoutReframing) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, r->body);
    }
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  const std::string chunks = "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n";
  ASSERT_TRUE(c.send("POST /up HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello world");
  auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(reqs[0].chunked);
  // The exact bytes the client sent, extensions and trailer included.
  const std::string& raw = reqs[0].raw;
  EXPECT_EQ(raw.substr(raw.size() - chunks.size()), chunks);
}

TEST_F(ProxyTest, ChunkedResponsePassesThroughWithoutReframing) {
  const std::string chunks = "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks);
    }
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
  const std::string all = c.readAll();
  ASSERT_GE(all.size(), chunks.size());
  EXPECT_EQ(all.substr(all.size() - chunks.size()), chunks) << all;
  EXPECT_NE(all.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
}

TEST_F(ProxyTest, HeadAnd204And304HaveNoBodyAndKeepTheConnection) {
  ScriptedUpstream up([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      if (r->method == "HEAD") {
        c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
      } else if (r->target == "/204") {
        c.send("HTTP/1.1 204 No Content\r\n\r\n");
      } else {
        c.send("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
      }
    }
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: test\r\n\r\n"));
  auto h = c.readResponse(milliseconds(5000), true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header("Content-Length"), "100");
  ASSERT_TRUE(c.send(get("/204")));
  auto r204 = c.readResponse();
  ASSERT_TRUE(r204);
  EXPECT_EQ(r204->status, 204);
  ASSERT_TRUE(c.send(get("/304")));
  auto r304 = c.readResponse();
  ASSERT_TRUE(r304);
  EXPECT_EQ(r304->status, 304);
  EXPECT_EQ(r304->header("ETag"), "\"x\"");
  EXPECT_EQ(server_->upstreamConnects(), 1u);
}

TEST_F(ProxyTest, UnaskedInterimResponsesAreDroppedAndTheFinalArrives) {
  ScriptedUpstream up([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
             "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
    }
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "final");
  ASSERT_TRUE(c.send(get("/")));  // and the connection is still in step
  auto r2 = c.readResponse();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "final");
}

TEST_F(ProxyTest, ExpectContinueIsRelayed) {
  ScriptedUpstream up([](UpstreamConn& c) {
    std::string head = c.readRaw(4096, milliseconds(5000));
    while (head.find("\r\n\r\n") == std::string::npos) {
      std::string more = c.readRaw(4096, milliseconds(5000));
      if (more.empty()) {
        return;
      }
      head += more;
    }
    c.send("HTTP/1.1 100 Continue\r\n\r\n");
    auto body = c.readRawExactly(4, milliseconds(5000));
    c.sendResponse(200, body ? *body : "none");
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto interim = c.readResponse();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("data"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "data");
}

TEST_F(ProxyTest, WebSocketUpgradeBecomesATunnel) {
  ScriptedUpstream up([](UpstreamConn& c) {
    auto r = c.readRequest();
    if (!r || r->header("Upgrade") != "websocket") {
      c.sendResponse(400, "no upgrade");
      return;
    }
    c.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: x\r\n\r\n");
    for (;;) {
      std::string bytes = c.readRaw(4096, milliseconds(5000));
      if (bytes.empty()) {
        return;
      }
      c.send("echo:" + bytes);
    }
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 101);
  EXPECT_EQ(r->header("Upgrade"), "websocket");
  for (const std::string msg : {"frame-1", "frame-2"}) {
    ASSERT_TRUE(c.send(msg));
    std::string got;
    ASSERT_TRUE(waitFor(
        [&] {
          got = c.extra();
          if (got.find("echo:" + msg) == std::string::npos) {
            c.readMore(milliseconds(50));
            got = c.extra();
          }
          return got.find("echo:" + msg) != std::string::npos;
        },
        milliseconds(5000)))
        << got;
  }
}

// ---- bad upstream behaviour ---------------------------------------------------------

struct BadCase {
  const char* name;
  std::function<void(UpstreamConn&)> script;
  int status;
};

TEST_F(ProxyTest, BadUpstreamAnswersAreMappedToGatewayErrors) {
  const std::vector<BadCase> cases = {
      {"garbage", [](UpstreamConn& c) { if (c.readRequest()) { c.send("SSH-2.0-OpenSSH\r\n\r\n"); } }, 502},
      {"cl_and_te",
       [](UpstreamConn& c) {
         if (c.readRequest()) {
           c.send("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
         }
       },
       502},
      {"two_content_lengths",
       [](UpstreamConn& c) {
         if (c.readRequest()) {
           c.send("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
         }
       },
       502},
      {"closes_before_answering", [](UpstreamConn& c) { if (c.readRequest()) { c.close(); } }, 502},
      {"resets_before_answering", [](UpstreamConn& c) { if (c.readRequest()) { c.reset(); } }, 502},
      {"never_answers", [](UpstreamConn& c) { if (c.readRequest()) { c.waitPeerClosed(milliseconds(10000)); } }, 504},
  };
  for (const BadCase& bc : cases) {
    ScriptedUpstream up(bc.script);
    server_ = std::make_unique<TestServer>(
        proxyConfig({up.url()}, "    response_timeout: 300ms\n    retries: 0\n"));
    TestClient c(server_->port());
    ASSERT_TRUE(c.send(get("/")));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << bc.name;
    EXPECT_EQ(r->status, bc.status) << bc.name;
    EXPECT_NE(r->body.find("\"messageNumber\":\"PGW" + std::to_string(bc.status) + "E\""), std::string::npos)
        << bc.name << ": " << r->body;
    // The client connection survives a gateway error.
    ASSERT_TRUE(c.send(get("/")));
    auto again = c.readResponse();
    ASSERT_TRUE(again) << bc.name;
    // A connection that saw an error is never reused: the second request
    // needed a new upstream connection.
    EXPECT_TRUE(up.waitConnections(2, milliseconds(2000))) << bc.name;
    EXPECT_TRUE(server_->stop()) << bc.name;
    server_.reset();
  }
}

TEST_F(ProxyTest, ConnectionRefusedIs502) {
  uint16_t dead_port;
  {
    ScriptedUpstream gone([](UpstreamConn&) {});
    dead_port = gone.port();
  }
  start(proxyConfig({"http://127.0.0.1:" + std::to_string(dead_port)}, "    retries: 0\n"));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
}

TEST_F(ProxyTest, UpstreamDyingMidBodyClosesTheClientConnection) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (c.readRequest()) {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
      c.close();
    }
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  EXPECT_FALSE(c.readResponse());  // never presented as complete
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(ProxyTest, SlowUpstreamWithinTimeoutsSucceeds) {
  ScriptedUpstream up([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc");
      c.readRaw(1, milliseconds(300));  // waits ~300 ms: no bytes will come
      c.send("def");
    }
  });
  start(proxyConfig({up.url()}));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "abcdef");
}

// ---- pools, balancing, health ------------------------------------------------------

TEST_F(ProxyTest, KeepAliveReuse10000RequestsAt8ConcurrentUseAtMost8UpstreamConnections) {
  NginxFixture origin("location / { return 200 \"origin\"; }", "keepalive_requests 1000000;");
  if (origin.skipped()) {
    GTEST_SKIP() << origin.error();
  }
  ASSERT_TRUE(origin.ok()) << origin.error();
  start(proxyConfig({origin.url()}));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      TestClient c(port());
      for (int i = 0; i < 1250; ++i) {
        if (!c.send(get("/"))) {
          return;
        }
        auto r = c.readResponse();
        if (!r || r->status != 200 || r->body != "origin") {
          return;
        }
        ++ok;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 10000);
  const int accepted = origin.stubConnectionsAccepted();
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 8) << "counted at the origin";
}

TEST_F(ProxyTest, RoundRobinSpreadsAndInstanceIdPins) {
  std::atomic<int> a{0}, b{0};
  ScriptedUpstream ua([&](UpstreamConn& c) { while (auto r = c.readRequest()) { ++a; c.sendResponse(200, "a"); } });
  ScriptedUpstream ub([&](UpstreamConn& c) { while (auto r = c.readRequest()) { ++b; c.sendResponse(200, "b"); } });
  start(proxyConfig({ua.url(), ub.url()}));
  TestClient c(port());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(c.send(get("/")));
    ASSERT_TRUE(c.readResponse());
  }
  EXPECT_EQ(a.load(), 5);
  EXPECT_EQ(b.load(), 5);
  const std::string pin = "X-InstanceId: 127.0.0.1:" + std::to_string(ub.port()) + "\r\n";
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(c.send(get("/", pin)));
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "b");
  }
}

TEST_F(ProxyTest, ConsistentHashKeepsAKeyOnOneInstance) {
  ScriptedUpstream ua([](UpstreamConn& c) { while (c.readRequest()) { c.sendResponse(200, "a"); } });
  ScriptedUpstream ub([](UpstreamConn& c) { while (c.readRequest()) { c.sendResponse(200, "b"); } });
  ScriptedUpstream uc([](UpstreamConn& c) { while (c.readRequest()) { c.sendResponse(200, "c"); } });
  start(proxyConfig({ua.url(), ub.url(), uc.url()}, "    lb: consistent_hash\n    hash_on: {header: X-User}\n"));
  TestClient c(port());
  std::map<std::string, std::string> first;
  for (int round = 0; round < 3; ++round) {
    for (int u = 0; u < 20; ++u) {
      const std::string user = "user" + std::to_string(u);
      ASSERT_TRUE(c.send(get("/", "X-User: " + user + "\r\n")));
      auto r = c.readResponse();
      ASSERT_TRUE(r);
      if (round == 0) {
        first[user] = r->body;
      } else {
        EXPECT_EQ(r->body, first[user]) << user;
      }
    }
  }
  std::map<std::string, int> per;
  for (auto& [u, inst] : first) {
    ++per[inst];
  }
  EXPECT_GE(per.size(), 2u) << "20 keys all on one of three instances";
}

TEST_F(ProxyTest, RetriesAnIdempotentRequestOnAnotherInstance) {
  uint16_t dead_port;
  {
    ScriptedUpstream gone([](UpstreamConn&) {});
    dead_port = gone.port();
  }
  ScriptedUpstream live([](UpstreamConn& c) { while (c.readRequest()) { c.sendResponse(200, "live"); } });
  start(proxyConfig({"http://127.0.0.1:" + std::to_string(dead_port), live.url()},
                    "    retries: 1\n    passive: {consecutive_failures: 0}\n"));
  TestClient c(port());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(c.send(get("/")));
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << i;
  }
  // A POST with a body is retried too while the body fits the replay window.
  ASSERT_TRUE(c.send("PUT /p HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ProxyTest, PassiveEjectionStopsSendingToAFailingInstance) {
  uint16_t dead_port;
  {
    ScriptedUpstream gone([](UpstreamConn&) {});
    dead_port = gone.port();
  }
  ScriptedUpstream live([](UpstreamConn& c) { while (c.readRequest()) { c.sendResponse(200, "live"); } });
  start(proxyConfig({"http://127.0.0.1:" + std::to_string(dead_port), live.url()},
                    "    retries: 0\n    passive: {consecutive_failures: 1, eject_for: 30s}\n"));
  TestClient c(port());
  int failures = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(c.send(get("/")));
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    failures += r->status == 502 ? 1 : 0;
  }
  EXPECT_LE(failures, 1) << "after one failure the dead instance is ejected";
}

TEST_F(ProxyTest, HealthFlappingMovesTrafficAndAllDownIs503) {
  std::atomic<bool> b_up{true};
  std::atomic<int> b_served{0};
  ScriptedUpstream ua([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.sendResponse(200, "a");
    }
  });
  ScriptedUpstream ub([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      if (r->target == "/health") {
        c.sendResponse(b_up ? 200 : 503, b_up ? "UP" : "DOWN");
      } else {
        ++b_served;
        c.sendResponse(200, "b");
      }
    }
  });
  start(proxyConfig({ua.url(), ub.url()},
                    "    health_check: {path: /health, interval: 100ms, timeout: 50ms, healthy_threshold: 1, "
                    "unhealthy_threshold: 1}\n"));
  auto spread = [&] {
    TestClient c(port());
    std::map<std::string, int> seen;
    for (int i = 0; i < 10; ++i) {
      if (!c.send(get("/"))) {
        break;
      }
      if (auto r = c.readResponse()) {
        ++seen[r->body];
      }
    }
    return seen;
  };
  EXPECT_EQ(spread()["b"], 5);
  b_up = false;
  // Endpoint a answers /health with 200 too (it answers everything).
  ASSERT_TRUE(waitFor([&] { return spread()["b"] == 0; }, milliseconds(5000)));
  b_up = true;
  ASSERT_TRUE(waitFor([&] { return spread()["b"] > 0; }, milliseconds(5000)));
}

TEST_F(ProxyTest, NoHealthyInstanceIs503) {
  ScriptedUpstream down([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.sendResponse(503, "DOWN");
    }
  });
  start(proxyConfig({down.url()},
                    "    retries: 0\n    health_check: {path: /health, interval: 100ms, timeout: 50ms, "
                    "healthy_threshold: 1, unhealthy_threshold: 1}\n"));
  TestClient c(port());
  ASSERT_TRUE(waitFor(
      [&] {
        if (!c.send(get("/"))) {
          return false;
        }
        auto r = c.readResponse();
        return r && r->status == 503 && r->body.find("PGW503E") != std::string::npos;
      },
      milliseconds(5000)));
}


TEST(ProxySwapTest, RouteSwapDuringLoadFailsNoRequest) {
  std::atomic<int> a{0}, b{0};
  ScriptedUpstream ua([&](UpstreamConn& c) { while (c.readRequest()) { ++a; c.sendResponse(200, "a"); } });
  ScriptedUpstream ub([&](UpstreamConn& c) { while (c.readRequest()) { ++b; c.sendResponse(200, "b"); } });
  auto configFor = [](const std::string& url) {
    return R"(
workers: 2
listeners:
  - name: gw
    address: 127.0.0.1:0
    routes:
      - prefix: /
        proxy: {cluster: origin}
clusters:
  - name: origin
    endpoints: [")" + url + "\"]\n";
  };
  TestServer server(configFor(ua.url()));
  ASSERT_NE(server.port(), 0);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      TestClient c(server.port());
      while (!stop) {
        if (!c.send(get("/"))) {
          ++failed;
          return;
        }
        auto r = c.readResponse();
        if (!r || r->status != 200) {
          ++failed;
          return;
        }
        ++ok;
      }
    });
  }
  // Swap back and forth while the clients keep their keep-alive
  // connections busy; every swap must be seen by later requests.
  for (int round = 0; round < 6; ++round) {
    const bool to_b = round % 2 == 0;
    const int before = (to_b ? b : a).load();
    ASSERT_EQ(server.publish(configFor(to_b ? ub.url() : ua.url())), "");
    ASSERT_TRUE(waitFor([&] { return (to_b ? b : a).load() > before + 50; }, milliseconds(5000))) << round;
  }
  stop = true;
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 300);
  // A listener change is refused and changes nothing.
  EXPECT_NE(server.publish(R"(
listeners:
  - name: other
    address: 127.0.0.1:0
)"),
            "");
  EXPECT_TRUE(server.stop());
}


// Regression (found by bench/compare's keep-alive pre-check): with 16 KiB
// bodies a response head sometimes straddled two upstream read slices, and
// the first slice was recycled before the head was copied out, so header
// names and values arrived as body bytes.
TEST(ProxyRegressionTest, ResponseHeadsSplitAcrossReadSlicesStayIntact) {
  ScriptedUpstream up([](UpstreamConn& c) {
    const std::string body(16384, 'x');
    while (auto r = c.readRequest()) {
      c.send("HTTP/1.1 200 OK\r\nServer: scripted\r\nX-Check: intact-value\r\nContent-Length: 16384\r\n\r\n" + body);
    }
  });
  TestServer server(proxyConfig({up.url()}));
  ASSERT_NE(server.port(), 0);
  {
    TestClient c(server.port());
    for (int i = 0; i < 400; ++i) {
      ASSERT_TRUE(c.send(get("/")));
      auto r = c.readResponse(milliseconds(5000));
      ASSERT_TRUE(r) << "response " << i;
      ASSERT_EQ(r->header("X-Check"), "intact-value") << "response " << i;
      ASSERT_EQ(r->body.size(), 16384u) << "response " << i;
    }
  }
  EXPECT_TRUE(server.stop());
}


// A retried request sends its body once. The body bytes that arrived while
// the first attempt was connecting were kept twice (for the retry, and for
// the head still to be written), and a retry wrote both: the upstream read
// the extra copy as the start of the next request on that connection.
TEST_F(ProxyTest, RetriedRequestSendsItsBodyOnce) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, "ok");
    }
  });
  const uint16_t dead = freePort();  // endpoint 0, refused: round robin tries it first
  start(proxyConfig({"http://127.0.0.1:" + std::to_string(dead), up.url()}, "    retries: 1\n    retry_backoff: 1ms\n"));
  TestClient c(port());
  ASSERT_TRUE(c.send("PUT /r HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabcdef"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(c.send("GET /second HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r2 = c.readResponse();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  // Round robin tries the refusing endpoint first for both requests.
  EXPECT_EQ(server_->workers().totals().upstream_retries, 2u);
  const auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].body, "abcdef");
  // On the same pooled upstream connection: nothing between the two.
  EXPECT_EQ(reqs[1].method, "GET");
  EXPECT_EQ(reqs[1].target, "/second");
}

// A retry decided while the body was still small keeps all of it, even when
// more arrives during the backoff and the body outgrows what is kept for
// retries: the retry used to send only the bytes that came after.
TEST_F(ProxyTest, RetryKeepsTheWholeBodyWhenItOutgrowsTheReplayLimitDuringTheBackoff) {
  Mailbox<ReceivedRequest> seen;
  std::atomic<int> conns{0};
  ScriptedUpstream up([&](UpstreamConn& c) {
    if (conns.fetch_add(1) == 0) {
      c.readRaw(1, milliseconds(5000));  // the first attempt started: break it
      c.reset();
      return;
    }
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, "ok");
    }
  });
  // One endpoint; a long backoff leaves time to send the rest of the body.
  start(proxyConfig({up.url()}, "    retries: 1\n    retry_backoff: 300ms\n"));
  const std::string first(40 * 1024, 'a');
  const std::string rest(40 * 1024, 'b');  // 80 KiB in all: over the 64 KiB kept for a retry
  TestClient c(port());
  ASSERT_TRUE(c.send("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(first.size() + rest.size()) +
                     "\r\n\r\n" + first));
  ASSERT_TRUE(waitFor([&] { return server_->workers().totals().upstream_retries == 1; }, milliseconds(5000)))
      << "attempts " << server_->workers().totals().upstream_attempts << " reset "
      << server_->workers().totals().upstream_failures[static_cast<size_t>(proxy::UpstreamFailure::Reset)] << " conns "
      << conns.load();
  ASSERT_TRUE(c.send(rest));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body.size(), first.size() + rest.size());
  EXPECT_TRUE(reqs[0].body == first + rest) << "the retried body is not the client's";
}

}  // namespace
}  // namespace plexgate::test
