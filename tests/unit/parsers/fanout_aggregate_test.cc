// Tests for the fan-out reply writer (parsers/fanout_aggregate.h): the exact
// bytes of the seed's JSON shape, raw JSON embedded verbatim, everything else
// as an escaped string (controls, invalid UTF-8), padded and unpadded inputs,
// and every reply parsed back with simdjson.
#include "parsers/fanout_aggregate.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

namespace plexgate::parsers {
namespace {

std::string jsonString(std::string_view bytes) {
  std::string out;
  appendJsonString(out, bytes);
  return out;
}

FanoutSystemResult okSystem(std::string_view name, std::string_view output) {
  FanoutSystemResult r;
  r.system_name = name;
  r.rc = FanoutRc::Ok;
  r.output = output;
  return r;
}

std::string write(const std::vector<FanoutSystemResult>& systems, std::string_view version = "1") {
  FanoutAggregateWriter writer;
  std::string out;
  writer.append(out, version, systems);
  return out;
}

// Parses `json` with a default simdjson parser; returns the root or fails.
::testing::AssertionResult parses(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::error_code err = parser.parse(json).get(root);
  if (err) {
    return ::testing::AssertionFailure() << simdjson::error_message(err) << " in " << json.substr(0, 300);
  }
  return ::testing::AssertionSuccess();
}

std::string deepArray(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(FanoutAggregateTest, RcNames) {
  EXPECT_EQ(fanoutRcName(FanoutRc::Ok), "OK");
  EXPECT_EQ(fanoutRcName(FanoutRc::HttpConnectionFailed), "HttpConnectionFailed");
  EXPECT_EQ(fanoutRcName(FanoutRc::HttpConnectionTimedOut), "HttpConnectionTimedOut");
  EXPECT_EQ(fanoutRcName(FanoutRc::CertificateError), "CertificateError");
  EXPECT_EQ(fanoutRcName(FanoutRc::LoginRequired), "LoginRequired");
  EXPECT_EQ(fanoutRcName(FanoutRc::InvalidLogin), "InvalidLogin");
  EXPECT_EQ(fanoutRcName(FanoutRc::ProxyLoginRequired), "ProxyLoginRequired");
  EXPECT_EQ(fanoutRcName(FanoutRc::InvalidProxyLogin), "InvalidProxyLogin");
  EXPECT_EQ(fanoutRcName(FanoutRc::FailedWithMessage), "FailedWithMessage");
  EXPECT_EQ(fanoutRcName(FanoutRc::UnexpectedFailure), "UnexpectedFailure");
}

TEST(FanoutAggregateTest, JsonStringEscapes) {
  EXPECT_EQ(jsonString(""), "\"\"");
  EXPECT_EQ(jsonString("plain text"), "\"plain text\"");
  EXPECT_EQ(jsonString("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
  EXPECT_EQ(jsonString("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(jsonString(std::string_view("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(jsonString("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST(FanoutAggregateTest, JsonStringRepairsInvalidUtf8) {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  EXPECT_EQ(jsonString("\xFF"), "\"" + r + "\"");
  EXPECT_EQ(jsonString("a\xC3"), "\"a" + r + "\"");    // truncated 2-byte
  EXPECT_EQ(jsonString("\xE2\x82"), "\"" + r + "\"");  // truncated 3-byte: one subpart
  EXPECT_EQ(jsonString("\xE2\x82"
                       "A\n"),
            "\"" + r + "A\\n\"");                                          // escapes still apply after repair
  EXPECT_EQ(jsonString("\xC0\xAF"), "\"" + r + r + "\"");                  // overlong
  EXPECT_EQ(jsonString("\xED\xA0\x80"), "\"" + r + r + r + "\"");          // surrogate
  EXPECT_EQ(jsonString("\xF4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // above U+10FFFF
  EXPECT_EQ(jsonString("\x80\xC3\xA9\""), "\"" + r + "\xC3\xA9\\\"\"");    // valid sequences kept
  EXPECT_TRUE(parses(jsonString("\xFF\xFE\x00\x01 \xED\xBF\xBF")));
}

TEST(FanoutAggregateTest, OneSystemExactBytes) {
  EXPECT_EQ(write({okSystem("SY1", R"({"items":[1,2],"x":"y"})")}),
            R"({"primaryAPIVersion":"1","systemsOutput":[{"systemOutput":{"items":[1,2],"x":"y"},"rc":"OK",)"
            R"("error":null,"secondaryApiVersion":null,"systemVersion":null,"systemName":"SY1"}],"numOfSystems":1})");
}

TEST(FanoutAggregateTest, FullFieldsAndOrder) {
  FanoutSystemResult a = okSystem("SY1", "[ 1 ,2 ]");
  a.secondary_api_version = "1";
  a.system_version = FanoutSystemVersion{"SY1", "04.27.00", "PLEX1"};
  FanoutSystemResult b;
  b.system_name = "SY#2";
  b.rc = FanoutRc::FailedWithMessage;
  b.output = "Internal \"error\"\n";
  b.error = FanoutError{"IZUG123E", "The request failed: \"x\"."};
  FanoutSystemResult c;
  c.system_name = "SY3";
  c.rc = FanoutRc::HttpConnectionTimedOut;
  EXPECT_EQ(write({a, b, c}, "1.2"),
            R"({"primaryAPIVersion":"1.2","systemsOutput":[)"
            R"({"systemOutput":[ 1 ,2 ],"rc":"OK","error":null,"secondaryApiVersion":"1",)"
            R"("systemVersion":{"zosNode":"SY1","zosVrm":"04.27.00","zosSysplex":"PLEX1"},"systemName":"SY1"},)"
            R"({"systemOutput":"Internal \"error\"\n","rc":"FailedWithMessage",)"
            R"("error":{"msgid":"IZUG123E","msgtxt":"The request failed: \"x\"."},"secondaryApiVersion":null,)"
            R"("systemVersion":null,"systemName":"SY#2"},)"
            R"({"systemOutput":"","rc":"HttpConnectionTimedOut","error":null,"secondaryApiVersion":null,)"
            R"("systemVersion":null,"systemName":"SY3"}],"numOfSystems":3})");
}

TEST(FanoutAggregateTest, UnknownSystemVersionMembersAreNull) {
  FanoutSystemResult a = okSystem("SY1", "{}");
  a.system_version = FanoutSystemVersion{std::nullopt, "04.27.00", std::nullopt};
  EXPECT_EQ(write({a}),
            R"({"primaryAPIVersion":"1","systemsOutput":[{"systemOutput":{},"rc":"OK","error":null,)"
            R"("secondaryApiVersion":null,"systemVersion":{"zosNode":null,"zosVrm":"04.27.00","zosSysplex":null},)"
            R"("systemName":"SY1"}],"numOfSystems":1})");
}

TEST(FanoutAggregateTest, NoSystems) {
  EXPECT_EQ(write({}), R"({"primaryAPIVersion":"1","systemsOutput":[],"numOfSystems":0})");
}

TEST(FanoutAggregateTest, WhatCountsAsJson) {
  auto embedded = [](std::string_view output) {
    const std::string out = write({okSystem("S", output)});
    const std::string_view key = "\"systemOutput\":";
    const size_t from = out.find(key) + key.size();
    const size_t to = out.find(",\"rc\":");
    return out.substr(from, to - from);
  };
  EXPECT_EQ(embedded("{}"), "{}");
  EXPECT_EQ(embedded("42"), "42");
  EXPECT_EQ(embedded("null"), "null");
  EXPECT_EQ(embedded("\"s\""), "\"s\"");
  EXPECT_EQ(embedded(" \r\n{\"a\" : 1}\n\n"), "{\"a\" : 1}");  // verbatim inside, outer whitespace gone
  EXPECT_EQ(embedded("\xEF\xBB\xBF{\"a\":1}"), "{\"a\":1}");   // BOM dropped
  EXPECT_EQ(embedded(""), "\"\"");
  EXPECT_EQ(embedded("   "), "\"   \"");
  EXPECT_EQ(embedded("{\"a\":1"), "\"{\\\"a\\\":1\"");
  EXPECT_EQ(embedded("{} {}"), "\"{} {}\"");
  EXPECT_EQ(embedded("{'a':1}"), "\"{'a':1}\"");
  EXPECT_EQ(embedded("<html>\t</html>"), "\"<html>\\t</html>\"");
  EXPECT_EQ(embedded("[\"\xFF\"]"), "\"[\\\"\xEF\xBF\xBD\\\"]\"");          // invalid UTF-8 is not JSON
  EXPECT_EQ(embedded("\xEF\xBB\xBFnot json"), "\"\xEF\xBB\xBFnot json\"");  // the string keeps every byte
}

TEST(FanoutAggregateTest, DepthLimitKeepsReplyParseable) {
  FanoutAggregateWriter writer;
  const std::string ok = deepArray(kFanoutMaxEmbeddedDepth);
  const std::string deep = deepArray(kFanoutMaxEmbeddedDepth + 1);
  EXPECT_TRUE(writer.isJson(ok, 0));
  EXPECT_FALSE(writer.isJson(deep, 0));
  std::string out;
  writer.append(out, "1", std::vector<FanoutSystemResult>{okSystem("A", ok), okSystem("B", deep)});
  EXPECT_NE(out.find("\"systemOutput\":" + ok + ","), std::string::npos);
  EXPECT_NE(out.find("\"systemOutput\":\"" + deep + "\""), std::string::npos);
  EXPECT_TRUE(parses(out));
  // Nothing deeper than simdjson's default even gets near it.
  EXPECT_FALSE(writer.isJson(deepArray(simdjson::DEFAULT_MAX_DEPTH + 5), 0));
}

TEST(FanoutAggregateTest, PaddedAndUnpaddedAgree) {
  std::string body = R"({"jobs":[{"jobid":"JOB00001","status":"OUTPUT"}]})";
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  FanoutSystemResult padded = okSystem("SY1", body);
  padded.output_capacity = body.capacity();
  FanoutSystemResult unpadded = okSystem("SY1", body);
  unpadded.output_capacity = body.size();
  EXPECT_EQ(write({padded}), write({unpadded}));
  EXPECT_NE(write({padded}).find(":" + body + ","), std::string::npos);

  // A buffer exactly padding-short is copied, still validated.
  FanoutAggregateWriter writer;
  EXPECT_TRUE(writer.isJson(body, body.size() + simdjson::SIMDJSON_PADDING - 1));
  EXPECT_TRUE(writer.isJson(body, body.size() + simdjson::SIMDJSON_PADDING));
  // Capacity smaller than the size (a caller's mistake) is treated as none.
  EXPECT_TRUE(writer.isJson(body, 1));
  // Whitespace around a value is JSON; text that cannot open a value never
  // reaches simdjson.
  EXPECT_TRUE(writer.isJson(" {}\n", 0));
  EXPECT_TRUE(writer.isJson("-1", 0));
  EXPECT_FALSE(writer.isJson("x{}", 0));
  EXPECT_FALSE(writer.isJson("", 0));
}

TEST(FanoutAggregateTest, IncrementalEqualsWhole) {
  std::vector<FanoutSystemResult> systems = {okSystem("A", "{}"), okSystem("B", "oops"), okSystem("C", "[1]")};
  systems[1].rc = FanoutRc::UnexpectedFailure;
  FanoutAggregateWriter writer;
  std::string piecewise = "prefix:";
  writer.begin(piecewise, "1");
  for (const auto& s : systems) {
    writer.appendSystem(piecewise, s);
  }
  writer.end(piecewise);
  EXPECT_EQ(piecewise, "prefix:" + write(systems));
  // The writer resets between replies.
  std::string again;
  writer.append(again, "1", systems);
  EXPECT_EQ(again, write(systems));
}

TEST(FanoutAggregateTest, RoundTripThroughSimdjson) {
  std::vector<std::string> bodies = {
      R"({"a":[1,2,{"b":null}],"c":"d\u00e9"})",
      "plain text with \x01 control and \xC3 bad utf8",
      "[]",
      "",
      std::string(5000, 'x'),
      "\xEF\xBB\xBF [true,false] \n",
  };
  std::vector<std::string> names = {"SY1", "S\"2", "SY#3", "", "\xFFname", "sy6"};
  std::vector<FanoutSystemResult> systems;
  for (size_t i = 0; i < bodies.size(); ++i) {
    FanoutSystemResult r = okSystem(names[i], bodies[i]);
    r.rc = static_cast<FanoutRc>(i);
    if (i % 2 == 1) {
      r.error = FanoutError{"ID\n", "text \x7f \xFE"};
      r.system_version = FanoutSystemVersion{"N", "04.27.00", "P\"X"};
      r.secondary_api_version = "1";
    }
    systems.push_back(r);
  }
  const std::string out = write(systems);
  ASSERT_TRUE(parses(out));

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_FALSE(parser.parse(out).get(root));
  int64_t n = 0;
  ASSERT_FALSE(root["numOfSystems"].get_int64().get(n));
  EXPECT_EQ(n, 6);
  std::string_view version;
  ASSERT_FALSE(root["primaryAPIVersion"].get_string().get(version));
  EXPECT_EQ(version, "1");
  simdjson::dom::array list;
  ASSERT_FALSE(root["systemsOutput"].get_array().get(list));
  ASSERT_EQ(list.size(), 6u);
  size_t i = 0;
  for (simdjson::dom::element item : list) {
    std::string_view name;
    ASSERT_FALSE(item["systemName"].get_string().get(name));
    if (i == 4) {
      EXPECT_EQ(name, "\xEF\xBF\xBDname");
    } else {
      EXPECT_EQ(name, names[i]);
    }
    std::string_view rc;
    ASSERT_FALSE(item["rc"].get_string().get(rc));
    EXPECT_EQ(rc, fanoutRcName(static_cast<FanoutRc>(i)));
    simdjson::dom::element output;
    ASSERT_FALSE(item["systemOutput"].get(output));
    if (i == 0) {
      EXPECT_TRUE(output.is_object());
    } else if (i == 2 || i == 5) {
      EXPECT_TRUE(output.is_array());
    } else {
      EXPECT_TRUE(output.is_string());
    }
    if (i == 4) {
      std::string_view s;
      ASSERT_FALSE(output.get_string().get(s));
      EXPECT_EQ(s, bodies[4]);
    }
    simdjson::dom::element error;
    ASSERT_FALSE(item["error"].get(error));
    EXPECT_EQ(error.is_null(), i % 2 == 0);
    simdjson::dom::element sv;
    ASSERT_FALSE(item["systemVersion"].get(sv));
    if (i % 2 == 1) {
      std::string_view plex;
      ASSERT_FALSE(sv["zosSysplex"].get_string().get(plex));
      EXPECT_EQ(plex, "P\"X");
    } else {
      EXPECT_TRUE(sv.is_null());
    }
    ++i;
  }
}

TEST(FanoutAggregateTest, LargeOutputThenSmall) {
  // Over the retention threshold: the parser is released and rebuilt, still
  // with the depth limit.
  std::string big = "[";
  for (int i = 0; i < 300000; ++i) {
    big += i ? ",1" : "1";
  }
  big += "]";
  FanoutAggregateWriter writer;
  EXPECT_TRUE(writer.isJson(big, 0));
  EXPECT_TRUE(writer.isJson("{}", 0));
  EXPECT_FALSE(writer.isJson(deepArray(kFanoutMaxEmbeddedDepth + 1), 0));
  EXPECT_TRUE(writer.isJson(big, 0));
}

}  // namespace
}  // namespace plexgate::parsers
