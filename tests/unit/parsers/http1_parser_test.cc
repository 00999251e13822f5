// Tests for the llhttp wrapper (parsers/http1_parser.h). Every input is fed
// three ways (STYLE.md section 9): whole, byte by byte, and cut at random
// points. Each piece lives in its own heap allocation, so an element split
// between two execute() calls is never adjacent in memory and must be
// stitched; pieces are freed as soon as no message is in progress, so a span
// that outlives its message shows up under ASan. The three feeds must agree.
#include "parsers/http1_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plexgate::parsers {
namespace {

using Status = ExecResult::Status;
using Type = Http1Parser::Type;
using Headers = std::vector<std::pair<std::string, std::string>>;

// ---- recording handler ------------------------------------------------------

// One message as the handler saw it, copied out of the parser's spans.
struct SeenMessage {
  std::string method;
  std::string target;
  int status = 0;
  int http_major = 0;
  int http_minor = 0;
  Headers headers;  // as seen in onHead
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = false;
  bool upgrade = false;
  std::string body;
  Headers trailers;                // Http1Parser::trailers() at onMessageComplete
  uint64_t parser_body_bytes = 0;  // Http1Parser::bodyBytes() at onMessageComplete
  bool complete = false;
  // The head's spans re-read at onMessageComplete still say what they said
  // at onHead (the arena and the caller's pieces were not reused meanwhile).
  bool spans_stable = true;
};

Headers copyHeaders(const MessageHead& head) {
  Headers out;
  for (const HeaderField& h : head.headers) {
    out.emplace_back(std::string(h.name), std::string(h.value));
  }
  return out;
}

class Recorder : public Http1Handler {
 public:
  explicit Recorder(const Http1Parser* const* parser) : parser_(parser) {}

  void onMessageBegin() override {
    ++begins;
    messages.emplace_back();
    head_ = nullptr;
  }

  Next onHead(MessageHead& head) override {
    SeenMessage& m = current();
    m.method = std::string(head.method);
    m.target = std::string(head.target);
    m.status = head.status;
    m.http_major = head.http_major;
    m.http_minor = head.http_minor;
    m.headers = copyHeaders(head);
    m.content_length = head.content_length;
    m.chunked = head.chunked;
    m.keep_alive = head.keep_alive;
    m.upgrade = head.upgrade;
    head_ = &head;
    ++heads;
    if (skip_body_for_no_body_status && (head.status == 204 || head.status == 304 || head.status / 100 == 1)) {
      return Next::SkipBody;
    }
    return on_head;
  }

  Next onBody(std::string_view chunk) override {
    current().body.append(chunk);
    return Next::Continue;
  }

  Next onMessageComplete() override {
    SeenMessage& m = current();
    m.complete = true;
    if (parser_ != nullptr && *parser_ != nullptr) {
      m.parser_body_bytes = (*parser_)->bodyBytes();
      for (const HeaderField& t : (*parser_)->trailers()) {
        m.trailers.emplace_back(std::string(t.name), std::string(t.value));
      }
    } else {
      m.parser_body_bytes = m.body.size();
    }
    if (head_ != nullptr) {
      m.spans_stable = std::string(head_->target) == m.target && head_->headers.size() >= m.headers.size();
      for (size_t i = 0; m.spans_stable && i < m.headers.size(); ++i) {
        m.spans_stable = head_->headers[i].name == m.headers[i].first &&
                         head_->headers[i].value == m.headers[i].second;
      }
    }
    ++completes;
    return pause_on_complete ? Next::Pause : Next::Continue;
  }

  SeenMessage& current() {
    if (messages.empty()) {
      ADD_FAILURE() << "callback before onMessageBegin";
      messages.emplace_back();
    }
    return messages.back();
  }

  Next on_head = Next::Continue;
  bool skip_body_for_no_body_status = false;
  bool pause_on_complete = false;
  std::vector<SeenMessage> messages;
  int begins = 0;
  int heads = 0;
  int completes = 0;

 private:
  const Http1Parser* const* parser_;
  const MessageHead* head_ = nullptr;
};

// ---- feeding ------------------------------------------------------------------

struct FeedOptions {
  Http1Limits limits;
  Type type = Type::Request;
  Next on_head = Next::Continue;
  bool skip_body_for_no_body_status = false;  // what a response codec does
  bool pause_on_complete = false;     // resume() and go on after each Paused
  bool resume_after_upgrade = false;  // otherwise stop at Upgrade
  bool finish = false;                // call finish() after the last byte
};

// Everything a run produced that must not depend on how the input was cut.
struct Outcome {
  std::vector<SeenMessage> messages;
  int heads = 0;
  std::vector<uint64_t> pauses;  // absolute input offsets where Paused returned
  std::optional<uint64_t> upgrade_at;
  std::optional<ParseError> error;
  std::optional<Status> finish_status;
  ParseError finish_error = ParseError::None;
  // Not compared: depends on where the cuts fall (a body refused mid-way).
  uint64_t max_partial_body = 0;

