// Access log: worker loops format a line and append it to their own sink (an
// uncontended mutex around a string append, never I/O); one writer thread
// swaps the sinks' buffers out and writes them to the file, so a slow disk
// never blocks a worker loop. Owned by main; outlives every worker.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/config/config.h"

namespace plexgate::server {

struct AccessRecord {
  std::string_view remote;
  std::string_view time;  // EventLoop::logTime()
  std::string_view method;
  std::string_view target;
  uint8_t http_major = 1;
  uint8_t http_minor = 1;
  int status = 0;
  uint64_t bytes_sent = 0;  // body bytes
  double duration_ms = 0;
  std::string_view referer;
  std::string_view user_agent;
};

void formatCombined(std::string& out, const AccessRecord& r);
void formatJson(std::string& out, const AccessRecord& r);

class AccessLogSink {
 public:
  AccessLogSink(config::AccessLogFormat format, bool enabled) : format_(format), enabled_(enabled) {}
  // Loop thread. A reload may switch the log off or change its format at
  // any time (relaxed atomics: a record is formatted one way or the other).
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void record(const AccessRecord& r);

 private:
  friend class AccessLogWriter;
  std::atomic<config::AccessLogFormat> format_;
  std::atomic<bool> enabled_;
  std::string scratch_;  // loop thread only
  std::mutex mu_;
  std::string buffer_;  // guarded by mu_
};

class AccessLogWriter {
 public:
  // path "-" writes to stdout. Returns nullptr with `error` set when the file
  // cannot be opened. A log that is not enabled opens nothing, and its sinks
  // drop every record until a reload enables it.
  static std::unique_ptr<AccessLogWriter> open(const config::AccessLog& cfg, size_t sinks, std::string& error);
  // Control thread, on reload: apply `cfg`. A new path is opened here first;
  // when that fails nothing changes and the reason is returned. Otherwise
  // the writer thread writes what is buffered to the old file, then
  // switches, before this returns: every record made afterwards goes to
  // the new file, in the new format.
  std::string reconfigure(const config::AccessLog& cfg);
  // Whether SIGUSR1 has a file to reopen (control thread).
  bool hasFile() const { return cfg_.enabled && cfg_.path != "-"; }
  ~AccessLogWriter();

  AccessLogSink* sink(size_t index) { return sinks_[index].get(); }
  // Writes what is buffered and stops the thread; idempotent.
  void stop();
  // SIGUSR1 (log rotation): the writer thread writes what is buffered to the
  // file it has, then opens the path again (a new file once logrotate has
  // moved the old one). If that fails it logs why and keeps the old file.
  // Nothing to do for stdout.
  void reopen();

 private:
  AccessLogWriter() = default;
  void run();
  void writeAll();

  void reopenNow();

  FILE* file_ = nullptr;
  bool owns_file_ = false;
  std::string path_;
  std::vector<std::unique_ptr<AccessLogSink>> sinks_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool reopen_ = false;  // guarded by mu_
  // A new file handed over by reconfigure(), guarded by mu_; swap_ is
  // cleared (and cv_ notified) once the writer has switched to it.
  bool swap_ = false;
  FILE* next_file_ = nullptr;
  bool next_owns_ = false;
  std::string next_path_;
  config::AccessLog cfg_;  // what is applied (control thread)
};

}  // namespace plexgate::server
