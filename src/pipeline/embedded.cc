#include "pipeline/embedded.h"

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/codec.h"
#include "pipeline/fork_join.h"
#include "stream/output_format.h"
#include "stream/totals.h"
#include "stream/watermark.h"
#include "stream/window_store.h"

namespace spate {
namespace {

// A line for one output with the keys that order it within a chunk's flush.
struct OutLine {
  uint64_t k1, k2;
  std::string text;
};

struct Routed {
  Transaction tx;
  SourcePosition pos;
};

struct Worker {
  Worker(const RunConfig& c)
      : decoder(NewDecoder(c.source.wire)),
        rules(c.engine.rules, c.engine.lateness_ms),
        windows(c.engine.window, c.engine.emit == EmitMode::kChanges) {}

  std::unique_ptr<Decoder> decoder;
  AnomalyDetector rules;
  WindowStore windows;
  TotalsStore totals;
  std::array<std::vector<std::vector<Routed>>, 2> outbox;  // [chunk parity][destination worker]
  std::array<std::vector<OutLine>, kOutputCount> out;
  PipelineStats stats;
  // Scratch space reused across records.
  std::string reason;
  std::vector<Anomaly> anomalies;
  std::vector<int64_t> missed;
};

inline uint32_t OwnerOfKey(uint32_t key, uint32_t workers) {
  return static_cast<uint32_t>((uint64_t{key} * 0x9E3779B97F4A7C15ull) >> 32) % workers;
}

class Pipeline {
 public:
  Pipeline(const RunConfig& c, OutputSink* sink, PipelineMetrics* metrics)
      : c_(c),
        sink_(sink),
        metrics_(metrics),
        W_(c.workers),
        offsets_(c.source.partitions, 0),
        batch_max_(c.source.partitions, kNoWatermark),
        global_(c.source.partitions, c.engine.lateness_ms) {
    for (uint32_t w = 0; w < W_; ++w) {
      workers_.push_back(std::make_unique<Worker>(c));
      for (auto& o : workers_.back()->outbox) o.resize(W_);
    }
  }

  Result<RunSummary> Run(const ProgressFn& progress, const std::function<bool()>& stop) {
    const auto t0 = std::chrono::steady_clock::now();
    Generator gen(c_.gen);
    GeneratorSource source(gen, c_.source);
    ForkJoin pool(W_);
    PipelineStats totals;
    int64_t wm = kNoWatermark;
    std::unique_ptr<Chunk> prev;
    int64_t prev_wm = kNoWatermark;
    auto last_progress = t0;

    for (;;) {
      std::unique_ptr<Chunk> cur = (stop && stop()) ? nullptr : source.Next();
      if (!cur) break;
      totals.records += cur->size();
      totals.bytes += cur->payload_bytes();
      const int64_t cur_wm = wm;
      pool.Run([&](uint32_t w) {
        if (prev) Phase2(w, *prev, prev_wm, prev->last_in_batch);
        Phase1(w, *cur);
      });
      if (cur->last_in_batch) {  // the batch is complete: its event times move the watermark
        for (size_t p = 0; p < batch_max_.size(); ++p) {
          if (batch_max_[p] != kNoWatermark) global_.Observe(p, batch_max_[p]);
          batch_max_[p] = kNoWatermark;
        }
        wm = global_.Current();
      }
      if (Status s = Flush(&totals); !s.ok()) return s;
      if (metrics_) {
        if (prev) metrics_->ObserveLatency(std::chrono::steady_clock::now() - prev->created);
        metrics_->SetWatermark(wm, OpenWindows());
      }
      prev = std::move(cur);
      prev_wm = cur_wm;
      auto now = std::chrono::steady_clock::now();
      if (progress && now - last_progress >= std::chrono::seconds(1)) {
        last_progress = now;
        progress({totals, OpenWindows(), wm, std::chrono::duration<double>(now - t0).count()});
      }
    }
    // End of input: aggregate the last chunk, then emit every open window and the totals.
    pool.Run([&](uint32_t w) {
      if (prev) Phase2(w, *prev, prev_wm, true);
      FinalFlush(w);
    });
    if (metrics_ && prev)
      metrics_->ObserveLatency(std::chrono::steady_clock::now() - prev->created);
    if (Status s = Flush(&totals); !s.ok()) return s;
    if (metrics_) metrics_->SetWatermark(wm, 0);

    RunSummary summary;
    summary.stats = totals;
    summary.elapsed_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    summary.watermark = wm;
    summary.max_event_time = global_.MaxEventTime();
    return summary;
  }

