// Microbenchmarks for the fan-out building blocks: FanoutAggregateWriter
// (parsers/fanout_aggregate.h) writing the reply for N = 1, 4, 16, 64
// systems with ~1 KiB outputs each (JSON in padded buffers, JSON that must
// be copied for padding, and plain text that is escaped), and
// FanoutContentParser (parsers/fanout_content.h) on a single-quoted,
// percent-encoded content= with 1, 16 and 256 targets. The writer and the
// output string are reused, as on a loop. items/s counts systems (writer) or
// queries (parser); bytes/s counts system outputs (writer) or query bytes.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "parsers/fanout_aggregate.h"
#include "parsers/fanout_content.h"

namespace {

using plexgate::parsers::FanoutAggregateWriter;
using plexgate::parsers::FanoutContentParser;
using plexgate::parsers::FanoutKind;
using plexgate::parsers::FanoutRc;
using plexgate::parsers::FanoutSystemResult;
using plexgate::parsers::FanoutSystemVersion;

// A /zosmf/restjobs/jobs reply of about 1 KiB.
std::string jobsJson(int system) {
  std::string s = "[";
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      s += ",";
    }
    s += R"({"owner":"IBMUSER","phase":20,"subsystem":"JES2","phase-name":"Job is on the hard copy queue",)"
         R"("job-correlator":"J0000)" +
         std::to_string(system * 10 + i) +
         R"(SY1.....D9E1A7C1.......:","type":"JOB","url":"https://sy1:443/zosmf/restjobs/jobs/J0001",)"
         R"("jobid":"JOB0000)" +
         std::to_string(i) +
         R"(","class":"A","files-url":"/f","jobname":"MYJOB","status":"OUTPUT","retcode":"CC 0000"})";
  }
  s += "]";
  return s;
}

std::string textBody(int system) {
  std::string s = "IZUG8" + std::to_string(system) + "E: The request failed.\n";
  while (s.size() < 1000) {
    s += "\tat com.ibm.zosmf.gateway.Route(\"line\")\n";
  }
  return s;
}

enum class Shape { JsonPadded, JsonUnpadded, Text };

void runAggregate(benchmark::State& state, Shape shape) {
  const int n = static_cast<int>(state.range(0));
  std::vector<std::string> bodies;
  std::vector<std::string> names;
  bodies.reserve(static_cast<size_t>(n));
  names.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    bodies.push_back(shape == Shape::Text ? textBody(i) : jobsJson(i));
    bodies.back().reserve(bodies.back().size() + simdjson::SIMDJSON_PADDING);
    names.push_back("SY" + std::to_string(i));
  }
  std::vector<FanoutSystemResult> systems;
  size_t output_bytes = 0;
  for (int i = 0; i < n; ++i) {
    FanoutSystemResult r;
    r.system_name = names[static_cast<size_t>(i)];
    r.rc = FanoutRc::Ok;
    r.output = bodies[static_cast<size_t>(i)];
    r.output_capacity = shape == Shape::JsonPadded ? bodies[static_cast<size_t>(i)].capacity() : 0;
    r.secondary_api_version = "1";
    r.system_version = FanoutSystemVersion{r.system_name, "04.27.00", "PLEX1"};
    systems.push_back(r);
    output_bytes += r.output.size();
  }
  FanoutAggregateWriter writer;
  std::string out;
  for (auto _ : state) {
    out.clear();
    writer.append(out, "1", systems);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * output_bytes));
  state.counters["reply_bytes"] = static_cast<double>(out.size());
}

void BM_FanoutAggregateJsonPadded(benchmark::State& state) {
  runAggregate(state, Shape::JsonPadded);
}
void BM_FanoutAggregateJsonUnpadded(benchmark::State& state) {
  runAggregate(state, Shape::JsonUnpadded);
}
void BM_FanoutAggregateText(benchmark::State& state) {
  runAggregate(state, Shape::Text);
}
BENCHMARK(BM_FanoutAggregateJsonPadded)->Arg(1)->Arg(4)->Arg(16)->Arg(64);
BENCHMARK(BM_FanoutAggregateJsonUnpadded)->Arg(1)->Arg(4)->Arg(16)->Arg(64);
BENCHMARK(BM_FanoutAggregateText)->Arg(1)->Arg(4)->Arg(16)->Arg(64);

void BM_FanoutContentParse(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::string q = "content={'target':[";
  for (int i = 0; i < n; ++i) {
    q += (i ? ",'SYS%23" : "'SYS%23") + std::to_string(i) + "'";
  }
  q += "],'resourcePath':'/zosmf/restjobs/jobs?owner=IBMUSER','timeout':30000,"
       "'requestProperties':{'X-CSRF-ZOSMF-HEADER':'','Accept':'application/json'}}";
  FanoutContentParser parser;
  for (auto _ : state) {
    auto r = parser.parseQuery(q, FanoutKind::Systems);
    if (!r.ok()) {
      state.SkipWithError(r.error().c_str());
      break;
    }
    benchmark::DoNotOptimize(r.value().targets.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * q.size()));
}
BENCHMARK(BM_FanoutContentParse)->Arg(1)->Arg(16)->Arg(256);

}  // namespace
