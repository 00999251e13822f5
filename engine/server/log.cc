#include "engine/server/log.h"

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace plexgate::server {
namespace {

std::atomic<int> g_level{static_cast<int>(config::LogLevel::Info)};

}  // namespace

void setLogLevel(config::LogLevel level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool logEnabled(config::LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void logf(config::LogLevel level, const char* format, ...) {
  if (!logEnabled(level)) {
    return;
  }
  // One buffer and one write, so lines from several threads never interleave.
  char line[2048];
  int n = std::snprintf(line, sizeof(line), "plexgate: %s", level == config::LogLevel::Warn ? "warning: " : "");
  va_list args;
  va_start(args, format);
  const int m = std::vsnprintf(line + n, sizeof(line) - static_cast<size_t>(n) - 1, format, args);
  va_end(args);
  n = m < 0 ? n : std::min(n + m, static_cast<int>(sizeof(line)) - 2);
  line[n++] = '\n';
  std::fwrite(line, 1, static_cast<size_t>(n), stderr);
}

}  // namespace plexgate::server
