// FanoutAggregateWriter appends the z/OSMF multisystem routing reply (one
// object per system, in the order given) to a caller's std::string. It owns
// only a reusable simdjson parser and a padded scratch buffer, so keep one
// per loop; the FanoutSystemResults it reads are views the caller pins for
// the duration of the call. Pure: no I/O, no libuv, no exceptions.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace plexgate::parsers {

// Per-system outcome (DESIGN.md section 4, the seed's rc values).
enum class FanoutRc : uint8_t {
  Ok,
  HttpConnectionFailed,    // refused, reset, DNS
  HttpConnectionTimedOut,  // the system's deadline passed
  CertificateError,        // TLS verification failed
  LoginRequired,           // 401 from the secondary, no credentials held
  InvalidLogin,            // 401 with credentials held
  ProxyLoginRequired,      // 407 from the HTTP proxy, no credentials held
  InvalidProxyLogin,       // 407 with credentials held
  FailedWithMessage,       // the secondary answered >= 400 with a message
  UnexpectedFailure,
};
// How many FanoutRc values there are (counters index by the value).
inline constexpr size_t kFanoutRcKinds = static_cast<size_t>(FanoutRc::UnexpectedFailure) + 1;

// The wire spelling: "OK", "HttpConnectionFailed", ...
[[nodiscard]] std::string_view fanoutRcName(FanoutRc rc);

struct FanoutError {
  std::string_view msgid;
  std::string_view msgtxt;
};

// The seed's systemVersion; each member null when unknown.
struct FanoutSystemVersion {
  std::optional<std::string_view> zos_node;     // JES2 MAS / JES3 complex member name
  std::optional<std::string_view> zos_vrm;      // z/OS level "vv.rr.mm" ("04.24.00" is V2R1)
  std::optional<std::string_view> zos_sysplex;  // sysplex name
};

struct FanoutSystemResult {
  std::string_view system_name;
  FanoutRc rc = FanoutRc::UnexpectedFailure;
  // The secondary's response body. Embedded as raw JSON when simdjson
  // accepts it (leading UTF-8 BOM and surrounding whitespace dropped),
  // otherwise as a JSON string (invalid UTF-8 becomes U+FFFD).
  std::string_view output;
  // Bytes readable from output.data(), output.size() included. When it is at
  // least output.size() + simdjson::SIMDJSON_PADDING the body is validated in
  // place; otherwise it is copied into the writer's padded scratch buffer.
  // A std::string's capacity() qualifies once reserved.
  size_t output_capacity = 0;
  std::optional<FanoutError> error;                       // null when absent
  std::optional<std::string_view> secondary_api_version;  // null when unknown
  std::optional<FanoutSystemVersion> system_version;      // null when unknown
};

// Bodies longer than this are embedded as strings without trying simdjson:
// validating costs roughly 9x the body in parser memory. 16 MiB.
inline constexpr size_t kFanoutMaxValidatedOutputBytes = 16 * 1024 * 1024;
// Deepest nesting embedded as raw JSON. The reply adds 3 levels around each
// systemOutput; staying under simdjson's default 1024 keeps the whole reply
// parseable by a default simdjson parser.
inline constexpr size_t kFanoutMaxEmbeddedDepth = 1000;

class FanoutAggregateWriter {
 public:
  FanoutAggregateWriter() = default;
  FanoutAggregateWriter(const FanoutAggregateWriter&) = delete;
  FanoutAggregateWriter& operator=(const FanoutAggregateWriter&) = delete;

  // The whole reply:
  //   {"primaryAPIVersion":"1","systemsOutput":[{"systemOutput":...,"rc":"OK",
  //    "error":null,"secondaryApiVersion":"1","systemVersion":{"zosNode":..,
  //    "zosVrm":..,"zosSysplex":..},"systemName":"SY1"},...],"numOfSystems":N}
  // Reserves once for the expected size, then appends.
  void append(std::string& out, std::string_view primary_api_version, std::span<const FanoutSystemResult> systems);

  // The same reply in pieces, for a caller that writes systems as they
  // finish: begin, one appendSystem per system (in reply order), end.
  void begin(std::string& out, std::string_view primary_api_version);
  void appendSystem(std::string& out, const FanoutSystemResult& system);
  void end(std::string& out);

  // True when simdjson accepts `bytes` as one JSON document no deeper than
  // kFanoutMaxEmbeddedDepth. `capacity` as in FanoutSystemResult.
  [[nodiscard]] bool isJson(std::string_view bytes, size_t capacity);

 private:
  simdjson::dom::parser parser_;
  std::string scratch_;  // padded copy of outputs that came without padding
  size_t count_ = 0;     // systems written since begin()
};

// Appends `bytes` as a quoted JSON string: '"', '\\' and controls escaped
// (\n \r \t \b \f, else \u00XX), each invalid UTF-8 sequence replaced by
// U+FFFD (one per maximal invalid subpart, as the Unicode standard suggests).
void appendJsonString(std::string& out, std::string_view bytes);

}  // namespace plexgate::parsers
