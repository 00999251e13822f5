#include "parsers/fanout_aggregate.h"

#include <array>
#include <charconv>

namespace plexgate::parsers {

namespace {

// Parser and scratch memory above this is released after use, so one huge
// reply does not pin ~9x its size for the life of the loop.
constexpr size_t kRetainBytes = 1024 * 1024;
// Fixed JSON text around one system (keys, quotes, rc, nulls): ~170 bytes.
constexpr size_t kPerSystemOverhead = 192;

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

constexpr std::array<bool, 256> makeEscapeTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) {
    t[static_cast<size_t>(c)] = true;
  }
  t['"'] = true;
  t['\\'] = true;
  return t;
}
constexpr std::array<bool, 256> kNeedsEscape = makeEscapeTable();

bool isJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void appendEscape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out.append("\\\"");
      return;
    case '\\':
      out.append("\\\\");
      return;
    case '\n':
      out.append("\\n");
      return;
    case '\r':
      out.append("\\r");
      return;
    case '\t':
      out.append("\\t");
      return;
    case '\b':
      out.append("\\b");
      return;
    case '\f':
      out.append("\\f");
      return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out.append(esc, sizeof(esc));
      return;
    }
  }
}

// Valid UTF-8: only ASCII needs escaping; runs of other bytes go in whole.
void appendEscapedValid(std::string& out, std::string_view s) {
  const char* p = s.data();
  const char* const e = p + s.size();
  while (p < e) {
    const char* run = p;
    while (p < e && !kNeedsEscape[static_cast<unsigned char>(*p)]) {
      ++p;
    }
    out.append(run, static_cast<size_t>(p - run));
    if (p < e) {
      appendEscape(out, static_cast<unsigned char>(*p));
      ++p;
    }
  }
}

bool inRange(unsigned char c, unsigned char lo, unsigned char hi) {
  return c >= lo && c <= hi;
}

// Length of the well-formed UTF-8 sequence at s[i] (Unicode Table 3-7), or,
// negated, the length of its maximal invalid subpart (at least 1).
int utf8Sequence(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 < 0x80) {
    return 1;
  } else if (inRange(b0, 0xC2, 0xDF)) {
    len = 2;
  } else if (b0 == 0xE0) {
    len = 3;
    lo = 0xA0;
  } else if (inRange(b0, 0xE1, 0xEC) || inRange(b0, 0xEE, 0xEF)) {
    len = 3;
  } else if (b0 == 0xED) {
    len = 3;
    hi = 0x9F;  // no surrogates
  } else if (b0 == 0xF0) {
    len = 4;
    lo = 0x90;
  } else if (inRange(b0, 0xF1, 0xF3)) {
    len = 4;
  } else if (b0 == 0xF4) {
    len = 4;
    hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    if (i + static_cast<size_t>(k) >= s.size()) {
      return -k;
    }
    const auto b = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
    const bool ok = k == 1 ? inRange(b, lo, hi) : inRange(b, 0x80, 0xBF);
    if (!ok) {
      return -k;
    }
  }
  return len;
}

void appendEscapedRepairing(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (kNeedsEscape[c]) {
        appendEscape(out, c);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    const int n = utf8Sequence(s, i);
    if (n > 0) {
      out.append(s.data() + i, static_cast<size_t>(n));
      i += static_cast<size_t>(n);
    } else {
      out.append(kReplacement);
      i += static_cast<size_t>(-n);
    }
  }
}

void appendNumber(std::string& out, uint64_t v) {
  std::array<char, 24> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  (void)ec;  // 24 bytes always hold a uint64_t
  out.append(buf.data(), end);
}

void appendOptionalString(std::string& out, const std::optional<std::string_view>& s) {
  if (s) {
    appendJsonString(out, *s);
  } else {
    out.append("null");
  }
}

// Whether `c` can open a JSON text (RFC 8259 value, after optional
// whitespace). Plain-text bodies (HTML error pages, messages) are refused
// here instead of paying a full simdjson pass that reads every byte before
// failing.
bool mayStartJson(char c) {
  switch (c) {
    case '{':
    case '[':
    case '"':
    case '-':
    case 't':
    case 'f':
    case 'n':
    case ' ':
    case '\t':
    case '\n':
    case '\r':
      return true;
    default:
      return c >= '0' && c <= '9';
  }
}

}  // namespace

std::string_view fanoutRcName(FanoutRc rc) {
  switch (rc) {
    case FanoutRc::Ok:
      return "OK";
    case FanoutRc::HttpConnectionFailed:
      return "HttpConnectionFailed";
    case FanoutRc::HttpConnectionTimedOut:
      return "HttpConnectionTimedOut";
    case FanoutRc::CertificateError:
      return "CertificateError";
    case FanoutRc::LoginRequired:
      return "LoginRequired";
    case FanoutRc::InvalidLogin:
      return "InvalidLogin";
    case FanoutRc::ProxyLoginRequired:
      return "ProxyLoginRequired";
    case FanoutRc::InvalidProxyLogin:
      return "InvalidProxyLogin";
    case FanoutRc::FailedWithMessage:
      return "FailedWithMessage";
    case FanoutRc::UnexpectedFailure:
      return "UnexpectedFailure";
  }
  return "UnexpectedFailure";
}

