// The engine's steps (stream/source_step.h, stream/window_step.h) on wire bytes, as the
// runners drive them; beside engine_bench.cc's hand-written loops over the bare stores, which
// do the same work. Kept in a file of its own so that neither changes the other's code.

#include <memory>
#include <string>
#include <vector>

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

// How the window step takes its records: one Add() each, or AddAll() over a chunk's worth
// (kChunk, `spate run`'s chunk size) as the embedded runner drives it, which fetches ahead
// once the state is large (WindowStep::kFetchAheadEntries), or always (kFetchAhead).
enum class Feed { kEach, kChunk, kFetchAhead };
constexpr size_t kChunk = 8192;
struct Decoded {
  Transaction tx;
  SourcePosition pos;
};

void Steps(benchmark::State& state, WireFormat f, const WireBuffer& buf, WindowSpec spec,
           Feed feed = Feed::kEach, bool rules = true) {
  EngineConfig engine;
  engine.window = spec;
  engine.lateness_ms = kLatenessMs;
  engine.rules.enabled = rules;
  PipelineStats stats;
  SourceStep source(engine, {}, &stats);
  WindowStep windows(engine, {}, &stats, /*track_changes=*/false);
  if (feed == Feed::kFetchAhead) windows.FetchAheadFrom(0);
  ShiftingDecoder dec(NewDecoder(f));
  CountingOutput out;
  Transaction tx;
  size_t i = 0;
  int64_t shift = 0;
  const int64_t span = TimeSpanMs();
  int64_t bytes = 0, wm = kNoWatermark, batch_max = kNoWatermark;
  uint64_t seq = 0, in_batch = 0;
  std::vector<Decoded> chunk;
  chunk.reserve(kChunk);
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
    if (feed == Feed::kEach) {
      (void)windows.Add(tx, rec.pos, wm, out);
    } else {
      chunk.push_back(Decoded{tx, rec.pos});
      if (chunk.size() == kChunk) {
        (void)windows.AddAll(chunk, wm, out);
        chunk.clear();
      }
    }
    if (tx.time_ms > batch_max) batch_max = tx.time_ms;
    if (++in_batch == kBatchSize) {
      (void)windows.AddAll(chunk, wm, out);
      chunk.clear();
      in_batch = 0;
      if (batch_max - kLatenessMs > wm) wm = batch_max - kLatenessMs;
      (void)windows.CloseUpTo(wm, out, IgnoreClosed);
    }
    benchmark::ClobberMemory();
  }
  (void)windows.AddAll(chunk, wm, out);
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

// The "JSON decode + aggregate" (engine_bench.cc's BM_JsonDecodeWindows_*): decode,
// windows and totals, no anomaly rules; each record added alone, and a chunk at a time.
void BM_StepsJsonDecodeWindows_Tumbling60s(benchmark::State& state) {
  Steps(state, WireFormat::kJson, JsonBuffer(), Tumbling60s(), Feed::kEach, false);
}
void BM_StepsJsonDecodeWindows_Tumbling60s_Chunk(benchmark::State& state) {
  Steps(state, WireFormat::kJson, JsonBuffer(), Tumbling60s(), Feed::kChunk, false);
}
void BM_StepsJsonDecodeWindows_Tumbling60s_Realistic(benchmark::State& state) {
  Steps(state, WireFormat::kJson, JsonBuffer(Profile::kRealistic), Tumbling60s(), Feed::kEach,
        false);
}
void BM_StepsJsonDecodeWindows_Tumbling60s_Realistic_Chunk(benchmark::State& state) {
  Steps(state, WireFormat::kJson, JsonBuffer(Profile::kRealistic), Tumbling60s(), Feed::kChunk,
        false);
}
void BM_StepsJsonDecodeWindows_Tumbling60s_FetchAhead(benchmark::State& state) {
  Steps(state, WireFormat::kJson, JsonBuffer(), Tumbling60s(), Feed::kFetchAhead, false);
}

BENCHMARK(BM_StepsJsonDecodeAggregate_Tumbling60s);
BENCHMARK(BM_StepsJsonDecodeWindows_Tumbling60s);
BENCHMARK(BM_StepsJsonDecodeWindows_Tumbling60s_Chunk);
BENCHMARK(BM_StepsJsonDecodeWindows_Tumbling60s_Realistic);
BENCHMARK(BM_StepsJsonDecodeWindows_Tumbling60s_Realistic_Chunk);
BENCHMARK(BM_StepsJsonDecodeWindows_Tumbling60s_FetchAhead);
BENCHMARK(BM_StepsJsonDecodeAggregate_Hopping60s10s);
BENCHMARK(BM_StepsBinaryDecodeAggregate_Tumbling60s);

}  // namespace
}  // namespace spate::bench
