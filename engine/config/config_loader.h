// Turns a plexgate YAML file into a validated, immutable Config (config.h).
// Runs once on the control thread at startup or reload; every rule lives behind
// this API (config_loader.cc, config_upstreams.cc), so a snapshot that loads is
// one the workers can trust. Nothing throws out of
// this API: failures come back as a ConfigError naming file, line and key path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/config/config.h"

namespace plexgate::config {

struct ConfigError {
  std::string file;  // as given (path or source name)
  int line = 0;      // 1-based; 0 when no line applies (unreadable file)
  std::string key;   // "listeners[0].routes[1].respond.status"; "" for whole-file problems
  std::string message;

  // "FILE:LINE: KEY: MESSAGE", dropping "LINE:" when it is 0 and "KEY: " when empty.
  std::string toString() const;
};

struct LoadResult {
  ConfigPtr config;                  // set on success
  std::optional<ConfigError> error;  // set on failure

  bool ok() const { return error == std::nullopt; }
};

// Reads and validates a file; Config::source is `path`. An unreadable file
// yields "PATH: cannot read: <strerror>", one past 64 MiB (/dev/zero)
// "PATH: cannot read: larger than 64m".
[[nodiscard]] LoadResult loadFile(const std::string& path);

// Validates YAML text; `source_name` stands in for the file name in errors
// and becomes Config::source.
[[nodiscard]] LoadResult loadString(std::string_view yaml, std::string_view source_name);

// Splits a listener address ("127.0.0.1:7554", "[::1]:0", "localhost:80")
// into host and port as a file's `address:` does; "" when it is one, else
// why not. For `plexgate respond --listen`, which has no file.
[[nodiscard]] std::string listenAddressProblem(std::string_view text, std::string& host, uint16_t& port);

// Why a `respond` route could not send the header NAME: VALUE, as the file's
// `headers:` refuses it (not a token, one plexgate computes such as
// Content-Length, CR/LF/NUL in the value); "" when it can. For `plexgate
// respond --header`, which has no file.
[[nodiscard]] std::string respondHeaderProblem(std::string_view name, std::string_view value);

// "16384", "16k", "16K", "1m", "2g" (binary multiples). std::nullopt on any
// other form (signs, spaces, fractions, other suffixes) or past UINT64_MAX.
[[nodiscard]] std::optional<uint64_t> parseSize(std::string_view text);

// "250ms", "10s", "2m", "1h". A bare number has no unit and is rejected, as is
// anything that overflows Millis.
[[nodiscard]] std::optional<Millis> parseDuration(std::string_view text);

}  // namespace plexgate::config
