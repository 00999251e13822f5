// TinyproxyFixture: Debian's tinyproxy (/usr/bin/tinyproxy) run in the
// foreground as a real HTTP proxy requiring Basic authentication, for the
// fan-out's httpProxy tests. It owns a temp dir with its config and log,
// listens on a free 127.0.0.1 port (retried when someone takes it first),
// dies with the thread that made it (PR_SET_PDEATHSIG) and is stopped by its
// PID (SIGTERM, then SIGKILL) when the fixture is destroyed. startTlsFront
// puts Debian's haproxy in TCP mode in front of it, terminating TLS: an HTTP
// proxy reached over TLS (httpProxies[].tls), stopped the same way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace plexgate::test {

class TinyproxyFixture {
 public:
  static constexpr const char* kBinary = "/usr/bin/tinyproxy";

  TinyproxyFixture(const std::string& user, const std::string& password);
  ~TinyproxyFixture();
  TinyproxyFixture(const TinyproxyFixture&) = delete;
  TinyproxyFixture& operator=(const TinyproxyFixture&) = delete;

  static constexpr const char* kHaproxy = "/usr/sbin/haproxy";

  static bool available();
  static bool tlsFrontAvailable();
  // Starts the TLS front with `pem` (certificate chain then key, one file);
  // false with error() set when it did not come up.
  bool startTlsFront(const std::string& pem);
  uint16_t tlsPort() const { return tls_port_; }
  bool ok() const { return port_ != 0; }
  std::string error() const { return error_; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;  // its log file, for failure messages

 private:
  bool startOnce(uint16_t port);
  bool startFrontOnce(uint16_t port, const std::string& pem);
  // fork + exec `args` with stdout and stderr to `log_path`; -1 on failure.
  pid_t spawn(std::vector<std::string> args, const std::string& log_path);
  // Ready once `port` accepts; false (pid reaped or killed) otherwise.
  bool waitReady(pid_t& pid, uint16_t port, const std::string& what, const std::string& log_path);
  static void stopPid(pid_t& pid);
  void stop();

  std::string user_;
  std::string password_;
  std::string dir_;
  std::string error_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  uint16_t tls_port_ = 0;
  pid_t front_pid_ = -1;
};

}  // namespace plexgate::test
