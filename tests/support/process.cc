#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace plexgate::test {

Process::Process(const std::vector<std::string>& argv) {
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    return;
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
}

Process::~Process() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) {
    ::close(out_fd_);
  }
  if (err_fd_ >= 0) {
    ::close(err_fd_);
  }
}

void Process::drainPipes(int timeout_ms) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (::poll(fds, 2, timeout_ms) <= 0) {
    return;
  }
  char buf[4096];
  for (int i = 0; i < 2; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP)) != 0) {
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        ::close(fds[i].fd);
        (i == 0 ? out_fd_ : err_fd_) = -1;
      }
    }
  }
}

std::optional<std::string> Process::waitStderr(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const size_t at = err_.find(needle);
    if (at != std::string::npos) {
      const size_t start = err_.rfind('\n', at);
      const size_t end = err_.find('\n', at);
      if (end != std::string::npos) {
        return err_.substr(start == std::string::npos ? 0 : start + 1,
                           end - (start == std::string::npos ? 0 : start + 1));
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || (out_fd_ < 0 && err_fd_ < 0)) {
      return std::nullopt;
    }
    drainPipes(static_cast<int>(left.count()));
  }
}

void Process::signal(int sig) {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, sig);
  }
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exited_) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      while (out_fd_ >= 0 || err_fd_ >= 0) {
        drainPipes(100);
      }
      if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
      }
      return std::nullopt;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return std::nullopt;
    }
    // Reading the pipes paces this loop: it blocks until output or 10 ms.
    drainPipes(10);
  }
  return std::nullopt;
}

std::string Process::stdoutText() { return out_; }
std::string Process::stderrText() { return err_; }

std::pair<int, std::string> runToExit(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  Process p(argv);
  const auto rc = p.wait(timeout);
  return {rc.value_or(-1), p.stdoutText() + p.stderrText()};
}

}  // namespace plexgate::test
