// HTTP versions other than 1.0 and 1.1. A request line of the form
// HTTP/DIGIT.DIGIT with another version is answered 505 (RFC 9110 15.6.6)
// with the JSON error body; llhttp 8.1 rejects most of those numbers itself
// (only 0.9, 1.0, 1.1 and 2.0 pass its check), which used to surface as 400.
// Anything not of that form stays 400. An upstream that answers in another
// version gets 502 and its connection is not reused.
#include <gtest/gtest.h>

#include <atomic>
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
  return proxyConfig({upstream_url}, "    response_timeout: 2s\n");
}

using HttpVersionTest = ServerTest;

TEST_F(HttpVersionTest, WellFormedVersionsOtherThanHttp1Are505) {
  ScriptedUpstream up(keepAliveResponder(200, "upstream"));
  start(config(up.url()));
  for (const char* version : {"HTTP/2.0", "HTTP/2.1", "HTTP/3.0", "HTTP/9.9", "HTTP/0.9", "HTTP/0.0"}) {
    TestClient c(port());
    ASSERT_TRUE(c.send(std::string("GET / ") + version + "\r\nHost: h\r\n\r\n"));
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r) << version;
    EXPECT_EQ(r->status, 505) << version;
    EXPECT_EQ(r->header("Content-Type"), "application/json") << version;
    EXPECT_NE(r->body.find("\"messageNumber\":\"PGW505E\""), std::string::npos) << version << ": " << r->body;
    EXPECT_EQ(r->header("Connection"), "close") << version;
    EXPECT_TRUE(c.waitClosed()) << version;
  }
  EXPECT_EQ(up.requestsSeen(), 0u);
}

// RFC 9110 2.5: a higher minor version of a major version we implement is
// processed as the highest minor we conform to, 1.1 (as nginx does).
TEST_F(HttpVersionTest, HigherMinorVersionsOfHttp1AreServedAs11) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, "upstream");
    }
  });
  start(config(up.url()));
  for (const char* version : {"HTTP/1.2", "HTTP/1.9"}) {
    TestClient c(port());
    ASSERT_TRUE(c.send(std::string("GET / ") + version + "\r\nHost: h\r\n\r\n"));
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r) << version;
    EXPECT_EQ(r->status, 200) << version;
    EXPECT_EQ(r->body, "upstream") << version;
    EXPECT_TRUE(r->keep_alive) << version << ": persistent, as 1.1";
  }
  {
    TestClient c(port());  // as 1.1, Host is required
    ASSERT_TRUE(c.send("GET / HTTP/1.2\r\n\r\n"));
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  const auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& q : reqs) {
    EXPECT_EQ(q.version, "HTTP/1.1");
  }
}

TEST_F(HttpVersionTest, VersionsNotOfTheFormDigitDotDigitAre400) {
  ScriptedUpstream up(keepAliveResponder(200, "upstream"));
  start(config(up.url()));
  for (const char* version : {"HTTP/1.10", "HTTP/12.0", "HTTP/1.x", "HTTP/1.", "HTTP/1", "HTTP/x.1", "http/1.1",
                              "HTTP/1.1x", "HTTP/1.2x", "HTTP/1.2 ", "HTTTP/1.1", "HTTP/+1.1"}) {
    TestClient c(port());
    ASSERT_TRUE(c.send(std::string("GET / ") + version + "\r\nHost: h\r\n\r\n"));
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r) << version;
    EXPECT_EQ(r->status, 400) << version;
    EXPECT_TRUE(c.waitClosed()) << version;
  }
  EXPECT_EQ(up.requestsSeen(), 0u);
}

// The version is judged once the head is read: a well-formed head in
// another version is 505 even when it came a byte at a time, and a head
// that is malformed further on is 400 whatever its version.
TEST_F(HttpVersionTest, VersionIsJudgedOnTheWholeHead) {
  ScriptedUpstream up(keepAliveResponder(200, "upstream"));
  start(config(up.url()));
  {
    TestClient c(port());
    for (char ch : std::string("GET / HTTP/3.0\r\nHost: h\r\n\r\n")) {
      ASSERT_TRUE(c.send(std::string(1, ch)));
    }
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 505);
  }
  {
    TestClient c(port());
    ASSERT_TRUE(c.send("GET / HTTP/1.2\r\nHost h\r\n\r\n"));
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  EXPECT_EQ(up.requestsSeen(), 0u);
}

TEST_F(HttpVersionTest, Http10And11StillServed) {
  ScriptedUpstream up(keepAliveResponder(200, "upstream"));
  start(config(up.url()));
  for (const char* version : {"HTTP/1.0", "HTTP/1.1"}) {
    TestClient c(port());
    ASSERT_TRUE(c.send(std::string("GET / ") + version + "\r\nHost: h\r\n\r\n"));
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r) << version;
    EXPECT_EQ(r->status, 200) << version;
    EXPECT_EQ(r->body, "upstream") << version;
  }
}

// An upstream answering in a version other than 1.0/1.1 gets 502 (nothing
// of its response reaches the client), and that connection is closed, not
// pooled: the next request opens a fresh one.
TEST_F(HttpVersionTest, UpstreamResponseInAnotherVersionIs502) {
  for (const char* version : {"HTTP/2.0", "HTTP/0.9", "HTTP/3.0", "HTTP/2"}) {
    std::atomic<int> conns{0};
    ScriptedUpstream up([&](UpstreamConn& c) {
      const int n = ++conns;
      while (c.readRequest()) {
        if (n == 1) {
          c.send(std::string(version) + " 200 OK\r\nContent-Length: 6\r\n\r\nsecret");
        } else {
          c.sendResponse(200, "fresh");
        }
      }
    });
    TestServer server(config(up.url()));
    ASSERT_NE(server.port(), 0);
    {
      TestClient c(server.port());
      ASSERT_TRUE(c.send(get("/")));
      auto r = c.readResponse(milliseconds(3000));
      ASSERT_TRUE(r) << version;
      EXPECT_EQ(r->status, 502) << version;
      EXPECT_EQ(r->body.find("secret"), std::string::npos) << version;
      EXPECT_NE(r->body.find("\"messageNumber\":\"PGW502E\""), std::string::npos) << version;
      ASSERT_TRUE(c.send(get("/2")));
      auto r2 = c.readResponse(milliseconds(3000));
      ASSERT_TRUE(r2) << version;
      EXPECT_EQ(r2->body, "fresh") << version;
      EXPECT_EQ(up.connectionsAccepted(), 2u) << version;
    }
    EXPECT_TRUE(server.stop()) << version;
  }
}

}  // namespace
}  // namespace plexgate::test
