// The engine's per-record work on already-decoded records, single-threaded: the source step's
// rules and the window step's windows + totals (stream/source_step.h, stream/window_step.h),
// written out by hand over the stores, minus the output formatting and the routing:
//   - watermark fixed per batch of 32768 records (the default --batch-size), equal to the
//     largest event time of the earlier batches minus the 5 s lateness, and every window with
//     end <= watermark closed (WindowStore::CloseUpTo) at the batch boundary, inside the timed
//     loop: the emit callback only reads the aggregate (no line formatting);
//   - group key merchantId (1000 merchants), amounts and types from the generator;
//   - the pre-generated records are replayed, shifted by TimeSpanMs() each time, so event time
//     keeps advancing and windows keep closing.
// One record per iteration; items/s is records per second per core.

#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <malloc.h>

#include "bench_data.h"
#include "core/codec.h"
#include "stream/anomaly_rules.h"
#include "stream/group_key.h"
#include "stream/interner.h"
#include "stream/totals.h"
#include "stream/watermark.h"
#include "stream/window.h"
#include "stream/window_store.h"

namespace spate::bench {
namespace {

constexpr uint64_t kBatchSize = 32'768;
constexpr int64_t kLatenessMs = 5'000;

WindowSpec Tumbling60s() { return WindowSpec{60'000, 60'000}; }
WindowSpec Hopping60s10s() { return WindowSpec{60'000, 10'000}; }

// Replays Records() with advancing event time.
class Replay {
 public:
  explicit Replay(Profile p = Profile::kReference) : recs_(Records(p)) {}
  // The next record; *t is its (shifted) event time.
  const Transaction& Next(int64_t* t) {
    const Transaction& tx = recs_[i_];
    *t = tx.time_ms + shift_;
    if (++i_ == kRecords) {
      i_ = 0;
      shift_ += span_;
    }
    return tx;
  }
  size_t index() const { return i_; }
  int64_t shift() const { return shift_; }
  void Advance() {
    if (++i_ == kRecords) {
      i_ = 0;
      shift_ += span_;
    }
  }

 private:
  const std::vector<Transaction>& recs_;
  const int64_t span_ = TimeSpanMs();
  size_t i_ = 0;
  int64_t shift_ = 0;
};

// Windows + totals + rules for one worker, fed one record at a time.
class Engine {
 public:
  explicit Engine(WindowSpec spec)
      : windows_(spec, /*track_changes=*/false), rules_(RuleConfig{}, kLatenessMs) {}

  // The window step's work for one record: its group key's id and currency, every window it
  // falls in, and the all-time totals.
  void Aggregate(const Transaction& tx, int64_t t) {
    const uint64_t key = StateKey(keys_.Intern(GroupKeyOf(tx, GroupBy::kMerchantId)), tx.currency);
    missed_.clear();
    auto r = windows_.Add(t, key, tx.amount, tx.kind(), wm_, &missed_);
    totals_.Add(key, tx.amount);
    missed_windows_ += r.missed;
  }

  // Phase1's rule evaluation for one record.
  void Rules(const Transaction& tx, int64_t t) {
    anomalies_.clear();
    if (t == tx.time_ms) {
      rules_.Check(tx, seq_++, 0, &anomalies_);
    } else {
      Transaction shifted = tx;
      shifted.time_ms = t;
      rules_.Check(shifted, seq_++, 0, &anomalies_);
    }
    anomalies_found_ += static_cast<int64_t>(anomalies_.size());
  }

  // End-of-record bookkeeping: batch max, and at a batch boundary the new watermark and the
  // closing of every window it passes.
  void Tick(int64_t t) {
    if (t > batch_max_) batch_max_ = t;
    if (++in_batch_ == kBatchSize) {
      in_batch_ = 0;
      if (batch_max_ - kLatenessMs > wm_) wm_ = batch_max_ - kLatenessMs;
      windows_.CloseUpTo(wm_, [&](int64_t start, uint64_t key, const WindowAgg& a) {
        emitted_count_ += a.count;
        benchmark::DoNotOptimize(start);
        benchmark::DoNotOptimize(key);
        ++windows_emitted_;
      });
    }
  }

