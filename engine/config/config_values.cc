#include "engine/config/config_values.h"

#include <arpa/inet.h>

#include <limits>

#include "engine/config/config_loader.h"

namespace plexgate::config::detail {

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;

}  // namespace

std::string toLowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = lowerAscii(c);
  }
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) {
      return false;
    }
  }
  return true;
}

std::optional<uint64_t> parseUnsigned(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    if (!isDigit(c)) {
      return std::nullopt;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

std::string formatSize(uint64_t bytes) {
  if (bytes != 0 && bytes % kGiB == 0) {
    return std::to_string(bytes / kGiB) + "g";
  }
  if (bytes != 0 && bytes % kMiB == 0) {
    return std::to_string(bytes / kMiB) + "m";
  }
  if (bytes != 0 && bytes % kKiB == 0) {
    return std::to_string(bytes / kKiB) + "k";
  }
  return std::to_string(bytes);
}

std::string formatDuration(Millis duration) {
  const int64_t ms = duration.count();
  if (ms != 0 && ms % kMsPerHour == 0) {
    return std::to_string(ms / kMsPerHour) + "h";
  }
  if (ms != 0 && ms % kMsPerMinute == 0) {
    return std::to_string(ms / kMsPerMinute) + "m";
  }
  if (ms != 0 && ms % kMsPerSecond == 0) {
    return std::to_string(ms / kMsPerSecond) + "s";
  }
  return std::to_string(ms) + "ms";
}

std::string joinOr(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) {
      out += (i + 1 == words.size()) ? " or " : ", ";
    }
    out += words[i];
  }
  return out;
}

bool isPlainName(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || isDigit(c) || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

bool isIpAddress(int family, const std::string& text) {
  if (text.find('\0') != std::string::npos) {
    return false;
  }
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(family, text.c_str(), buf) == 1;
}

bool isToken(std::string_view name) {
  static constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c);
    if (!alnum && kTokenPunct.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool isHostLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) {
    return false;
  }
  for (char c : label) {
    if (!((c >= 'a' && c <= 'z') || isDigit(c) || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string readString(const MapEntry& entry) {
  if (!entry.value.IsScalar()) {
    fail(entry.line, entry.path, "expected a string, got " + describe(entry.value));
  }
  return entry.value.Scalar();
}

std::string readNonEmptyString(const MapEntry& entry) {
  std::string text = readString(entry);
  if (text.empty()) {
    fail(entry.line, entry.path, "expected a non-empty string, got ''");
  }
  return text;
}

std::string readOptionalString(const MapEntry& entry) {
  return entry.value.IsNull() ? std::string() : readString(entry);
}

uint64_t readInteger(const MapEntry& entry, uint64_t min, uint64_t max) {
  std::optional<uint64_t> value;
  if (entry.value.IsScalar()) {
    value = parseUnsigned(entry.value.Scalar());
  }
  if (!value || *value < min || *value > max) {
    fail(entry.line, entry.path,
         "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
             ", got " + describe(entry.value));
  }
  return *value;
}

uint64_t readSize(const MapEntry& entry, uint64_t min, uint64_t max) {
  std::optional<uint64_t> value;
  if (entry.value.IsScalar()) {
    value = parseSize(entry.value.Scalar());
  }
  if (!value) {
    fail(entry.line, entry.path,
         "expected a size like 512, 16k or 1m, got " + describe(entry.value));
  }
  if (*value < min || *value > max) {
    fail(entry.line, entry.path,
         "expected a size from " + formatSize(min) + " to " + formatSize(max) + ", got " +
             describe(entry.value));
  }
  return *value;
}

Millis readDuration(const MapEntry& entry, Millis min, Millis max) {
  std::optional<Millis> value;
  if (entry.value.IsScalar()) {
    value = parseDuration(entry.value.Scalar());
  }
  if (!value) {
    fail(entry.line, entry.path,
         "expected a duration like 500ms, 10s or 2m, got " + describe(entry.value));
  }
  if (*value < min || *value > max) {
    fail(entry.line, entry.path,
         "expected a duration from " + formatDuration(min) + " to " + formatDuration(max) +
             ", got " + describe(entry.value));
  }
  return *value;
}

bool readBool(const MapEntry& entry) {
  if (entry.value.IsScalar()) {
    const std::string& text = entry.value.Scalar();
    if (text == "true" || text == "True" || text == "TRUE") {
      return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
      return false;
    }
  }
  fail(entry.line, entry.path, "expected true or false, got " + describe(entry.value));
}

size_t readChoice(const MapEntry& entry, const std::vector<std::string_view>& names) {
  if (entry.value.IsScalar()) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (entry.value.Scalar() == names[i]) {
        return i;
      }
    }
  }
  fail(entry.line, entry.path, "expected " + joinOr(names) + ", got " + describe(entry.value));
}

std::string readPath(const MapEntry& entry) {
  std::string path = readString(entry);
  bool ok = !path.empty() && path.front() == '/';
  for (char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) {
      ok = false;
    }
  }
  if (!ok) {
    fail(entry.line, entry.path,
         "expected a path starting with '/' and without spaces or control characters, got " +
             quoted(path));
  }
  return path;
}

}  // namespace plexgate::config::detail
