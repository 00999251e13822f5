// Shared by the request and response parser harnesses: the trap, the limit
// profiles, the digests that prove spans still hold their bytes, and the
// feeding loop that cuts the input into separately allocated pieces and
// drives execute()/resume() the way a connection does. Each harness keeps
// its own Checker and its own end-of-stream (finish()) expectations.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "parsers/http1_parser.h"

namespace http1fuzz {

using plexgate::parsers::ExecResult;
using plexgate::parsers::Http1Limits;
using plexgate::parsers::Http1Parser;
using plexgate::parsers::MessageHead;
using plexgate::parsers::ParseError;

inline void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// Small limits make every limit reachable from short inputs.
inline Http1Limits limitsFor(uint8_t profile) {
  static const Http1Limits kProfiles[4] = {
      {256, 8, 64, 64},
      {1024, 16, 256, 1024},
      {4096, 32, 1024, UINT64_MAX},
      {16 * 1024, 100, 8 * 1024, 1 << 20},
  };
  return kProfiles[profile & 3];
}

// FNV-1a over the bytes: the same for "ab","c" and "a","bc", which is what
// a body delivered in different chunks needs.
inline uint64_t mixBytes(uint64_t h, std::string_view s) {
  for (char c : s) {
    h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  }
  return h;
}

// One element of a head: a separator keeps "ab","c" apart from "a","bc".
inline uint64_t mix(uint64_t h, std::string_view s) {
  return (mixBytes(h, s) ^ 0xff) * 1099511628211ull;
}

inline uint64_t mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h = (h ^ ((v >> (i * 8)) & 0xff)) * 1099511628211ull;
  }
  return h;
}

// Reads every byte (ASan checks each) and returns a digest of them.
inline uint64_t headDigest(const MessageHead& head, size_t header_count) {
  uint64_t h = 1469598103934665603ull;
  h = mix(h, head.method);
  h = mix(h, head.target);
  for (size_t i = 0; i < header_count; ++i) {
    h = mix(h, head.headers[i].name);
    h = mix(h, head.headers[i].value);
  }
  return h;
}

struct RunResult {
  std::vector<uint64_t> completed;
  bool error = false;
  bool upgraded = false;
  bool open = false;
};

// Piece lengths: deterministic from the seed and the input.
class Cutter {
 public:
  Cutter(uint8_t mode, uint8_t seed, size_t size)
      : mode_(mode), x_(0x9e3779b97f4a7c15ull ^ (seed * 0x100000001b3ull) ^ size) {}

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

// The pieces fed so far: they must outlive finish(), whose callbacks still
// read the open message's spans.
using Pieces = std::vector<std::unique_ptr<char[]>>;

// Feeds `input` to `parser` in pieces cut by `cut_mode`, each piece in its
// own allocation kept in `live` (cleared once no message is open, so a
// stale span trips ASan). Pauses are resumed; upgrades resume or stop per
// opts.resume_upgrades. Returns true when the run stopped early (an error,
// or an upgrade not resumed); finish() is then not called by the caller.
template <class Checker, class Options>
bool feedPieces(Http1Parser& parser, const Checker& checker, std::string_view input, const Options& opts,
                uint8_t cut_mode, uint8_t seed, Pieces& live, RunResult& result) {
  Cutter cutter(cut_mode, seed, input.size());
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
      check(r.before_trailers <= r.consumed);
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
  return stopped;
}

}  // namespace http1fuzz
