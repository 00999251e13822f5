#include "parsers/url.h"

#include "parsers/ascii.h"

namespace plexgate::parsers {

namespace {

constexpr bool isAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 unreserved and sub-delims: the bytes of a reg-name besides "%XX".
constexpr bool isRegNameChar(char c) {
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return isAlnum(c);
  }
}

bool validPort(std::string_view port) {
  if (port.size() > 5) {
    return false;
  }
  for (char c : port) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// The encoded byte at `s[i]` ("%2e" -> '.'), or 0 when s[i] does not start
// a percent-encoding of one of the bytes dot-segment detection cares about.
char decodedAt(std::string_view s, size_t i) {
  if (s[i] != '%' || i + 2 >= s.size()) {
    return 0;
  }
  const char hi = s[i + 1];
  const char lo = asciiLower(s[i + 2]);
  if (hi == '2' && lo == 'e') {
    return '.';
  }
  if (hi == '2' && lo == 'f') {
    return '/';
  }
  if (hi == '5' && lo == 'c') {
    return '\\';
  }
  return 0;
}

}  // namespace

bool validHost(std::string_view host) {
  if (host.empty()) {
    return true;
  }
  std::string_view port;
  if (host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) {
      return false;
    }
    for (char c : host.substr(1, close - 1)) {
      // IPv6 (hex, ':', '.' for an embedded IPv4), IPvFuture ("v1.x"), and
      // a zone id after "%25".
      if (!isRegNameChar(c) && c != ':' && c != '%') {
        return false;
      }
    }
    const std::string_view rest = host.substr(close + 1);
    if (rest.empty()) {
      return true;
    }
    if (rest.front() != ':') {
      return false;
    }
    return validPort(rest.substr(1));
  }
  const size_t colon = host.find(':');
  std::string_view name = host.substr(0, colon);
  if (colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    if (name.empty() || !validPort(port)) {
      return false;
    }
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '%') {
      if (i + 2 >= name.size() || !isHex(name[i + 1]) || !isHex(name[i + 2])) {
        return false;
      }
      i += 2;
      continue;
    }
    if (!isRegNameChar(c)) {
      return false;
    }
  }
  return true;
}

std::optional<AbsoluteForm> splitAbsoluteForm(std::string_view target) {
  if (target.empty() || target.front() == '/' || target == "*") {
    return std::nullopt;
  }
  const size_t sep = target.find("://");
  if (sep == std::string_view::npos) {
    return std::nullopt;
  }
  AbsoluteForm out;
  const std::string_view scheme = target.substr(0, sep);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) {
    return out;
  }
  const std::string_view rest = target.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) {
    return out;  // a fragment is never part of a request-target
  }
  const size_t end = rest.find_first_of("/?");
  out.authority = rest.substr(0, end);
  if (out.authority.empty() || !validHost(out.authority)) {
    return out;  // no host, userinfo, or bytes a host cannot have
  }
  if (end != std::string_view::npos) {
    out.path_and_query = rest.substr(end);
    out.query_without_path = out.path_and_query.front() == '?';
  }
  out.valid = true;
  return out;
}

bool hasDotSegment(std::string_view target) {
  const size_t end = target.find_first_of("?#");
  const std::string_view path = target.substr(0, end);
  size_t dots = 0;
  bool other = false;
  const auto dotSegment = [&] { return !other && (dots == 1 || dots == 2); };
  for (size_t i = 0; i < path.size();) {
    char c = path[i];
    size_t width = 1;
    if (c == '%') {
      const char d = decodedAt(path, i);
      if (d != 0) {
        c = d;
        width = 3;
      }
    }
    if (c == '/' || c == '\\') {
      if (dotSegment()) {
        return true;
      }
      dots = 0;
      other = false;
    } else if (c == '.') {
      ++dots;
    } else {
      other = true;
    }
    i += width;
  }
  return dotSegment();
}

bool listHasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (iequals(trimOws(value.substr(0, comma)), token)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace plexgate::parsers
