#include "support/nginx_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/free_port.h"

namespace plexgate::test {

namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

constexpr Millis kStartTimeout{10000};
constexpr Millis kStopTimeout{5000};
// Pace of the readiness probes; each wait ends early if nginx exits.
constexpr Millis kProbeInterval{10};

int msLeft(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<Millis>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30));
}

std::string readFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string tail(const std::string& text, size_t n = 2000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

struct RawExchange {
  bool connected = false;
  std::string reply;  // everything read until EOF or the deadline
};

// Sends `request` to 127.0.0.1:port and reads until the peer closes.
RawExchange exchange(uint16_t port, const std::string& request, Millis timeout) {
  RawExchange out;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return out;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Loopback connects complete or are refused at once.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return out;
  }
  out.connected = true;
  const auto deadline = Clock::now() + timeout;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      const int rc = ::poll(&p, 1, msLeft(deadline));
      if (rc < 0 && errno == EINTR) {
        continue;
      }
      if (rc <= 0) {
        break;
      }
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      out.reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

bool NginxFixture::available() { return ::access(kBinary, X_OK) == 0; }

NginxFixture::NginxFixture(const std::string& server_body, const std::string& http_extra, uint16_t first_port) {
  if (!available()) {
    skipped_ = true;
    error_ = std::string("nginx is not installed (") + kBinary + ")";
    return;
  }
  std::string templ = ::testing::TempDir();
  if (templ.empty() || templ.back() != '/') {
    templ += '/';
  }
  templ += "plexgate_nginx_XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    error_ = "mkdtemp(" + templ + "): " + std::strerror(errno);
    return;
  }
  dir_ = buf.data();
  if (::mkdir(docRoot().c_str(), 0755) != 0) {
    error_ = "mkdir(" + docRoot() + "): " + std::strerror(errno);
    return;
  }
  server_body_ = replaceAll(server_body, "@DIR@", dir_);
  http_extra_ = replaceAll(http_extra, "@DIR@", dir_);
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    attempts_ = attempt;
    const uint16_t port = attempt == 1 && first_port != 0 ? first_port : freePort();
    if (port == 0) {
      error_ = std::string("no free port: ") + std::strerror(errno);
      return;
    }
    const Start result = startOnce(port);
    if (result == Start::Ready) {
      port_ = port;
      ok_ = true;
      error_.clear();
      return;
    }
    if (result == Start::Failed) {
      return;
    }
    error_ = "port " + std::to_string(port) + " was taken";
  }
  error_ = "nginx could not bind a port in " + std::to_string(kMaxAttempts) + " attempts; last: " + error_;
}

NginxFixture::~NginxFixture() {
  stopProcess();
  if (pidfd_ >= 0) {
    ::close(pidfd_);
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string NginxFixture::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string NginxFixture::errorLog() const { return dir_.empty() ? "" : readFile(dir_ + "/error.log"); }

bool NginxFixture::writeConfig(uint16_t port) {
  const std::string& d = dir_;
  std::ofstream f(d + "/nginx.conf", std::ios::trunc);
  f << "daemon off;\n"
       "master_process off;\n"
       "worker_processes 1;\n"
       "pid "
    << d << "/nginx.pid;\n"
    << "error_log " << d << "/error.log notice;\n"
    << "events { worker_connections 1024; }\n"
       "http {\n"
       "  access_log off;\n"
       "  client_body_temp_path "
    << d << "/client_body_temp;\n"
    << "  proxy_temp_path " << d << "/proxy_temp;\n"
    << "  fastcgi_temp_path " << d << "/fastcgi_temp;\n"
    << "  uwsgi_temp_path " << d << "/uwsgi_temp;\n"
    << "  scgi_temp_path " << d << "/scgi_temp;\n"
    << "  default_type application/octet-stream;\n"
    << "  root " << docRoot() << ";\n"
    << http_extra_ << "\n"
    << "  server {\n"
       "    listen 127.0.0.1:"
    << port << ";\n"
    << "    server_name localhost;\n"
       "    location = /__status { stub_status; }\n"
    << server_body_ << "\n"
    << "  }\n"
       "}\n";
  f.close();
  return static_cast<bool>(f);
}

bool NginxFixture::spawn() {
  const std::vector<std::string> args = {kBinary, "-p", dir_ + "/", "-c", dir_ + "/nginx.conf", "-e",
                                         dir_ + "/error.log"};
  std::vector<char*> argv;
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  const std::string out_path = dir_ + "/stderr.log";
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || devnull < 0) {
    error_ = std::string("open: ") + std::strerror(errno);
    if (out >= 0) {
      ::close(out);
    }
    if (devnull >= 0) {
      ::close(devnull);
    }
    return false;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      _exit(126);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (const int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD}) {
      ::sigaction(sig, &dfl, nullptr);
    }
    ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(out);
  ::close(devnull);
  if (pid < 0) {
    error_ = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  pid_ = pid;
#ifdef SYS_pidfd_open
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
#endif
  return true;
}

bool NginxFixture::reapIfExited() {
  if (pid_ <= 0) {
    return true;
  }
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) {
    return false;
  }
  // r == pid_, or -1 (ECHILD: reaped elsewhere); either way it is gone.
  pid_ = -1;
  if (pidfd_ >= 0) {
    ::close(pidfd_);
    pidfd_ = -1;
  }
  return true;
}

bool NginxFixture::waitExit(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (reapIfExited()) {
      return true;
    }
    const int left = msLeft(deadline);
    if (left <= 0) {
      return false;
    }
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};  // readable once the process exits
      ::poll(&p, 1, left);
    } else {
      ::poll(nullptr, 0, std::min(left, 10));  // no pidfd: pace waitpid()
    }
  }
}

