// Self-tests of the upstream fixtures used by the reverse-proxy tests:
// ScriptedUpstream (parsing what it receives, pipelining, chunked bodies,
// RST vs FIN, connection counting, stopAccepting, shutdown of blocked
// scripts) and NginxFixture (serving, stub_status counting, port retry).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <condition_variable>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/nginx_fixture.h"
#include "support/scripted_upstream.h"
#include "support/test_client.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// What scripts saw, handed from their threads to the test thread.
template <class T>
class Mailbox {
 public:
  void put(T value) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(std::move(value));
    }
    cv_.notify_all();
  }
  // The first n items, or fewer when they do not arrive in time.
  std::vector<T> waitFor(size_t n, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return items_.size() >= n; });
    return items_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T> items_;
};

constexpr int kTimedOut = INT_MIN;

// The next read on a raw socket: >0 bytes, 0 for FIN, -errno on error.
int nextRead(int fd, milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
    return kTimedOut;
  }
  char buf[256];
  const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  return n < 0 ? -errno : static_cast<int>(n);
}

TEST(FixtureScriptedUpstream, AnswersRequestAndRecordsWhatItSaw) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream upstream([&](UpstreamConn& c) {
    auto r = c.readRequest();
    if (!r) {
      return;
    }
    seen.put(*r);
    c.sendResponse(201, "created!", {{"X-Upstream", "scripted"}});
  });
  ASSERT_NE(upstream.port(), 0);
  EXPECT_EQ(upstream.url(), "http://127.0.0.1:" + std::to_string(upstream.port()));

  TestClient client(upstream.port());
  ASSERT_TRUE(client.connected());
  const std::string request = "GET /path/x?y=1 HTTP/1.1\r\nHost: test\r\nX-Foo:  bar baz \r\nx-foo: second\r\n\r\n";
  ASSERT_TRUE(client.send(request));
  const auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "created!");
  EXPECT_EQ(response->header("x-upstream"), "scripted");
  EXPECT_EQ(response->header("content-length"), "8");

  const auto got = seen.waitFor(1);
  ASSERT_EQ(got.size(), 1u);
  const ReceivedRequest& r = got[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/path/x?y=1");
  EXPECT_EQ(r.version, "HTTP/1.1");
  EXPECT_EQ(r.header("HOST"), "test");
  EXPECT_EQ(r.header("x-foo"), "bar baz");  // first one, OWS trimmed
  EXPECT_EQ(r.headerCount("X-FOO"), 2u);
  EXPECT_FALSE(r.hasHeader("content-length"));
  EXPECT_EQ(r.header("absent"), "");
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(r.chunked);
  EXPECT_EQ(r.raw, request);
  EXPECT_EQ(upstream.requestsSeen(), 1u);
  EXPECT_EQ(upstream.connectionsAccepted(), 1u);
}

TEST(FixtureScriptedUpstream, ReadsPipelinedRequestsOneByOne) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream upstream([&](UpstreamConn& c) {
    // Read all three before answering, so all of them arrive in one burst.
    std::vector<ReceivedRequest> got;
    for (int i = 0; i < 3; ++i) {
      auto r = c.readRequest();
      if (!r) {
        return;
      }
      got.push_back(*r);
      seen.put(*r);
    }
    for (const auto& r : got) {
      c.sendResponse(200, "re:" + r.target);
    }
  });
  const std::string post = "POST /two HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello\r\nbody";
  const std::string wire = "\r\n" + get("/one") + post + get("/three");
  TestClient client(upstream.port());
  ASSERT_TRUE(client.send(wire));  // one write: the upstream must split it
  for (const char* target : {"/one", "/two", "/three"}) {
    const auto response = client.readResponse();
    ASSERT_TRUE(response) << target;
    EXPECT_EQ(response->body, std::string("re:") + target);
  }
  const auto got = seen.waitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].raw, get("/one"));  // the leading empty line is skipped
  EXPECT_EQ(got[1].method, "POST");
  EXPECT_EQ(got[1].body, "hello\r\nbody");
  EXPECT_EQ(got[1].raw, post);
  EXPECT_EQ(got[2].target, "/three");
  EXPECT_EQ(upstream.requestsSeen(), 3u);
}

TEST(FixtureScriptedUpstream, DecodesChunkedBodySentByteByByte) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream upstream([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, std::to_string(r->body.size()));
    }
  });
  const std::string chunked =
      "POST /up HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;name=value\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Checksum: abc\r\n\r\n";
  TestClient client(upstream.port());
  for (const char ch : chunked) {
    ASSERT_TRUE(client.send(std::string_view(&ch, 1)));
  }
  ASSERT_TRUE(client.send(get("/after")));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "21");
  ASSERT_TRUE(client.readResponse());

  const auto got = seen.waitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].chunked);
  EXPECT_EQ(got[0].body, "hello world0123456789");
  EXPECT_EQ(got[0].raw, chunked);  // chunk framing kept byte for byte
  ASSERT_EQ(got[0].trailers.size(), 1u);
  EXPECT_EQ(got[0].trailers[0].first, "X-Checksum");
  EXPECT_EQ(got[0].trailers[0].second, "abc");
  EXPECT_EQ(got[1].target, "/after");
}

