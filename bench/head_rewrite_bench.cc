// Microbenchmarks for the proxied heads (engine/proxy/head_rewrite.h): the
// request head rewritten and serialised for the upstream, and the upstream's
// response head serialised for the client, into a reused BufferChain (as on
// a keep-alive connection: the chain is cleared after each head, its tail
// slice reused). Request shapes as in the parser benchmark
// (bench/sample_requests.h) plus an inbound X-Forwarded-For, each from a
// trusted and an untrusted peer (kept and extended, or dropped); plus a
// prefix-rewrite route. Reports bytes written per second
// and heads per second.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <string_view>

#include "bench/sample_requests.h"
#include "engine/buf/buffer_chain.h"
#include "engine/buf/slice.h"
#include "engine/proxy/head_rewrite.h"
#include "parsers/http1_parser.h"

namespace {

using plexgate::buf::BufferChain;
using plexgate::buf::SlicePool;
using plexgate::parsers::Http1Handler;
using plexgate::parsers::Http1Limits;
using plexgate::parsers::Http1Parser;
using plexgate::parsers::MessageHead;
using plexgate::parsers::Next;
using plexgate::proxy::ProxyRequest;
using plexgate::proxy::RouteEntry;

// Keeps the parsed head (views into `bytes`).
class HeadKeeper final : public Http1Handler {
 public:
  HeadKeeper(std::string bytes, Http1Parser::Type type) : bytes(std::move(bytes)) {
    Http1Limits limits;
    limits.max_headers = 256;
    parser = std::make_unique<Http1Parser>(type, limits, *this);
    parser->execute(this->bytes.data(), this->bytes.size());
  }
  Next onHead(MessageHead& h) override {
    head = h;
    return Next::Pause;
  }
  Next onBody(std::string_view) override { return Next::Continue; }
  Next onMessageComplete() override { return Next::Continue; }

  std::string bytes;
  std::unique_ptr<Http1Parser> parser;
  MessageHead head;
};

// A shared request shape with an inbound X-Forwarded-For, which a trusted
// peer extends and an untrusted one loses.
std::string requestWithForwardedFor(int64_t shape) {
  std::string r = plexgate::bench::requestFor(shape);
  return r.insert(r.size() - 2, "X-Forwarded-For: 192.0.2.7\r\n");
}

// Writes `req`'s upstream head into a reused chain each iteration.
void runRequestHead(benchmark::State& state, const ProxyRequest& req) {
  SlicePool pool;
  BufferChain out(pool);
  size_t bytes = 0;
  for (auto _ : state) {
    plexgate::proxy::writeUpstreamRequestHead(out, req, "");
    bytes += out.size();
    benchmark::DoNotOptimize(out.piece(0).data);
    out.clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}

// Request head for the upstream: range(0) shape, range(1) 1 = trusted peer.
void BM_UpstreamRequestHead(benchmark::State& state) {
  HeadKeeper parsed(requestWithForwardedFor(state.range(0)), Http1Parser::Type::Request);
  RouteEntry entry;
  entry.kind = RouteEntry::Kind::Proxy;
  ProxyRequest req;
  req.head = &parsed.head;
  req.match.entry = &entry;
  req.peer = "203.0.113.54";
  req.peer_trusted = state.range(1) == 1;
  req.listener_port = 8080;
  runRequestHead(state, req);
  state.SetLabel(std::string(plexgate::bench::shapeName(state.range(0))) +
                 (state.range(1) == 1 ? "/trusted" : "/untrusted"));
}
BENCHMARK(BM_UpstreamRequestHead)->ArgsProduct({{0, 1, 2}, {0, 1}});

// A prefix-rewrite route: /api/ -> /v2/ with a query string kept.
void BM_UpstreamRequestHeadPrefixRewrite(benchmark::State& state) {
  HeadKeeper parsed(requestWithForwardedFor(1), Http1Parser::Type::Request);
  plexgate::config::ProxyAction action;
  action.rewrite_prefix = "/v2/";
  RouteEntry entry;
  entry.kind = RouteEntry::Kind::Proxy;
  entry.prefix = "/api/";
  entry.proxy = &action;
  ProxyRequest req;
  req.head = &parsed.head;
  req.match.entry = &entry;
  req.match.remainder = "search";
  req.match.query = "?q=plexgate&lang=en";
  req.peer = "203.0.113.54";
  req.listener_port = 8080;
  runRequestHead(state, req);
}
BENCHMARK(BM_UpstreamRequestHeadPrefixRewrite);

// The upstream's response head for the client: a typical API answer (8
// fields, one listed in Connection) and one with 40 fields.
void BM_DownstreamResponseHead(benchmark::State& state) {
  std::string response =
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 14:21:10 GMT\r\n"
      "Content-Type: application/json\r\nContent-Length: 1234\r\nConnection: keep-alive\r\n"
      "Cache-Control: no-store\r\nETag: \"5f2a-9c1e\"\r\nVary: Accept-Encoding\r\n";
  if (state.range(0) == 1) {
    for (int i = 0; i < 32; ++i) {
      response += "X-Trace-" + std::to_string(i) + ": " + std::to_string(i * 104729) + "\r\n";
    }
  }
  response += "\r\n";
  HeadKeeper parsed(response, Http1Parser::Type::Response);
  SlicePool pool;
  BufferChain out(pool);
  size_t bytes = 0;
  for (auto _ : state) {
    plexgate::proxy::writeDownstreamResponseHead(out, parsed.head, false, false);
    bytes += out.size();
    benchmark::DoNotOptimize(out.piece(0).data);
    out.clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(0) == 1 ? "40_fields" : "8_fields");
}
BENCHMARK(BM_DownstreamResponseHead)->Arg(0)->Arg(1);

}  // namespace
