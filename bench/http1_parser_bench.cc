// Microbenchmarks for Http1Parser (parsers/http1_parser.h): one parser is
// reused across iterations, as on a keep-alive connection, and every
// iteration parses complete requests, so each execute() starts and ends at a
// message boundary. Three shapes: a minimal GET (~60 B), a typical browser
// request (~500 B, 12 headers) and a 60-header request; each fed one request
// per execute(), 64 pipelined requests per execute(), and split in two
// non-adjacent pieces (the stitching path). Reports bytes/s and requests/s.
// A fourth shape is an API client's head: `Authorization: Bearer` with a
// ~1.5 KiB RS256 JWT and a ~4 KiB Cookie header, the long header values the
// scanners meet behind an SSO gateway.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "bench/sample_requests.h"
#include "parsers/http1_parser.h"

namespace {

using plexgate::bench::requestFor;
using plexgate::bench::shapeName;
using plexgate::parsers::ExecResult;
using plexgate::parsers::Http1Handler;
using plexgate::parsers::Http1Limits;
using plexgate::parsers::Http1Parser;
using plexgate::parsers::MessageHead;
using plexgate::parsers::Next;

// What a codec does at minimum: look at the head, count the body.
class CountingHandler : public Http1Handler {
 public:
  Next onHead(MessageHead& head) override {
    benchmark::DoNotOptimize(head.headers.data());
    benchmark::DoNotOptimize(head.target.data());
    return Next::Continue;
  }
  Next onBody(std::string_view chunk) override {
    body_bytes += chunk.size();
    return Next::Continue;
  }
  Next onMessageComplete() override {
    ++messages;
    return Next::Continue;
  }
  uint64_t body_bytes = 0;
  uint64_t messages = 0;
};

void requireOk(benchmark::State& state, const ExecResult& r) {
  if (r.status != ExecResult::Status::Ok) {
    state.SkipWithError(r.reason != nullptr ? r.reason : "parse failed");
  }
}

// One request per execute() on a reused parser.
void BM_Http1ParseRequest(benchmark::State& state) {
  const std::string req = requestFor(state.range(0));
  CountingHandler handler;
  Http1Parser parser(Http1Parser::Type::Request, Http1Limits{}, handler);
  for (auto _ : state) {
    const ExecResult r = parser.execute(req.data(), req.size());
    benchmark::DoNotOptimize(r);
    if (r.status != ExecResult::Status::Ok) {
      requireOk(state, r);
      break;
    }
  }
  if (handler.messages != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("lost a message");
  }
  state.SetLabel(shapeName(state.range(0)));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(req.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Http1ParseRequest)->Arg(0)->Arg(1)->Arg(2);

// 64 pipelined copies back to back in one execute().
void BM_Http1ParsePipelined64(benchmark::State& state) {
  constexpr int kCopies = 64;
  const std::string one = requestFor(state.range(0));
  std::string buf;
  for (int i = 0; i < kCopies; ++i) {
    buf += one;
  }
  CountingHandler handler;
  Http1Parser parser(Http1Parser::Type::Request, Http1Limits{}, handler);
  for (auto _ : state) {
    const ExecResult r = parser.execute(buf.data(), buf.size());
    benchmark::DoNotOptimize(r);
    if (r.status != ExecResult::Status::Ok) {
      requireOk(state, r);
      break;
    }
  }
  state.SetLabel(shapeName(state.range(0)));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(buf.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kCopies);
}
BENCHMARK(BM_Http1ParsePipelined64)->Arg(0)->Arg(1)->Arg(2);

// The request arrives in two reads into separate buffers, cut in the middle
// of a header value: the cut element is stitched into the parser's arena.
void BM_Http1ParseSplitInTwo(benchmark::State& state) {
  const std::string req = requestFor(state.range(0));
  const size_t cut = req.find(": ", req.size() / 2) + 4;
  const auto first = std::make_unique<char[]>(cut);
  const auto second = std::make_unique<char[]>(req.size() - cut);
  std::memcpy(first.get(), req.data(), cut);
  std::memcpy(second.get(), req.data() + cut, req.size() - cut);
  CountingHandler handler;
  Http1Parser parser(Http1Parser::Type::Request, Http1Limits{}, handler);
  for (auto _ : state) {
    const ExecResult a = parser.execute(first.get(), cut);
    const ExecResult b = parser.execute(second.get(), req.size() - cut);
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
    if (a.status != ExecResult::Status::Ok || b.status != ExecResult::Status::Ok) {
      state.SkipWithError("parse failed");
      break;
    }
  }
  state.SetLabel(shapeName(state.range(0)));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(req.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Http1ParseSplitInTwo)->Arg(0)->Arg(1)->Arg(2);

// A POST with a body of Arg bytes: body spans are handed out, not copied.
void BM_Http1ParsePostBody(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string req =
      "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" + std::string(n, 'b');
  CountingHandler handler;
  Http1Parser parser(Http1Parser::Type::Request, Http1Limits{}, handler);
  for (auto _ : state) {
    const ExecResult r = parser.execute(req.data(), req.size());
    benchmark::DoNotOptimize(r);
    if (r.status != ExecResult::Status::Ok) {
      requireOk(state, r);
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(req.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Http1ParsePostBody)->Arg(1)->Arg(4096)->Arg(65536);

// Deterministic base64url text of n characters (a stand-in for JWT parts).
std::string base64urlText(size_t n, uint32_t seed) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out(n, 'A');
  uint32_t x = seed;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;
    c = kAlphabet[(x >> 26) & 63];
  }
  return out;
}

// header.payload.signature: a 36-char header, ~1.1 KiB of claims and the
// 342-char base64url of a 2048-bit RS256 signature: 1,536 bytes in all.
std::string jwt() {
  return "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + base64urlText(1536 - 36 - 1 - 1 - 342, 1) + "." +
         base64urlText(342, 2);
}

std::string jwtRequest() {
  std::string cookie = "apimlAuthenticationToken=" + jwt();
  for (uint32_t i = 0; cookie.size() < 4096; ++i) {
    cookie += "; pref_" + std::to_string(i) + "=" + base64urlText(100, 10 + i);
  }
  cookie.resize(4096);  // cut to exactly 4 KiB of value
  return "GET /zosmf/restfiles/ds?dslevel=SYS1.PARMLIB HTTP/1.1\r\n"
         "Host: gateway.example.com:7554\r\n"
         "User-Agent: zowe-cli/7.18.0 node/18.17.1 linux\r\n"
         "Accept: application/json\r\n"
         "Accept-Encoding: gzip, deflate, br\r\n"
         "X-CSRF-ZOSMF-HEADER: true\r\n"
         "Authorization: Bearer " +
         jwt() +
         "\r\n"
         "Cookie: " +
         cookie +
         "\r\n"
         "Connection: keep-alive\r\n"
         "\r\n";
}

// The JWT-size head whole in one execute() (Arg 0), or cut in the middle of
// the bearer token so that the long value is stitched across two reads (Arg 1).
void BM_Http1ParseJwtHead(benchmark::State& state) {
  const std::string req = jwtRequest();
  const size_t cut = state.range(0) == 0 ? req.size() : req.find("Bearer ") + 7 + 768;
  const auto first = std::make_unique<char[]>(cut);
  const auto second = std::make_unique<char[]>(req.size() - cut + 1);
  std::memcpy(first.get(), req.data(), cut);
  std::memcpy(second.get(), req.data() + cut, req.size() - cut);
  CountingHandler handler;
  Http1Parser parser(Http1Parser::Type::Request, Http1Limits{}, handler);
  for (auto _ : state) {
    const ExecResult a = parser.execute(first.get(), cut);
    benchmark::DoNotOptimize(a);
    if (a.status != ExecResult::Status::Ok) {
      requireOk(state, a);
      break;
    }
    if (cut < req.size()) {
      const ExecResult b = parser.execute(second.get(), req.size() - cut);
      benchmark::DoNotOptimize(b);
      if (b.status != ExecResult::Status::Ok) {
        requireOk(state, b);
        break;
      }
    }
  }
  if (handler.messages != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("lost a message");
  }
  state.SetLabel((state.range(0) == 0 ? "whole, " : "split in the JWT, ") + std::to_string(req.size()) + " B");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(req.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Http1ParseJwtHead)->Arg(0)->Arg(1);

}  // namespace
