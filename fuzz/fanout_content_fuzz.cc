// Fuzzes the fan-out building blocks (parsers/fanout_content.h and
// parsers/fanout_aggregate.h). Input layout:
//   byte 0: kind (low 3 bits, mod 5) and flags (bit 3: also parse the rest
//           as a POST body with parseJson)
//   rest:   the query string
// Whatever the parser returns must respect the documented bounds, and a
// reused parser must give the same answer twice. Then the rest is fed, as
// arbitrary bytes, to the aggregate writer as one system's output (padded
// and unpadded) and as names and message text; the reply must parse with a
// default simdjson parser, hold every system in order, carry string outputs
// byte for byte when they were valid UTF-8, and not depend on padding.
// Broken promises are __builtin_trap(). Seeds: fuzz/corpus/fanout_content/.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/ascii.h"
#include "parsers/fanout_aggregate.h"
#include "parsers/fanout_content.h"

namespace {

using plexgate::parsers::FanoutAggregateWriter;
using plexgate::parsers::FanoutContent;
using plexgate::parsers::FanoutContentParser;
using plexgate::parsers::FanoutContentResult;
using plexgate::parsers::FanoutError;
using plexgate::parsers::FanoutKind;
using plexgate::parsers::FanoutRc;
using plexgate::parsers::FanoutSystemResult;
using plexgate::parsers::FanoutSystemVersion;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool hasControl(std::string_view s, bool allow_tab) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && !(allow_tab && u == '\t')) || u == 0x7f) {
      return true;
    }
  }
  return false;
}

void checkContent(const FanoutContent& c, FanoutKind kind) {
  check(!c.targets.empty() && c.targets.size() <= plexgate::parsers::kFanoutMaxTargets);
  if (kind != FanoutKind::Systems) {
    check(c.targets.size() == 1);
  }
  for (size_t i = 0; i < c.targets.size(); ++i) {
    check(!c.targets[i].empty() && c.targets[i].size() <= plexgate::parsers::kFanoutMaxNameBytes);
    check(!hasControl(c.targets[i], false));
    for (size_t j = 0; j < i; ++j) {
      check(c.targets[i] != c.targets[j]);
    }
  }
  check(c.targets.size() == 1 || c.target_was_list);
  check(!c.resource_path.empty() && c.resource_path.front() == '/');
  check(c.resource_path.size() <= plexgate::parsers::kFanoutMaxResourcePathBytes + 1);
  check(!hasControl(c.resource_path, false) && c.resource_path.find(' ') == std::string::npos);
  if (c.timeout_ms) {
    check(*c.timeout_ms >= 1 && *c.timeout_ms <= 600000);
  }
  check(c.request_properties.size() <= plexgate::parsers::kFanoutMaxRequestProperties);
  for (size_t i = 0; i < c.request_properties.size(); ++i) {
    const auto& h = c.request_properties[i];
    check(!h.name.empty() && h.name.size() <= plexgate::parsers::kFanoutMaxHeaderNameBytes);
    check(h.name.find_first_of(" \t\r\n:\"(),/;<=>?@[\\]{}") == std::string::npos);
    check(!hasControl(h.name, false) && !hasControl(h.value, true));
    check(!plexgate::parsers::iequals(h.name, "host") && !plexgate::parsers::iequals(h.name, "content-length") &&
          !plexgate::parsers::iequals(h.name, "transfer-encoding"));
    check(h.value.empty() || (h.value.front() != ' ' && h.value.back() != ' '));
    for (size_t j = 0; j < i; ++j) {
      check(!plexgate::parsers::iequals(h.name, c.request_properties[j].name));
    }
  }
}

bool sameResult(const FanoutContentResult& a, const FanoutContentResult& b) {
  if (a.ok() != b.ok()) {
    return false;
  }
  if (!a.ok()) {
    return a.error() == b.error();
  }
  const FanoutContent& x = a.value();
  const FanoutContent& y = b.value();
  if (x.targets != y.targets || x.target_was_list != y.target_was_list || x.resource_path != y.resource_path ||
      x.timeout_ms != y.timeout_ms || x.request_properties.size() != y.request_properties.size()) {
    return false;
  }
  for (size_t i = 0; i < x.request_properties.size(); ++i) {
    if (x.request_properties[i].name != y.request_properties[i].name ||
        x.request_properties[i].value != y.request_properties[i].value) {
      return false;
    }
  }
  return true;
}

// What the writer embeds when the body is JSON: no BOM, no outer whitespace.
std::string_view trimBody(std::string_view b) {
  if (b.substr(0, 3) == "\xEF\xBB\xBF") {
    b.remove_prefix(3);
  }
  while (!b.empty() && (b.front() == ' ' || b.front() == '\t' || b.front() == '\n' || b.front() == '\r')) {
    b.remove_prefix(1);
  }
  while (!b.empty() && (b.back() == ' ' || b.back() == '\t' || b.back() == '\n' || b.back() == '\r')) {
    b.remove_suffix(1);
  }
  return b;
}

