// Bodies stream through the proxy with backpressure: a 1 GiB upload and a
// 1 GiB download pass through the plexgate binary while its peak resident
// memory grows by less than 64 MiB. The upstream and the client only count
// bytes, so nothing here buffers a body either. (Sanitizer builds move
// 128 MiB: the memory bound is the same, the run stays short.)
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "support/process.h"
#include "support/scripted_upstream.h"
#include "support/test_client.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr uint64_t kBodyBytes = 128ull << 20;
#else
constexpr uint64_t kBodyBytes = 1ull << 30;
#endif
constexpr uint64_t kMaxGrowthKiB = 64 * 1024;

uint64_t statusKiB(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stoull(line.substr(field.size() + 1));
    }
  }
  return 0;
}

// Reads and counts until `n` bytes arrived or nothing came for 10 s.
uint64_t drain(int fd, uint64_t n) {
  std::string buf(256 * 1024, '\0');
  uint64_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) {
      break;
    }
    const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r <= 0) {
      break;
    }
    got += static_cast<uint64_t>(r);
  }
  return got;
}

// Head bytes up to and including the blank line.
std::string readHead(int fd) {
  std::string head;
  char c;
  while (head.size() < 65536) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0 || ::recv(fd, &c, 1, 0) != 1) {
      break;  // the fixture's sockets are non-blocking: wait, then read
    }
    head += c;
    if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) {
      break;
    }
  }
  return head;
}

class StreamingTest : public ::testing::Test {
 protected:
  void startProxy(const std::string& upstream_url) {
    proc_ = std::make_unique<Process>(std::vector<std::string>{PLEXGATE_BINARY, "proxy", "--listen", "127.0.0.1:0",
                                                               "--to", upstream_url, "--workers", "1",
                                                               "--max-body", "2g"});
    const auto line = proc_->waitStderr("listener proxy on http://", milliseconds(5000));
    ASSERT_TRUE(line) << proc_->stderrText();
    port_ = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  }
  void TearDown() override {
    if (proc_) {
      proc_->signal(SIGTERM);
      EXPECT_EQ(proc_->wait(milliseconds(10000)), 0) << proc_->stderrText();
    }
  }
  std::unique_ptr<Process> proc_;
  uint16_t port_ = 0;
};

TEST_F(StreamingTest, LargeUploadStreamsWithBoundedMemory) {
  ScriptedUpstream up([](UpstreamConn& c) {
    const std::string head = readHead(c.fd());
    const uint64_t got = drain(c.fd(), kBodyBytes);
    c.sendResponse(200, std::to_string(got));
    c.waitPeerClosed(milliseconds(5000));
  });
  startProxy(up.url());
  const uint64_t rss_before = statusKiB(proc_->pid(), "VmRSS");
  TestClient c(port_);
  ASSERT_TRUE(c.send("PUT /upload HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(kBodyBytes) +
                     "\r\n\r\n"));
  const std::string chunk(256 * 1024, 'u');
  for (uint64_t sent = 0; sent < kBodyBytes; sent += chunk.size()) {
    ASSERT_TRUE(c.send(chunk)) << "after " << sent;
  }
  auto r = c.readResponse(milliseconds(30000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, std::to_string(kBodyBytes));
  const uint64_t peak = statusKiB(proc_->pid(), "VmHWM");
  EXPECT_LT(peak - rss_before, kMaxGrowthKiB) << "peak " << peak << " KiB, before " << rss_before << " KiB";
  std::printf("upload %llu MiB: proxy RSS %llu KiB before, peak %llu KiB\n",
              static_cast<unsigned long long>(kBodyBytes >> 20), static_cast<unsigned long long>(rss_before),
              static_cast<unsigned long long>(peak));
}

TEST_F(StreamingTest, LargeDownloadStreamsWithBoundedMemory) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (!c.readRequest()) {
      return;
    }
    c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kBodyBytes) + "\r\n\r\n");
    const std::string chunk(256 * 1024, 'd');
    for (uint64_t sent = 0; sent < kBodyBytes; sent += chunk.size()) {
      if (!c.send(chunk)) {
        return;
      }
    }
    c.waitPeerClosed(milliseconds(5000));
  });
  startProxy(up.url());
  const uint64_t rss_before = statusKiB(proc_->pid(), "VmRSS");
  TestClient c(port_);
  ASSERT_TRUE(c.send(get("/download")));
  const std::string head = readHead(c.fd());
  ASSERT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_EQ(drain(c.fd(), kBodyBytes), kBodyBytes);
  const uint64_t peak = statusKiB(proc_->pid(), "VmHWM");
  EXPECT_LT(peak - rss_before, kMaxGrowthKiB) << "peak " << peak << " KiB, before " << rss_before << " KiB";
  std::printf("download %llu MiB: proxy RSS %llu KiB before, peak %llu KiB\n",
              static_cast<unsigned long long>(kBodyBytes >> 20), static_cast<unsigned long long>(rss_before),
              static_cast<unsigned long long>(peak));
}

// `respond --body-size 1g` (a load-testing route) used to hold the whole
// body in memory from start-up on; it is made as it is sent, at the
// client's pace, so the process stays small from start to finish. The same
// connection then answers a pipelined HEAD with the full length and no body.
TEST(StreamingRespondTest, GeneratedBodyCostsNoMemory) {
  Process p({PLEXGATE_BINARY, "respond", "--listen", "127.0.0.1:0", "--workers", "1", "--body-size",
             std::to_string(kBodyBytes)});
  const auto line = p.waitStderr("listener respond on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  const auto port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  const uint64_t rss_before = statusKiB(p.pid(), "VmRSS");
  TestClient c(port);
  ASSERT_TRUE(c.send(get("/big") + "HEAD /again HTTP/1.1\r\nHost: test\r\n\r\n"));
  const std::string head = readHead(c.fd());
  ASSERT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: " + std::to_string(kBodyBytes) + "\r\n"), std::string::npos) << head;
  // Counted and checked: every byte is an 'x'.
  std::string buf(256 * 1024, '\0');
  uint64_t got = 0;
  uint64_t wrong = 0;
  while (got < kBodyBytes) {
    pollfd pf{c.fd(), POLLIN, 0};
    if (::poll(&pf, 1, 10000) <= 0) {
      break;
    }
    const ssize_t r = ::recv(c.fd(), buf.data(), std::min<uint64_t>(buf.size(), kBodyBytes - got), 0);
    if (r <= 0) {
      break;
    }
    for (ssize_t i = 0; i < r; ++i) {
      wrong += buf[static_cast<size_t>(i)] != 'x';
    }
    got += static_cast<uint64_t>(r);
  }
  EXPECT_EQ(got, kBodyBytes);
  EXPECT_EQ(wrong, 0u);
  auto again = c.readResponse(milliseconds(5000), /*head_request=*/true);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(again->header("Content-Length"), std::to_string(kBodyBytes));
  EXPECT_TRUE(again->body.empty());
  const uint64_t peak = statusKiB(p.pid(), "VmHWM");
  EXPECT_LT(peak - rss_before, kMaxGrowthKiB) << "peak " << peak << " KiB, before " << rss_before << " KiB";
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LT(peak, kMaxGrowthKiB) << "the body was held in memory: peak " << peak << " KiB";
#endif
  std::printf("respond %llu MiB: RSS %llu KiB before, peak %llu KiB\n",
              static_cast<unsigned long long>(kBodyBytes >> 20), static_cast<unsigned long long>(rss_before),
              static_cast<unsigned long long>(peak));
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(milliseconds(10000)), 0) << p.stderrText();
}

}  // namespace
}  // namespace plexgate::test
