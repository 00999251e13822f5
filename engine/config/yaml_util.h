// Schema-neutral helpers for the config schema walk (config_loader.cc,
// config_upstreams.cc): error text for YAML nodes, key paths, and MapReader, a
// checked view of one YAML mapping. Internal to engine_config (built with
// exceptions): everything here reports a problem by throwing LoadFailure,
// which loadString() catches and turns into a ConfigError.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace plexgate::config::detail {

// Thrown from anywhere in the schema walk; never leaves config_loader.cc.
struct LoadFailure {
  int line = 0;
  std::string key;
  std::string message;
};

[[noreturn]] void fail(int line, std::string key, std::string message);

// 1-based line of a node's mark, or `fallback` when yaml-cpp has none.
int lineOf(const YAML::Node& node, int fallback);

// Text made safe for a one-line message: control bytes escaped, long text cut.
std::string printable(std::string_view text);
// printable(text) in single quotes: "'16k'".
std::string quoted(std::string_view text);
// What a node holds, for "expected X, got <describe>": "'abc'", "null",
// "a sequence", "a mapping".
std::string describe(const YAML::Node& node);

std::string childPath(const std::string& parent, std::string_view key);
std::string indexPath(const std::string& parent, size_t index);

// Optimal-string-alignment distance (a swap of neighbours counts once).
size_t editDistance(std::string_view a, std::string_view b);

// Runs yaml-cpp's parser over the whole stream without building nodes and
// fails unless it is UTF-8 and holds at most one non-empty document, with
// every quoted scalar closed (yaml-cpp 0.7 quietly ends an unclosed one at
// the end of the input). It also guards
// YAML::Load: yaml-cpp 0.7 never stops on some malformed input (a stray ','
// at document level yields endless empty documents), so a parser that stops
// advancing is reported as a syntax error at that spot.
void checkSingleDocument(std::string_view yaml);

// One key/value pair of a mapping, in file order.
struct MapEntry {
  std::string key;   // as written
  std::string path;  // key path of the value: "limits.max_headers"
  int key_line = 0;
  int line = 0;      // the value's line, or the key's when the value is null
  YAML::Node value;
};

// Validates the shape of one mapping up front, in file order: it must be a
// mapping, keys must be scalars, none may repeat, and (when `allowed` is
// given) each must be in `allowed`, else "unknown key" with a did-you-mean.
class MapReader {
 public:
  // `line` is where to point when `node` is not a mapping; `expected` names
  // what was wanted there ("a mapping of header names to values").
  MapReader(const YAML::Node& node, std::string path, int line,
            std::optional<std::vector<std::string_view>> allowed,
            std::string_view expected = "a mapping");

  const std::vector<MapEntry>& entries() const { return entries_; }
  const MapEntry* find(std::string_view key) const;
  // Fails with "missing required key 'KEY'" at the mapping's own line.
  void require(std::string_view key) const;
  int line() const { return line_; }
  const std::string& path() const { return path_; }

 private:
  std::string unknownKeyMessage(std::string_view key) const;

  std::string path_;
  int line_ = 0;
  std::optional<std::vector<std::string_view>> allowed_;
  std::vector<MapEntry> entries_;
};

}  // namespace plexgate::config::detail