  const SeenMessage& msg(size_t i) const { return messages.at(i); }
  size_t completed() const {
    return static_cast<size_t>(std::count_if(messages.begin(), messages.end(),
                                             [](const SeenMessage& m) { return m.complete; }));
  }
};

std::string printable(std::string_view s) {
  if (s.size() > 96) {
    uint64_t h = 1469598103934665603ull;
    for (char c : s) {
      h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    }
    std::ostringstream o;
    o << "<" << s.size() << " bytes, fnv " << std::hex << h << ">";
    return o.str();
  }
  std::string out;
  for (char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// A readable, complete description; two outcomes are equal iff these are.
std::string describe(const Outcome& o) {
  std::ostringstream s;
  for (size_t i = 0; i < o.messages.size(); ++i) {
    const SeenMessage& m = o.messages[i];
    s << "#" << i << " " << m.method << " " << printable(m.target) << " status=" << m.status << " v"
      << m.http_major << "." << m.http_minor << " cl="
      << (m.content_length ? std::to_string(*m.content_length) : "-") << " chunked=" << m.chunked
      << " ka=" << m.keep_alive << " upgrade=" << m.upgrade << "\n";
    for (const auto& [n, v] : m.headers) {
      s << "   [" << printable(n) << "]: [" << printable(v) << "]\n";
    }
    for (const auto& [n, v] : m.trailers) {
      s << "   trailer [" << printable(n) << "]: [" << printable(v) << "]\n";
    }
    if (m.complete) {
      s << "   body=" << printable(m.body) << " parser_body_bytes=" << m.parser_body_bytes
        << " stable=" << m.spans_stable << " complete\n";
    } else {
      s << "   incomplete\n";
    }
  }
  s << "heads=" << o.heads << " pauses=";
  for (uint64_t p : o.pauses) {
    s << p << ",";
  }
  s << " upgrade_at=" << (o.upgrade_at ? std::to_string(*o.upgrade_at) : "-");
  s << " error=" << (o.error ? parseErrorName(*o.error) : "-");
  if (o.finish_status) {
    s << " finish=" << static_cast<int>(*o.finish_status) << "/" << parseErrorName(o.finish_error);
  }
  return s.str();
}

// Feeds `input` cut at `cuts` (sorted offsets in (0, size)).
Outcome feed(std::string_view input, const std::vector<size_t>& cuts, const FeedOptions& opts) {
  const Http1Parser* parser_ptr = nullptr;
  Recorder rec(&parser_ptr);
  rec.on_head = opts.on_head;
  rec.skip_body_for_no_body_status = opts.skip_body_for_no_body_status;
  rec.pause_on_complete = opts.pause_on_complete;
  Http1Parser parser(opts.type, opts.limits, rec);
  parser_ptr = &parser;

  Outcome out;
  // Pieces stay alive while a message is in progress: the head's spans may
  // point into any of them.
  std::vector<std::unique_ptr<char[]>> live;
  uint64_t offset = 0;
  bool stopped = false;
  std::vector<size_t> bounds = cuts;
  bounds.push_back(input.size());
  size_t prev = 0;
  for (size_t b : bounds) {
    if (stopped) {
      break;
    }
    const size_t len = b - prev;
    // Exactly sized, so a read past the piece is a heap overflow under ASan.
    live.push_back(std::make_unique<char[]>(len == 0 ? 1 : len));
    char* piece = live.back().get();
    std::memcpy(piece, input.data() + prev, len);
    prev = b;
    size_t pos = 0;
    while (pos < len) {
      const ExecResult r = parser.execute(piece + pos, len - pos);
      EXPECT_LE(r.consumed, len - pos);
      if (r.status == Status::Ok) {
        EXPECT_EQ(r.consumed, len - pos);
        pos = len;
      } else if (r.status == Status::Paused) {
        out.pauses.push_back(offset + pos + r.consumed);
        pos += r.consumed;
        parser.resume();
      } else if (r.status == Status::Upgrade) {
        out.upgrade_at = offset + pos + r.consumed;
        pos += r.consumed;
        if (!opts.resume_after_upgrade) {
          stopped = true;
          break;
        }
        parser.resumeAfterUpgrade();
      } else {
        out.error = r.error;
        EXPECT_NE(r.error, ParseError::None);
        stopped = true;
        break;
      }
    }
    offset += len;
    if (!stopped && !parser.inMessage()) {
      live.clear();
    }
  }
  if (opts.finish && !stopped) {
    const ExecResult r = parser.finish();
    out.finish_status = r.status;
    out.finish_error = r.error;
  }
  for (SeenMessage& m : rec.messages) {
    if (!m.complete) {
      out.max_partial_body = std::max<uint64_t>(out.max_partial_body, m.body.size());
      m.body.clear();
    } else {
      EXPECT_EQ(m.parser_body_bytes, m.body.size()) << "bodyBytes() disagrees with onBody";
    }
  }
  out.messages = std::move(rec.messages);
  out.heads = rec.heads;
  EXPECT_EQ(rec.begins, static_cast<int>(out.messages.size()));
  EXPECT_EQ(rec.completes, static_cast<int>(out.completed()));
  return out;
}

std::vector<size_t> byteByByte(size_t n) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < n; ++i) {
    cuts.push_back(i);
  }
  return cuts;
}

std::vector<size_t> randomCuts(size_t n, uint32_t seed) {
  std::vector<size_t> cuts;
  if (n < 2) {
    return cuts;
  }
  std::mt19937 rng(seed);
  const size_t count = std::uniform_int_distribution<size_t>(1, std::min<size_t>(n - 1, 24))(rng);
  std::uniform_int_distribution<size_t> at(1, n - 1);
  for (size_t i = 0; i < count; ++i) {
    cuts.push_back(at(rng));
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  return cuts;
}

constexpr uint32_t kSeeds[] = {1, 7, 42, 1234, 9001, 31337, 271828, 4000000007u};

// Parses `input` whole, byte by byte and with each seed's random cuts;
// expects the same outcome from all and returns the whole-buffer one.
Outcome parseAllWays(std::string_view input, const FeedOptions& opts = {}) {
  const Outcome whole = feed(input, {}, opts);
  const std::string expected = describe(whole);
  for (const SeenMessage& m : whole.messages) {
    EXPECT_TRUE(m.spans_stable) << "whole: spans changed between onHead and onMessageComplete";
  }
  {
    const Outcome bytes = feed(input, byteByByte(input.size()), opts);
    EXPECT_EQ(describe(bytes), expected) << "byte-by-byte feed differs from the whole feed";
  }
  for (uint32_t seed : kSeeds) {
    const Outcome split = feed(input, randomCuts(input.size(), seed), opts);
    EXPECT_EQ(describe(split), expected) << "random cuts (seed " << seed << ") differ from the whole feed";
  }
  return whole;
}

Http1Limits limits(uint32_t head, uint32_t headers, uint32_t uri, uint64_t body) {
  Http1Limits l;
  l.max_head_bytes = head;
  l.max_headers = headers;
  l.max_uri_bytes = uri;
  l.max_body_bytes = body;
  return l;
}

FeedOptions withLimits(const Http1Limits& l) {
  FeedOptions o;
  o.limits = l;
  return o;
}

FeedOptions response() {
  FeedOptions o;
  o.type = Type::Response;
  return o;
}

// ---- requests -------------------------------------------------------------------

TEST(Http1Parser, SimpleGet) {
  const Outcome o = parseAllWays("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ASSERT_EQ(o.messages.size(), 1u);
  const SeenMessage& m = o.msg(0);
  EXPECT_EQ(m.method, "GET");
  EXPECT_EQ(m.target, "/index.html?q=1");
  EXPECT_EQ(m.http_major, 1);
  EXPECT_EQ(m.http_minor, 1);
  EXPECT_EQ(m.headers, (Headers{{"Host", "example.com"}}));
  EXPECT_FALSE(m.content_length);
  EXPECT_FALSE(m.chunked);
  EXPECT_TRUE(m.keep_alive);
  EXPECT_FALSE(m.upgrade);
  EXPECT_TRUE(m.complete);
  EXPECT_EQ(m.body, "");
  EXPECT_FALSE(o.error);
}

// Fed whole, nothing needs stitching: every span must point into the
// caller's buffer (parsers never own bytes).
TEST(Http1Parser, WholeBufferSpansPointIntoInput) {
  const std::string input = "POST /a/b HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(300, 'v') +
                            "\r\nContent-Length: 2\r\n\r\nok";
  struct Check : Http1Handler {
    const std::string* in = nullptr;
    bool inside(std::string_view s) const {
      return s.data() >= in->data() && s.data() + s.size() <= in->data() + in->size();
    }
    Next onHead(MessageHead& h) override {
      EXPECT_TRUE(inside(h.target));
      for (const HeaderField& f : h.headers) {
        EXPECT_TRUE(inside(f.name)) << f.name;
        EXPECT_TRUE(inside(f.value)) << f.name;
      }
      ++heads;
      return Next::Continue;
    }
    Next onBody(std::string_view c) override {
      EXPECT_TRUE(inside(c));
      return Next::Continue;
    }
    Next onMessageComplete() override { return Next::Continue; }
    int heads = 0;
  } check;
  check.in = &input;
  Http1Parser parser(Type::Request, {}, check);
  const ExecResult r = parser.execute(input.data(), input.size());
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_EQ(check.heads, 1);
}

TEST(Http1Parser, EmptyHeaderValues) {
  const Outcome o = parseAllWays("GET / HTTP/1.1\r\nA:\r\nB: \r\nC:x\r\nD:\t\r\nE: e\r\n\r\n");
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).headers, (Headers{{"A", ""}, {"B", ""}, {"C", "x"}, {"D", ""}, {"E", "e"}}));
}

TEST(Http1Parser, ManyHeadersKeepOrderAndBytes) {
  std::string input = "GET / HTTP/1.1\r\n";
  Headers expected;
  for (int i = 0; i < 90; ++i) {
    const std::string name = "X-Header-" + std::to_string(i);
    const std::string value = "value-" + std::to_string(i * 7919) + std::string(static_cast<size_t>(i % 13), 'z');
    input += name + ": " + value + "\r\n";
    expected.emplace_back(name, value);
  }
  input += "\r\n";
  const Outcome o = parseAllWays(input);
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).headers, expected);
}

