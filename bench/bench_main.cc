// spate_bench's main: Google Benchmark's, plus the per-core targets in the context
// block so a saved JSON/console report carries them.

#include <string>

#include <benchmark/benchmark.h>

#include "bench_data.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("spate_records_per_replay", std::to_string(spate::bench::kRecords));
  benchmark::AddCustomContext("spate_target_engine_update", ">= 20M rec/s per core");
  benchmark::AddCustomContext("spate_target_json_decode_aggregate", ">= 3M rec/s per core");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
