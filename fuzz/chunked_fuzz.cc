// Fuzzes chunked request bodies in Http1Parser (parsers/http1_parser.h):
// a fixed head "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
// followed by the fuzz input, fed in pieces cut at seeded random points (the
// cuts fall in the head too), each piece in its own exact-size heap copy.
// Input layout:
//   byte 0: options (body limit, how to cut, pause in onBody)
//   byte 1: seed for the cut points
//   rest:   the chunked body (and whatever follows it)
// A strict reference decoder reads a small, unambiguous subset of the chunked
// grammar; whenever it accepts the input, the parser must deliver exactly the
// same body (or refuse it for its size). Broken promises are __builtin_trap().
// Seeds live in fuzz/corpus/chunked/, tokens in fuzz/http.dict.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/http1_parser.h"

namespace {

using plexgate::parsers::ExecResult;
using plexgate::parsers::Http1Handler;
using plexgate::parsers::Http1Limits;
using plexgate::parsers::Http1Parser;
using plexgate::parsers::MessageHead;
using plexgate::parsers::Next;
using plexgate::parsers::ParseError;

constexpr std::string_view kHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// ---- reference decoder ------------------------------------------------------------

// Accepts only: 1-8 hex digits, extensions ";name" with at most one final
// ";name=value" ([a-z0-9]+ tokens), CRLF, data, CRLF ... a zero-size chunk, then trailers
// "X-name: value" ([A-Za-z0-9-] names starting with X-, [a-z0-9] values),
// then CRLF. Everything it accepts is valid HTTP/1.1; much that is valid
// (quoted extensions, other trailers) it declines, and then checks nothing.
struct Reference {
  std::string body;
  size_t trailers = 0;
  // What the parser charges trailers against max_head_bytes: each field's
  // name and value plus 4 (": " and CRLF), whatever the cuts.
  uint64_t trailer_cost = 0;
};

bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hexValue(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }
bool isTokenChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isNameChar(char c) { return isTokenChar(c) || (c >= 'A' && c <= 'Z') || c == '-'; }

std::optional<Reference> decodeStrict(std::string_view in) {
  Reference ref;
  size_t i = 0;
  const auto crlf = [&] {
    if (in.size() - i >= 2 && in[i] == '\r' && in[i + 1] == '\n') {
      i += 2;
      return true;
    }
    return false;
  };
  const auto token = [&] {
    const size_t start = i;
    while (i < in.size() && isTokenChar(in[i])) {
      ++i;
    }
    return i > start;
  };
  for (;;) {
    const size_t start = i;
    uint64_t size = 0;
    while (i < in.size() && isHex(in[i]) && i - start < 8) {
      size = size * 16 + static_cast<uint64_t>(hexValue(in[i]));
      ++i;
    }
    if (i == start || (i < in.size() && isHex(in[i]))) {
      return std::nullopt;
    }
    // llhttp 8.1 refuses an extension after an unquoted value (";a=b;c",
    // valid per RFC 9112 section 7.1.1), so a valued extension comes last.
    while (i < in.size() && in[i] == ';') {
      ++i;
      if (!token()) {
        return std::nullopt;
      }
      if (i < in.size() && in[i] == '=') {
        ++i;
        if (!token()) {
          return std::nullopt;
        }
        break;
      }
    }
    if (!crlf()) {
      return std::nullopt;
    }
    if (size == 0) {
      break;
    }
    if (in.size() - i < size + 2) {
      return std::nullopt;
    }
    ref.body.append(in.substr(i, size));
    i += size;
    if (!crlf()) {
      return std::nullopt;
    }
  }
  for (;;) {
    if (crlf()) {
      return ref;
    }
    if (in.size() - i < 3 || (in[i] != 'x' && in[i] != 'X') || in[i + 1] != '-') {
      return std::nullopt;
    }
    const size_t name_start = i;
    i += 2;
    while (i < in.size() && isNameChar(in[i])) {
      ++i;
    }
    const size_t name_len = i - name_start;
    if (i >= in.size() || in[i] != ':') {
      return std::nullopt;
    }
    ++i;
    if (i < in.size() && in[i] == ' ') {
      ++i;
    }
    const size_t value_start = i;
    while (i < in.size() && isTokenChar(in[i])) {
      ++i;
    }
    const size_t value_len = i - value_start;
    if (!crlf()) {
      return std::nullopt;
    }
    ++ref.trailers;
    ref.trailer_cost += name_len + value_len + 4;
  }
}

// ---- parser run -------------------------------------------------------------------

Http1Limits limitsFor(uint8_t profile) {
  static const uint64_t kBody[4] = {16, 1024, 64 * 1024, UINT64_MAX};
  Http1Limits l;
  l.max_head_bytes = 4096;
  l.max_headers = 16;
  l.max_uri_bytes = 256;
  l.max_body_bytes = kBody[profile & 3];
  return l;
}

class Checker : public Http1Handler {
 public:
  Checker(const Http1Limits& limits, bool pause_bodies) : limits_(limits), pause_bodies_(pause_bodies) {}
  void setParser(const Http1Parser* p) { parser_ = p; }

  void onMessageBegin() override {
    check(!open_);
    open_ = true;
    head_ = nullptr;
    body_.clear();
  }

  Next onHead(MessageHead& head) override {
    check(open_ && head_ == nullptr);
    if (messages_ == 0) {
      // The fixed head, whatever the cuts: stitching got every byte right.
      check(head.method == "POST" && head.target == "/");
      check(head.headers.size() == 2);
      check(head.headers[0].name == "Host" && head.headers[0].value == "a");
      check(head.headers[1].name == "Transfer-Encoding" && head.headers[1].value == "chunked");
      check(head.chunked && !head.content_length);
    }
    check(head.headers.size() <= limits_.max_headers);
    if (head.content_length) {
      check(!head.chunked);
    }
    head_ = &head;
    header_count_ = head.headers.size();
    return Next::Continue;
  }