 private:
  // Decode, validate, dead-letter, anomaly rules and routing for the partitions w owns.
  void Phase1(uint32_t w, const Chunk& c) {
    Worker& k = *workers_[w];
    auto& outbox = k.outbox[c.index % 2];
    const auto& rules = c_.engine.rules;
    Transaction tx;
    for (size_t i = 0; i < c.size(); ++i) {
      const uint32_t p = c.partition[i];
      if (p % W_ != w) continue;
      SourcePosition pos{c.first_seq + i, p, offsets_[p]++};
      ++k.stats.decoded;
      DecodeError err = k.decoder->Decode(c.payload(i), c.readable(i), &tx, &k.reason);
      if (err != DecodeError::kNone) {
        ++k.stats.dead_letters;
        ++k.stats.dead_letters_by_error[static_cast<size_t>(err)];
        OutLine line{pos.sequence, 0, {}};
        AppendDeadLetterLine(pos, err, k.reason, c.key(i), c.payload(i), &line.text);
        k.out[static_cast<size_t>(Output::kDeadLetters)].push_back(std::move(line));
        continue;
      }
      ++k.stats.valid;
      if (tx.time_ms > batch_max_[p]) batch_max_[p] = tx.time_ms;
      k.anomalies.clear();
      k.rules.Check(tx, pos.sequence, &k.anomalies);
      for (const Anomaly& a : k.anomalies) {
        ++k.stats.anomalies;
        ++k.stats.anomalies_by_rule[static_cast<size_t>(a.rule)];
        OutLine line{pos.sequence, static_cast<uint64_t>(a.rule), {}};
        AppendAnomalyLine(a, rules, &line.text);
        k.out[static_cast<size_t>(Output::kAnomalies)].push_back(std::move(line));
      }
      uint32_t key = GroupKeyOf(tx, c_.engine.group_by);
      outbox[OwnerOfKey(key, W_)].push_back(Routed{tx, pos});
    }
  }

  // Windows and totals for the keys w owns: the records every worker routed to w for chunk c.
  void Phase2(uint32_t w, const Chunk& c, int64_t wm, bool end_of_batch) {
    Worker& k = *workers_[w];
    const GroupBy g = c_.engine.group_by;
    const bool final_mode = c_.engine.emit == EmitMode::kFinal;
    CloseWindows(k, wm);
    for (auto& src : workers_) {
      auto& in = src->outbox[c.index % 2][w];
      for (const Routed& r : in) {
        const Transaction& tx = r.tx;
        uint32_t key = GroupKeyOf(tx, g);
        k.missed.clear();
        auto res = k.windows.Add(tx.time_ms, key, tx.amount_cents, tx.type == TxType::kRefund, wm,
                                 &k.missed);
        k.totals.Add(key, tx.amount_cents);
        if (res.missed == 0) {
          ++k.stats.aggregated;
          continue;
        }
        bool partial = res.missed < res.windows;
        if (partial) {
          ++k.stats.aggregated;
          ++k.stats.partially_late;
        } else {
          ++k.stats.late;
        }
        std::sort(k.missed.begin(), k.missed.end());
        OutLine line{r.pos.sequence, 0, {}};
        AppendLateLine(r.pos, wm, k.missed, partial, tx, &line.text);
        k.out[static_cast<size_t>(Output::kLate)].push_back(std::move(line));
      }
      in.clear();
    }
    if (!final_mode && end_of_batch) DrainChanges(k);
  }