// Checks the reply parses and says what we asked it to say.
void checkReply(const std::string& reply, const std::vector<FanoutSystemResult>& systems) {
  static simdjson::dom::parser parser;  // default max depth: what a client would use
  simdjson::dom::element root;
  check(parser.parse(reply).get(root) == simdjson::SUCCESS);
  int64_t n = -1;
  check(root["numOfSystems"].get_int64().get(n) == simdjson::SUCCESS);
  check(n == static_cast<int64_t>(systems.size()));
  simdjson::dom::array list;
  check(root["systemsOutput"].get_array().get(list) == simdjson::SUCCESS);
  size_t i = 0;
  for (simdjson::dom::element item : list) {
    check(i < systems.size());
    std::string_view rc;
    check(item["rc"].get_string().get(rc) == simdjson::SUCCESS);
    check(rc == plexgate::parsers::fanoutRcName(systems[i].rc));
    std::string_view name;
    check(item["systemName"].get_string().get(name) == simdjson::SUCCESS);
    const std::string_view want = systems[i].system_name;
    if (simdjson::validate_utf8(want.data(), want.size())) {
      check(name == want);
    }
    simdjson::dom::element output;
    check(item["systemOutput"].get(output) == simdjson::SUCCESS);
    const std::string_view body = systems[i].output;
    const std::string_view trimmed = trimBody(body);
    std::string_view s;
    if (output.is_string() && output.get_string().get(s) == simdjson::SUCCESS && s != body) {
      // Either a JSON string embedded raw, or repaired invalid UTF-8.
      if (simdjson::validate_utf8(body.data(), body.size())) {
        static simdjson::dom::parser alone;
        std::string_view again;
        check(alone.parse(std::string(trimmed)).get_string().get(again) == simdjson::SUCCESS);
        check(again == s);
      }
    } else if (!output.is_string()) {
      // Embedded raw: the trimmed body, verbatim.
      check(!trimmed.empty() && reply.find(trimmed) != std::string::npos);
    }
    ++i;
  }
  check(i == systems.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  static FanoutContentParser content_parser;
  static FanoutAggregateWriter writer;

  const auto kind = static_cast<FanoutKind>((data[0] & 7) % 5);
  const bool as_body = (data[0] & 8) != 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  FanoutContentResult first = content_parser.parseQuery(rest, kind);
  if (first.ok()) {
    checkContent(first.value(), kind);
  } else {
    check(!first.error().empty());
  }
  FanoutContentParser fresh;
  check(sameResult(first, fresh.parseQuery(rest, kind)));
  if (as_body) {
    FanoutContentResult body = content_parser.parseJson(rest, kind);
    if (body.ok()) {
      checkContent(body.value(), kind);
    }
  }

  // The aggregate: the raw bytes as outputs, names and messages.
  std::string padded(rest);
  padded.reserve(padded.size() + simdjson::SIMDJSON_PADDING);
  std::vector<FanoutSystemResult> systems;
  FanoutSystemResult a;
  a.system_name = rest.substr(0, 64);
  a.rc = static_cast<FanoutRc>(data[0] % 10);
  a.output = rest;
  a.output_capacity = 0;  // unpadded: copied into the writer's scratch
  systems.push_back(a);
  FanoutSystemResult b;
  b.system_name = "SY2";
  b.rc = FanoutRc::FailedWithMessage;
  b.output = padded;
  b.output_capacity = padded.capacity();
  b.error = FanoutError{rest.substr(0, 8), rest};
  b.secondary_api_version = rest.substr(rest.size() / 2);
  b.system_version = FanoutSystemVersion{rest.substr(0, 3), "04.27.00", rest.substr(rest.size() / 3)};
  systems.push_back(b);
  if (first.ok()) {
    for (const std::string& t : first.value().targets) {
      FanoutSystemResult s;
      s.system_name = t;
      s.rc = FanoutRc::Ok;
      s.output = first.value().resource_path;
      systems.push_back(s);
    }
  }
  std::string reply;
  writer.append(reply, "1", systems);
  checkReply(reply, systems);

  // Padded or not, the same bytes.
  std::string one_unpadded;
  std::string one_padded;
  writer.append(one_unpadded, "1", std::vector<FanoutSystemResult>{a});
  a.output = padded;
  a.output_capacity = padded.capacity();
  writer.append(one_padded, "1", std::vector<FanoutSystemResult>{a});
  check(one_unpadded == one_padded);
  return 0;
}