TEST(FixtureScriptedUpstream, MalformedRequestsFailFastInsteadOfTimingOut) {
  Mailbox<bool> parsed;
  ScriptedUpstream upstream([&](UpstreamConn& c) {
    auto r = c.readRequest(milliseconds(30000));
    parsed.put(r.has_value());
    if (r) {
      c.sendResponse(200, "ok");
    }
  });
  const std::vector<std::string> bad = {
      "NOT HTTP AT ALL\r\n\r\n",
      "GET / HTTP/1.1\nHost: bare-lf\n\n",
      "GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
      "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
  };
  for (const auto& bytes : bad) {
    TestClient client(upstream.port());
    ASSERT_TRUE(client.send(bytes));
    // The script gives up at once, so the connection closes well before
    // readRequest's 30 s deadline.
    EXPECT_TRUE(client.waitClosed(milliseconds(5000))) << bytes;
  }
  {
    TestClient client(upstream.port());  // a good one still parses
    ASSERT_TRUE(client.send(get("/fine")));
    EXPECT_TRUE(client.readResponse());
  }
  const auto results = parsed.waitFor(bad.size() + 1);
  ASSERT_EQ(results.size(), bad.size() + 1);
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_FALSE(results[i]) << bad[i];
  }
  EXPECT_TRUE(results.back());
}

TEST(FixtureScriptedUpstream, ResetSendsRstWhileCloseAndShutdownSendFin) {
  ScriptedUpstream upstream([](UpstreamConn& c) {
    auto r = c.readRequest();
    if (!r) {
      return;
    }
    if (r->target == "/reset") {
      c.reset();
    } else if (r->target == "/close") {
      c.close();
    } else {
      c.send("partial");
      c.shutdownWrite();
      c.waitPeerClosed(milliseconds(5000));
    }
  });
  {
    TestClient client(upstream.port());
    ASSERT_TRUE(client.send(get("/reset")));
    EXPECT_EQ(nextRead(client.fd(), milliseconds(5000)), -ECONNRESET);
  }
  {
    TestClient client(upstream.port());
    ASSERT_TRUE(client.send(get("/close")));
    EXPECT_EQ(nextRead(client.fd(), milliseconds(5000)), 0);
  }
  {
    TestClient client(upstream.port());
    ASSERT_TRUE(client.send(get("/shutdown")));
    EXPECT_EQ(client.readAll(milliseconds(5000)), "partial");
  }
}

TEST(FixtureScriptedUpstream, CountsConnectionsAndRequests) {
  ScriptedUpstream upstream(keepAliveResponder(200, "hi"));
  EXPECT_EQ(upstream.connectionsAccepted(), 0u);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<TestClient>(upstream.port()));
    ASSERT_TRUE(clients.back()->connected());
  }
  EXPECT_TRUE(upstream.waitConnections(3, milliseconds(5000)));
  EXPECT_EQ(upstream.connectionsAccepted(), 3u);
  EXPECT_FALSE(upstream.waitConnections(4, milliseconds(50)));
  EXPECT_EQ(upstream.requestsSeen(), 0u);
  for (auto& c : clients) {
    ASSERT_TRUE(c->send(get("/")));
  }
  EXPECT_TRUE(upstream.waitRequests(3, milliseconds(5000)));
  EXPECT_EQ(upstream.requestsSeen(), 3u);
  for (auto& c : clients) {
    ASSERT_TRUE(c->send(get("/again")));
    ASSERT_TRUE(c->readResponse());
    ASSERT_TRUE(c->readResponse());
  }
  EXPECT_EQ(upstream.requestsSeen(), 6u);
  EXPECT_EQ(upstream.connectionsAccepted(), 3u);  // kept alive
}