TEST(Http1Parser, LongUri) {
  std::string target = "/";
  for (int i = 0; target.size() < 8000; ++i) {
    target += "seg" + std::to_string(i) + "/";
  }
  target += "?k=v";
  const Outcome o = parseAllWays("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).target, target);
}

TEST(Http1Parser, PostWithContentLength) {
  const std::string body = "name=plexgate&payload=" + std::string(1000, 'p');
  const Outcome o = parseAllWays("POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).method, "POST");
  EXPECT_EQ(o.msg(0).content_length, body.size());
  EXPECT_EQ(o.msg(0).body, body);
}

TEST(Http1Parser, ChunkedBodyWithExtensionsAndTrailers) {
  const Outcome o = parseAllWays(
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n"
      "1;a;b=\"quoted\"\r\n \r\n"
      "A\r\n0123456789\r\n"
      "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n");
  ASSERT_EQ(o.completed(), 1u);
  const SeenMessage& m = o.msg(0);
  EXPECT_TRUE(m.chunked);
  EXPECT_FALSE(m.content_length);
  EXPECT_EQ(m.body, "hello 0123456789");
  // onHead sees the head only; trailers arrive after it.
  EXPECT_EQ(m.headers, (Headers{{"Host", "a"}, {"Transfer-Encoding", "chunked"}}));
  EXPECT_FALSE(o.error);
}

TEST(Http1Parser, TenPipelinedRequests) {
  std::string input;
  for (int i = 0; i < 10; ++i) {
    if (i % 3 == 1) {
      const std::string body = "body" + std::to_string(i);
      input += "POST /" + std::to_string(i) + " HTTP/1.1\r\nHost: h" + std::to_string(i) +
               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    } else if (i % 3 == 2) {
      input += "PUT /" + std::to_string(i) + " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    } else {
      input += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: h" + std::to_string(i) + "\r\n\r\n";
    }
  }
  const Outcome o = parseAllWays(input);
  ASSERT_EQ(o.completed(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(o.msg(i).target, "/" + std::to_string(i));
    if (i % 3 == 1) {
      EXPECT_EQ(o.msg(i).method, "POST");
      EXPECT_EQ(o.msg(i).body, "body" + std::to_string(i));
    } else if (i % 3 == 2) {
      EXPECT_EQ(o.msg(i).method, "PUT");
      EXPECT_EQ(o.msg(i).body, "abc");
    } else {
      EXPECT_EQ(o.msg(i).method, "GET");
      EXPECT_EQ(o.msg(i).headers, (Headers{{"Host", "h" + std::to_string(i)}}));
    }
  }
}

TEST(Http1Parser, KeepAliveFlag) {
  struct Case {
    const char* input;
    bool keep_alive;
    int minor;
  };
  const Case cases[] = {
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, 0},
      {"GET / HTTP/1.0\r\n\r\n", false, 0},
      {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false, 0},
      {"GET / HTTP/1.1\r\n\r\n", true, 1},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false, 1},
      {"GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n", true, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    const Outcome o = parseAllWays(c.input);
    ASSERT_EQ(o.completed(), 1u);
    EXPECT_EQ(o.msg(0).keep_alive, c.keep_alive);
    EXPECT_EQ(o.msg(0).http_minor, c.minor);
  }
}

TEST(Http1Parser, ExpectHeaderIsVisible) {
  const std::string input =
      "PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
  const Outcome o = parseAllWays(input + "data");
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).headers.back(), (std::pair<std::string, std::string>{"Expect", "100-continue"}));
  EXPECT_EQ(o.msg(0).body, "data");

  // The head is complete before the body arrives, so a proxy can answer
  // 100 Continue (or 417) from onHead.
  struct ExpectCheck : Http1Handler {
    Next onHead(MessageHead& h) override {
      const HeaderField* e = h.find("expect");
      seen = e != nullptr && e->value == "100-continue";
      return Next::Continue;
    }
    Next onBody(std::string_view) override { return Next::Continue; }
    Next onMessageComplete() override { return Next::Continue; }
    bool seen = false;
  } handler;
  Http1Parser parser(Type::Request, {}, handler);
  const ExecResult r = parser.execute(input.data(), input.size());
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_TRUE(handler.seen);
  EXPECT_TRUE(parser.inMessage());
  EXPECT_FALSE(parser.inHead());
}

TEST(Http1Parser, LeadingEmptyLinesBetweenMessagesAreSkipped) {
  const Outcome o = parseAllWays("\r\n\r\nGET /a HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  ASSERT_EQ(o.completed(), 2u);
  EXPECT_EQ(o.msg(0).target, "/a");
  EXPECT_EQ(o.msg(1).target, "/b");
}

TEST(Http1Parser, MessageHeadFindIsCaseInsensitive) {
  MessageHead head;
  head.headers = {{"Content-Type", "text/plain"}, {"X-ABC", "1"}, {"x-abc", "2"}, {"Host", "h"}};
  ASSERT_NE(head.find("content-type"), nullptr);
  EXPECT_EQ(head.find("content-type")->value, "text/plain");
  EXPECT_EQ(head.find("CONTENT-TYPE"), &head.headers[0]);
  EXPECT_EQ(head.find("x-abc")->value, "1");  // first match wins
  EXPECT_EQ(head.find("hOsT"), &head.headers[3]);
  EXPECT_EQ(head.find("Content-Typ"), nullptr);
  EXPECT_EQ(head.find("Content-Types"), nullptr);
  EXPECT_EQ(head.find(""), nullptr);
  // Only ASCII letters fold: '[' (0x5b) is not '{' (0x7b).
  head.headers.push_back({"a[b", "v"});
  EXPECT_EQ(head.find("A{B"), nullptr);
  EXPECT_NE(head.find("A[B"), nullptr);
}

// ---- limits -----------------------------------------------------------------------

TEST(Http1Parser, HeadTooLarge) {
  const Http1Limits l = limits(1024, 100, 512, UINT64_MAX);
  const Outcome o = parseAllWays("GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'b') + "\r\n\r\n", withLimits(l));
  EXPECT_EQ(o.error, ParseError::HeadTooLarge);
  EXPECT_EQ(o.heads, 0);

  // Many small headers, none too large on its own.
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 60; ++i) {
    many += "X-" + std::to_string(i) + ": " + std::string(20, 'v') + "\r\n";
  }
  const Outcome o2 = parseAllWays(many + "\r\n", withLimits(l));
  EXPECT_EQ(o2.error, ParseError::HeadTooLarge);
  EXPECT_EQ(o2.heads, 0);

  // Just under the limit passes, stitched or not.
  const Outcome ok = parseAllWays("GET / HTTP/1.1\r\nX-Big: " + std::string(900, 'b') + "\r\n\r\n", withLimits(l));
  EXPECT_FALSE(ok.error);
  EXPECT_EQ(ok.completed(), 1u);
}

// Bytes that produce no span still count: optional whitespace before a
// header value is never reported, and whitespace inside a value is.
TEST(Http1Parser, HeadTooLargeWhenTheExcessIsWhitespace) {
  const Http1Limits l = limits(1024, 100, 512, UINT64_MAX);
  const std::string leading = "GET / HTTP/1.1\r\nX-Pad:" + std::string(4096, ' ') + "v\r\n\r\n";
  const std::string inside = "GET / HTTP/1.1\r\nX-Pad: a" + std::string(4096, ' ') + "b\r\n\r\n";
  const std::string tabs = "GET / HTTP/1.1\r\nX-Pad:" + std::string(4096, '\t') + "v\r\n\r\n";
  for (const std::string* input : {&leading, &inside, &tabs}) {
    const Outcome o = parseAllWays(*input, withLimits(l));
    EXPECT_EQ(o.error, ParseError::HeadTooLarge);
    EXPECT_EQ(o.heads, 0);
    // And with no value ever arriving (the connection keeps dripping spaces).
    const std::string drip = input->substr(0, 16 + 6 + 2048);
    const Outcome d = feed(drip, byteByByte(drip.size()), withLimits(l));
    EXPECT_EQ(d.error, ParseError::HeadTooLarge);
  }
}

TEST(Http1Parser, TooManyHeaders) {
  const Http1Limits l = limits(16 * 1024, 8, 512, UINT64_MAX);
  std::string input = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 8; ++i) {
    input += "H" + std::to_string(i) + ": v\r\n";
  }
  const Outcome ok = parseAllWays(input + "\r\n", withLimits(l));
  EXPECT_FALSE(ok.error);
  ASSERT_EQ(ok.completed(), 1u);
  EXPECT_EQ(ok.msg(0).headers.size(), 8u);

  const Outcome o = parseAllWays(input + "H8: v\r\n\r\n", withLimits(l));
  EXPECT_EQ(o.error, ParseError::TooManyHeaders);
  EXPECT_EQ(o.heads, 0);

  // Empty-valued headers count too.
  std::string empties = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 9; ++i) {
    empties += "E" + std::to_string(i) + ":\r\n";
  }
  EXPECT_EQ(parseAllWays(empties + "\r\n", withLimits(l)).error, ParseError::TooManyHeaders);
}

