// TinyproxyFixture: Debian's tinyproxy (/usr/bin/tinyproxy) run in the
// foreground as a real HTTP proxy requiring Basic authentication, for the
// fan-out's httpProxy tests. It owns a temp dir with its config and log,
// listens on a free 127.0.0.1 port (retried when someone takes it first),
// dies with the thread that made it (PR_SET_PDEATHSIG) and is stopped by its
// PID (SIGTERM, then SIGKILL) when the fixture is destroyed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace plexgate::test {

class TinyproxyFixture {
 public:
  static constexpr const char* kBinary = "/usr/bin/tinyproxy";

  TinyproxyFixture(const std::string& user, const std::string& password);
  ~TinyproxyFixture();
  TinyproxyFixture(const TinyproxyFixture&) = delete;
  TinyproxyFixture& operator=(const TinyproxyFixture&) = delete;

  static bool available();
  bool ok() const { return port_ != 0; }
  std::string error() const { return error_; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;  // its log file, for failure messages

 private:
  bool startOnce(uint16_t port);
  void stop();

  std::string user_;
  std::string password_;
  std::string dir_;
  std::string error_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace plexgate::test
