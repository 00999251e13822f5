// Fuzzes Http1Parser (parsers/http1_parser.h) on responses, ending every run
// with finish() as when the upstream closes. Input layout:
//   byte 0: options (limits profile, how to cut the input, pause/skip choices)
//   byte 1: seed for the cut points
//   rest:   bytes from the upstream
// The rest is parsed twice: whole, and cut into pieces that each live in
// their own exact-size heap copy (so every element split across pieces is
// stitched, and a span read past its piece is a heap overflow under ASan).
// Pieces are freed as soon as no message is open, so a span that outlives its
// message is a use-after-free. The handler reads every byte of every span and
// checks what the parser promises; a broken promise is __builtin_trap().
// The two runs must agree on every message both completed.
// Like a response codec, the handler returns SkipBody for 1xx/204/304 and,
// when asked, for every third message (the answer to a HEAD request).
// Seeds live in fuzz/corpus/http1_response/, tokens in fuzz/http.dict.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "parsers/http1_parser.h"

namespace {

using plexgate::parsers::ExecResult;
using plexgate::parsers::HeaderField;
using plexgate::parsers::Http1Handler;
using plexgate::parsers::Http1Limits;
using plexgate::parsers::Http1Parser;
using plexgate::parsers::MessageHead;
using plexgate::parsers::Next;
using plexgate::parsers::ParseError;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// Small limits make every limit reachable from short inputs.
Http1Limits limitsFor(uint8_t profile) {
  static const Http1Limits kProfiles[4] = {
      {256, 8, 64, 64},
      {1024, 16, 256, 1024},
      {4096, 32, 1024, UINT64_MAX},
      {16 * 1024, 100, 8 * 1024, 1 << 20},
  };
  return kProfiles[profile & 3];
}

struct Options {
  uint8_t profile;
  uint8_t cut_mode;       // 0 whole, 1 byte by byte, 2 pieces up to 16, 3 pieces up to 256
  bool pause_odd_heads;   // Pause from onHead of every odd message
  bool pause_completes;   // Pause from every onMessageComplete
  bool pause_bodies;      // Pause from every onBody
  bool head_requests;     // every third message answers a HEAD: SkipBody
  bool resume_upgrades;   // resumeAfterUpgrade() instead of stopping
};

// FNV-1a over the bytes: the same for "ab","c" and "a","bc", which is what
// a body delivered in different chunks needs.
uint64_t mixBytes(uint64_t h, std::string_view s) {
  for (char c : s) {
    h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  }
  return h;
}

// One element of a head: a separator keeps "ab","c" apart from "a","bc".
uint64_t mix(uint64_t h, std::string_view s) { return (mixBytes(h, s) ^ 0xff) * 1099511628211ull; }

uint64_t mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h = (h ^ ((v >> (i * 8)) & 0xff)) * 1099511628211ull;
  }
  return h;
}

// Reads every byte (ASan checks each) and returns a digest of them.
uint64_t headDigest(const MessageHead& head, size_t header_count) {
  uint64_t h = 1469598103934665603ull;
  h = mix(h, head.method);
  h = mix(h, head.target);
  for (size_t i = 0; i < header_count; ++i) {
    h = mix(h, head.headers[i].name);
    h = mix(h, head.headers[i].value);
  }
  return h;
}

class Checker : public Http1Handler {
 public:
  Checker(const Options& opts, const Http1Limits& limits) : opts_(opts), limits_(limits) {}

  void setParser(const Http1Parser* p) { parser_ = p; }

  void onMessageBegin() override {
    check(!open_);
    check(parser_->inMessage() && parser_->inHead());
    open_ = true;
    head_ = nullptr;
    body_bytes_ = 0;
    body_digest_ = 1469598103934665603ull;
  }

