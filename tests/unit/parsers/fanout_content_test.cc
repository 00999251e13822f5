// Tests for the fan-out content parser (parsers/fanout_content.h): the
// query string, form-decoding, single-quoted JSON, per-kind target rules,
// timeout sources, requestProperties, and every refusal with its exact
// message (the message is what the 400 reply carries).
#include "parsers/fanout_content.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace plexgate::parsers {
namespace {

using Targets = std::vector<std::string>;

FanoutContentResult query(std::string_view q, FanoutKind kind = FanoutKind::Systems) {
  FanoutContentParser parser;
  return parser.parseQuery(q, kind);
}

// The error message, or "<ok>" (which no expectation matches).
std::string errorOf(std::string_view q, FanoutKind kind = FanoutKind::Systems) {
  FanoutContentResult r = query(q, kind);
  return r.ok() ? std::string("<ok>") : r.error();
}

std::string errorOfJson(std::string_view json, FanoutKind kind = FanoutKind::Systems) {
  FanoutContentParser parser;
  FanoutContentResult r = parser.parseJson(json, kind);
  return r.ok() ? std::string("<ok>") : r.error();
}

std::string decode(std::string_view in) {
  std::string out;
  if (!formDecode(in, out)) {
    return "<bad>";
  }
  return out;
}

std::string requote(std::string_view in) {
  std::string out;
  if (!singleToDoubleQuotes(in, out)) {
    return "<open>";
  }
  return out;
}

// ---- helpers ------------------------------------------------------------------

TEST(FanoutContentTest, KindNamesRoundTrip) {
  for (FanoutKind k :
       {FanoutKind::System, FanoutKind::Systems, FanoutKind::Group, FanoutKind::Sysplex, FanoutKind::Cpc}) {
    EXPECT_EQ(fanoutKindFromName(fanoutKindName(k)), k);
  }
  EXPECT_EQ(fanoutKindName(FanoutKind::Sysplex), "sysplex");
  EXPECT_FALSE(fanoutKindFromName("System").has_value());
  EXPECT_FALSE(fanoutKindFromName("").has_value());
  EXPECT_FALSE(fanoutKindFromName("logon").has_value());
}

TEST(FanoutContentTest, FormDecode) {
  EXPECT_EQ(decode("System%231"), "System#1");
  EXPECT_EQ(decode("a+b"), "a b");
  EXPECT_EQ(decode("a%2Bb%2b"), "a+b+");
  EXPECT_EQ(decode("%7B%27x%27%7d"), "{'x'}");
  EXPECT_EQ(decode(""), "");
  EXPECT_EQ(decode("%00"), std::string(1, '\0'));
  EXPECT_EQ(decode("%"), "<bad>");
  EXPECT_EQ(decode("%2"), "<bad>");
  EXPECT_EQ(decode("%zz"), "<bad>");
  EXPECT_EQ(decode("%2g"), "<bad>");
}

TEST(FanoutContentTest, SingleToDoubleQuotes) {
  EXPECT_EQ(requote("{'a':'b'}"), "{\"a\":\"b\"}");
  EXPECT_EQ(requote("{\"a\":\"b\"}"), "{\"a\":\"b\"}");
  // A double quote inside a single-quoted string gets escaped.
  EXPECT_EQ(requote("['say \"hi\"']"), "[\"say \\\"hi\\\"\"]");
  // \' becomes a plain apostrophe; other escapes pass through.
  EXPECT_EQ(requote("['it\\'s']"), "[\"it's\"]");
  EXPECT_EQ(requote("['a\\\\b\\n']"), "[\"a\\\\b\\n\"]");
  EXPECT_EQ(requote("['\\\"']"), "[\"\\\"\"]");
  // An apostrophe inside a double-quoted string is left alone, and so is an
  // escaped double quote.
  EXPECT_EQ(requote("[\"it's\",'x']"), "[\"it's\",\"x\"]");
  EXPECT_EQ(requote("[\"a\\\"'b\",'c']"), "[\"a\\\"'b\",\"c\"]");
  // Mixed in one object.
  EXPECT_EQ(requote("{'a':\"b'\",\"c\":'d\"'}"), "{\"a\":\"b'\",\"c\":\"d\\\"\"}");
  EXPECT_EQ(requote("{'a':'b"), "<open>");
  EXPECT_EQ(requote("{'a':'b\\"), "<open>");
  EXPECT_EQ(requote("[\"x\\"), "<open>");
}

// ---- accepted forms -------------------------------------------------------------

TEST(FanoutContentTest, SingleQuotedSystem) {
  FanoutContentResult r = query("content={'target':'SY1','resourcePath':'/zosmf/restjobs/jobs'}", FanoutKind::System);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"SY1"}));
  EXPECT_FALSE(r.value().target_was_list);
  EXPECT_EQ(r.value().resource_path, "/zosmf/restjobs/jobs");
  EXPECT_FALSE(r.value().timeout_ms.has_value());
  EXPECT_TRUE(r.value().request_properties.empty());
}