void NginxFixture::stopProcess() {
  if (pid_ <= 0 || reapIfExited()) {
    return;
  }
  ::kill(pid_, SIGTERM);
  if (waitExit(kStopTimeout)) {
    return;
  }
  ADD_FAILURE() << "nginx (pid " << pid_ << ") ignored SIGTERM for " << kStopTimeout.count() << " ms";
  ::kill(pid_, SIGKILL);
  waitExit(kStopTimeout);
}

std::string NginxFixture::fetchStatus(Millis timeout) {
  const RawExchange ex =
      exchange(port_, "GET /__status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
               timeout);
  if (ex.connected) {
    ++own_connections_;
  }
  const size_t body = ex.reply.find("\r\n\r\n");
  if (ex.reply.compare(0, 12, "HTTP/1.1 200") != 0 || body == std::string::npos ||
      ex.reply.find("Active connections:", body) == std::string::npos) {
    return "";
  }
  return ex.reply.substr(body + 4);
}

NginxFixture::Start NginxFixture::startOnce(uint16_t port) {
  static constexpr const char* kTaken = "Address already in use";
  std::filesystem::remove(dir_ + "/error.log");
  if (!writeConfig(port)) {
    error_ = "cannot write " + dir_ + "/nginx.conf";
    return Start::Failed;
  }
  if (!spawn()) {
    return Start::Failed;
  }
  own_connections_ = 0;
  port_ = port;  // for fetchStatus(); cleared again unless ready
  const auto deadline = Clock::now() + kStartTimeout;
  while (Clock::now() < deadline) {
    if (reapIfExited()) {
      port_ = 0;
      const std::string log = errorLog();
      if (log.find(kTaken) != std::string::npos) {
        return Start::PortTaken;
      }
      error_ = "nginx exited during start-up: " + tail(log + readFile(dir_ + "/stderr.log"));
      return Start::Failed;
    }
    // nginx retries a taken port for 2.5 s before giving up; do not wait.
    if (errorLog().find(kTaken) != std::string::npos) {
      stopProcess();
      port_ = 0;
      return Start::PortTaken;
    }
    // Only our nginx answers /__status with stub_status output, so a
    // stranger that grabbed the port is not mistaken for it.
    if (!fetchStatus(Millis(2000)).empty()) {
      return Start::Ready;
    }
    waitExit(kProbeInterval);
  }
  stopProcess();
  port_ = 0;
  error_ = "nginx did not answer on 127.0.0.1:" + std::to_string(port) + " within " +
           std::to_string(kStartTimeout.count()) + " ms: " + tail(errorLog());
  return Start::Failed;
}

int NginxFixture::stubConnectionsAccepted() {
  if (!ok_) {
    return -1;
  }
  const std::string body = fetchStatus(Millis(5000));
  // "Active connections: 1 \nserver accepts handled requests\n 5 5 7 \n..."
  static constexpr std::string_view kLabel = "server accepts handled requests";
  const size_t at = body.find(kLabel);
  if (at == std::string::npos) {
    return -1;
  }
  const char* p = body.c_str() + at + kLabel.size();
  char* end = nullptr;
  const long accepts = std::strtol(p, &end, 10);
  if (end == p) {
    return -1;
  }
  return static_cast<int>(accepts) - own_connections_;
}

}  // namespace plexgate::test