void appendJsonString(std::string& out, std::string_view bytes) {
  out.push_back('"');
  if (simdjson::validate_utf8(bytes.data(), bytes.size())) {
    appendEscapedValid(out, bytes);
  } else {
    appendEscapedRepairing(out, bytes);
  }
  out.push_back('"');
}

bool FanoutAggregateWriter::isJson(std::string_view bytes, size_t capacity) {
  if (bytes.empty() || bytes.size() > kFanoutMaxValidatedOutputBytes || !mayStartJson(bytes.front())) {
    return false;
  }
  // ensure_capacity() keeps the parser's max_depth, so setting it once holds
  // for every later parse (until the parser is released below).
  if (parser_.max_depth() != kFanoutMaxEmbeddedDepth) {
    if (parser_.allocate(bytes.size(), kFanoutMaxEmbeddedDepth) != simdjson::SUCCESS) {
      return false;
    }
  }
  simdjson::error_code err;
  if (capacity >= bytes.size() && capacity - bytes.size() >= simdjson::SIMDJSON_PADDING) {
    err = parser_.parse(simdjson::padded_string_view(bytes.data(), bytes.size(), capacity)).error();
  } else {
    scratch_.clear();
    scratch_.reserve(bytes.size() + simdjson::SIMDJSON_PADDING);
    scratch_.append(bytes);
    scratch_.append(simdjson::SIMDJSON_PADDING, '\0');
    scratch_.resize(bytes.size());
    err = parser_.parse(simdjson::padded_string_view(scratch_.data(), bytes.size(), scratch_.capacity())).error();
    if (scratch_.capacity() > kRetainBytes) {
      std::string().swap(scratch_);
    }
  }
  if (parser_.capacity() > kRetainBytes) {
    parser_ = simdjson::dom::parser();
  }
  return err == simdjson::SUCCESS;
}

void FanoutAggregateWriter::begin(std::string& out, std::string_view primary_api_version) {
  count_ = 0;
  out.append("{\"primaryAPIVersion\":");
  appendJsonString(out, primary_api_version);
  out.append(",\"systemsOutput\":[");
}

void FanoutAggregateWriter::appendSystem(std::string& out, const FanoutSystemResult& system) {
  if (count_ > 0) {
    out.push_back(',');
  }
  ++count_;
  out.append("{\"systemOutput\":");

  // Raw JSON goes in as sent, minus a BOM and outer whitespace (neither is
  // part of the value, and a BOM mid-document would be invalid).
  std::string_view body = system.output;
  size_t capacity = system.output_capacity;
  if (body.substr(0, kBom.size()) == kBom) {
    body.remove_prefix(kBom.size());
    capacity = capacity >= kBom.size() ? capacity - kBom.size() : 0;
  }
  while (!body.empty() && isJsonSpace(body.front())) {
    body.remove_prefix(1);
    capacity = capacity > 0 ? capacity - 1 : 0;
  }
  while (!body.empty() && isJsonSpace(body.back())) {
    body.remove_suffix(1);  // capacity still counts from body.data()
  }
  if (isJson(body, capacity)) {
    out.append(body);
  } else {
    appendJsonString(out, system.output);
  }

  out.append(",\"rc\":\"");
  out.append(fanoutRcName(system.rc));
  out.append("\",\"error\":");
  if (system.error) {
    out.append("{\"msgid\":");
    appendJsonString(out, system.error->msgid);
    out.append(",\"msgtxt\":");
    appendJsonString(out, system.error->msgtxt);
    out.push_back('}');
  } else {
    out.append("null");
  }
  out.append(",\"secondaryApiVersion\":");
  appendOptionalString(out, system.secondary_api_version);
  out.append(",\"systemVersion\":");
  if (system.system_version) {
    out.append("{\"zosNode\":");
    appendOptionalString(out, system.system_version->zos_node);
    out.append(",\"zosVrm\":");
    appendOptionalString(out, system.system_version->zos_vrm);
    out.append(",\"zosSysplex\":");
    appendOptionalString(out, system.system_version->zos_sysplex);
    out.push_back('}');
  } else {
    out.append("null");
  }
  out.append(",\"systemName\":");
  appendJsonString(out, system.system_name);
  out.push_back('}');
}

void FanoutAggregateWriter::end(std::string& out) {
  out.append("],\"numOfSystems\":");
  appendNumber(out, count_);
  out.push_back('}');
}

void FanoutAggregateWriter::append(std::string& out, std::string_view primary_api_version,
                                   std::span<const FanoutSystemResult> systems) {
  // Expected size, not worst case: escaping may still grow the string.
  size_t expected = out.size() + 64 + primary_api_version.size();
  for (const FanoutSystemResult& s : systems) {
    expected += kPerSystemOverhead + s.output.size() + s.system_name.size();
    if (s.error) {
      expected += s.error->msgid.size() + s.error->msgtxt.size();
    }
  }
  out.reserve(expected);
  begin(out, primary_api_version);
  for (const FanoutSystemResult& s : systems) {
    appendSystem(out, s);
  }
  end(out);
}

}  // namespace plexgate::parsers
