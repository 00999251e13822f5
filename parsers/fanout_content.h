// FanoutContentParser reads the `content=` of a multisystem fan-out request
// (GET|DELETE /zosmf/gateway/{system|systems|group|sysplex|cpc}?content=...,
// or the JSON body of POST|PUT) into an owned FanoutContent. Pure: no I/O, no
// libuv, no exceptions. One parser per loop, reused (it keeps simdjson's
// buffers warm); the FanoutContent it returns owns its strings.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace plexgate::parsers {

// Which URL the request used; decides how many targets `target` may name.
enum class FanoutKind : uint8_t { System, Systems, Group, Sysplex, Cpc };

// "system", "systems", "group", "sysplex", "cpc".
[[nodiscard]] std::string_view fanoutKindName(FanoutKind kind);
// The last path segment after /zosmf/gateway/ (exact, lower case), or nullopt.
[[nodiscard]] std::optional<FanoutKind> fanoutKindFromName(std::string_view name);

// Bounds (bytes are counted after percent-decoding). Hostile input beyond
// them is refused with a message, never truncated.
inline constexpr size_t kFanoutMaxContentBytes = 64 * 1024;
inline constexpr size_t kFanoutMaxTargets = 256;
inline constexpr size_t kFanoutMaxNameBytes = 64;
inline constexpr size_t kFanoutMaxResourcePathBytes = 8 * 1024;
inline constexpr size_t kFanoutMaxRequestProperties = 64;
inline constexpr size_t kFanoutMaxHeaderNameBytes = 256;
inline constexpr size_t kFanoutMaxHeaderValueBytes = 8 * 1024;
// timeout (ms): 1 ms .. 10 min inclusive. z/OSMF documents a millisecond
// value; ten minutes is our ceiling for holding a fan-out open.
inline constexpr uint32_t kFanoutMinTimeoutMs = 1;
inline constexpr uint32_t kFanoutMaxTimeoutMs = 600000;

struct FanoutHeader {
  std::string name;   // an RFC 9110 token, as given (case kept)
  std::string value;  // no CR, LF, NUL or other controls but HTAB; OWS trimmed
};

struct FanoutContent {
  // 1..kFanoutMaxTargets names of 1..kFanoutMaxNameBytes, no duplicates, no
  // control characters. /system, /group, /sysplex and /cpc give exactly one.
  std::vector<std::string> targets;
  bool target_was_list = false;  // `target` was a JSON array (even of one)
  // Starts with '/' (added when the client left it out). No controls, no
  // spaces; may hold a query ("?a=b"). Bytes are as decoded: whoever writes
  // it into a request line percent-encodes what a request-target forbids
  // (e.g. '#', non-ASCII).
  std::string resource_path;
  // From content's "timeout" or the separate `timeout=` query parameter
  // (both allowed when they agree). nullopt: the caller's default.
  std::optional<uint32_t> timeout_ms;
  // requestProperties: extra headers for each secondary, in the order given.
  // Names are unique (case-insensitively); framing and hop-by-hop headers
  // (Host, Content-Length, Transfer-Encoding, Connection, ...) are refused.
  std::vector<FanoutHeader> request_properties;
};

// Either the content or a message for a 400 reply ("content: 'resourcePath'
// is missing"). No exceptions.
class [[nodiscard]] FanoutContentResult {
 public:
  static FanoutContentResult success(FanoutContent content) { return FanoutContentResult(std::move(content)); }
  static FanoutContentResult failure(std::string message) { return FanoutContentResult(std::move(message)); }

  bool ok() const { return std::holds_alternative<FanoutContent>(v_); }
  explicit operator bool() const { return ok(); }
  // Only when ok().
  const FanoutContent& value() const& { return std::get<FanoutContent>(v_); }
  FanoutContent&& value() && { return std::get<FanoutContent>(std::move(v_)); }
  // Only when !ok().
  const std::string& error() const { return std::get<std::string>(v_); }

 private:
  explicit FanoutContentResult(FanoutContent c) : v_(std::move(c)) {}
  explicit FanoutContentResult(std::string m) : v_(std::move(m)) {}
  std::variant<FanoutContent, std::string> v_;
};

class FanoutContentParser {
 public:
  FanoutContentParser() = default;
  FanoutContentParser(const FanoutContentParser&) = delete;
  FanoutContentParser& operator=(const FanoutContentParser&) = delete;

  // `query` is the URL's query component, with or without its leading '?'
  // and without any fragment. Parameters are split on '&'; names and values
  // are form-decoded ('+' is a space, %XX a byte). `content` is required and
  // may appear once; `timeout` is optional; other parameters are ignored.
  [[nodiscard]] FanoutContentResult parseQuery(std::string_view query, FanoutKind kind);

  // `json` is the already-decoded content (e.g. a POST/PUT body): JSON, or
  // JSON written with single quotes ({'target':'SY1','resourcePath':'/x'}).
  // Keys other than target, resourcePath, timeout and requestProperties are
  // ignored (a POST's body to forward, future fields).
  [[nodiscard]] FanoutContentResult parseJson(std::string_view json, FanoutKind kind);

 private:
  [[nodiscard]] FanoutContentResult parseJsonWithTimeout(std::string_view json, FanoutKind kind,
                                                         std::optional<uint32_t> query_timeout);

  simdjson::dom::parser parser_;
  std::string decoded_;  // percent-decoded content
  std::string json_;     // double-quoted JSON, padded for simdjson
};

// Form-decodes `in` ('+' to space, %XX to a byte) and appends it to `out`.
// Returns false (out unspecified) on a '%' not followed by two hex digits.
[[nodiscard]] bool formDecode(std::string_view in, std::string& out);

// Rewrites JSON that uses single-quoted strings into standard JSON, appended
// to `out`: 'a"b' becomes "a\"b", \' becomes ', double-quoted strings are
// copied as they are. It does not validate; simdjson does that next. Returns
// false only for a string left open at the end.
[[nodiscard]] bool singleToDoubleQuotes(std::string_view in, std::string& out);

}  // namespace plexgate::parsers