TEST(FanoutContentTest, NumberSignEncodedAs23) {
  FanoutContentResult r = query("?content={'target':'System%231','resourcePath':'/zosmf/info'}", FanoutKind::System);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"System#1"}));
}

TEST(FanoutContentTest, FullyPercentEncodedDoubleQuotes) {
  FanoutContentResult r =
      query("content=%7B%22target%22%3A%5B%22SY1%22%2C%22SY2%22%5D%2C%22resourcePath%22%3A%22%2Fzosmf%2Finfo%22%7D");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"SY1", "SY2"}));
  EXPECT_TRUE(r.value().target_was_list);
  EXPECT_EQ(r.value().resource_path, "/zosmf/info");
}

TEST(FanoutContentTest, PlusIsSpace) {
  FanoutContentResult r = query("content={'target':+'SY1',+'resourcePath':'/ab'}+");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"SY1"}));
  // A space decoded inside resourcePath is refused, not forwarded.
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':'/a+b'}"),
            "content: 'resourcePath' has a space or a control character");
}

TEST(FanoutContentTest, OtherParametersIgnoredAndOrderFree) {
  FanoutContentResult r = query("x=1&y&content={'target':'SY1','resourcePath':'/a'}&zz=%zz&=&&");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"SY1"}));
  // A percent-encoded parameter name is still "content".
  r = query("c%6Fntent={'target':'SY2','resourcePath':'/a'}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"SY2"}));
  // Names are case-sensitive.
  EXPECT_EQ(errorOf("Content={'target':'SY1','resourcePath':'/a'}"),
            "content: the 'content' query parameter is missing");
}