TEST(Http1Parser, UriTooLong) {
  const Http1Limits l = limits(16 * 1024, 100, 64, UINT64_MAX);
  const std::string at_limit = "/" + std::string(63, 'u');
  const Outcome ok = parseAllWays("GET " + at_limit + " HTTP/1.1\r\n\r\n", withLimits(l));
  ASSERT_EQ(ok.completed(), 1u);
  EXPECT_EQ(ok.msg(0).target, at_limit);

  const Outcome o = parseAllWays("GET /" + std::string(64, 'u') + " HTTP/1.1\r\n\r\n", withLimits(l));
  EXPECT_EQ(o.error, ParseError::UriTooLong);
  EXPECT_EQ(o.heads, 0);

  const Outcome huge = parseAllWays("GET /" + std::string(5000, 'u') + " HTTP/1.1\r\n\r\n", withLimits(l));
  EXPECT_EQ(huge.error, ParseError::UriTooLong);
}

TEST(Http1Parser, ContentLengthOverMaxBodyIsBodyTooLarge) {
  const Http1Limits l = limits(16 * 1024, 100, 512, 100);
  const Outcome ok =
      parseAllWays("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b'), withLimits(l));
  ASSERT_EQ(ok.completed(), 1u);
  EXPECT_EQ(ok.msg(0).body.size(), 100u);

  // Refused from the head alone, before any body byte is read or delivered.
  const Outcome o = parseAllWays("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", withLimits(l));
  EXPECT_EQ(o.error, ParseError::BodyTooLarge);
  EXPECT_EQ(o.heads, 0);
  EXPECT_EQ(o.completed(), 0u);
}

TEST(Http1Parser, ChunkedBodyGrowingPastMaxIsBodyTooLarge) {
  const Http1Limits l = limits(16 * 1024, 100, 512, 100);
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const Outcome ok = parseAllWays(head + "32\r\n" + std::string(50, 'a') + "\r\n32\r\n" + std::string(50, 'b') +
                                      "\r\n0\r\n\r\n",
                                  withLimits(l));
  ASSERT_EQ(ok.completed(), 1u);
  EXPECT_EQ(ok.msg(0).body.size(), 100u);

  const std::string over = head + "32\r\n" + std::string(50, 'a') + "\r\n32\r\n" + std::string(50, 'b') +
                           "\r\n1\r\nc\r\n0\r\n\r\n";
  const Outcome o = parseAllWays(over, withLimits(l));
  EXPECT_EQ(o.error, ParseError::BodyTooLarge);
  EXPECT_EQ(o.completed(), 0u);
  EXPECT_EQ(o.heads, 1);  // a chunked head cannot know its size up front
  // The handler never saw more than the limit, whatever the cuts.
  for (uint32_t seed : kSeeds) {
    const Outcome s = feed(over, randomCuts(over.size(), seed), withLimits(l));
    EXPECT_EQ(s.error, ParseError::BodyTooLarge);
    EXPECT_LE(s.max_partial_body, 100u);
  }
  const Outcome bytes = feed(over, byteByByte(over.size()), withLimits(l));
  EXPECT_LE(bytes.max_partial_body, 100u);

  // One huge chunk is refused as well.
  EXPECT_EQ(parseAllWays(head + "1000\r\n" + std::string(4096, 'x') + "\r\n0\r\n\r\n", withLimits(l)).error,
            ParseError::BodyTooLarge);
}

// ---- framing the wrapper must refuse ------------------------------------------------

TEST(Http1Parser, AmbiguousFramingIsRefused) {
  const char* const cases[] = {
      // CL + TE (the classic CL.TE / TE.CL smuggling pair), both orders.
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
      // Two Content-Lengths, different and equal.
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
      "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
      "POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\nabc",
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      // Transfer-Encoding whose last coding is not chunked.
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc",
  };
  for (const char* input : cases) {
    SCOPED_TRACE(printable(input));
    const Outcome o = parseAllWays(input);
    EXPECT_EQ(o.error, ParseError::AmbiguousFraming);
    // Refused before the head reaches the handler: nothing gets forwarded.
    EXPECT_EQ(o.heads, 0);
    EXPECT_EQ(o.completed(), 0u);
  }
}

TEST(Http1Parser, ObfuscatedFramingHeadersAreMalformed) {
  const char* const cases[] = {
      "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc",
      "POST / HTTP/1.1\r\nTransfer-Encoding: \013chunked\r\n\r\n0\r\n\r\n",  // vertical tab
      "POST / HTTP/1.1\r\nContent-Length: 3\n\r\nabc",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 ; ext\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
  };
  for (const char* input : cases) {
    SCOPED_TRACE(printable(input));
    const Outcome o = parseAllWays(input);
    EXPECT_EQ(o.error, ParseError::Malformed);
    EXPECT_EQ(o.completed(), 0u);
  }
}

// Transfer-Encoding: CHUNKED and a tab before the value are legal spellings.
TEST(Http1Parser, ChunkedSpellingsThatAreLegal) {
  for (const char* te : {"CHUNKED", "\tchunked", "gzip, chunked"}) {
    SCOPED_TRACE(te);
    const Outcome o =
        parseAllWays(std::string("POST / HTTP/1.1\r\nTransfer-Encoding: ") + te + "\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    ASSERT_EQ(o.completed(), 1u);
    EXPECT_TRUE(o.msg(0).chunked);
    EXPECT_EQ(o.msg(0).body, "abc");
  }
}

TEST(Http1Parser, GarbageIsMalformed) {
  const std::string cases[] = {
      std::string("\x01\x02garbage\r\n\r\n"),
      "hello world\r\n\r\n",
      "GET / HTTP/1.1\nHost: a\n\n",                // bare LF line ends
      "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",          // lone CR
      std::string("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26),
      "GET / HTTX/1.1\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS ClientHello on the plain port
  };
  for (const std::string& input : cases) {
    SCOPED_TRACE(printable(input));
    const Outcome o = parseAllWays(input);
    EXPECT_EQ(o.error, ParseError::Malformed);
    EXPECT_EQ(o.heads, 0);
  }
}

// Every version of the form DIGIT.DIGIT reaches onHeadersComplete (llhttp
// 8.1 alone would reject all but 0.9, 1.0, 1.1 and 2.0 while reading the
// request line, as Malformed), where the wrapper refuses other majors than
// 1 as VersionNotSupported (505) and reads 1.2 .. 1.9 as 1.1 (RFC 9110
// 2.5). Other shapes stay Malformed.
TEST(Http1Parser, VersionsOtherThanHttp1) {
  for (const char* input : {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/0.9\r\n\r\n",
                            "GET / HTTP/3.0\r\n\r\n", "GET / HTTP/0.0\r\n\r\n"}) {
    SCOPED_TRACE(printable(input));
    const Outcome o = parseAllWays(input);
    EXPECT_EQ(o.error, ParseError::VersionNotSupported);
    EXPECT_EQ(o.heads, 0);
  }
  for (const char* input : {"GET / HTTP/11.1\r\n\r\n", "GET / HTTP/1.10\r\n\r\n", "GET / HTTP/1.2x\r\n\r\n",
                            "GET / HTTP/1.x\r\n\r\n", "GET / HTTP/1.2\r\nHost a\r\n\r\n"}) {
    SCOPED_TRACE(printable(input));
    const Outcome o = parseAllWays(input);
    EXPECT_EQ(o.error, ParseError::Malformed);
    EXPECT_EQ(o.heads, 0);
  }
}

TEST(Http1Parser, HigherMinorVersionsOfHttp1ReadAs11) {
  for (const char* input : {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", "GET / HTTP/1.9\r\nHost: a\r\n\r\n",
                            "HTTP/1.7 200 OK\r\nContent-Length: 0\r\n\r\n"}) {
    SCOPED_TRACE(printable(input));
    FeedOptions options;
    options.type = input[0] == 'G' ? Type::Request : Type::Response;
    const Outcome o = parseAllWays(input, options);
    EXPECT_FALSE(o.error.has_value());
    ASSERT_EQ(o.heads, 1);
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].http_major, 1);
    EXPECT_EQ(o.messages[0].http_minor, 1);
    EXPECT_TRUE(o.messages[0].keep_alive);
  }
}

// Responses the same way: a proxy answers 502 for other majors.
TEST(Http1Parser, ResponseVersionsOtherThanHttp1) {
  for (const char* input : {"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", "HTTP/0.9 200 OK\r\n\r\n",
                            "HTTP/3.0 200 OK\r\n\r\n"}) {
    SCOPED_TRACE(printable(input));
    FeedOptions response;
    response.type = Http1Parser::Type::Response;
    const Outcome o = parseAllWays(input, response);
    EXPECT_EQ(o.error, ParseError::VersionNotSupported);
    EXPECT_EQ(o.heads, 0);
  }
}

// ---- obs-fold and trailers ------------------------------------------------------

// llhttp 8.1 takes obs-fold even in strict mode; the wrapper finds it (a
// continuation span past a skipped CRLF, or a LF between a colon and its
// value) and refuses it in a request head, however the input is cut.
TEST(Http1ParserObsFold, RequestHeadFoldIsRefused) {
  for (const char* fields :
       {"X: a\r\n b\r\n", "X: a\r\n\tb\r\n", "X:\r\n b\r\n", "X:\r\n\t\r\nY: y\r\n", "X:\r\n \r\n",
        "Connection: keep-alive\r\n , close\r\n", "X: a \r\n \t b\r\n", "X:   \r\n  b\r\n", "X:\r\n \r\n b\r\n"}) {
    const std::string input = std::string("GET / HTTP/1.1\r\nHost: a\r\n") + fields + "\r\n";
    SCOPED_TRACE(printable(input));
    const Outcome o = parseAllWays(input);
    EXPECT_EQ(o.error, ParseError::ObsFold);
    EXPECT_EQ(o.heads, 0);
  }
}

TEST(Http1ParserObsFold, EmptyPaddedAndSplitValuesAreNotFolds) {
  const std::string input =
      "GET / HTTP/1.1\r\nHost: a\r\nA:\r\nB: \r\nC:\t \t\r\nD:    d   \r\nE:e\r\nF: f f  f\r\nG:\r\n\r\n";
  const Outcome o = parseAllWays(input);
  EXPECT_FALSE(o.error);
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).headers.size(), 8u);
  EXPECT_EQ(o.msg(0).headers[4].second, "d");
  EXPECT_EQ(o.msg(0).headers[6].second, "f f  f");
}