  void CloseWindows(Worker& k, int64_t wm) {
    const bool final_mode = c_.engine.emit == EmitMode::kFinal;
    const int64_t size = c_.engine.window.size_ms;
    k.windows.CloseUpTo(wm, [&](int64_t start, uint32_t key, const WindowAgg& a) {
      if (final_mode) EmitAggregate(k, start, size, key, a, false);
    });
  }

  void EmitAggregate(Worker& k, int64_t start, int64_t size, uint32_t key, const WindowAgg& a,
                     bool update) {
    ++k.stats.windows_emitted;
    OutLine line{static_cast<uint64_t>(start), key, {}};
    AppendAggregateLine(c_.engine.group_by, start, start + size, key, a, update, &line.text);
    k.out[static_cast<size_t>(Output::kAggregates)].push_back(std::move(line));
  }

  void EmitTotal(Worker& k, uint32_t key, const TotalsStore::Total& t) {
    ++k.stats.totals_emitted;
    OutLine line{key, 0, {}};
    AppendTotalLine(c_.engine.group_by, key, t.count, t.sum_cents, &line.text);
    k.out[static_cast<size_t>(Output::kTotals)].push_back(std::move(line));
  }

  void DrainChanges(Worker& k) {
    const int64_t size = c_.engine.window.size_ms;
    k.windows.DrainChanges([&](int64_t start, uint32_t key, const WindowAgg& a) {
      EmitAggregate(k, start, size, key, a, true);
    });
    k.totals.DrainChanges([&](uint32_t key, const TotalsStore::Total& t) { EmitTotal(k, key, t); });
  }

  void FinalFlush(uint32_t w) {
    Worker& k = *workers_[w];
    if (c_.engine.emit == EmitMode::kChanges) {
      DrainChanges(k);
      k.windows.CloseAll([](int64_t, uint32_t, const WindowAgg&) {});
      return;
    }
    const int64_t size = c_.engine.window.size_ms;
    k.windows.CloseAll([&](int64_t start, uint32_t key, const WindowAgg& a) {
      EmitAggregate(k, start, size, key, a, false);
    });
    k.totals.ForEach([&](uint32_t key, const TotalsStore::Total& t) { EmitTotal(k, key, t); });
  }

  // Called between chunks, with every worker idle: sorts and writes what the workers emitted,
  // and folds their counters into *totals.
  Status Flush(PipelineStats* totals) {
    for (int o = 0; o < kOutputCount; ++o) {
      merged_.clear();
      for (auto& k : workers_) {
        for (OutLine& l : k->out[o]) merged_.push_back(&l);
      }
      if (merged_.empty()) continue;
      std::stable_sort(merged_.begin(), merged_.end(), [](const OutLine* a, const OutLine* b) {
        return a->k1 != b->k1 ? a->k1 < b->k1 : a->k2 < b->k2;
      });
      buf_.clear();
      for (const OutLine* l : merged_) buf_ += l->text;
      for (auto& k : workers_) k->out[o].clear();
      if (Status s = sink_->Write(static_cast<Output>(o), buf_); !s.ok()) return s;
    }
    for (auto& k : workers_) {
      PipelineStats s = k->stats;
      s.records = s.bytes = 0;  // counted by the coordinator
      totals->Add(s);
      k->stats = PipelineStats();
    }
    if (metrics_) metrics_->Publish(*totals);
    return Status::Ok();
  }

  size_t OpenWindows() const {
    size_t n = 0;
    for (const auto& k : workers_) n += k->windows.open_windows();
    return n;
  }

  const RunConfig& c_;
  OutputSink* sink_;
  PipelineMetrics* metrics_;
  const uint32_t W_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uint64_t> offsets_;   // per partition; written only by the owning worker
  std::vector<int64_t> batch_max_;  // per partition, this batch; written only by the owner
  PartitionWatermarks global_;      // coordinator only
  std::vector<const OutLine*> merged_;
  std::string buf_;
};

}  // namespace

Result<RunSummary> RunEmbedded(const RunConfig& config, OutputSink* sink, PipelineMetrics* metrics,
                               const ProgressFn& progress, const std::function<bool()>& stop) {
  Pipeline p(config, sink, metrics);
  return p.Run(progress, stop);
}

}  // namespace spate