TEST(FanoutContentTest, ListsForSystems) {
  FanoutContentResult r = query("content={'target':['SY1','SY2','SY3'],'resourcePath':'/zosmf/info'}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"SY1", "SY2", "SY3"}));
  EXPECT_TRUE(r.value().target_was_list);
  // /systems also takes one name as a string.
  r = query("content={'target':'SY1','resourcePath':'/zosmf/info'}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"SY1"}));
}

TEST(FanoutContentTest, SingleTargetKinds) {
  for (FanoutKind k : {FanoutKind::System, FanoutKind::Group, FanoutKind::Sysplex, FanoutKind::Cpc}) {
    FanoutContentResult r = query("content={'target':['PLEX1'],'resourcePath':'/zosmf/info'}", k);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().targets, Targets({"PLEX1"}));
    EXPECT_TRUE(r.value().target_was_list);
  }
  EXPECT_EQ(errorOf("content={'target':['SY1','SY2'],'resourcePath':'/a'}", FanoutKind::System),
            "content: /system takes one target, not 2");
  EXPECT_EQ(errorOf("content={'target':['G1','G2','G3'],'resourcePath':'/a'}", FanoutKind::Group),
            "content: /group takes one target, not 3");
  EXPECT_EQ(errorOf("content={'target':['P1','P2'],'resourcePath':'/a'}", FanoutKind::Sysplex),
            "content: /sysplex takes one target, not 2");
  EXPECT_EQ(errorOf("content={'target':['C1','C2'],'resourcePath':'/a'}", FanoutKind::Cpc),
            "content: /cpc takes one target, not 2");
}

TEST(FanoutContentTest, ResourcePathGetsLeadingSlashAndKeepsQuery) {
  FanoutContentResult r = query("content={'target':'SY1','resourcePath':'zosmf/restjobs/jobs%3Fowner%3DIBMUSER'}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().resource_path, "/zosmf/restjobs/jobs?owner=IBMUSER");
}

TEST(FanoutContentTest, QuotesInsideStrings) {
  FanoutContentResult r = query("content={'target':'SY1','resourcePath':'/x?name=O\\'Brien'}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().resource_path, "/x?name=O'Brien");
  r = query("content={'target':'SY1','resourcePath':'/x?q=\"a\"'}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().resource_path, "/x?q=\"a\"");
  r = query("content={\"target\":\"SY1\",\"resourcePath\":\"/it's\"}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().resource_path, "/it's");
  r = query("content={\"target\":\"S\\\"1\",'resourcePath':'/a'}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"S\"1"}));
}

TEST(FanoutContentTest, Timeouts) {
  auto timeoutOf = [](std::string_view q) -> int64_t {
    FanoutContentResult r = query(q);
    if (!r.ok()) {
      ADD_FAILURE() << q << ": " << r.error();
      return -2;
    }
    return r.value().timeout_ms ? static_cast<int64_t>(*r.value().timeout_ms) : -1;
  };
  EXPECT_EQ(timeoutOf("content={'target':'SY1','resourcePath':'/a','timeout':30000}"), 30000);
  EXPECT_EQ(timeoutOf("content={'target':'SY1','resourcePath':'/a','timeout':'1'}"), 1);
  EXPECT_EQ(timeoutOf("content={'target':'SY1','resourcePath':'/a','timeout':600000}"), 600000);
  EXPECT_EQ(timeoutOf("content={'target':'SY1','resourcePath':'/a','timeout':null}"), -1);
  EXPECT_EQ(timeoutOf("content={'target':'SY1','resourcePath':'/a'}&timeout=2500"), 2500);
  EXPECT_EQ(timeoutOf("timeout=2500&content={'target':'SY1','resourcePath':'/a','timeout':2500}"), 2500);

  const std::string base = "content={'target':'SY1','resourcePath':'/a','timeout':";
  EXPECT_EQ(errorOf(base + "0}"), "content: 'timeout' must be between 1 and 600000 ms");
  EXPECT_EQ(errorOf(base + "600001}"), "content: 'timeout' must be between 1 and 600000 ms");
  EXPECT_EQ(errorOf(base + "-5}"), "content: 'timeout' must be between 1 and 600000 ms");
  EXPECT_EQ(errorOf(base + "18446744073709551615}"), "content: 'timeout' must be between 1 and 600000 ms");
  EXPECT_EQ(errorOf(base + "'99999999999'}"), "content: 'timeout' must be a whole number of milliseconds");
  EXPECT_EQ(errorOf(base + "1.5}"), "content: 'timeout' must be a whole number of milliseconds");
  EXPECT_EQ(errorOf(base + "'abc'}"), "content: 'timeout' must be a whole number of milliseconds");
  EXPECT_EQ(errorOf(base + "'+5'}"), "content: 'timeout' must be a whole number of milliseconds");
  EXPECT_EQ(errorOf(base + "true}"), "content: 'timeout' must be a whole number of milliseconds");

  const std::string ok = "content={'target':'SY1','resourcePath':'/a'}";
  EXPECT_EQ(errorOf(ok + "&timeout=0"), "timeout: must be between 1 and 600000 ms");
  EXPECT_EQ(errorOf(ok + "&timeout=5s"), "timeout: must be a whole number of milliseconds");
  EXPECT_EQ(errorOf(ok + "&timeout="), "timeout: must be a whole number of milliseconds");
  EXPECT_EQ(errorOf(ok + "&timeout=%2"), "timeout: bad percent-encoding");
  EXPECT_EQ(errorOf(ok + "&timeout=1&timeout=1"), "timeout: given more than once");
  EXPECT_EQ(errorOf("timeout=1000&content={'target':'SY1','resourcePath':'/a','timeout':2000}"),
            "timeout: the query parameter and content's 'timeout' differ");
}

TEST(FanoutContentTest, RequestProperties) {
  FanoutContentResult r = query(
      "content={'target':'SY1','resourcePath':'/"
      "a','requestProperties':{'X-CSRF-ZOSMF-HEADER':'','Accept':'+application/"
      "json\\t','X-IBM-Max-Items':'0'}}");
  ASSERT_TRUE(r.ok()) << r.error();
  const auto& props = r.value().request_properties;
  ASSERT_EQ(props.size(), 3u);
  EXPECT_EQ(props[0].name, "X-CSRF-ZOSMF-HEADER");
  EXPECT_EQ(props[0].value, "");
  EXPECT_EQ(props[1].name, "Accept");
  EXPECT_EQ(props[1].value, "application/json");
  EXPECT_EQ(props[2].name, "X-IBM-Max-Items");
  EXPECT_EQ(props[2].value, "0");

  r = query("content={'target':'SY1','resourcePath':'/a','requestProperties':null}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r.value().request_properties.empty());
  r = query("content={'target':'SY1','resourcePath':'/a','requestProperties':{}}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r.value().request_properties.empty());
}

TEST(FanoutContentTest, BadRequestProperties) {
  const std::string base = "content={'target':'SY1','resourcePath':'/a','requestProperties':";
  EXPECT_EQ(errorOf(base + "['a']}"), "content: 'requestProperties' must be an object of header names to strings");
  EXPECT_EQ(errorOf(base + "'X-A: b'}"), "content: 'requestProperties' must be an object of header names to strings");
  EXPECT_EQ(errorOf(base + "{'X-A':1}}"), "content: 'requestProperties' header 'X-A' must be a string");
  EXPECT_EQ(errorOf(base + "{'X-A':null}}"), "content: 'requestProperties' header 'X-A' must be a string");
  EXPECT_EQ(errorOf(base + "{'X A':'b'}}"), "content: 'requestProperties' has an invalid header name");
  EXPECT_EQ(errorOf(base + "{'':'b'}}"), "content: 'requestProperties' has an invalid header name");
  EXPECT_EQ(errorOf(base + "{'X-A:':'b'}}"), "content: 'requestProperties' has an invalid header name");
  EXPECT_EQ(errorOf(base + "{'X-A\\r\\nEvil':'b'}}"), "content: 'requestProperties' has an invalid header name");
  EXPECT_EQ(errorOf(base + "{'X-A':'b\\r\\nHost: evil'}}"),
            "content: 'requestProperties' header 'X-A' has an invalid value");
  EXPECT_EQ(errorOf(base + "{'X-A':'b%0D%0AHost: evil'}}"), "content: not valid JSON");  // raw CR/LF in a string
  EXPECT_EQ(errorOf(base + "{'X-A':'b\\u0000'}}"), "content: 'requestProperties' header 'X-A' has an invalid value");
  EXPECT_EQ(errorOf(base + "{'X-A':'b\\u007f'}}"), "content: 'requestProperties' header 'X-A' has an invalid value");
  EXPECT_EQ(errorOf(base + "{'Host':'evil'}}"), "content: 'requestProperties' header 'Host' may not be set");
  EXPECT_EQ(errorOf(base + "{'transfer-encoding':'chunked'}}"),
            "content: 'requestProperties' header 'transfer-encoding' may not be set");
  EXPECT_EQ(errorOf(base + "{'Content-Length':'5'}}"),
            "content: 'requestProperties' header 'Content-Length' may not be set");
  EXPECT_EQ(errorOf(base + "{'X-A':'1','x-a':'2'}}"), "content: 'requestProperties' header 'x-a' is given twice");
  EXPECT_EQ(errorOf(base + "{'X-A':'" + std::string(8193, 'v') + "'}}"),
            "content: 'requestProperties' header 'X-A' has an invalid value");
  EXPECT_EQ(errorOf(base + "{'" + std::string(257, 'n') + "':'v'}}"),
            "content: 'requestProperties' has an invalid header name");

  std::string many = base + "{";
  for (int i = 0; i < 65; ++i) {
    many += (i ? "," : "") + std::string("'X-") + std::to_string(i) + "':'v'";
  }
  EXPECT_EQ(errorOf(many + "}}"), "content: 'requestProperties' has more than 64 headers");
}

TEST(FanoutContentTest, PostBodyJson) {
  FanoutContentParser parser;
  FanoutContentResult r = parser.parseJson(
      R"({"target":["SY1","SY2"],"resourcePath":"/zosmf/restjobs/jobs","requestBody":{"file":"//'A.B(C)'"}})",
      FanoutKind::Systems);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"SY1", "SY2"}));
  EXPECT_EQ(r.value().resource_path, "/zosmf/restjobs/jobs");
  // No form-decoding of a body: %23 stays as it is.
  r = parser.parseJson("{'target':'S%231','resourcePath':'/a'}", FanoutKind::System);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({"S%231"}));
}