TEST(FixtureScriptedUpstream, KeepAliveResponderHonoursHeadAndConnectionClose) {
  ScriptedUpstream upstream(keepAliveResponder(200, "body"));
  TestClient client(upstream.port());
  ASSERT_TRUE(client.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto head = client.readResponse(milliseconds(5000), /*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("content-length"), "4");
  EXPECT_EQ(head->body, "");
  ASSERT_TRUE(client.send(get("/", "Connection: close\r\n")));
  const auto last = client.readResponse();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->body, "body");
  EXPECT_EQ(last->header("connection"), "close");
  EXPECT_TRUE(client.waitClosed(milliseconds(5000)));
  EXPECT_EQ(client.extra(), "");  // no body bytes leaked after the HEAD response
}

TEST(FixtureScriptedUpstream, StopAcceptingRefusesNewConnectionsOnly) {
  ScriptedUpstream upstream(keepAliveResponder(200, "still here"));
  TestClient before(upstream.port());
  ASSERT_TRUE(before.send(get("/")));
  ASSERT_TRUE(before.readResponse());

  upstream.stopAccepting();
  upstream.stopAccepting();  // idempotent
  TestClient after(upstream.port());
  EXPECT_FALSE(after.connected());

  ASSERT_TRUE(before.send(get("/")));  // the accepted connection lives on
  const auto response = before.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "still here");
  EXPECT_EQ(upstream.connectionsAccepted(), 1u);
}

TEST(FixtureScriptedUpstream, RawBytesAfterRequestAndPeerClose) {
  Mailbox<std::string> events;
  ScriptedUpstream upstream([&](UpstreamConn& c) {
    auto r = c.readRequest();
    if (!r || !c.sendResponse(200, "")) {
      return;
    }
    // Bytes pipelined behind the request (a tunnel's first bytes) are kept.
    const auto ping = c.readRawExactly(4, milliseconds(5000));
    events.put(ping.value_or("<none>"));
    c.send("PING");
    events.put(c.waitPeerClosed(milliseconds(5000)) ? "peer closed" : "still open");
    events.put(c.readRaw(100, milliseconds(10)));
  });
  TestClient client(upstream.port());
  ASSERT_TRUE(client.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nping"));
  ASSERT_TRUE(client.readResponse(milliseconds(5000), /*head_request=*/true));
  ASSERT_TRUE(client.send("tail"));
  client.shutdownWrite();
  EXPECT_EQ(client.readAll(milliseconds(5000)), "PING");
  const auto got = events.waitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "ping");
  EXPECT_EQ(got[1], "peer closed");
  EXPECT_EQ(got[2], "tail");  // read while waiting for the close, not lost
}

TEST(FixtureScriptedUpstream, DestructorWakesBlockedScriptsPromptly) {
  Mailbox<bool> finished;
  auto upstream = std::make_unique<ScriptedUpstream>([&](UpstreamConn& c) {
    finished.put(c.readRequest(milliseconds(60000)).has_value());
  });
  TestClient client(upstream->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(upstream->waitConnections(1, milliseconds(5000)));
  const auto start = Clock::now();
  upstream.reset();
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  const auto got = finished.waitFor(1, milliseconds(0));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0]);
  EXPECT_TRUE(client.waitClosed(milliseconds(5000)));
}

// ---------------------------------------------------------------------------

TEST(FixtureNginx, ServesAndCountsConnections) {
  NginxFixture nginx(R"(location / { return 200 "ok"; })");
  if (nginx.skipped()) {
    GTEST_SKIP() << nginx.error();
  }
  ASSERT_TRUE(nginx.ok()) << nginx.error();
  ASSERT_NE(nginx.port(), 0);
  EXPECT_EQ(nginx.url(), "http://127.0.0.1:" + std::to_string(nginx.port()));

  const int before = nginx.stubConnectionsAccepted();
  EXPECT_EQ(before, 0);  // the fixture's own probes are not counted
  for (int i = 0; i < 3; ++i) {
    TestClient client(nginx.port());
    ASSERT_TRUE(client.send(get("/anything")));
    const auto response = client.readResponse();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "ok");
  }
  const int after = nginx.stubConnectionsAccepted();
  EXPECT_GE(after - before, 3);
  EXPECT_EQ(after - before, 3);
}

TEST(FixtureNginx, ServesFilesFromDocRoot) {
  NginxFixture nginx("");
  if (nginx.skipped()) {
    GTEST_SKIP() << nginx.error();
  }
  ASSERT_TRUE(nginx.ok()) << nginx.error();
  {
    std::ofstream f(nginx.docRoot() + "/hello.txt");
    f << "file body";
  }
  TestClient client(nginx.port());
  ASSERT_TRUE(client.send(get("/hello.txt")));
  const auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "file body");
}

TEST(FixtureNginx, RetriesOnAnotherPortWhenTheFirstIsTaken) {
  if (!NginxFixture::available()) {
    GTEST_SKIP() << "nginx is not installed";
  }
  // A stranger holds the first port and even answers HTTP.
  ScriptedUpstream squatter(keepAliveResponder(200, "not nginx"));
  std::string dir;
  {
    NginxFixture nginx(R"(location / { return 200 "real"; })", "", squatter.port());
    ASSERT_TRUE(nginx.ok()) << nginx.error();
    EXPECT_EQ(nginx.attempts(), 2);
    EXPECT_NE(nginx.port(), squatter.port());
    TestClient client(nginx.port());
    ASSERT_TRUE(client.send(get("/")));
    const auto response = client.readResponse();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "real");
    dir = nginx.dir();
    EXPECT_FALSE(dir.empty());
    EXPECT_EQ(::access(dir.c_str(), F_OK), 0);
  }
  EXPECT_NE(::access(dir.c_str(), F_OK), 0);  // temp dir removed
}

}  // namespace
}  // namespace plexgate::test
