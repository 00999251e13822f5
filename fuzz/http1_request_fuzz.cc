// Fuzzes Http1Parser (parsers/http1_parser.h) on requests. Input layout:
//   byte 0: options (limits profile, how to cut the input, pause/upgrade choices)
//   byte 1: seed for the cut points
//   rest:   bytes from the downstream
// The rest is parsed twice: whole, and cut into pieces that each live in
// their own exact-size heap copy (so every element split across pieces is
// stitched, and a span read past its piece is a heap overflow under ASan).
// Pieces are freed as soon as no message is open, so a span that outlives its
// message is a use-after-free. The handler reads every byte of every span and
// checks what the parser promises; a broken promise is __builtin_trap().
// The two runs must agree on every message both completed.
// Seeds live in fuzz/corpus/http1_request/, tokens in fuzz/http.dict.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "fuzz/http1_fuzz_common.h"
#include "parsers/http1_parser.h"

namespace {

using namespace http1fuzz;
using plexgate::parsers::ExecResult;
using plexgate::parsers::HeaderField;
using plexgate::parsers::Http1Handler;
using plexgate::parsers::Http1Limits;
using plexgate::parsers::Http1Parser;
using plexgate::parsers::MessageHead;
using plexgate::parsers::Next;
using plexgate::parsers::ParseError;

struct Options {
  uint8_t profile;
  uint8_t cut_mode;      // 0 whole, 1 byte by byte, 2 pieces up to 16, 3 pieces up to 256
  bool pause_odd_heads;  // Pause from onHead of every odd message
  bool pause_completes;  // Pause from every onMessageComplete
  bool pause_bodies;     // Pause from every onBody
  bool resume_upgrades;  // resumeAfterUpgrade() instead of stopping
};

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
    check(!head.method.empty());
    check(!head.target.empty());
    check(head.target.size() <= limits_.max_uri_bytes);
    check(head.headers.size() <= limits_.max_headers);
    uint64_t span_bytes = head.target.size();
    for (const HeaderField& f : head.headers) {
      check(!f.name.empty());  // ": v" is refused
      span_bytes += f.name.size() + f.value.size();
    }
    check(span_bytes <= limits_.max_head_bytes);
    if (head.content_length) {
      check(*head.content_length <= limits_.max_body_bytes);
      check(!head.chunked);  // CL with TE is refused, never resolved
    }
    if (!head.headers.empty()) {
      check(head.find(head.headers[0].name) == &head.headers[0]);
    }
    head_ = &head;
    header_count_ = head.headers.size();
    head_digest_ = headDigest(head, header_count_);
    content_length_ = head.content_length;
    upgrade_ = head.upgrade;
    const bool odd = (completed_.size() & 1) != 0;
    return (opts_.pause_odd_heads && odd) ? Next::Pause : Next::Continue;
  }

  Next onBody(std::string_view chunk) override {
    check(head_ != nullptr);
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
    if (content_length_ && !(upgrade_ && body_bytes_ == 0)) {
      check(body_bytes_ == *content_length_);
    }
    // The head's spans still hold what they held at onHead. (Trailers may
    // have been appended after them; they are read too.)
    check(head_->headers.size() >= header_count_);
    check(headDigest(*head_, header_count_) == head_digest_);
    (void)headDigest(*head_, head_->headers.size());
    // Trailers are the parser's own copies: every byte readable, no empty
    // name, no line break (folds joined), within their allowances.
    check(parser_->trailers().size() <= limits_.max_headers);
    for (const HeaderField& t : parser_->trailers()) {
      check(!t.name.empty());
      check(t.name.find_first_of("\r\n") == std::string_view::npos);
      check(t.value.find_first_of("\r\n") == std::string_view::npos);
      check(t.name.size() + t.value.size() <= limits_.max_head_bytes);
    }
    open_ = false;
    completed_.push_back(mix(head_digest_, body_digest_));
    return opts_.pause_completes ? Next::Pause : Next::Continue;
  }

  const std::vector<uint64_t>& completed() const { return completed_; }
  bool open() const { return open_; }

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
  uint64_t body_bytes_ = 0;
  uint64_t body_digest_ = 0;
  std::vector<uint64_t> completed_;
};

RunResult run(std::string_view input, const Options& opts, uint8_t cut_mode, uint8_t seed) {
  const Http1Limits limits = limitsFor(opts.profile);
  Checker checker(opts, limits);
  Http1Parser parser(Http1Parser::Type::Request, limits, checker);
  checker.setParser(&parser);

  RunResult result;
  Pieces live;
  const bool stopped = feedPieces(parser, checker, input, opts, cut_mode, seed, live, result);
  if (!stopped) {
    const ExecResult f = parser.finish();
    if (f.status == ExecResult::Status::Error) {
      check(f.error == ParseError::Truncated);
      // Only an open message is truncated, even right after a Pause or an
      // Upgrade on the very last byte.
      check(parser.inMessage());
    } else {
      check(!parser.inMessage());
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
  opts.pause_bodies = (data[0] & 0x40) != 0;
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