TEST(FanoutContentTest, ParserIsReusable) {
  FanoutContentParser parser;
  for (int i = 0; i < 3; ++i) {
    FanoutContentResult bad = parser.parseQuery("content={'target':'SY1'}", FanoutKind::System);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), "content: 'resourcePath' is missing");
    FanoutContentResult good =
        parser.parseQuery("content={'target':['A','B'],'resourcePath':'/x','timeout':7}", FanoutKind::Systems);
    ASSERT_TRUE(good.ok()) << good.error();
    FanoutContent c = std::move(good).value();
    EXPECT_EQ(c.targets, Targets({"A", "B"}));
    EXPECT_EQ(c.timeout_ms, 7u);
  }
}

TEST(FanoutContentTest, TargetBounds) {
  std::string list = "content={'target':[";
  for (int i = 0; i < 256; ++i) {
    list += (i ? ",'S" : "'S") + std::to_string(i) + "'";
  }
  FanoutContentResult r = query(list + "],'resourcePath':'/a'}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets.size(), 256u);
  EXPECT_EQ(r.value().targets[255], "S255");
  EXPECT_EQ(errorOf(list + ",'S256'],'resourcePath':'/a'}"), "content: 'target' names more than 256 systems");

  const std::string name64(64, 'N');
  r = query("content={'target':'" + name64 + "','resourcePath':'/a'}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().targets, Targets({name64}));
  EXPECT_EQ(errorOf("content={'target':'" + name64 + "N','resourcePath':'/a'}"),
            "content: 'target' has a name longer than 64 bytes");
}

// ---- refusals -------------------------------------------------------------------

TEST(FanoutContentTest, MissingOrEmptyContent) {
  EXPECT_EQ(errorOf(""), "content: the 'content' query parameter is missing");
  EXPECT_EQ(errorOf("?"), "content: the 'content' query parameter is missing");
  EXPECT_EQ(errorOf("timeout=5"), "content: the 'content' query parameter is missing");
  EXPECT_EQ(errorOf("contents={}"), "content: the 'content' query parameter is missing");
  EXPECT_EQ(errorOf("content"), "content: is empty");
  EXPECT_EQ(errorOf("content="), "content: is empty");
  EXPECT_EQ(errorOf("content=++"), "content: is empty");
  EXPECT_EQ(errorOf("content={}&content={}"), "content: given more than once");
  EXPECT_EQ(errorOf("content=%7"), "content: bad percent-encoding");
  EXPECT_EQ(errorOfJson(""), "content: is empty");
}

TEST(FanoutContentTest, NotJson) {
  EXPECT_EQ(errorOf("content=SY1"), "content: not valid JSON");
  EXPECT_EQ(errorOf("content={target:'SY1',resourcePath:'/a'}"), "content: not valid JSON");
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':'/a'"), "content: not valid JSON");
  EXPECT_EQ(errorOf("content={'target':'SY1"), "content: not valid JSON");
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':'/a'}x"), "content: not valid JSON");
  EXPECT_EQ(errorOf("content={'target':'SY1',}"), "content: not valid JSON");
  EXPECT_EQ(errorOf("content=%FF"), "content: not valid JSON");
  EXPECT_EQ(errorOf("content=['SY1']"), "content: must be a JSON object");
  EXPECT_EQ(errorOf("content='SY1'"), "content: must be a JSON object");
  EXPECT_EQ(errorOf("content=null"), "content: must be a JSON object");
}

TEST(FanoutContentTest, BadTargets) {
  EXPECT_EQ(errorOf("content={'resourcePath':'/a'}"), "content: 'target' is missing");
  EXPECT_EQ(errorOf("content={'target':1,'resourcePath':'/a'}"),
            "content: 'target' must be a string or a list of strings");
  EXPECT_EQ(errorOf("content={'target':null,'resourcePath':'/a'}"),
            "content: 'target' must be a string or a list of strings");
  EXPECT_EQ(errorOf("content={'target':{'name':'SY1'},'resourcePath':'/a'}"),
            "content: 'target' must be a string or a list of strings");
  EXPECT_EQ(errorOf("content={'target':['SY1',2],'resourcePath':'/a'}"),
            "content: 'target' must be a string or a list of strings");
  EXPECT_EQ(errorOf("content={'target':[['SY1']],'resourcePath':'/a'}"),
            "content: 'target' must be a string or a list of strings");
  EXPECT_EQ(errorOf("content={'target':[],'resourcePath':'/a'}"), "content: 'target' is an empty list");
  EXPECT_EQ(errorOf("content={'target':'','resourcePath':'/a'}"), "content: 'target' has an empty name");
  EXPECT_EQ(errorOf("content={'target':['SY1',''],'resourcePath':'/a'}"), "content: 'target' has an empty name");
  EXPECT_EQ(errorOf("content={'target':'S\\u0001','resourcePath':'/a'}"),
            "content: 'target' has a name with a control character");
  EXPECT_EQ(errorOf("content={'target':['SY1','SY2','SY1'],'resourcePath':'/a'}"),
            "content: 'target' names 'SY1' twice");
  EXPECT_EQ(errorOf("content={'target':'SY1','target':'SY2','resourcePath':'/a'}"),
            "content: 'target' is given more than once");
}

TEST(FanoutContentTest, BadResourcePath) {
  EXPECT_EQ(errorOf("content={'target':'SY1'}"), "content: 'resourcePath' is missing");
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':5}"), "content: 'resourcePath' must be a string");
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':null}"), "content: 'resourcePath' must be a string");
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':''}"), "content: 'resourcePath' is empty");
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':'/a\\r\\nX: y'}"),
            "content: 'resourcePath' has a space or a control character");
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':'/a%20HTTP/1.1'}"),
            "content: 'resourcePath' has a space or a control character");
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':'/" + std::string(8192, 'p') + "'}"),
            "content: 'resourcePath' is longer than 8192 bytes");
  EXPECT_EQ(errorOf("content={'target':'SY1','resourcePath':'/a','resourcePath':'/b'}"),
            "content: 'resourcePath' is given more than once");
}

TEST(FanoutContentTest, Oversized) {
  // 64 KiB of decoded content is the limit, whatever the encoding.
  const std::string head = "{'target':'SY1','resourcePath':'/a','pad':'";
  std::string exact = head + std::string(kFanoutMaxContentBytes - head.size() - 2, 'x') + "'}";
  ASSERT_EQ(exact.size(), kFanoutMaxContentBytes);
  EXPECT_TRUE(query("content=" + exact).ok());
  EXPECT_EQ(errorOf("content=" + exact + " "), "content: longer than 65536 bytes");
  // Encoded, the same 64 KiB + 1 decoded bytes are still too long.
  std::string encoded = "content=%7B" + exact.substr(1) + "%20";
  EXPECT_EQ(errorOf(encoded), "content: longer than 65536 bytes");
  // Raw value beyond 3 x 64 KiB is refused before decoding.
  EXPECT_EQ(errorOf("content=" + std::string(3 * kFanoutMaxContentBytes + 1, '%')), "content: longer than 65536 bytes");
  EXPECT_EQ(errorOfJson(exact + " "), "content: longer than 65536 bytes");
}

}  // namespace
}  // namespace plexgate::parsers
