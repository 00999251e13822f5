// The validated, immutable configuration snapshot. Built once by the loader on
// the control thread (config_loader.h), then shared read-only by every worker
// loop as std::shared_ptr<const Config>; a reload builds a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace plexgate::config {

using Millis = std::chrono::milliseconds;

// A route that answers locally with a canned response (load-testing target).
struct RespondAction {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
  std::string body;           // `body: TEXT`, or `body_size: N` bytes of 'x'
  Millis delay{0};
};

// A route that answers with the request it received (head and body).
struct EchoAction {};

using RouteAction = std::variant<RespondAction, EchoAction>;

struct Route {
  std::string host;    // empty = any; "example.com" exact; "*.example.com" suffix
  std::string prefix;  // path prefix, starts with '/'; longest match wins
  RouteAction action;
};

struct Listener {
  std::string name;     // unique among listeners
  std::string address;  // "127.0.0.1:7554", "[::1]:7554", "0.0.0.0:80"
  std::string host;     // parsed from address (no brackets)
  uint16_t port = 0;
  std::vector<Route> routes;  // in file order
};

struct Limits {
  uint32_t max_head_bytes = 16 * 1024;       // 431 past it
  uint32_t max_headers = 100;                // 431 past it
  uint32_t max_uri_bytes = 8 * 1024;         // 414 past it
  uint64_t max_body_bytes = 16 * 1024 * 1024;  // 413 past it
  uint32_t max_requests_per_connection = 0;  // 0 = unlimited
};

struct Timeouts {
  Millis header{10'000};  // whole request head must arrive within it: 408
  Millis idle{60'000};    // keep-alive connection with no request in progress
  Millis drain{10'000};   // graceful shutdown limit
};

enum class AccessLogFormat { Combined, Json };

struct AccessLog {
  bool enabled = false;
  std::string path = "-";  // "-" = stdout
  AccessLogFormat format = AccessLogFormat::Combined;
};

enum class LogLevel { Debug, Info, Warn, Error };

struct Config {
  std::string source;  // file the snapshot came from ("" for quick modes)
  uint32_t workers = 0;  // 0 = auto: one per CPU
  std::vector<Listener> listeners;
  Limits limits;
  Timeouts timeouts;
  AccessLog access_log;
  LogLevel log_level = LogLevel::Info;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace plexgate::config
