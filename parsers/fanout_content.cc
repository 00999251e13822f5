#include "parsers/fanout_content.h"

#include <array>
#include <charconv>

#include "parsers/ascii.h"

namespace plexgate::parsers {

namespace {

constexpr std::string_view kContentParam = "content";
constexpr std::string_view kTimeoutParam = "timeout";
// A parameter name longer than this, even percent-encoded, is neither of ours
// ("content" fully encoded is 21 bytes), so it is skipped without decoding.
constexpr size_t kMaxParamNameBytes = 3 * kContentParam.size();

// Headers a client may not set through requestProperties: they frame the
// message or belong to one hop, and forwarding them would let a client
// desynchronise our connection to the secondary or its proxy.
constexpr std::array<std::string_view, 12> kForbiddenHeaders = {
    "host", "content-length", "transfer-encoding", "connection",          "keep-alive",         "proxy-connection",
    "te",   "trailer",        "upgrade",           "proxy-authorization", "proxy-authenticate", "expect",
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool isControl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

bool hasControl(std::string_view s) {
  for (char c : s) {
    if (isControl(static_cast<unsigned char>(c))) {
      return true;
    }
  }
  return false;
}

// RFC 9110 section 5.6.2 tchar.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool isToken(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!isTokenChar(c)) {
      return false;
    }
  }
  return true;
}

// Field value after trimming: HTAB, SP, VCHAR and obs-text only.
bool isFieldValue(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u != '\t' && isControl(u)) {
      return false;
    }
  }
  return true;
}

// 1..10 ASCII digits. Returns nullopt for anything else (signs, spaces,
// fractions, empty).
std::optional<uint64_t> parseDigits(std::string_view s) {
  if (s.empty() || s.size() > 10) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::string numberText(uint64_t v) {
  std::array<char, 24> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  (void)ec;  // 24 bytes always hold a uint64_t
  return std::string(buf.data(), end);
}

// Why a timeout was refused, or the value.
struct TimeoutValue {
  std::optional<uint32_t> ms;
  const char* problem = nullptr;  // "must be ..." when ms is empty
};

constexpr const char* kTimeoutNotNumber = "must be a whole number of milliseconds";
constexpr const char* kTimeoutOutOfRange = "must be between 1 and 600000 ms";

TimeoutValue checkTimeout(uint64_t v) {
  if (v < kFanoutMinTimeoutMs || v > kFanoutMaxTimeoutMs) {
    return {std::nullopt, kTimeoutOutOfRange};
  }
  return {static_cast<uint32_t>(v), nullptr};
}

TimeoutValue timeoutFromText(std::string_view s) {
  const std::optional<uint64_t> v = parseDigits(s);
  if (!v) {
    return {std::nullopt, kTimeoutNotNumber};
  }
  return checkTimeout(*v);
}

TimeoutValue timeoutFromJson(simdjson::dom::element el) {
  switch (el.type()) {
    case simdjson::dom::element_type::INT64: {
      int64_t v = 0;
      if (el.get_int64().get(v) || v < 0) {
        return {std::nullopt, kTimeoutOutOfRange};
      }
      return checkTimeout(static_cast<uint64_t>(v));
    }
    case simdjson::dom::element_type::UINT64: {
      // Only values above INT64_MAX are UINT64: always out of range.
      return {std::nullopt, kTimeoutOutOfRange};
    }
    case simdjson::dom::element_type::STRING: {
      std::string_view s;
      if (el.get_string().get(s)) {
        return {std::nullopt, kTimeoutNotNumber};
      }
      return timeoutFromText(s);
    }
    default:
      return {std::nullopt, kTimeoutNotNumber};
  }
}

FanoutContentResult fail(std::string_view message) {
  return FanoutContentResult::failure(std::string(message));
}

// Finds repeated target names in O(n): open addressing over indices into
// the target list, on the stack. With 256 targets, BM_FanoutContentParse/256
// takes ~22 us; the quadratic scan this replaced made it ~97 us.
class NameSet {
 public:
  // Returns false when `name` is already in `targets` (as indexed so far).
  bool insert(const std::vector<std::string>& targets, std::string_view name, size_t index) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (char c : name) {
      h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    }
    for (size_t slot = h & (kSlots - 1);; slot = (slot + 1) & (kSlots - 1)) {
      if (slots_[slot] == 0) {
        slots_[slot] = static_cast<uint16_t>(index + 1);
        return true;
      }
      if (targets[slots_[slot] - 1] == name) {
        return false;
      }
    }
  }

 private:
  static constexpr size_t kSlots = 2 * kFanoutMaxTargets;  // load <= 1/2
  static_assert((kSlots & (kSlots - 1)) == 0 && kFanoutMaxTargets < 65535);
  std::array<uint16_t, kSlots> slots_{};
};