// A response head is re-serialized from its fields, whose values join
// across the fold ("a" + " b"): the fold reads as the whitespace after it.
// llhttp misread a folded Connection, so the message is not keep-alive.
TEST(Http1ParserObsFold, ResponseHeadFoldJoinsAndIsNotKeepAlive) {
  FeedOptions response;
  response.type = Http1Parser::Type::Response;
  const Outcome o = parseAllWays(
      "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nY:\r\n  c\r\nConnection: keep-alive\r\n , close\r\nContent-Length: 0\r\n\r\n",
      response);
  EXPECT_FALSE(o.error);
  ASSERT_EQ(o.completed(), 1u);
  ASSERT_EQ(o.msg(0).headers.size(), 4u);
  EXPECT_EQ(o.msg(0).headers[0].second, "a b");
  EXPECT_EQ(o.msg(0).headers[1].second, "c");
  EXPECT_EQ(o.msg(0).headers[2].second, "keep-alive , close");
  EXPECT_FALSE(o.msg(0).keep_alive);
  const Outcome plain = parseAllWays("HTTP/1.1 200 OK\r\nX: a b\r\nContent-Length: 0\r\n\r\n", response);
  ASSERT_EQ(plain.completed(), 1u);
  EXPECT_TRUE(plain.msg(0).keep_alive);
}

TEST(Http1ParserTrailers, FieldsAreCopiedUnfoldedAndTrimmed) {
  for (auto type : {Http1Parser::Type::Request, Http1Parser::Type::Response}) {
    FeedOptions opts;
    opts.type = type;
    const std::string head = type == Http1Parser::Type::Request
                                 ? "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const Outcome o = parseAllWays(head + "3\r\nabc\r\n0\r\nX-A: 1  \r\nX-B: a\r\n b\r\n\tc\r\nX-C:\r\n d\r\nX-E:\r\n\r\n",
                                   opts);
    ASSERT_GE(o.completed(), 1u);
    const Headers want = {{"X-A", "1"}, {"X-B", "a b\tc"}, {"X-C", "d"}, {"X-E", ""}};
    EXPECT_EQ(o.msg(0).trailers, want);
    EXPECT_EQ(o.msg(0).headers.size(), type == Http1Parser::Type::Request ? 2u : 1u) << "trailers stay out of the head";
  }
}

// What a proxy forwards of a chunked message: the bytes before the trailer
// fields as received (ExecResult::before_trailers), then the trailers as
// parsed. The same for every way the input is cut.
std::string forwardedAs(std::string_view input, const std::vector<size_t>& cuts) {
  struct Fwd : Http1Handler {
    Next onHead(MessageHead&) override { return Next::Continue; }
    Next onBody(std::string_view) override { return Next::Continue; }
    Next onMessageComplete() override {
      done = true;
      return Next::Pause;
    }
    bool done = false;
  } h;
  Http1Parser parser(Http1Parser::Type::Request, {}, h);
  std::string out;
  std::vector<size_t> bounds = cuts;
  bounds.push_back(input.size());
  size_t prev = 0;
  // Each piece in its own allocation, alive to the end: head spans point
  // into them (a vector<std::string> would move short ones).
  std::vector<std::unique_ptr<std::string>> live;
  for (size_t b : bounds) {
    live.push_back(std::make_unique<std::string>(input.substr(prev, b - prev)));
    const std::string& piece = *live.back();
    const ExecResult r = parser.execute(piece.data(), piece.size());
    EXPECT_NE(r.status, Status::Error) << r.reason;
    EXPECT_LE(r.before_trailers, r.consumed);
    out.append(piece.data(), r.before_trailers);
    prev = b;
    if (h.done) {
      if (!parser.trailers().empty()) {
        for (const HeaderField& f : parser.trailers()) {
          out.append(f.name).append(": ").append(f.value).append("\r\n");
        }
        out += "\r\n";
      }
      break;
    }
  }
  EXPECT_TRUE(h.done);
  return out;
}

TEST(Http1ParserTrailers, BytesBeforeTrailersAreExactForAnyCut) {
  const std::string body = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0;x\r\n";
  for (const auto& [trailers, want] :
       std::vector<std::pair<std::string, std::string>>{{"\r\n", "\r\n"},
                                                          {"X-A: 1\r\n\r\n", "X-A: 1\r\n\r\n"},
                                                          {"X-A: 1\r\n 2\r\nX-B:\r\n\t3\r\n\r\n", "X-A: 1 2\r\nX-B: 3\r\n\r\n"}}) {
    const std::string input = body + trailers;
    SCOPED_TRACE(printable(input));
    const std::string expected = body + want;
    EXPECT_EQ(forwardedAs(input, {}), expected);
    EXPECT_EQ(forwardedAs(input, byteByByte(input.size())), expected);
    for (uint32_t seed : kSeeds) {
      EXPECT_EQ(forwardedAs(input, randomCuts(input.size(), seed)), expected) << "seed " << seed;
    }
  }
}

