// obs-fold (RFC 9112 5.2): a field line that starts with SP or HTAB
// continues the previous field. llhttp 8.1 accepts it, even in strict mode,
// and then reads a folded Connection without its later tokens
// ("keep-alive\r\n , close" stays keep-alive), while a parser behind or in
// front of the proxy may read the line differently. Policy:
//  - a request head with obs-fold: 400, connection closed, nothing upstream
//    (RFC 9112 5.2 lets a server reject it; nginx does);
//  - a response head with obs-fold: each fold replaced by SP (the head is
//    re-serialized from its fields, one line each), and the upstream
//    connection is not reused, since llhttp may have misread its
//    Connection field;
//  - trailer fields (chunked, either direction) are re-serialized one line
//    each, so a fold there reaches the peer as SP too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

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


using ObsFoldTest = ServerTest;

TEST_F(ObsFoldTest, RequestHeadWithObsFoldIs400AndClosed) {
  ScriptedUpstream up(keepAliveResponder(200, "upstream"));
  start(config(up.url()));
  for (const std::string& fields :
       {std::string("X-Folded: a\r\n b\r\n"), std::string("X-Folded: a\r\n\tb\r\n"),
        std::string("X-Folded:\r\n  b\r\n"), std::string("X-Folded:\r\n \r\nX-Next: n\r\n"),
        std::string("Connection: keep-alive\r\n , close\r\n"), std::string("X-Folded: a \r\n  \t b \r\n"),
        std::string("X-A: 1\r\nX-Folded: a\r\n b\r\n c\r\nX-B: 2\r\n")}) {
    for (bool bytewise : {false, true}) {
      SCOPED_TRACE(fields + (bytewise ? " (byte by byte)" : ""));
      TestClient c(port());
      const std::string req = "GET / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n";
      if (bytewise) {
        for (char ch : req) {
          ASSERT_TRUE(c.send(std::string(1, ch)));
        }
      } else {
        ASSERT_TRUE(c.send(req));
      }
      auto r = c.readResponse(milliseconds(3000));
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 400);
      EXPECT_NE(r->body.find("obs-fold"), std::string::npos) << r->body;
      EXPECT_EQ(r->header("Connection"), "close");
      EXPECT_TRUE(c.waitClosed());
    }
  }
  EXPECT_EQ(up.requestsSeen(), 0u);
}

// The fold check must not fire on what merely looks like it: empty values,
// whitespace-only values, whitespace around values, the last field.
TEST_F(ObsFoldTest, UnfoldedHeadsWithEmptyAndPaddedValuesPass) {
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, "ok");
    }
  });
  start(config(up.url()));
  for (bool bytewise : {false, true}) {
    TestClient c(port());
    const std::string req =
        "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Blank: \t \r\nX-Pad:   v  \r\nX-Tab:\tw\r\nX-Last:\r\n\r\n";
    if (bytewise) {
      for (char ch : req) {
        ASSERT_TRUE(c.send(std::string(1, ch)));
      }
    } else {
      ASSERT_TRUE(c.send(req));
    }
    auto r = c.readResponse(milliseconds(3000));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  auto all = seen.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].header("X-Pad"), "v");
  EXPECT_EQ(all[1].header("X-Tab"), "w");
  EXPECT_TRUE(all[1].hasHeader("X-Empty"));
}

TEST_F(ObsFoldTest, ResponseHeadFoldsBecomeSpaceAndTheConnectionIsNotReused) {
  std::atomic<int> conns{0};
  std::atomic<int> reused{0};
  ScriptedUpstream up([&](UpstreamConn& c) {
    const int n = ++conns;
    bool first = true;
    while (c.readRequest()) {
      if (n == 1 && first) {
        c.send(
            "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nX-Empty-First:\r\n  c\r\nConnection: keep-alive\r\n , close\r\n"
            "Content-Length: 2\r\n\r\nok");
      } else {
        if (n == 1) {
          ++reused;  // the proxy sent a second request on the folded response's connection
        }
        c.sendResponse(200, "fresh");
      }
      first = false;
    }
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(c.readUntil("\r\n\r\nok"));
  const std::string raw = c.extra();
  EXPECT_NE(raw.find("\r\nX-Folded: a b\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\r\nX-Empty-First: c\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("\r\n "), std::string::npos) << raw;
  EXPECT_EQ(raw.find("\r\n\t"), std::string::npos) << raw;
  TestClient c2(port());
  ASSERT_TRUE(c2.send(get("/2")));
  auto r2 = c2.readResponse(milliseconds(3000));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "fresh");
  EXPECT_EQ(reused.load(), 0);
  EXPECT_EQ(up.connectionsAccepted(), 2u);
}

TEST_F(ObsFoldTest, ResponseTrailerFoldsReachTheClientAsSpace) {
  ScriptedUpstream up([](UpstreamConn& c) {
    while (c.readRequest()) {
      c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: a\r\n b\r\n"
             "X-Empty-First:\r\n\tc\r\n\r\n");
    }
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(c.readUntil("c\r\n\r\n"));  // the trailer section's end, folded or not
  const std::string raw = c.extra();
  const size_t body = raw.find("\r\n\r\n") + 4;
  const std::string tail = raw.substr(body);
  EXPECT_NE(tail.find("0\r\nX-Sum: a b\r\nX-Empty-First: c\r\n\r\n"), std::string::npos) << tail;
  EXPECT_EQ(tail.find("\r\n "), std::string::npos) << tail;
  EXPECT_EQ(tail.find("\r\n\t"), std::string::npos) << tail;
}

TEST_F(ObsFoldTest, RequestTrailerFoldsReachTheUpstreamAsSpace) {
  Mailbox<std::string> raw;
  ScriptedUpstream up([&](UpstreamConn& c) {
    std::string got;
    while (got.find("\r\n0\r\n") == std::string::npos || got.find("\r\n\r\n", got.find("\r\n0\r\n")) == std::string::npos) {
      std::string more = c.readRaw(65536, milliseconds(3000));
      if (more.empty()) {
        break;
      }
      got += more;
    }
    raw.put(got);
    c.sendResponse(200, "stored");
  });
  start(config(up.url()));
  TestClient c(port());
  ASSERT_TRUE(c.send("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
                     "X-Sum: a\r\n b\r\n\r\n"));
  auto r = c.readResponse(milliseconds(3000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto got = raw.all();
  ASSERT_EQ(got.size(), 1u);
  const std::string& q = got[0];
  const std::string body = q.substr(q.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, "3\r\nabc\r\n0\r\nX-Sum: a b\r\n\r\n") << q;
}

}  // namespace
}  // namespace plexgate::test