// Appends one target name after checking it; returns an error message or "".
std::string addTarget(std::string_view name, std::vector<std::string>& targets, NameSet& seen) {
  if (name.empty()) {
    return "content: 'target' has an empty name";
  }
  if (name.size() > kFanoutMaxNameBytes) {
    return "content: 'target' has a name longer than 64 bytes";
  }
  if (hasControl(name)) {
    return "content: 'target' has a name with a control character";
  }
  if (!seen.insert(targets, name, targets.size())) {
    std::string m = "content: 'target' names '";
    m.append(name);
    m.append("' twice");
    return m;
  }
  targets.emplace_back(name);
  return {};
}

std::string readTargets(simdjson::dom::element el, FanoutContent& out) {
  constexpr const char* kWrongType = "content: 'target' must be a string or a list of strings";
  if (el.type() == simdjson::dom::element_type::STRING) {
    std::string_view name;
    if (el.get_string().get(name)) {
      return kWrongType;
    }
    NameSet seen;
    return addTarget(name, out.targets, seen);
  }
  if (el.type() != simdjson::dom::element_type::ARRAY) {
    return kWrongType;
  }
  simdjson::dom::array list;
  if (el.get_array().get(list)) {
    return kWrongType;
  }
  out.target_was_list = true;
  if (list.size() == 0) {
    return "content: 'target' is an empty list";
  }
  // size() saturates at 0xFFFFFF; counting while iterating is exact.
  out.targets.reserve(list.size() < kFanoutMaxTargets ? list.size() : kFanoutMaxTargets);
  NameSet seen;
  size_t count = 0;
  for (simdjson::dom::element item : list) {
    if (++count > kFanoutMaxTargets) {
      return "content: 'target' names more than 256 systems";
    }
    std::string_view name;
    if (item.type() != simdjson::dom::element_type::STRING || item.get_string().get(name)) {
      return kWrongType;
    }
    std::string problem = addTarget(name, out.targets, seen);
    if (!problem.empty()) {
      return problem;
    }
  }
  return {};
}

std::string readResourcePath(simdjson::dom::element el, FanoutContent& out) {
  std::string_view path;
  if (el.type() != simdjson::dom::element_type::STRING || el.get_string().get(path)) {
    return "content: 'resourcePath' must be a string";
  }
  if (path.empty()) {
    return "content: 'resourcePath' is empty";
  }
  if (path.size() > kFanoutMaxResourcePathBytes) {
    return "content: 'resourcePath' is longer than 8192 bytes";
  }
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u == ' ' || isControl(u)) {
      return "content: 'resourcePath' has a space or a control character";
    }
  }
  // z/OSMF examples write both "/zosmf/..." and "zosmf/...": the secondary
  // always sees an absolute path.
  out.resource_path.clear();
  if (path.front() != '/') {
    out.resource_path.push_back('/');
  }
  out.resource_path.append(path);
  return {};
}

