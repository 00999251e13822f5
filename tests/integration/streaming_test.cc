// Bodies stream through the proxy with backpressure: a 1 GiB upload and a
// 1 GiB download pass through the plexgate binary while its peak resident
// memory grows by less than 64 MiB. The upstream and the client only count
// bytes, so nothing here buffers a body either. (Sanitizer builds move
// 128 MiB: the memory bound is the same, the run stays short.)
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

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

}  // namespace
}  // namespace plexgate::test
