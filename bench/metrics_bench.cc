// What the metrics cost per request (WorkerCounters::recordResponse, with
// the clock read that measures the duration), and what one /metrics scrape
// costs to render.
#include <benchmark/benchmark.h>

#include <chrono>

#include "engine/server/admin.h"
#include "engine/server/worker.h"

namespace {

using plexgate::server::WorkerCounters;

uint64_t nowNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// The per-request addition on a worker: a clock read, the status class and
// the histogram bucket. Durations cycle through fast (sub-100 µs, the
// common case on loopback) and slow buckets.
void BM_RecordResponse(benchmark::State& state) {
  WorkerCounters c;
  const uint64_t start = nowNs();
  const uint64_t spread = static_cast<uint64_t>(state.range(0));
  uint64_t i = 0;
  for (auto _ : state) {
    const uint64_t ns = nowNs() - start;
    c.recordResponse(200 + static_cast<int>(i % 4) * 100, spread == 0 ? 50'000 : (ns % spread));
    ++i;
  }
  benchmark::DoNotOptimize(c.duration_ns.load());
}
BENCHMARK(BM_RecordResponse)->Arg(0)->Arg(20'000'000'000);

void BM_RenderMetrics(benchmark::State& state) {
  plexgate::server::CounterTotals t;
  t.requests = 123456789;
  t.duration_ns = 987654321012;
  for (auto& b : t.duration) {
    b = 1000;
  }
  plexgate::server::MetricsInput in;
  in.totals = &t;
  in.workers = 2;
  in.start_time = std::chrono::system_clock::now();
  for (auto _ : state) {
    benchmark::DoNotOptimize(plexgate::server::renderMetrics(in));
  }
}
BENCHMARK(BM_RenderMetrics);

}  // namespace
