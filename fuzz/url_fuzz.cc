// Fuzzes the request-target and Host checks of parsers/url.h with arbitrary
// bytes as a target, a Host value and a Connection value. Promises checked
// (a broken one is __builtin_trap()):
//   - a valid absolute-form split points inside the target, has a non-empty
//     authority that validHost accepts, and a path part that is empty or
//     starts with '/' or '?' (query_without_path exactly in the '?' case);
//   - hasDotSegment agrees with a plain reference: decode %2e, %2f and %5c,
//     treat '\' as '/', cut at the first raw '?' or '#', split on '/', and
//     look for a segment that is "." or "..";
//   - listHasToken agrees with a reference that splits on ',' and trims
//     spaces and tabs.
// Seeds live in fuzz/corpus/url/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parsers/url.h"

namespace {

using plexgate::parsers::hasDotSegment;
using plexgate::parsers::listHasToken;
using plexgate::parsers::splitAbsoluteForm;
using plexgate::parsers::validHost;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool within(std::string_view outer, std::string_view inner) {
  return inner.empty() || (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool referenceDotSegment(std::string_view target) {
  const std::string_view path = target.substr(0, target.find_first_of("?#"));
  std::string decoded;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      const char hi = path[i + 1];
      const char lo = lower(path[i + 2]);
      const char d = hi == '2' && lo == 'e' ? '.' : hi == '2' && lo == 'f' ? '/' : hi == '5' && lo == 'c' ? '\\' : 0;
      if (d != 0) {
        decoded += d;
        i += 2;
        continue;
      }
    }
    decoded += path[i];
  }
  std::string segment;
  for (size_t i = 0; i <= decoded.size(); ++i) {
    if (i == decoded.size() || decoded[i] == '/' || decoded[i] == '\\') {
      if (segment == "." || segment == "..") {
        return true;
      }
      segment.clear();
    } else {
      segment += decoded[i];
    }
  }
  return false;
}

bool referenceHasToken(std::string_view value, std::string_view token) {
  size_t start = 0;
  for (;;) {
    const size_t comma = value.find(',', start);
    std::string_view item = value.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
      item.remove_suffix(1);
    }
    if (item.size() == token.size()) {
      bool same = true;
      for (size_t i = 0; i < item.size() && same; ++i) {
        same = lower(item[i]) == lower(token[i]);
      }
      if (same) {
        return true;
      }
    }
    if (comma == std::string_view::npos) {
      return false;
    }
    start = comma + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string copy(reinterpret_cast<const char*>(data), size);  // exact size: ASan sees overreads
  const std::string_view input = copy;
  // The same bytes as a target, a Host value and a Connection value.
  if (const auto af = splitAbsoluteForm(input); af && af->valid) {
    check(!af->authority.empty() && within(input, af->authority) && validHost(af->authority));
    check(within(input, af->path_and_query));
    check(af->path_and_query.empty() || af->path_and_query.front() == '/' || af->path_and_query.front() == '?');
    check(af->query_without_path == (!af->path_and_query.empty() && af->path_and_query.front() == '?'));
    check(hasDotSegment(af->path_and_query) == referenceDotSegment(af->path_and_query));
  }
  check(hasDotSegment(input) == referenceDotSegment(input));
  (void)validHost(input);
  check(listHasToken(input, "close") == referenceHasToken(input, "close"));
  check(listHasToken(input, "content-length") == referenceHasToken(input, "content-length"));
  return 0;
}
