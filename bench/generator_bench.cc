// The workload generator, single-threaded: Generator::Make alone, and Make + AppendPayload
// into a chunk-sized buffer as GeneratorSource::Fill does (the buffer is reset every 8192
// records, the chunk size of `spate run` and `spate gen`). Record indices keep increasing, so
// nothing is replayed and there is nothing to pre-generate beyond the Generator itself.

#include <string>

#include <benchmark/benchmark.h>

#include "bench_data.h"
#include "gen/generator.h"

namespace spate::bench {
namespace {

constexpr uint64_t kChunk = 8192;

void BM_GeneratorMake(benchmark::State& state) {
  const Generator& gen = DefaultGenerator();
  GeneratedRecord r;
  uint64_t i = 0;
  for (auto _ : state) {
    gen.Make(i++, &r);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void MakeAppend(benchmark::State& state, WireFormat f) {
  const Generator& gen = DefaultGenerator();
  GeneratedRecord r;
  std::string buf;
  buf.reserve(kChunk * TypicalEncodedSize(f) + kDecodePadding);
  uint64_t i = 0, in_chunk = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    gen.Make(i++, &r);
    const size_t before = buf.size();
    gen.AppendPayload(r, f, &buf);
    buf.push_back('\n');
    bytes += static_cast<int64_t>(buf.size() - before);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
    if (++in_chunk == kChunk) {
      in_chunk = 0;
      buf.clear();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}

void BM_GeneratorMakeAppendJson(benchmark::State& state) { MakeAppend(state, WireFormat::kJson); }
void BM_GeneratorMakeAppendBinary(benchmark::State& state) {
  MakeAppend(state, WireFormat::kBinary);
}

BENCHMARK(BM_GeneratorMake);
BENCHMARK(BM_GeneratorMakeAppendJson);
BENCHMARK(BM_GeneratorMakeAppendBinary);

}  // namespace
}  // namespace spate::bench
