// Microbenchmarks for BufferChain (engine/buf/buffer_chain.h) on a warm
// SlicePool, as on a loop that has been running: copying small heads and
// larger bodies in, referencing slices and building iovecs for writev,
// moving a body from one chain to another, and draining after writes.
#include <benchmark/benchmark.h>

#include <sys/uio.h>

#include <string>
#include <vector>

#include "engine/buf/buffer_chain.h"
#include "engine/buf/slice.h"

namespace {

using plexgate::buf::BufferChain;
using plexgate::buf::kDefaultSliceSize;
using plexgate::buf::SlicePool;
using plexgate::buf::SliceRef;

// appendCopy of Arg bytes; the chain is drained every 64 KiB so it stays in
// a steady state (tail slices recycled through the pool).
void BM_BufferChainAppendCopy(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string bytes(n, 'x');
  SlicePool pool;
  BufferChain chain(pool);
  for (auto _ : state) {
    chain.appendCopy(bytes);
    if (chain.size() >= 64 * 1024) {
      chain.drain(chain.size());
    }
    benchmark::DoNotOptimize(chain.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BufferChainAppendCopy)->Arg(1)->Arg(64)->Arg(4096)->Arg(65536);

// Reserve/commit of Arg bytes: a serializer writing a head in place.
void BM_BufferChainReserveCommit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  SlicePool pool;
  BufferChain chain(pool);
  for (auto _ : state) {
    char* p = chain.reserve(n);
    benchmark::DoNotOptimize(p);
    chain.commit(n);
    if (chain.size() >= 64 * 1024) {
      chain.drain(chain.size());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BufferChainReserveCommit)->Arg(64)->Arg(4096);

// Arg separate (non-adjacent) references to one slice, then the iovecs for
// one writev, then the chain is emptied: the zero-copy write path.
void BM_BufferChainAppendRefToIovecs(benchmark::State& state) {
  const size_t pieces = static_cast<size_t>(state.range(0));
  SlicePool pool;
  SliceRef slice(pool.acquire());
  const size_t stride = kDefaultSliceSize / pieces;
  const size_t len = stride / 2;  // leave gaps so pieces never merge
  BufferChain chain(pool);
  std::vector<iovec> iov(pieces);
  for (auto _ : state) {
    for (size_t i = 0; i < pieces; ++i) {
      chain.appendRef(slice, slice->data() + i * stride, len);
    }
    const size_t n = chain.toIovecs(iov.data(), iov.size());
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(iov.data());
    chain.drain(chain.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(pieces * len));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(pieces));
}
BENCHMARK(BM_BufferChainAppendRefToIovecs)->Arg(1)->Arg(8)->Arg(64);

// A body of Arg pieces moves from the upstream chain to the downstream one
// and back: no bytes copied, only piece handles.
void BM_BufferChainMoveFrom(benchmark::State& state) {
  const size_t pieces = static_cast<size_t>(state.range(0));
  SlicePool pool;
  SliceRef slice(pool.acquire());
  const size_t stride = kDefaultSliceSize / pieces;
  const size_t len = stride / 2;
  BufferChain upstream(pool);
  BufferChain downstream(pool);
  for (size_t i = 0; i < pieces; ++i) {
    upstream.appendRef(slice, slice->data() + i * stride, len);
  }
  for (auto _ : state) {
    downstream.moveFrom(upstream);
    upstream.moveFrom(downstream);
    benchmark::DoNotOptimize(upstream.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 2 * static_cast<int64_t>(pieces * len));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 2 * static_cast<int64_t>(pieces));
}
BENCHMARK(BM_BufferChainMoveFrom)->Arg(1)->Arg(8)->Arg(64);

// 64 KiB in 16 referenced 4 KiB pieces, drained Arg bytes at a time (as
// partial writes complete), then refilled.
void BM_BufferChainDrain(benchmark::State& state) {
  const size_t step = static_cast<size_t>(state.range(0));
  constexpr size_t kPieces = 16;
  constexpr size_t kPieceLen = 4096;
  SlicePool pool;
  std::vector<SliceRef> slices;
  for (size_t i = 0; i < kPieces; ++i) {
    slices.emplace_back(pool.acquire());
  }
  BufferChain chain(pool);
  int64_t drains = 0;
  for (auto _ : state) {
    for (const SliceRef& s : slices) {
      chain.appendRef(s, s->data(), kPieceLen);
    }
    while (!chain.empty()) {
      chain.drain(step);
      ++drains;
    }
    benchmark::DoNotOptimize(chain.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kPieces * kPieceLen));
  state.SetItemsProcessed(drains);
}
BENCHMARK(BM_BufferChainDrain)->Arg(1)->Arg(4096)->Arg(65536);

// A typical response: a copied head, then a referenced body of Arg bytes,
// turned into iovecs and drained.
void BM_BufferChainResponse(benchmark::State& state) {
  const size_t body_len = static_cast<size_t>(state.range(0));
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 65536\r\nDate: Thu, 01 Jan 2026 "
      "00:00:00 GMT\r\n\r\n";
  SlicePool pool;
  SliceRef body(pool.acquire(body_len));
  BufferChain chain(pool);
  iovec iov[8];
  for (auto _ : state) {
    chain.appendCopy(head);
    chain.appendRef(body, body->data(), body_len);
    const size_t n = chain.toIovecs(iov, 8);
    benchmark::DoNotOptimize(n);
    chain.drain(chain.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(head.size() + body_len));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BufferChainResponse)->Arg(1)->Arg(4096)->Arg(65536);

}  // namespace