// llhttp reads trailer fields with its header logic; a trailer
// "Connection: close" must not end the connection (the next message would be
// refused as "Data after Connection: close"): trailers are not merged.
TEST(Http1ParserTrailers, ConnectionInTrailersDoesNotEndTheConnection) {
  for (auto type : {Http1Parser::Type::Request, Http1Parser::Type::Response}) {
    FeedOptions opts;
    opts.type = type;
    const bool req = type == Http1Parser::Type::Request;
    const std::string first = req ? "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string second = req ? "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n" : "HTTP/1.1 204 No Content\r\n\r\n";
    const Outcome o = parseAllWays(first + "1\r\nx\r\n0\r\nConnection: close\r\nUpgrade: h2c\r\n\r\n" + second, opts);
    EXPECT_FALSE(o.error) << parseErrorName(*o.error);
    ASSERT_EQ(o.completed(), 2u);
    EXPECT_TRUE(o.msg(0).keep_alive);
    EXPECT_EQ(o.msg(0).trailers.size(), 2u);
  }
}

TEST(Http1ParserTrailers, CountIsLimited) {
  std::string input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (int i = 0; i < 5; ++i) {
    input += "X-" + std::to_string(i) + ": v\r\n";
  }
  input += "\r\n";
  const Outcome o = parseAllWays(input, withLimits(limits(4096, 4, 1024, 1024)));
  EXPECT_EQ(o.error, ParseError::TooManyHeaders);
}

// ---- pause and upgrade ---------------------------------------------------------------

TEST(Http1Parser, PauseFromMessageCompleteStopsAtMessageEnd) {
  const std::string first = "POST /1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  const std::string second = "GET /2 HTTP/1.1\r\nHost: b\r\n\r\n";
  const std::string input = first + second;

  Recorder rec(nullptr);
  rec.pause_on_complete = true;
  Http1Parser parser(Type::Request, {}, rec);
  ExecResult r = parser.execute(input.data(), input.size());
  EXPECT_EQ(r.status, Status::Paused);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(rec.completes, 1);
  EXPECT_EQ(rec.begins, 1);
  EXPECT_FALSE(parser.inMessage());

  parser.resume();
  rec.pause_on_complete = false;
  r = parser.execute(input.data() + first.size(), input.size() - first.size());
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.consumed, second.size());
  ASSERT_EQ(rec.completes, 2);
  EXPECT_EQ(rec.messages[1].target, "/2");
  EXPECT_EQ(rec.messages[1].headers, (Headers{{"Host", "b"}}));
}

TEST(Http1Parser, PauseAfterEveryMessageAllCuts) {
  std::string input;
  for (int i = 0; i < 4; ++i) {
    input += "POST /" + std::to_string(i) + " HTTP/1.1\r\nContent-Length: 3\r\n\r\nab" + std::to_string(i);
  }
  FeedOptions opts;
  opts.pause_on_complete = true;
  const Outcome o = parseAllWays(input, opts);
  ASSERT_EQ(o.completed(), 4u);
  const uint64_t one = input.size() / 4;
  EXPECT_EQ(o.pauses, (std::vector<uint64_t>{one, 2 * one, 3 * one, 4 * one}));
  EXPECT_EQ(o.msg(3).body, "ab3");
}

TEST(Http1Parser, PauseFromOnHeadLeavesTheBodyUnread) {
  const std::string head = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
  const std::string input = head + "abcGET /next HTTP/1.1\r\n\r\n";
  Recorder rec(nullptr);
  rec.on_head = Next::Pause;
  Http1Parser parser(Type::Request, {}, rec);
  ExecResult r = parser.execute(input.data(), input.size());
  EXPECT_EQ(r.status, Status::Paused);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(rec.heads, 1);
  EXPECT_TRUE(parser.inMessage());
  parser.resume();
  rec.on_head = Next::Continue;
  r = parser.execute(input.data() + r.consumed, input.size() - r.consumed);
  EXPECT_EQ(r.status, Status::Ok);
  ASSERT_EQ(rec.completes, 2);
  EXPECT_EQ(rec.messages[0].body, "abc");
  EXPECT_EQ(rec.messages[1].target, "/next");
}

TEST(Http1Parser, UpgradeStopsAfterTheHead) {
  const std::string head =
      "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  const std::string tunnel = "\x81\x05hello";
  const std::string input = head + tunnel;
  Recorder rec(nullptr);
  Http1Parser parser(Type::Request, {}, rec);
  const ExecResult r = parser.execute(input.data(), input.size());
  EXPECT_EQ(r.status, Status::Upgrade);
  EXPECT_EQ(r.consumed, head.size());  // the rest belongs to the new protocol
  ASSERT_EQ(rec.completes, 1);
  EXPECT_TRUE(rec.messages[0].upgrade);

  const Outcome o = parseAllWays(input);
  EXPECT_EQ(o.upgrade_at, head.size());
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_TRUE(o.msg(0).upgrade);
}

TEST(Http1Parser, ConnectIsAnUpgrade) {
  const std::string head = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
  const Outcome o = parseAllWays(head + "\x16\x03\x01");
  EXPECT_EQ(o.upgrade_at, head.size());
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).method, "CONNECT");
  EXPECT_EQ(o.msg(0).target, "example.com:443");
  EXPECT_TRUE(o.msg(0).upgrade);
}

// A proxy that declines the upgrade answers normally and keeps parsing HTTP.
TEST(Http1Parser, ResumeAfterUpgradeContinuesParsing) {
  const std::string first = "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
  const std::string second = "GET /after HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string input = first + second;

  Recorder rec(nullptr);
  Http1Parser parser(Type::Request, {}, rec);
  ExecResult r = parser.execute(input.data(), input.size());
  ASSERT_EQ(r.status, Status::Upgrade);
  EXPECT_EQ(r.consumed, first.size());
  parser.resumeAfterUpgrade();
  r = parser.execute(input.data() + first.size(), second.size());
  EXPECT_EQ(r.status, Status::Ok);
  ASSERT_EQ(rec.completes, 2);
  EXPECT_EQ(rec.messages[1].target, "/after");
  EXPECT_FALSE(rec.messages[1].upgrade);

  FeedOptions opts;
  opts.resume_after_upgrade = true;
  const Outcome o = parseAllWays(input, opts);
  EXPECT_EQ(o.upgrade_at, first.size());
  ASSERT_EQ(o.completed(), 2u);
  EXPECT_EQ(o.msg(1).target, "/after");
}

// ---- responses -------------------------------------------------------------------

TEST(Http1Parser, ResponseWithContentLength) {
  const Outcome o = parseAllWays(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
      "HTTP/1.1 204\r\nX-No-Reason: 1\r\n\r\n",
      response());
  ASSERT_EQ(o.completed(), 3u);
  EXPECT_EQ(o.msg(0).status, 200);
  EXPECT_EQ(o.msg(0).method, "");
  EXPECT_EQ(o.msg(0).body, "hello world");
  EXPECT_EQ(o.msg(0).headers, (Headers{{"Content-Type", "text/plain"}, {"Content-Length", "11"}}));
  EXPECT_EQ(o.msg(1).status, 404);
  EXPECT_EQ(o.msg(2).status, 204);
  EXPECT_EQ(o.msg(2).headers, (Headers{{"X-No-Reason", "1"}}));
}

TEST(Http1Parser, ResponseChunked) {
  const Outcome o = parseAllWays(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nEtag: 1\r\n\r\n",
      response());
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).body, "wikipedia");
  EXPECT_TRUE(o.msg(0).chunked);
}

// The response to HEAD carries Content-Length but no body; only the caller
// knows the request was HEAD, so it says SkipBody from onHead.
TEST(Http1Parser, SkipBodyForHeadResponse) {
  const std::string input =
      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
  FeedOptions opts = response();
  opts.on_head = Next::SkipBody;
  const Outcome o = parseAllWays(input, opts);
  ASSERT_EQ(o.completed(), 2u);
  for (const SeenMessage& m : o.messages) {
    EXPECT_EQ(m.content_length, 1234u);
    EXPECT_EQ(m.body, "");
  }
  // Without SkipBody the second head is eaten as body and the message waits.
  const Outcome eaten = feed(input, {}, response());
  EXPECT_EQ(eaten.completed(), 0u);
}

