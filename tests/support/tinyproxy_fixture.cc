#include "support/tinyproxy_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/free_port.h"

namespace plexgate::test {

namespace {

constexpr int kMaxAttempts = 5;
constexpr std::chrono::milliseconds kReadyTimeout{5000};

bool accepts(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool TinyproxyFixture::available() { return ::access(kBinary, X_OK) == 0; }

TinyproxyFixture::TinyproxyFixture(const std::string& user, const std::string& password)
    : user_(user), password_(password) {
  std::string templ = (std::filesystem::temp_directory_path() / "plexgate-tinyproxy-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  dir_ = templ;
  for (int attempt = 0; attempt < kMaxAttempts && port_ == 0; ++attempt) {
    const uint16_t port = freePort();
    if (port != 0 && startOnce(port)) {
      port_ = port;
    }
  }
}

TinyproxyFixture::~TinyproxyFixture() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string TinyproxyFixture::log() const {
  std::ifstream in(dir_ + "/tinyproxy.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool TinyproxyFixture::tlsFrontAvailable() { return ::access(kHaproxy, X_OK) == 0; }

pid_t TinyproxyFixture::spawn(std::vector<std::string> args, const std::string& log_path) {
  const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || devnull < 0) {
    error_ = std::string("open: ") + std::strerror(errno);
    if (out >= 0) {
      ::close(out);
    }
    if (devnull >= 0) {
      ::close(devnull);
    }
    return -1;
  }
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
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
    return -1;
  }
  return pid;
}

bool TinyproxyFixture::waitReady(pid_t& pid, uint16_t port, const std::string& what, const std::string& log_path) {
  auto logText = [&] {
    std::ifstream in(log_path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  // Ready once it accepts; gone (a taken port) once waitpid reaps it.
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      error_ = what + " exited: " + logText();
      return false;
    }
    if (accepts(port)) {
      return true;
    }
    ::poll(nullptr, 0, 5);  // pace the probes; the condition is what we wait for
  }
  error_ = what + " did not accept within 5 s: " + logText();
  stopPid(pid);
  return false;
}

bool TinyproxyFixture::startOnce(uint16_t port) {
  const std::string conf = dir_ + "/tinyproxy.conf";
  {
    std::ofstream out(conf);
    out << "Port " << port << "\nListen 127.0.0.1\nTimeout 30\nMaxClients 32\nAllow 127.0.0.1\n"
        << "BasicAuth " << user_ << " " << password_ << "\nDisableViaHeader Yes\nLogLevel Info\n";
  }
  const std::string log_path = dir_ + "/tinyproxy.log";
  pid_ = spawn({kBinary, "-d", "-c", conf}, log_path);
  if (pid_ < 0) {
    return false;
  }
  return waitReady(pid_, port, "tinyproxy", log_path);
}

bool TinyproxyFixture::startTlsFront(const std::string& pem) {
  if (port_ == 0) {
    error_ = "tinyproxy is not running";
    return false;
  }
  for (int attempt = 0; attempt < kMaxAttempts && tls_port_ == 0; ++attempt) {
    const uint16_t port = freePort();
    if (port != 0 && startFrontOnce(port, pem)) {
      tls_port_ = port;
    }
  }
  return tls_port_ != 0;
}

bool TinyproxyFixture::startFrontOnce(uint16_t port, const std::string& pem) {
  // TCP mode: TLS ends here, and tinyproxy sees the plain proxy requests.
  const std::string conf = dir_ + "/haproxy.cfg";
  {
    std::ofstream out(conf);
    out << "global\n    nbthread 1\n    maxconn 64\n"
        << "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n"
        << "frontend tls\n    bind 127.0.0.1:" << port << " ssl crt " << pem << "\n    default_backend tp\n"
        << "backend tp\n    server tp 127.0.0.1:" << port_ << "\n";
  }
  const std::string log_path = dir_ + "/haproxy.log";
  front_pid_ = spawn({kHaproxy, "-db", "-f", conf}, log_path);
  if (front_pid_ < 0) {
    return false;
  }
  return waitReady(front_pid_, port, "haproxy", log_path);
}

void TinyproxyFixture::stop() {
  stopPid(front_pid_);
  stopPid(pid_);
}

void TinyproxyFixture::stopPid(pid_t& pid) {
  if (pid <= 0) {
    return;
  }
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(3000);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    ::poll(nullptr, 0, 5);
  }
  pid = -1;
}

}  // namespace plexgate::test
