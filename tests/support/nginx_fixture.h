// NginxFixture: a real nginx (/usr/sbin/nginx) run in the foreground as a
// single process, as a well-behaved upstream (or peer) in integration tests.
// It owns a temp dir holding its config, logs, pid and temp paths, listens on
// a free 127.0.0.1 port, and is stopped by its PID (SIGTERM, then SIGKILL)
// and the dir removed when the fixture is destroyed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace plexgate::test {

class NginxFixture {
 public:
  using Millis = std::chrono::milliseconds;
  static constexpr const char* kBinary = "/usr/sbin/nginx";
  static constexpr int kMaxAttempts = 5;

  // `server_body` goes inside `server { listen 127.0.0.1:PORT; ... }` (e.g.
  // locations), `http_extra` in the http block. "@DIR@" in either is
  // replaced by dir(). The server block already holds
  // `location = /__status { stub_status; }` and the http block
  // `root <docRoot()>;`. `first_port` (0: a free one) is for the fixture's
  // self-test of the retry on a taken port.
  //
  // nginx dies with the thread that creates the fixture (PR_SET_PDEATHSIG,
  // so a crashed test leaves no listener behind): create it on the test
  // thread. When nginx is not installed, skipped() is true: GTEST_SKIP().
  explicit NginxFixture(const std::string& server_body, const std::string& http_extra = "",
                        uint16_t first_port = 0);
  ~NginxFixture();
  NginxFixture(const NginxFixture&) = delete;
  NginxFixture& operator=(const NginxFixture&) = delete;

  static bool available();  // the nginx binary is installed
  bool skipped() const { return skipped_; }
  bool ok() const { return ok_; }
  // Why it did not start: the reason plus the end of nginx's error log.
  std::string error() const { return error_; }
  uint16_t port() const { return port_; }
  std::string url() const;     // "http://127.0.0.1:PORT"
  std::string dir() const { return dir_; }
  std::string docRoot() const { return dir_ + "/www"; }  // created empty
  pid_t pid() const { return pid_; }
  int attempts() const { return attempts_; }  // nginx starts it took (1..5)
  std::string errorLog() const;

  // `accepts` from stub_status (GET /__status): connections nginx accepted
  // from anyone but the fixture itself (its readiness probes and these
  // queries are subtracted). -1 when it cannot be read.
  int stubConnectionsAccepted();

 private:
  enum class Start { Ready, PortTaken, Failed };
  Start startOnce(uint16_t port);
  bool writeConfig(uint16_t port);
  bool spawn();
  // Reaps nginx if it has exited; true when it is gone.
  bool reapIfExited();
  // Waits up to `timeout` for nginx to exit (pidfd when available).
  bool waitExit(Millis timeout);
  void stopProcess();
  // GET /__status; the body, or "" when nothing answered like nginx.
  std::string fetchStatus(Millis timeout);

  std::string server_body_;
  std::string http_extra_;
  std::string dir_;
  std::string error_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int attempts_ = 0;
  int own_connections_ = 0;  // fixture connections nginx accepted this run
  bool ok_ = false;
  bool skipped_ = false;
};

}  // namespace plexgate::test