  // Makes the results observable and checks the benchmark measured the intended path.
  void Finish(benchmark::State& state) {
    benchmark::DoNotOptimize(emitted_count_);
    benchmark::DoNotOptimize(anomalies_found_);
    benchmark::DoNotOptimize(totals_.size());
    if (missed_windows_ != 0) state.SkipWithError("records missed windows: harness bug");
    state.counters["aggs_emitted/rec"] = benchmark::Counter(static_cast<double>(windows_emitted_),
                                                            benchmark::Counter::kAvgIterations);
  }

 private:
  Interner keys_;
  WindowStore windows_;
  TotalsStore totals_;
  AnomalyDetector rules_;
  std::vector<int64_t> missed_;
  std::vector<Anomaly> anomalies_;
  int64_t wm_ = kNoWatermark;
  int64_t batch_max_ = kNoWatermark;
  uint64_t in_batch_ = 0;
  uint64_t seq_ = 0;
  int64_t missed_windows_ = 0;
  int64_t emitted_count_ = 0;
  int64_t windows_emitted_ = 0;
  int64_t anomalies_found_ = 0;
};

// Engine update alone: WindowStore::Add + TotalsStore::Add (+ CloseUpTo every batch).
void EngineUpdate(benchmark::State& state, WindowSpec spec) {
  Engine e(spec);
  Replay in;
  for (auto _ : state) {
    int64_t t;
    const Transaction& tx = in.Next(&t);
    e.Aggregate(tx, t);
    e.Tick(t);
    benchmark::ClobberMemory();
  }
  e.Finish(state);
  state.SetItemsProcessed(state.iterations());
}

void BM_EngineUpdate_Tumbling60s(benchmark::State& state) { EngineUpdate(state, Tumbling60s()); }
void BM_EngineUpdate_Hopping60s10s(benchmark::State& state) {
  EngineUpdate(state, Hopping60s10s());
}

// Heap bytes of state per entry, as counters (no timing): a window holding 1,000,000
// (key, currency) aggregates, totals of as many, and the realistic profile's merchant names
// interned. mallinfo2's bytes in use, before and after; the maps at their load after 1M
// inserts (absl grows a table by doubling at 7/8 full).
void BM_StateBytesPerEntry(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(state.iterations());
  constexpr uint64_t kEntries = 1'000'000;
  const auto heap = [] {
    const struct mallinfo2 m = mallinfo2();
    return static_cast<double>(m.uordblks + m.hblkhd);
  };
  {
    const double before = heap();
    WindowStore ws(Tumbling60s(), /*track_changes=*/false);
    std::vector<int64_t> missed;
    for (uint64_t k = 0; k < kEntries; ++k) {
      ws.Add(1000, StateKey(static_cast<uint32_t>(k), Currency{}), 1, TxKind::kPurchase,
             kNoWatermark, &missed);
    }
    state.counters["window_entry"] = (heap() - before) / kEntries;
  }
  {
    const double before = heap();
    TotalsStore totals;
    for (uint64_t k = 0; k < kEntries; ++k) totals.Add(StateKey(static_cast<uint32_t>(k), {}), 1);
    state.counters["total_entry"] = (heap() - before) / kEntries;
  }
  {
    const auto& recs = Records(Profile::kRealistic);
    const double before = heap();
    Interner merchants;
    for (const Transaction& tx : recs) merchants.Intern(tx.merchant);
    state.counters["interned_merchant"] = (heap() - before) / static_cast<double>(merchants.size());
    state.counters["merchants"] = static_cast<double>(merchants.size());
  }
}

// AnomalyDetector::Check alone (default rules, 100k users, span 10 s, lateness 5 s).
void BM_AnomalyCheck(benchmark::State& state) {
  AnomalyDetector rules(RuleConfig{}, kLatenessMs);
  std::vector<Anomaly> out;
  Replay in;
  uint64_t seq = 0;
  Transaction tx;
  for (auto _ : state) {
    int64_t t;
    tx = in.Next(&t);
    tx.time_ms = t;
    out.clear();
    rules.Check(tx, seq++, 0, &out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(rules.tracked_users());
  state.SetItemsProcessed(state.iterations());
}

// Decoded record -> rules + windows + totals.
void EngineFull(benchmark::State& state, WindowSpec spec) {
  Engine e(spec);
  Replay in;
  for (auto _ : state) {
    int64_t t;
    const Transaction& tx = in.Next(&t);
    e.Rules(tx, t);
    e.Aggregate(tx, t);
    e.Tick(t);
    benchmark::ClobberMemory();
  }
  e.Finish(state);
  state.SetItemsProcessed(state.iterations());
}

void BM_EngineFull_Tumbling60s(benchmark::State& state) { EngineFull(state, Tumbling60s()); }
void BM_EngineFull_Hopping60s10s(benchmark::State& state) { EngineFull(state, Hopping60s10s()); }

// Wire bytes -> decode -> [rules +] windows + totals, per record. With rules it is the
// worker's whole job apart from output formatting and routing.
void DecodeAggregate(benchmark::State& state, WireFormat f, const WireBuffer& buf, WindowSpec spec,
                     bool rules = true, Profile profile = Profile::kReference) {
  Engine e(spec);
  auto dec = NewDecoder(f);
  Transaction tx;
  std::string reason;
  Replay in(profile);
  int64_t bytes = 0;
  for (auto _ : state) {
    const size_t i = in.index();
    const int64_t shift = in.shift();
    in.Advance();
    const std::string_view msg = buf.payload(i);
    if (dec->Decode(msg, buf.readable(i), &tx, &reason) != DecodeError::kNone) {
      state.SkipWithError("decode failed");
      break;
    }
    bytes += static_cast<int64_t>(msg.size());
    const int64_t t = tx.time_ms + shift;
    if (rules) e.Rules(tx, t);
    e.Aggregate(tx, t);
    e.Tick(t);
    benchmark::ClobberMemory();
  }
  e.Finish(state);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}

void BM_JsonDecodeAggregate_Tumbling60s(benchmark::State& state) {
  DecodeAggregate(state, WireFormat::kJson, JsonBuffer(), Tumbling60s());
}
// The "JSON decode + aggregate": decode, windows and totals, no anomaly rules.
void BM_JsonDecodeWindows_Tumbling60s(benchmark::State& state) {
  DecodeAggregate(state, WireFormat::kJson, JsonBuffer(), Tumbling60s(), false);
}
// The same on the realistic profile: UUID users, merchant names of many scripts, 32
// currencies; 1,000,000 users and 50,000 merchants.
void BM_JsonDecodeWindows_Tumbling60s_Realistic(benchmark::State& state) {
  DecodeAggregate(state, WireFormat::kJson, JsonBuffer(Profile::kRealistic), Tumbling60s(), false,
                  Profile::kRealistic);
}
void BM_JsonDecodeAggregate_Tumbling60s_Realistic(benchmark::State& state) {
  DecodeAggregate(state, WireFormat::kJson, JsonBuffer(Profile::kRealistic), Tumbling60s(), true,
                  Profile::kRealistic);
}
void BM_JsonDecodeAggregate_Hopping60s10s(benchmark::State& state) {
  DecodeAggregate(state, WireFormat::kJson, JsonBuffer(), Hopping60s10s());
}
void BM_BinaryDecodeAggregate_Tumbling60s(benchmark::State& state) {
  DecodeAggregate(state, WireFormat::kBinary, BinaryBuffer(), Tumbling60s());
}

BENCHMARK(BM_EngineUpdate_Tumbling60s);
BENCHMARK(BM_EngineUpdate_Hopping60s10s);
BENCHMARK(BM_StateBytesPerEntry)->Iterations(1);
BENCHMARK(BM_AnomalyCheck);
BENCHMARK(BM_EngineFull_Tumbling60s);
BENCHMARK(BM_EngineFull_Hopping60s10s);
BENCHMARK(BM_JsonDecodeAggregate_Tumbling60s);
BENCHMARK(BM_JsonDecodeWindows_Tumbling60s);
BENCHMARK(BM_JsonDecodeWindows_Tumbling60s_Realistic);
BENCHMARK(BM_JsonDecodeAggregate_Tumbling60s_Realistic);
BENCHMARK(BM_JsonDecodeAggregate_Hopping60s10s);
BENCHMARK(BM_BinaryDecodeAggregate_Tumbling60s);

}  // namespace
}  // namespace spate::bench
