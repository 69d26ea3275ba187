#include "runner/embedded/embedded.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/codec.h"
#include "runner/embedded/fork_join.h"
#include "stream/metrics.h"
#include "stream/source_step.h"
#include "stream/watermark.h"
#include "stream/window_step.h"

namespace spate {
namespace {

// A line for one output with the keys that order it within a chunk's flush.
struct OutLine {
  uint64_t k1, k2;
  std::string text;
};

// What a worker's steps emit, kept for the coordinator's sorted flush.
class Collected final : public StepOutput {
 public:
  Status Emit(const Emitted& e) override {
    OutLine& l = lines[static_cast<size_t>(e.output)].emplace_back(OutLine{e.order1, e.order2, {}});
    l.text.reserve(e.record.size() + 1);
    l.text.append(e.record);
    l.text.push_back('\n');
    return Status::Ok();
  }
  std::array<std::vector<OutLine>, kOutputCount> lines;
};

struct Routed {
  Transaction tx;
  SourcePosition pos;
};

struct Worker {
  explicit Worker(const RunConfig& c)
      : decoder(NewDecoder(c.source.wire)),
        source(c.engine, {}, &stats),
        windows(c.engine, {}, &stats, c.engine.emit == EmitMode::kChanges) {}

  PipelineStats stats;  // before the steps, which count into it
  std::unique_ptr<Decoder> decoder;
  SourceStep source;
  WindowStep windows;
  std::array<std::vector<std::vector<Routed>>, 2> outbox;  // [chunk parity][destination worker]
  Collected out;
};

inline uint32_t OwnerOfKey(uint32_t key, uint32_t workers) {
  return static_cast<uint32_t>((uint64_t{key} * 0x9E3779B97F4A7C15ull) >> 32) % workers;
}

class Pipeline {
 public:
  Pipeline(const RunConfig& c, OutputSink& sink, const EngineHooks& hooks)
      : c_(c),
        sink_(sink),
        hooks_(hooks),
        W_(c.workers),
        offsets_(c.source.partitions, 0),
        batch_max_(c.source.partitions, kNoWatermark),
        global_(c.source.partitions, c.engine.lateness_ms) {
    if (hooks.metrics) metrics_.emplace(*hooks.metrics);
    for (uint32_t w = 0; w < W_; ++w) {
      workers_.push_back(std::make_unique<Worker>(c));
      for (auto& o : workers_.back()->outbox) o.resize(W_);
    }
  }

  Result<RunSummary> Run() {
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
      std::unique_ptr<Chunk> cur = (hooks_.stop && hooks_.stop()) ? nullptr : source.Next();
      if (!cur) break;
      totals.records += cur->size();
      totals.bytes += cur->payload_bytes();
      const int64_t cur_wm = wm;
      pool.Run([&](uint32_t w) {
        if (prev) AggregateChunk(w, *prev, prev_wm, prev->last_in_batch);
        JudgeChunk(w, *cur);
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
      if (hooks_.progress && now - last_progress >= std::chrono::seconds(1)) {
        last_progress = now;
        hooks_.progress(
            {totals, OpenWindows(), wm, std::chrono::duration<double>(now - t0).count()});
      }
    }
    // End of input: aggregate the last chunk, then emit every open window and the totals.
    pool.Run([&](uint32_t w) {
      if (prev) AggregateChunk(w, *prev, prev_wm, true);
      EndOfInput(w);
    });
    if (metrics_ && prev) {
      metrics_->ObserveLatency(std::chrono::steady_clock::now() - prev->created);
    }
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
  // The source step for the partitions w owns; valid records go to their key's owner.
  void JudgeChunk(uint32_t w, const Chunk& c) {
    Worker& k = *workers_[w];
    auto& outbox = k.outbox[c.index % 2];
    Transaction tx;
    for (size_t i = 0; i < c.size(); ++i) {
      const uint32_t p = c.partition[i];
      if (p % W_ != w) continue;
      const InputRecord in{c.payload(i), c.readable(i), c.key(i),
                           SourcePosition{c.first_seq + i, p, offsets_[p]++}};
      if (k.source.Process(*k.decoder, in, k.out, &tx) != Verdict::kValid) continue;
      if (tx.time_ms > batch_max_[p]) batch_max_[p] = tx.time_ms;
      outbox[OwnerOfKey(k.source.GroupKey(tx), W_)].push_back(Routed{tx, in.pos});
    }
  }

  // The window step for the keys w owns: the records every worker routed to w for chunk c.
  void AggregateChunk(uint32_t w, const Chunk& c, int64_t wm, bool end_of_batch) {
    Worker& k = *workers_[w];
    (void)k.windows.CloseUpTo(wm, k.out, IgnoreClosed);
    for (auto& src : workers_) {
      auto& in = src->outbox[c.index % 2][w];
      for (const Routed& r : in) (void)k.windows.Add(r.tx, r.pos, wm, k.out);
      in.clear();
    }
    if (c_.engine.emit == EmitMode::kChanges && end_of_batch) DrainChanges(k);
  }

  void DrainChanges(Worker& k) {
    (void)k.windows.DrainWindowChanges(true, k.out, IgnoreWindowChange);
    (void)k.windows.DrainTotalChanges(true, k.out, IgnoreTotalChange);
  }

  // Every window still open; in final mode, also every all-time total.
  void EndOfInput(uint32_t w) {
    Worker& k = *workers_[w];
    if (c_.engine.emit == EmitMode::kChanges) DrainChanges(k);
    (void)k.windows.CloseAll(k.out, IgnoreClosed);
    if (c_.engine.emit == EmitMode::kFinal) (void)k.windows.EmitTotals(k.out);
  }

  // Called between chunks, with every worker idle: sorts and writes what the workers emitted,
  // and folds their counters into *totals.
  Status Flush(PipelineStats* totals) {
    for (int o = 0; o < kOutputCount; ++o) {
      merged_.clear();
      for (auto& k : workers_) {
        for (OutLine& l : k->out.lines[o]) merged_.push_back(&l);
      }
      if (merged_.empty()) continue;
      std::stable_sort(merged_.begin(), merged_.end(), [](const OutLine* a, const OutLine* b) {
        return a->k1 != b->k1 ? a->k1 < b->k1 : a->k2 < b->k2;
      });
      buf_.clear();
      for (const OutLine* l : merged_) buf_ += l->text;
      for (auto& k : workers_) k->out.lines[o].clear();
      if (Status s = sink_.Write(static_cast<Output>(o), buf_); !s.ok()) return s;
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
  OutputSink& sink_;
  const EngineHooks& hooks_;
  std::optional<PipelineMetrics> metrics_;
  const uint32_t W_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uint64_t> offsets_;   // per partition; written only by the owning worker
  std::vector<int64_t> batch_max_;  // per partition, this batch; written only by the owner
  PartitionWatermarks global_;      // coordinator only
  std::vector<const OutLine*> merged_;
  std::string buf_;
};

}  // namespace

Result<RunSummary> RunEmbedded(const RunConfig& config, OutputSink& sink,
                               const EngineHooks& hooks) {
  Pipeline p(config, sink, hooks);
  return p.Run();
}

}  // namespace spate