// llhttp 8 takes a 304's Content-Length as a body length (it knows nothing
// of the request), so the response codec returns SkipBody for 1xx/204/304,
// as the Next::SkipBody comment says. Pinned so that duty stays visible.
TEST(Http1Parser, NotModifiedNeedsSkipBodyFromTheCaller) {
  const std::string input =
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"e\"\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  FeedOptions opts = response();
  opts.skip_body_for_no_body_status = true;
  const Outcome o = parseAllWays(input, opts);
  ASSERT_EQ(o.completed(), 2u);
  EXPECT_EQ(o.msg(0).status, 304);
  EXPECT_EQ(o.msg(0).body, "");
  EXPECT_EQ(o.msg(1).body, "ok");

  const Outcome eaten = feed(input, {}, response());
  EXPECT_EQ(eaten.completed(), 0u);  // the next response became the 304's "body"
}

TEST(Http1Parser, ResponseBodyUntilEof) {
  FeedOptions opts = response();
  opts.finish = true;
  const Outcome o = parseAllWays("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nhello, until the peer closes", opts);
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).body, "hello, until the peer closes");
  EXPECT_FALSE(o.msg(0).keep_alive);
  EXPECT_EQ(o.finish_status, Status::Ok);

  // Before finish() the message is still open and needs EOF.
  Recorder rec(nullptr);
  Http1Parser parser(Type::Response, {}, rec);
  const std::string in = "HTTP/1.0 200 OK\r\n\r\nabc";
  EXPECT_EQ(parser.execute(in.data(), in.size()).status, Status::Ok);
  EXPECT_TRUE(parser.inMessage());
  EXPECT_TRUE(parser.messageNeedsEof());
  EXPECT_EQ(rec.completes, 0);
  EXPECT_EQ(parser.finish().status, Status::Ok);
  EXPECT_EQ(rec.completes, 1);
  EXPECT_FALSE(parser.inMessage());
}

TEST(Http1Parser, FinishMidBodyIsTruncated) {
  FeedOptions opts = response();
  opts.finish = true;
  const Outcome o = parseAllWays("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", opts);
  EXPECT_EQ(o.completed(), 0u);
  EXPECT_EQ(o.heads, 1);
  EXPECT_EQ(o.finish_status, Status::Error);
  EXPECT_EQ(o.finish_error, ParseError::Truncated);

  const Outcome chunked = parseAllWays("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", opts);
  EXPECT_EQ(chunked.finish_error, ParseError::Truncated);
  const Outcome head = parseAllWays("HTTP/1.1 200 OK\r\nContent-Le", opts);
  EXPECT_EQ(head.heads, 0);
  EXPECT_EQ(head.finish_error, ParseError::Truncated);
}

TEST(Http1Parser, FinishBetweenMessagesIsClean) {
  Recorder rec(nullptr);
  Http1Parser parser(Type::Request, {}, rec);
  EXPECT_EQ(parser.finish().status, Status::Ok);  // nothing was sent at all
  const std::string in = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parser.execute(in.data(), in.size()).status, Status::Ok);
  const ExecResult r = parser.finish();
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.error, ParseError::None);
  EXPECT_EQ(rec.completes, 1);

  // A request cut mid-head is truncated.
  Recorder rec2(nullptr);
  Http1Parser cut(Type::Request, {}, rec2);
  EXPECT_EQ(cut.execute(in.data(), 8).status, Status::Ok);
  EXPECT_TRUE(cut.inHead());
  const ExecResult t = cut.finish();
  EXPECT_EQ(t.status, Status::Error);
  EXPECT_EQ(t.error, ParseError::Truncated);
}

TEST(Http1Parser, ResponseLimitsApply) {
  FeedOptions opts = response();
  opts.limits = limits(1024, 4, 512, 10);
  EXPECT_EQ(parseAllWays("HTTP/1.1 200 OK\r\nX: " + std::string(2000, 'x') + "\r\n\r\n", opts).error,
            ParseError::HeadTooLarge);
  EXPECT_EQ(parseAllWays("HTTP/1.1 200 " + std::string(2000, 'r') + "\r\n\r\n", opts).error,
            ParseError::HeadTooLarge);
  EXPECT_EQ(parseAllWays("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", opts).error,
            ParseError::TooManyHeaders);
  EXPECT_EQ(parseAllWays("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", opts).error, ParseError::BodyTooLarge);
  opts.finish = true;
  EXPECT_EQ(parseAllWays("HTTP/1.1 200 OK\r\n\r\n" + std::string(50, 'e'), opts).error, ParseError::BodyTooLarge);
}

// ---- regressions: bugs this suite found ------------------------------------------------
// Each comment says what was wrong; each test now guards the fix (exact
// message start from llhttp's method/version spans, trailers measured on
// their own, strict llhttp, empty field names refused, finish() after a
// pause, the arena bounded by its own size). One stays disabled: the chunk
// extension case is a gap in llhttp 8.1 itself, not in the wrapper.

// The head limit is measured from llhttp's URL offset minus strlen(method)+1,
// but llhttp accepts any number of spaces after the method. Fed whole, a 20
// KiB head of spaces passes a 16 KiB limit; fed in pieces it is refused.
TEST(Http1Parser, SpacesAfterMethodCountTowardsTheHeadLimit) {
  const std::string input = "GET" + std::string(20000, ' ') + "/ HTTP/1.1\r\nHost: a\r\n\r\n";
  const Outcome o = parseAllWays(input);
  EXPECT_EQ(o.error, ParseError::HeadTooLarge);
}

// Trailer fields go through onHeaderField/Value, whose head-size check
// measures from the start of the message, body included.
TEST(Http1Parser, TrailersAfterALargeChunkedBodyAreAccepted) {
  const std::string input = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4e20\r\n" +
                            std::string(20000, 'x') + "\r\n0\r\nX-Trailer: 1\r\n\r\n";
  const Outcome o = parseAllWays(input);
  EXPECT_FALSE(o.error) << describe(o);
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).body.size(), 20000u);
}

// The start of a message is only recorded by onUrl/onStatus (or at the end
// of an execute() that left no message open). When one execute() finishes a
// message with a large body and begins the next without reaching its URL
// (or, for a response, without a reason phrase at all), the new head is
// measured from the start of the previous message.
TEST(Http1Parser, PipelinedHeadAfterALargeBodyIsNotTooLarge) {
  const std::string body(20000, 'x');
  const std::string req = "POST / HTTP/1.1\r\nContent-Length: 20000\r\n\r\n" + body + "GET /next HTTP/1.1\r\n\r\n";
  const size_t after_method = req.size() - std::string(" /next HTTP/1.1\r\n\r\n").size();
  const Outcome o = feed(req, {after_method}, {});
  EXPECT_FALSE(o.error) << describe(o);
  EXPECT_EQ(o.completed(), 2u);

  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + body +
                           "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n";
  const Outcome r = feed(resp, {}, response());
  EXPECT_FALSE(r.error) << describe(r);
  EXPECT_EQ(r.completed(), 2u);
}

// cmake/deps.cmake compiles llhttp.c without LLHTTP_STRICT_MODE, and loose
// llhttp 8.1 takes spaces inside and after a field name ("Host : evil" gives
// a field named "Host " that find("host") misses). RFC 9112 section 5.1: a
// server MUST reject whitespace between field name and colon with a 400.
TEST(Http1Parser, WhitespaceInFieldNamesIsRefused) {
  for (const char* input : {"GET / HTTP/1.1\r\nHost : evil\r\n\r\n", "GET / HTTP/1.1\r\nBad Header: v\r\n\r\n"}) {
    SCOPED_TRACE(printable(input));
    const Outcome o = parseAllWays(input);
    EXPECT_EQ(o.error, ParseError::Malformed);
    EXPECT_EQ(o.heads, 0);
  }
}

// llhttp 8.1 (loose or strict) takes a line that starts with ':' as a field
// with an empty name, and the wrapper passes it on. field-name is a token of
// at least one character (RFC 9110 section 5.1); a proxy that re-serializes
// the head would send ": x" upstream.
TEST(Http1Parser, EmptyFieldNameIsRefused) {
  for (const char* input : {"GET / HTTP/1.1\r\n: x\r\n\r\n", "GET / HTTP/1.1\r\n:Connection: close\r\n\r\n"}) {
    SCOPED_TRACE(printable(input));
    const Outcome o = parseAllWays(input);
    EXPECT_EQ(o.error, ParseError::Malformed);
    EXPECT_EQ(o.heads, 0);
  }
}

