// Typed readers for the values of one MapEntry (yaml_util.h), shared by the
// schema code in config_loader.cc and config_upstreams.cc. Each one either
// returns the value or fails (LoadFailure) as "expected ..., got ..." at the
// value's line, so every section words the same problem the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/config.h"
#include "engine/config/yaml_util.h"

namespace plexgate::config::detail {

// ---- plain text -------------------------------------------------------------

inline bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

inline char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string toLowerAscii(std::string_view text);
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// Decimal digits only: no sign, no spaces, no 0x, no 1_000.
std::optional<uint64_t> parseUnsigned(std::string_view text);

// The shortest exact spelling in the config's own units: 1024 -> "1k".
std::string formatSize(uint64_t bytes);
// 10000ms -> "10s", 1500ms -> "1500ms".
std::string formatDuration(Millis duration);

// "a", "a or b", "a, b or c".
std::string joinOr(const std::vector<std::string_view>& words);

// Lowercase letters, digits, '_' and '-', at least one.
bool isPlainName(std::string_view name);

// inet_pton for the family; false for text holding NUL.
bool isIpAddress(int family, const std::string& text);

// RFC 9110 token: the only bytes a header (or cookie) name may hold.
bool isToken(std::string_view name);

// One DNS label: letters (already lowered), digits, '-' and '_', 1..63 bytes.
bool isHostLabel(std::string_view label);

// ---- typed readers ------------------------------------------------------------

std::string readString(const MapEntry& entry);
std::string readNonEmptyString(const MapEntry& entry);
// A string, or "" for a null value (`key:` with nothing after it).
std::string readOptionalString(const MapEntry& entry);
uint64_t readInteger(const MapEntry& entry, uint64_t min, uint64_t max);
uint64_t readSize(const MapEntry& entry, uint64_t min, uint64_t max);
Millis readDuration(const MapEntry& entry, Millis min, Millis max);
bool readBool(const MapEntry& entry);
// Index into `names` of the scalar's value.
size_t readChoice(const MapEntry& entry, const std::vector<std::string_view>& names);
// A path starting with '/', without spaces or control characters.
std::string readPath(const MapEntry& entry);

}  // namespace plexgate::config::detail