std::string readRequestProperties(simdjson::dom::element el, FanoutContent& out) {
  if (el.type() == simdjson::dom::element_type::NULL_VALUE) {
    return {};  // z/OSMF: omitted or null means defaults
  }
  simdjson::dom::object props;
  if (el.type() != simdjson::dom::element_type::OBJECT || el.get_object().get(props)) {
    return "content: 'requestProperties' must be an object of header names to strings";
  }
  for (simdjson::dom::key_value_pair field : props) {
    if (out.request_properties.size() == kFanoutMaxRequestProperties) {
      return "content: 'requestProperties' has more than 64 headers";
    }
    const std::string_view name = field.key;
    if (name.size() > kFanoutMaxHeaderNameBytes || !isToken(name)) {
      return "content: 'requestProperties' has an invalid header name";
    }
    std::string prefix = "content: 'requestProperties' header '";
    prefix.append(name);
    prefix.append("' ");
    for (std::string_view forbidden : kForbiddenHeaders) {
      if (iequals(name, forbidden)) {
        return prefix + "may not be set";
      }
    }
    for (const FanoutHeader& h : out.request_properties) {
      if (iequals(h.name, name)) {
        return prefix + "is given twice";
      }
    }
    std::string_view value;
    if (field.value.type() != simdjson::dom::element_type::STRING || field.value.get_string().get(value)) {
      return prefix + "must be a string";
    }
    value = trimOws(value);
    if (value.size() > kFanoutMaxHeaderValueBytes || !isFieldValue(value)) {
      return prefix + "has an invalid value";
    }
    out.request_properties.push_back(FanoutHeader{std::string(name), std::string(value)});
  }
  return {};
}

}  // namespace

std::string_view fanoutKindName(FanoutKind kind) {
  switch (kind) {
    case FanoutKind::System:
      return "system";
    case FanoutKind::Systems:
      return "systems";
    case FanoutKind::Group:
      return "group";
    case FanoutKind::Sysplex:
      return "sysplex";
    case FanoutKind::Cpc:
      return "cpc";
  }
  return "system";
}

std::optional<FanoutKind> fanoutKindFromName(std::string_view name) {
  for (FanoutKind k :
       {FanoutKind::System, FanoutKind::Systems, FanoutKind::Group, FanoutKind::Sysplex, FanoutKind::Cpc}) {
    if (name == fanoutKindName(k)) {
      return k;
    }
  }
  return std::nullopt;
}

bool formDecode(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (in.size() - i < 3) {
        return false;
      }
      const int hi = hexValue(in[i + 1]);
      const int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return false;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool singleToDoubleQuotes(std::string_view in, std::string& out) {
  enum class State : uint8_t { Outside, InDouble, InSingle };
  State state = State::Outside;
  out.reserve(out.size() + in.size() + in.size() / 8);
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    switch (state) {
      case State::Outside:
        if (c == '\'') {
          out.push_back('"');
          state = State::InSingle;
        } else {
          if (c == '"') {
            state = State::InDouble;
          }
          out.push_back(c);
        }
        break;
      case State::InDouble:
        out.push_back(c);
        if (c == '\\') {
          if (i + 1 == in.size()) {
            return false;
          }
          out.push_back(in[++i]);  // the escaped byte, even if it is a quote
        } else if (c == '"') {
          state = State::Outside;
        }
        break;
      case State::InSingle:
        if (c == '\\') {
          if (i + 1 == in.size()) {
            return false;
          }
          const char next = in[++i];
          if (next == '\'') {
            out.push_back('\'');  // \' is not a JSON escape; the quote needs none inside "..."
          } else {
            out.push_back('\\');
            out.push_back(next);
          }
        } else if (c == '\'') {
          out.push_back('"');
          state = State::Outside;
        } else if (c == '"') {
          out.append("\\\"");
        } else {
          out.push_back(c);
        }
        break;
    }
  }
  return state == State::Outside;
}

FanoutContentResult FanoutContentParser::parseQuery(std::string_view query, FanoutKind kind) {
  if (!query.empty() && query.front() == '?') {
    query.remove_prefix(1);
  }
  std::optional<std::string_view> content_raw;
  std::optional<std::string_view> timeout_raw;
  std::string name;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string_view raw_name = pair.substr(0, eq);
    const std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (raw_name.size() > kMaxParamNameBytes) {
      continue;
    }
    name.clear();
    if (!formDecode(raw_name, name)) {
      continue;  // not a name we read; someone else's malformed parameter
    }
    if (name == kContentParam) {
      if (content_raw) {
        return fail("content: given more than once");
      }
      content_raw = raw_value;
    } else if (name == kTimeoutParam) {
      if (timeout_raw) {
        return fail("timeout: given more than once");
      }
      timeout_raw = raw_value;
    }
  }

  std::optional<uint32_t> query_timeout;
  if (timeout_raw) {
    std::string decoded;
    if (!formDecode(*timeout_raw, decoded)) {
      return fail("timeout: bad percent-encoding");
    }
    const TimeoutValue t = timeoutFromText(decoded);
    if (!t.ms) {
      return fail(std::string("timeout: ") + t.problem);
    }
    query_timeout = t.ms;
  }

  if (!content_raw) {
    return fail("content: the 'content' query parameter is missing");
  }
  // Each decoded byte takes at most three encoded ones.
  if (content_raw->size() > 3 * kFanoutMaxContentBytes) {
    return fail("content: longer than 65536 bytes");
  }
  decoded_.clear();
  if (!formDecode(*content_raw, decoded_)) {
    return fail("content: bad percent-encoding");
  }
  return parseJsonWithTimeout(decoded_, kind, query_timeout);
}

