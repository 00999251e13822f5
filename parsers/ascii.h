// ASCII helpers for protocol tokens (header names, methods, hosts): HTTP
// field names compare case-insensitively in ASCII only, never by locale.
#pragma once

#include <string_view>

namespace plexgate::parsers {

constexpr char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace plexgate::parsers