  Next onHead(MessageHead& head) override {
    check(open_ && head_ == nullptr);
    check(parser_->inMessage() && !parser_->inHead());
    check(head.http_major == 1);
    check(head.method.empty());
    check(head.target.empty());
    check(head.status >= 0 && head.status <= 999);
    check(head.headers.size() <= limits_.max_headers);
    uint64_t span_bytes = 0;
    for (const HeaderField& f : head.headers) {
      check(!f.name.empty());  // ": v" is refused
      span_bytes += f.name.size() + f.value.size();
    }
    check(span_bytes <= limits_.max_head_bytes);
    if (head.content_length) {
      check(*head.content_length <= limits_.max_body_bytes);
      check(!head.chunked);  // CL with TE is refused, never resolved
    }
    const int status = head.status;
    skip_ = status / 100 == 1 || status == 204 || status == 304 ||
            (opts_.head_requests && completed_.size() % 3 == 0);
    if (!head.headers.empty()) {
      check(head.find(head.headers[0].name) == &head.headers[0]);
    }
    head_ = &head;
    header_count_ = head.headers.size();
    head_digest_ = headDigest(head, header_count_);
    content_length_ = head.content_length;
    upgrade_ = head.upgrade;
    // Framing as the head declared it. llhttp_message_needs_eof() is not a
    // reliable witness later: trailer fields run through llhttp's header
    // logic, so a trailer named Transfer-Encoding flips its flags.
    until_close_ = !skip_ && !head.chunked && !head.content_length;
    if (skip_) {
      return Next::SkipBody;
    }
    const bool odd = (completed_.size() & 1) != 0;
    return (opts_.pause_odd_heads && odd) ? Next::Pause : Next::Continue;
  }

  Next onBody(std::string_view chunk) override {
    check(head_ != nullptr);
    check(!skip_);
    body_bytes_ += chunk.size();
    body_digest_ = mixBytes(body_digest_, chunk);
    check(body_bytes_ <= limits_.max_body_bytes);
    check(body_bytes_ == parser_->bodyBytes());
    if (content_length_) {
      check(body_bytes_ <= *content_length_);
    }
    return opts_.pause_bodies ? Next::Pause : Next::Continue;
  }

  Next onMessageComplete() override {
    check(open_ && head_ != nullptr);
    check(!parser_->inMessage());
    check(body_bytes_ == parser_->bodyBytes());
    // CONNECT (and any upgrade without a body) ends at its head: what
    // follows is the tunnel, whatever Content-Length said.
    if (content_length_ && !skip_ && !(upgrade_ && body_bytes_ == 0)) {
      check(body_bytes_ == *content_length_);
    }
    // The head's spans still hold what they held at onHead. (Trailers may
    // have been appended after them; they are read too.)
    check(head_->headers.size() >= header_count_);
    check(headDigest(*head_, header_count_) == head_digest_);
    (void)headDigest(*head_, head_->headers.size());
    open_ = false;
    completed_.push_back(mix(head_digest_, body_digest_));
    return opts_.pause_completes ? Next::Pause : Next::Continue;
  }

  const std::vector<uint64_t>& completed() const { return completed_; }
  bool open() const { return open_; }
  bool untilClose() const { return open_ && head_ != nullptr && until_close_; }
  // Every byte of the open message has arrived (only its completion may
  // still be pending after a Pause on the last byte).
  bool bodyWhole() const {
    return open_ && head_ != nullptr && (skip_ || (content_length_ && body_bytes_ == *content_length_));
  }

 private:
  const Options& opts_;
  const Http1Limits& limits_;
  const Http1Parser* parser_ = nullptr;
  bool open_ = false;
  const MessageHead* head_ = nullptr;
  size_t header_count_ = 0;
  uint64_t head_digest_ = 0;
  std::optional<uint64_t> content_length_;
  bool upgrade_ = false;
  bool skip_ = false;
  bool until_close_ = false;
  uint64_t body_bytes_ = 0;
  uint64_t body_digest_ = 0;
  std::vector<uint64_t> completed_;
};

struct RunResult {
  std::vector<uint64_t> completed;
  bool error = false;
  bool upgraded = false;
  bool open = false;
};

// Piece lengths: deterministic from the seed and the input.
class Cutter {
 public:
  Cutter(uint8_t mode, uint8_t seed, size_t size) : mode_(mode), x_(0x9e3779b97f4a7c15ull ^ (seed * 0x100000001b3ull) ^ size) {}

  size_t next(size_t remaining) {
    size_t n = remaining;
    if (mode_ == 1) {
      n = 1;
    } else if (mode_ >= 2) {
      x_ ^= x_ << 13;
      x_ ^= x_ >> 7;
      x_ ^= x_ << 17;
      const size_t max = mode_ == 2 ? 16 : 256;
      n = 1 + static_cast<size_t>(x_ % max);
    }
    return n < remaining ? n : remaining;
  }

