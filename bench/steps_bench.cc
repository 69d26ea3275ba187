// The engine's steps (stream/source_step.h, stream/window_step.h) on wire bytes, as the
// runners drive them; beside engine_bench.cc's hand-written loops over the bare stores, which
// do the same work. Kept in a file of its own so that neither changes the other's code.

#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_data.h"
#include "core/codec.h"
#include "stream/engine_config.h"
#include "stream/source_step.h"
#include "stream/watermark.h"
#include "stream/window_step.h"

namespace spate::bench {
namespace {

constexpr uint64_t kBatchSize = 32'768;
constexpr int64_t kLatenessMs = 5'000;

WindowSpec Tumbling60s() { return WindowSpec{60'000, 60'000}; }
WindowSpec Hopping60s10s() { return WindowSpec{60'000, 10'000}; }

// BM_*DecodeAggregate_*'s job (engine_bench.cc), through the engine's steps as both runners
// drive them:
// SourceStep::Process (decode, validate, rules) and WindowStep::Add per record, and at every
// batch boundary WindowStep::CloseUpTo in final mode, which formats each closed (window, key)
// result into a StepOutput that only counts it. The decoder is wrapped to add the replay's
// time shift, so the rules see advancing time as in DecodeAggregate. Compared with
// BM_JsonDecodeAggregate_* in the same run, this is what the steps cost over the bare stores.
class ShiftingDecoder final : public Decoder {
 public:
  explicit ShiftingDecoder(std::unique_ptr<Decoder> inner) : inner_(std::move(inner)) {}
  DecodeError Decode(std::string_view msg, size_t readable, Transaction* tx,
                     std::string* reason) override {
    const DecodeError e = inner_->Decode(msg, readable, tx, reason);
    tx->time_ms += shift;
    return e;
  }
  int64_t shift = 0;

 private:
  std::unique_ptr<Decoder> inner_;
};

class CountingOutput final : public StepOutput {
 public:
  Status Emit(const Emitted& e) override {
    ++records;
    bytes += static_cast<int64_t>(e.record.size());
    return Status::Ok();
  }
  int64_t records = 0, bytes = 0;
};

void Steps(benchmark::State& state, WireFormat f, const WireBuffer& buf, WindowSpec spec) {
  EngineConfig engine;
  engine.window = spec;
  engine.lateness_ms = kLatenessMs;
  PipelineStats stats;
  SourceStep source(engine, {}, &stats);
  WindowStep windows(engine, {}, &stats, /*track_changes=*/false);
  ShiftingDecoder dec(NewDecoder(f));
  CountingOutput out;
  Transaction tx;
  size_t i = 0;
  int64_t shift = 0;
  const int64_t span = TimeSpanMs();
  int64_t bytes = 0, wm = kNoWatermark, batch_max = kNoWatermark;
  uint64_t seq = 0, in_batch = 0;
  for (auto _ : state) {
    dec.shift = shift;
    const InputRecord rec{buf.payload(i), buf.readable(i), {}, SourcePosition{seq, 0, seq}};
    ++seq;
    if (++i == kRecords) {  // replayed shifted in time, as engine_bench.cc's Replay does
      i = 0;
      shift += span;
    }
    if (source.Process(dec, rec, out, &tx) != Verdict::kValid) {
      state.SkipWithError("decode failed");
      break;
    }
    bytes += static_cast<int64_t>(rec.payload.size());
    (void)windows.Add(tx, rec.pos, wm, out);
    if (tx.time_ms > batch_max) batch_max = tx.time_ms;
    if (++in_batch == kBatchSize) {
      in_batch = 0;
      if (batch_max - kLatenessMs > wm) wm = batch_max - kLatenessMs;
      (void)windows.CloseUpTo(wm, out, IgnoreClosed);
    }
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(out.bytes);
  if (stats.late + stats.partially_late != 0) {
    state.SkipWithError("records missed windows: harness bug");
  }
  state.counters["aggs_emitted/rec"] = benchmark::Counter(
      static_cast<double>(stats.windows_emitted), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}

void BM_StepsJsonDecodeAggregate_Tumbling60s(benchmark::State& state) {
  Steps(state, WireFormat::kJson, JsonBuffer(), Tumbling60s());
}
void BM_StepsJsonDecodeAggregate_Hopping60s10s(benchmark::State& state) {
  Steps(state, WireFormat::kJson, JsonBuffer(), Hopping60s10s());
}
void BM_StepsBinaryDecodeAggregate_Tumbling60s(benchmark::State& state) {
  Steps(state, WireFormat::kBinary, BinaryBuffer(), Tumbling60s());
}

BENCHMARK(BM_StepsJsonDecodeAggregate_Tumbling60s);
BENCHMARK(BM_StepsJsonDecodeAggregate_Hopping60s10s);
BENCHMARK(BM_StepsBinaryDecodeAggregate_Tumbling60s);

}  // namespace
}  // namespace spate::bench