  Next onBody(std::string_view chunk) override {
    check(head_ != nullptr);
    body_.append(chunk);  // reads every byte
    check(body_.size() == parser_->bodyBytes());
    check(body_.size() <= limits_.max_body_bytes);
    return pause_bodies_ ? Next::Pause : Next::Continue;
  }

  Next onMessageComplete() override {
    check(open_ && head_ != nullptr);
    check(body_.size() == parser_->bodyBytes());
    check(head_->headers.size() >= header_count_);
    check(head_->headers.size() <= limits_.max_headers);
    size_t touched = 0;
    for (const auto& f : head_->headers) {  // trailers included
      for (char c : f.name) {
        touched += static_cast<unsigned char>(c);
      }
      for (char c : f.value) {
        touched += static_cast<unsigned char>(c);
      }
    }
    (void)touched;
    if (messages_ == 0) {
      check(head_->headers[1].value == "chunked");
      first_body_ = body_;
    }
    open_ = false;
    ++messages_;
    return Next::Continue;
  }

  size_t messages() const { return messages_; }
  const std::optional<std::string>& firstBody() const { return first_body_; }

 private:
  const Http1Limits& limits_;
  bool pause_bodies_;
  const Http1Parser* parser_ = nullptr;
  bool open_ = false;
  const MessageHead* head_ = nullptr;
  size_t header_count_ = 0;
  std::string body_;
  size_t messages_ = 0;
  std::optional<std::string> first_body_;
};

struct RunResult {
  std::optional<std::string> first_body;
  std::optional<ParseError> error;
};

RunResult run(std::string_view stream, uint8_t profile, uint8_t cut_mode, uint8_t seed, bool pause_bodies) {
  const Http1Limits limits = limitsFor(profile);
  Checker checker(limits, pause_bodies);
  Http1Parser parser(Http1Parser::Type::Request, limits, checker);
  checker.setParser(&parser);

  uint64_t x = 0x9e3779b97f4a7c15ull ^ (seed * 0x100000001b3ull) ^ stream.size();
  RunResult result;
  std::vector<std::unique_ptr<char[]>> live;
  size_t offset = 0;
  size_t guard = 0;
  while (offset < stream.size() && !result.error) {
    size_t len = stream.size() - offset;
    if (cut_mode == 1) {
      len = 1;
    } else if (cut_mode >= 2) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      const size_t n = 1 + static_cast<size_t>(x % (cut_mode == 2 ? 7 : 97));
      len = n < len ? n : len;
    }
    live.push_back(std::make_unique<char[]>(len));
    char* piece = live.back().get();
    std::memcpy(piece, stream.data() + offset, len);
    offset += len;
    size_t pos = 0;
    while (pos < len) {
      check(++guard < 8 * stream.size() + 64);
      const ExecResult r = parser.execute(piece + pos, len - pos);
      check(r.consumed <= len - pos);
      if (r.status == ExecResult::Status::Ok) {
        check(r.consumed == len - pos);
        pos = len;
      } else if (r.status == ExecResult::Status::Paused) {
        pos += r.consumed;
        parser.resume();
      } else if (r.status == ExecResult::Status::Upgrade) {
        pos += r.consumed;
        parser.resumeAfterUpgrade();
      } else {
        check(r.error != ParseError::None);
        result.error = r.error;
        break;
      }
    }
    if (!result.error && !parser.inMessage()) {
      live.clear();
    }
  }
  result.first_body = checker.firstBody();
  return result;
}

void checkAgainstReference(const RunResult& r, const std::optional<Reference>& ref, const Http1Limits& limits) {
  if (r.first_body && limits.max_body_bytes != UINT64_MAX) {
    check(r.first_body->size() <= limits.max_body_bytes);
  }
  if (!ref) {
    return;
  }
  if (ref->body.size() > limits.max_body_bytes) {
    check(!r.first_body);
    check(r.error == ParseError::BodyTooLarge);
    return;
  }
  if (!r.first_body) {
    // Trailers share the head's field budget.
    if (ref->trailers > 0 && r.error == ParseError::TooManyHeaders) {
      check(2 + ref->trailers > limits.max_headers);
      return;
    }
    // Trailers have their own max_head_bytes allowance, charged the same
    // however the input was cut.
    if (r.error == ParseError::HeadTooLarge) {
      check(ref->trailer_cost > limits.max_head_bytes);
      return;
    }
    check(false);  // the reference accepted a body the parser did not
  }
  check(*r.first_body == ref->body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const uint8_t profile = data[0] & 3;
  const uint8_t cut_mode = (data[0] >> 2) & 3;
  const bool pause_bodies = (data[0] & 0x10) != 0;
  const uint8_t seed = data[1];
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  std::string stream(kHead);
  stream.append(body);

  const std::optional<Reference> ref = decodeStrict(body);
  const Http1Limits limits = limitsFor(profile);
  const RunResult whole = run(stream, profile, 0, seed, pause_bodies);
  const RunResult cut = run(stream, profile, cut_mode == 0 ? 1 : cut_mode, seed, pause_bodies);
  checkAgainstReference(whole, ref, limits);
  checkAgainstReference(cut, ref, limits);
  if (whole.first_body && cut.first_body) {
    check(*whole.first_body == *cut.first_body);
  }
  if (!whole.error && !cut.error) {
    check(whole.first_body.has_value() == cut.first_body.has_value());
  }
  return 0;
}