// Loose llhttp 8.1 ends a response status line at a CR followed by any byte,
// eating that byte: "200 OK\rX-Injected: 1" yields a field "-Injected".
// LLHTTP_STRICT_MODE answers "Expected LF after CR".
TEST(Http1Parser, BareCrInStatusLineIsRefused) {
  const Outcome o = parseAllWays("HTTP/1.1 200 OK\rX-Injected: 1\r\nContent-Length: 0\r\n\r\n", response());
  EXPECT_EQ(o.error, ParseError::Malformed);
  EXPECT_EQ(o.heads, 0);
}

// A codec that pauses after every message (one request at a time) and sees
// the peer close right after the last one: the message is complete, nothing
// is open, yet finish() says Truncated. Same after resumeAfterUpgrade(). After a Pause from onMessageComplete,
// llhttp has not run the node that marks the connection safe to close;
// an empty execute() after resume() does, so finish() could do the same.
TEST(Http1Parser, FinishAfterPauseOnTheLastByteIsClean) {
  Recorder rec(nullptr);
  rec.pause_on_complete = true;
  Http1Parser parser(Type::Request, {}, rec);
  const std::string in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const ExecResult r = parser.execute(in.data(), in.size());
  ASSERT_EQ(r.status, Status::Paused);
  EXPECT_EQ(r.consumed, in.size());
  parser.resume();
  EXPECT_FALSE(parser.inMessage());
  const ExecResult f = parser.finish();
  EXPECT_EQ(f.status, Status::Ok) << parseErrorName(f.error);

  // The same after a declined upgrade that ended on the last byte.
  Recorder rec2(nullptr);
  Http1Parser up(Type::Request, {}, rec2);
  const std::string upgrade = "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
  ASSERT_EQ(up.execute(upgrade.data(), upgrade.size()).status, Status::Upgrade);
  up.resumeAfterUpgrade();
  EXPECT_FALSE(up.inMessage());
  EXPECT_EQ(up.finish().status, Status::Ok);
}

// llhttp 8.1 refuses a chunk extension that follows an unquoted value
// (";a=b;c"), which RFC 9112 section 7.1.1 allows; after a quoted value it
// is accepted. An interop gap in llhttp rather than in the wrapper.
TEST(Http1Parser, DISABLED_ChunkExtensionAfterAnUnquotedValueIsAccepted) {
  const Outcome o = parseAllWays(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b;c\r\nhello\r\n0\r\n\r\n");
  EXPECT_FALSE(o.error) << describe(o);
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).body, "hello");
}

// releaseIdleMemory() between messages frees the header array and the
// stitching arena; the next message, stitched across reads again, parses
// as before (and ASan would see a use of the freed arena). Inside a message
// it changes nothing.
TEST(Http1Parser, ReleaseIdleMemoryBetweenMessagesKeepsParsing) {
  Recorder rec(nullptr);
  Http1Parser parser(Type::Request, {}, rec);
  const auto feedSplit = [&](const std::string& a, const std::string& b) {
    // Each piece in its own buffer, so the head must be stitched. Both live
    // until the message ends, as a session pins its input slices.
    auto first = std::make_unique<char[]>(a.size());
    auto second = std::make_unique<char[]>(b.size());
    std::memcpy(first.get(), a.data(), a.size());
    std::memcpy(second.get(), b.data(), b.size());
    EXPECT_EQ(parser.execute(first.get(), a.size()).status, Status::Ok);
    EXPECT_EQ(parser.execute(second.get(), b.size()).status, Status::Ok);
  };
  feedSplit("GET /one HTTP/1.1\r\nHost: exa", "mple.com\r\nX-A: 1\r\n\r\n");
  parser.releaseIdleMemory();
  feedSplit("GET /tw", "o HTTP/1.1\r\nHost: b\r\nX-B: two\r\n\r\n");
  // Mid-message (head partly read) the call must keep what is parsed so far.
  const std::string third_a = "GET /three HTTP/1.1\r\nHo";
  auto keep = std::make_unique<char[]>(third_a.size());
  std::memcpy(keep.get(), third_a.data(), third_a.size());
  ASSERT_EQ(parser.execute(keep.get(), third_a.size()).status, Status::Ok);
  parser.releaseIdleMemory();
  const std::string third_b = "st: c\r\n\r\n";
  ASSERT_EQ(parser.execute(third_b.data(), third_b.size()).status, Status::Ok);

  ASSERT_EQ(rec.completes, 3);
  EXPECT_EQ(rec.messages[0].target, "/one");
  ASSERT_EQ(rec.messages[0].headers.size(), 2u);
  EXPECT_EQ(rec.messages[0].headers[0].second, "example.com");
  EXPECT_EQ(rec.messages[1].target, "/two");
  ASSERT_EQ(rec.messages[1].headers.size(), 2u);
  EXPECT_EQ(rec.messages[1].headers[1].first, "X-B");
  EXPECT_EQ(rec.messages[1].headers[1].second, "two");
  EXPECT_EQ(rec.messages[2].target, "/three");
  ASSERT_EQ(rec.messages[2].headers.size(), 1u);
  EXPECT_EQ(rec.messages[2].headers[0].first, "Host");
  EXPECT_EQ(rec.messages[2].headers[0].second, "c");
}

// setLimits() after the arena exists keeps the old allocation but checks
// against the new max_head_bytes: raising the limit lets extend() write past
// the arena (heap-buffer-overflow under ASan; silent corruption otherwise).
TEST(Http1Parser, SetLimitsAfterStitchingStaysInBounds) {
  Recorder rec(nullptr);
  Http1Parser parser(Type::Request, limits(64, 100, 64, UINT64_MAX), rec);
  std::vector<std::unique_ptr<char[]>> keep;
  const auto drip = [&](const std::string& in) {
    for (char c : in) {
      keep.push_back(std::make_unique<char[]>(1));
      keep.back()[0] = c;
      if (parser.execute(keep.back().get(), 1).status != Status::Ok) {
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(drip("GET /ab HTTP/1.1\r\n\r\n"));  // allocates a 64-byte arena
  parser.setLimits(Http1Limits{});
  const std::string target = "/" + std::string(200, 'a');
  ASSERT_TRUE(drip("GET " + target + " HTTP/1.1\r\n\r\n"));
  ASSERT_EQ(rec.completes, 2);
  EXPECT_EQ(rec.messages[1].target, target);
}

}  // namespace
}  // namespace plexgate::parsers

namespace plexgate::parsers {
namespace {

// Found by the chunked fuzzer's reference checks: a trailer name split over
// many reads was charged its framing once per read, and trailers were
// stitched into the head's arena, so a head and trailers each within the
// limit overflowed it. Trailers are now measured once per field and never
// stored in the head.
TEST(Http1ParserTrailers, SplitTrailerNameIsChargedOnce) {
  const std::string input = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-" + std::string(900, 'n') +
                            ": v\r\n\r\n";
  const Outcome o = parseAllWays(input, withLimits(limits(1024, 100, 1024, UINT64_MAX)));
  EXPECT_FALSE(o.error) << describe(o);
  EXPECT_EQ(o.completed(), 1u);
}

TEST(Http1ParserTrailers, HeadAndTrailersEachWithinTheLimitPassSplit) {
  const std::string input = "POST / HTTP/1.1\r\nX-H: " + std::string(3000, 'h') +
                            "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + std::string(3000, 'v') + "\r\n\r\n";
  const Outcome o = parseAllWays(input, withLimits(limits(4096, 100, 4096, UINT64_MAX)));
  EXPECT_FALSE(o.error) << describe(o);
  ASSERT_EQ(o.completed(), 1u);
  EXPECT_EQ(o.msg(0).headers.size(), 2u) << "trailers are not added to the head";
}

}  // namespace
}  // namespace plexgate::parsers