 private:
  uint8_t mode_;
  uint64_t x_;
};

RunResult run(std::string_view input, const Options& opts, uint8_t cut_mode, uint8_t seed) {
  const Http1Limits limits = limitsFor(opts.profile);
  Checker checker(opts, limits);
  Http1Parser parser(Http1Parser::Type::Response, limits, checker);
  checker.setParser(&parser);
  Cutter cutter(cut_mode, seed, input.size());

  RunResult result;
  std::vector<std::unique_ptr<char[]>> live;
  size_t offset = 0;
  size_t guard = 0;
  bool stopped = false;
  while (offset < input.size() && !stopped) {
    const size_t len = cutter.next(input.size() - offset);
    live.push_back(std::make_unique<char[]>(len));
    char* piece = live.back().get();
    std::memcpy(piece, input.data() + offset, len);
    offset += len;
    size_t pos = 0;
    while (pos < len) {
      check(++guard < 8 * input.size() + 64);  // every pause makes progress
      const ExecResult r = parser.execute(piece + pos, len - pos);
      check(r.consumed <= len - pos);
      if (r.status == ExecResult::Status::Ok) {
        check(r.consumed == len - pos);
        check(r.error == ParseError::None);
        pos = len;
      } else if (r.status == ExecResult::Status::Paused) {
        pos += r.consumed;
        parser.resume();
      } else if (r.status == ExecResult::Status::Upgrade) {
        result.upgraded = true;
        check(!parser.inMessage());
        pos += r.consumed;
        if (!opts.resume_upgrades) {
          stopped = true;
          break;
        }
        parser.resumeAfterUpgrade();
      } else {
        check(r.error != ParseError::None && r.error != ParseError::Truncated);
        check(r.reason != nullptr);
        result.error = true;
        stopped = true;
        break;
      }
    }
    check(checker.open() == parser.inMessage() || stopped);
    if (!stopped && !parser.inMessage()) {
      live.clear();  // nothing may point into these any more
    }
  }
  if (!stopped) {
    // The upstream closed: a read-until-close body completes here.
    const bool needed_eof = parser.inMessage() && !parser.inHead() && checker.untilClose();
    const bool whole = parser.inMessage() && !parser.inHead() && checker.bodyWhole();
    const size_t before = checker.completed().size();
    const ExecResult f = parser.finish();
    check(f.consumed == 0);
    if (f.status == ExecResult::Status::Error) {
      check(f.error == ParseError::Truncated);
      // Only an open message is truncated, even right after a Pause or an
      // Upgrade on the very last byte.
      // (A Pause inside onBody on the last byte still reads as truncated.)
      check(parser.inMessage() && !needed_eof);
      result.error = true;
    } else {
      check(!parser.inMessage());
      const size_t done = checker.completed().size() - before;
      check(needed_eof ? done == 1 : (done == 0 || (done == 1 && whole)));
    }
  }
  result.completed = checker.completed();
  result.open = checker.open();
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  Options opts{};
  opts.profile = data[0] & 3;
  opts.cut_mode = (data[0] >> 2) & 3;
  opts.pause_odd_heads = (data[0] & 0x10) != 0;
  opts.pause_completes = (data[0] & 0x20) != 0;
  opts.pause_bodies = (data[1] & 0x01) != 0;
  opts.head_requests = (data[0] & 0x40) != 0;
  opts.resume_upgrades = (data[0] & 0x80) != 0;
  const uint8_t seed = data[1];
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  const RunResult whole = run(input, opts, 0, seed);
  // Byte by byte when the options asked for "whole", so there is always a
  // stitched run to compare with.
  const RunResult cut = run(input, opts, opts.cut_mode == 0 ? 1 : opts.cut_mode, seed);

  // Messages both runs completed are the same messages.
  const size_t common = whole.completed.size() < cut.completed.size() ? whole.completed.size() : cut.completed.size();
  for (size_t i = 0; i < common; ++i) {
    check(whole.completed[i] == cut.completed[i]);
  }
  // Without an error on either side the runs agree on everything. (With an
  // error they may not: where a limit trips depends on where the cuts fall.)
  if (!whole.error && !cut.error) {
    check(whole.completed.size() == cut.completed.size());
    check(whole.upgraded == cut.upgraded);
    check(whole.open == cut.open);
  }
  return 0;
}