FanoutContentResult FanoutContentParser::parseJson(std::string_view json, FanoutKind kind) {
  return parseJsonWithTimeout(json, kind, std::nullopt);
}

FanoutContentResult FanoutContentParser::parseJsonWithTimeout(std::string_view json, FanoutKind kind,
                                                              std::optional<uint32_t> query_timeout) {
  if (json.size() > kFanoutMaxContentBytes) {
    return fail("content: longer than 65536 bytes");
  }
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return fail("content: is empty");
  }
  json_.clear();
  if (!singleToDoubleQuotes(json, json_)) {
    return fail("content: not valid JSON");
  }
  // simdjson reads up to SIMDJSON_PADDING bytes past the end: keep them
  // allocated (and zeroed, so the read is deterministic).
  const size_t len = json_.size();
  json_.append(simdjson::SIMDJSON_PADDING, '\0');
  json_.resize(len);
  simdjson::dom::element doc;
  if (parser_.parse(simdjson::padded_string_view(json_.data(), len, json_.capacity())).get(doc)) {
    return fail("content: not valid JSON");
  }
  simdjson::dom::object obj;
  if (doc.type() != simdjson::dom::element_type::OBJECT || doc.get_object().get(obj)) {
    return fail("content: must be a JSON object");
  }

  std::optional<simdjson::dom::element> target;
  std::optional<simdjson::dom::element> resource_path;
  std::optional<simdjson::dom::element> timeout;
  std::optional<simdjson::dom::element> props;
  for (simdjson::dom::key_value_pair field : obj) {
    std::optional<simdjson::dom::element>* slot = nullptr;
    if (field.key == "target") {
      slot = &target;
    } else if (field.key == "resourcePath") {
      slot = &resource_path;
    } else if (field.key == "timeout") {
      slot = &timeout;
    } else if (field.key == "requestProperties") {
      slot = &props;
    } else {
      continue;
    }
    if (slot->has_value()) {
      std::string m = "content: '";
      m.append(field.key);
      m.append("' is given more than once");
      return FanoutContentResult::failure(std::move(m));
    }
    *slot = field.value;
  }

  FanoutContent out;
  if (!target) {
    return fail("content: 'target' is missing");
  }
  std::string problem = readTargets(*target, out);
  if (!problem.empty()) {
    return FanoutContentResult::failure(std::move(problem));
  }
  if (kind != FanoutKind::Systems && out.targets.size() != 1) {
    std::string m = "content: /";
    m.append(fanoutKindName(kind));
    m.append(" takes one target, not ");
    m.append(numberText(out.targets.size()));
    return FanoutContentResult::failure(std::move(m));
  }

  if (!resource_path) {
    return fail("content: 'resourcePath' is missing");
  }
  problem = readResourcePath(*resource_path, out);
  if (!problem.empty()) {
    return FanoutContentResult::failure(std::move(problem));
  }

  if (timeout && timeout->type() != simdjson::dom::element_type::NULL_VALUE) {
    const TimeoutValue t = timeoutFromJson(*timeout);
    if (!t.ms) {
      return fail(std::string("content: 'timeout' ") + t.problem);
    }
    out.timeout_ms = t.ms;
  }
  if (query_timeout) {
    if (out.timeout_ms && *out.timeout_ms != *query_timeout) {
      return fail("timeout: the query parameter and content's 'timeout' differ");
    }
    out.timeout_ms = query_timeout;
  }

  if (props) {
    problem = readRequestProperties(*props, out);
    if (!problem.empty()) {
      return FanoutContentResult::failure(std::move(problem));
    }
  }
  return FanoutContentResult::success(std::move(out));
}

}  // namespace plexgate::parsers
