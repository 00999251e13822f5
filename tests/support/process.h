// Process: runs the plexgate binary as a child for command-line tests, with
// stdout and stderr captured through pipes, and stops only that child, by
// its PID.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace plexgate::test {

class Process {
 public:
  explicit Process(const std::vector<std::string>& argv);
  ~Process();  // SIGKILLs the child if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for a stderr line containing `needle`; returns the line.
  std::optional<std::string> waitStderr(const std::string& needle, std::chrono::milliseconds timeout);
  void signal(int sig);
  // Exit code, or nullopt when it did not exit in time (or died by signal).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string stdoutText();  // after wait(): everything it printed
  std::string stderrText();

 private:
  void drainPipes(int timeout_ms);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  bool exited_ = false;
};

// Runs to completion; returns {exit code, stdout + stderr}.
std::pair<int, std::string> runToExit(const std::vector<std::string>& argv,
                                      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

}  // namespace plexgate::test
