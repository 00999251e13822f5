#include "engine/server/access_log.h"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <utility>

#include "engine/server/log.h"

namespace plexgate::server {

namespace {

void appendNum(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

// Quoted fields escape '"' and '\\' and control bytes the way nginx does.
void appendEscaped(std::string& out, std::string_view s, bool json) {
  static const char* hex = "0123456789abcdef";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += json ? "\\u00" : "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
}

// The log's file for appending: stdout for "-". Null with `error` set when
// it cannot be opened.
FILE* openForAppend(const std::string& path, std::string& error) {
  if (path == "-") {
    return stdout;
  }
  FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    error = "access_log: cannot open " + path + ": " + std::strerror(errno);
  }
  return f;
}

}  // namespace

void formatCombined(std::string& out, const AccessRecord& r) {
  out.append(r.remote);
  out.append(" - - [");
  out.append(r.time);
  out.append("] \"");
  appendEscaped(out, r.method, false);
  out += ' ';
  appendEscaped(out, r.target, false);
  out.append(" HTTP/");
  appendNum(out, r.http_major);
  out += '.';
  appendNum(out, r.http_minor);
  out.append("\" ");
  appendNum(out, static_cast<uint64_t>(r.status));
  out += ' ';
  appendNum(out, r.bytes_sent);
  out.append(" \"");
  appendEscaped(out, r.referer.empty() ? std::string_view("-") : r.referer, false);
  out.append("\" \"");
  appendEscaped(out, r.user_agent.empty() ? std::string_view("-") : r.user_agent, false);
  out.append("\"\n");
}

void formatJson(std::string& out, const AccessRecord& r) {
  out.append("{\"time\":\"");
  out.append(r.time);
  out.append("\",\"remote\":\"");
  out.append(r.remote);
  out.append("\",\"method\":\"");
  appendEscaped(out, r.method, true);
  out.append("\",\"target\":\"");
  appendEscaped(out, r.target, true);
  out.append("\",\"protocol\":\"HTTP/");
  appendNum(out, r.http_major);
  out += '.';
  appendNum(out, r.http_minor);
  out.append("\",\"status\":");
  appendNum(out, static_cast<uint64_t>(r.status));
  out.append(",\"bytes\":");
  appendNum(out, r.bytes_sent);
  char dur[32];
  auto res = std::to_chars(dur, dur + sizeof(dur), r.duration_ms, std::chars_format::fixed, 3);
  out.append(",\"duration_ms\":");
  out.append(dur, static_cast<size_t>(res.ptr - dur));
  out.append(",\"referer\":\"");
  appendEscaped(out, r.referer, true);
  out.append("\",\"user_agent\":\"");
  appendEscaped(out, r.user_agent, true);
  out.append("\"}\n");
}

void AccessLogSink::record(const AccessRecord& r) {
  scratch_.clear();
  if (format_.load(std::memory_order_relaxed) == config::AccessLogFormat::Json) {
    formatJson(scratch_, r);
  } else {
    formatCombined(scratch_, r);
  }
  std::lock_guard<std::mutex> lock(mu_);
  buffer_.append(scratch_);
}

std::unique_ptr<AccessLogWriter> AccessLogWriter::open(const config::AccessLog& cfg, size_t sinks,
                                                       std::string& error) {
  std::unique_ptr<AccessLogWriter> w(new AccessLogWriter());
  w->cfg_ = cfg;
  if (cfg.enabled) {  // else nothing to open until a reload enables it
    w->file_ = openForAppend(cfg.path, error);
    if (w->file_ == nullptr) {
      return nullptr;
    }
    w->owns_file_ = cfg.path != "-";
    w->path_ = cfg.path;
  }
  for (size_t i = 0; i < sinks; ++i) {
    w->sinks_.push_back(std::make_unique<AccessLogSink>(cfg.format, cfg.enabled));
  }
  w->thread_ = std::thread([raw = w.get()] { raw->run(); });
  return w;
}

AccessLogWriter::~AccessLogWriter() {
  stop();
  if (owns_file_ && file_ != nullptr) {
    std::fclose(file_);
  }
  if (next_owns_ && next_file_ != nullptr) {
    std::fclose(next_file_);  // handed over as the writer stopped
  }
}

void AccessLogWriter::writeAll() {
  std::string batch;
  for (auto& sink : sinks_) {
    {
      std::lock_guard<std::mutex> lock(sink->mu_);
      batch.swap(sink->buffer_);
    }
    if (!batch.empty() && file_ != nullptr) {
      std::fwrite(batch.data(), 1, batch.size(), file_);
    }
    batch.clear();
  }
  if (file_ != nullptr) {
    std::fflush(file_);
  }
}

std::string AccessLogWriter::reconfigure(const config::AccessLog& cfg) {
  const bool new_file = cfg.enabled && (!cfg_.enabled || cfg.path != cfg_.path);
  if (new_file) {
    std::string error;
    FILE* fresh = openForAppend(cfg.path, error);
    if (fresh == nullptr) {
      return error;
    }
    std::unique_lock<std::mutex> lock(mu_);
    next_file_ = fresh;
    next_owns_ = cfg.path != "-";
    next_path_ = cfg.path;
    swap_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !swap_ || stop_; });
  }
  for (auto& sink : sinks_) {
    sink->format_.store(cfg.format, std::memory_order_relaxed);
    sink->enabled_.store(cfg.enabled, std::memory_order_relaxed);
  }
  cfg_ = cfg;
  return "";
}

void AccessLogWriter::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_ || reopen_ || swap_; });
    const bool reopen = std::exchange(reopen_, false);
    const bool swap = swap_;
    lock.unlock();
    writeAll();  // to the file these records were made for
    lock.lock();
    if (swap) {
      if (owns_file_ && file_ != nullptr) {
        std::fclose(file_);
      }
      file_ = std::exchange(next_file_, nullptr);
      owns_file_ = next_owns_;
      path_ = next_path_;
      swap_ = false;
      cv_.notify_all();
    }
    if (reopen && owns_file_) {
      lock.unlock();
      reopenNow();
      lock.lock();
    }
  }
}

void AccessLogWriter::reopen() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reopen_ = true;
  }
  cv_.notify_all();
}

void AccessLogWriter::reopenNow() {
  FILE* fresh = std::fopen(path_.c_str(), "a");
  if (fresh == nullptr) {
    logf(config::LogLevel::Error, "access_log: cannot reopen %s: %s; still writing to the old file", path_.c_str(),
         std::strerror(errno));
    return;
  }
  std::fclose(file_);
  file_ = fresh;
}

void AccessLogWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) {
      return;
    }
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  writeAll();
}

}  // namespace plexgate::server
