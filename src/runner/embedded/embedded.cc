#include "runner/embedded/embedded.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/hash/hash.h>

#include "core/codec.h"
#include "runner/embedded/fork_join.h"
#include "source/file_source.h"
#include "stream/metrics.h"
#include "stream/source_step.h"
#include "stream/watermark.h"
#include "stream/window_step.h"

namespace spate {
namespace {

// A line for one output with the keys that order it within a chunk's flush.
struct OutLine {
  uint64_t k1;
  std::string_view key;  // a group key, kept by its worker's window step
  uint64_t k2;
  std::string text;
};

// Copies of strings that must outlive the decoder's next record: a valid record's strings
// that its decoder unescaped into a buffer of its own travel to their window step by the next
// chunk. Blocks are reused once the chunk that filled them has been aggregated.
class StringArena {
 public:
  std::string_view Keep(std::string_view s) {
    if (blocks_.empty() || used_ + s.size() > blocks_[current_].size()) {
      if (!blocks_.empty()) ++current_;
      if (current_ == blocks_.size()) blocks_.emplace_back();
      std::string& b = blocks_[current_];
      if (b.size() < s.size()) b.resize(std::max<size_t>(s.size(), 64 << 10));
      used_ = 0;
    }
    char* p = blocks_[current_].data() + used_;
    std::memcpy(p, s.data(), s.size());
    used_ += s.size();
    return std::string_view(p, s.size());
  }
  // Reuses every block from the first.
  void Clear() {
    current_ = 0;
    used_ = 0;
  }

 private:
  std::vector<std::string> blocks_;
  size_t current_ = 0, used_ = 0;
};

// Makes tx's strings valid for as long as the chunk: those outside its bytes are copied.
void KeepStrings(std::string_view chunk, StringArena* arena, Transaction* tx) {
  for (std::string_view* s : {&tx->transaction_id, &tx->user, &tx->merchant, &tx->location,
                              &tx->type, &tx->payment_method}) {
    if (s->data() < chunk.data() || s->data() + s->size() > chunk.data() + chunk.size()) {
      *s = arena->Keep(*s);
    }
  }
}

// What a worker's steps emit, kept for the coordinator's sorted flush.
class Collected final : public StepOutput {
 public:
  Status Emit(const Emitted& e) override {
    OutLine& l = lines[static_cast<size_t>(e.output)].emplace_back(
        OutLine{e.order1, e.order_key, e.order2, {}});
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
  std::array<StringArena, 2> kept;                         // [chunk parity]: Routed's strings
  Collected out;
};

// The worker that owns a group key: the same whatever worker routes it.
inline uint32_t OwnerOfKey(std::string_view key, uint32_t workers) {
  return static_cast<uint32_t>(absl::HashOf(key) % workers);
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
        global_(c.source.partitions, c.engine.lateness_ms, c.idle_timeout_ms) {
    if (hooks.metrics) metrics_.emplace(*hooks.metrics);
    for (uint32_t w = 0; w < W_; ++w) {
      workers_.push_back(std::make_unique<Worker>(c));
      for (auto& o : workers_.back()->outbox) o.resize(W_);
    }
  }

  Result<RunSummary> Run() {
    const auto t0 = std::chrono::steady_clock::now();
    // The input: the generator, or a file (--input).
    std::optional<Generator> gen;
    std::unique_ptr<ChunkSource> source;
    FileSource* file = nullptr;
    if (c_.source.input.empty()) {
      gen.emplace(c_.gen);
      source = std::make_unique<GeneratorSource>(*gen, c_.source);
    } else {
      auto f = FileSource::Open(c_.source);
      if (!f.ok()) return f.status();
      file = f.value().get();
      source = std::move(f).value();
    }
    ForkJoin pool(W_);
    PipelineStats totals;
    int64_t wm = kNoWatermark;
    std::unique_ptr<Chunk> prev;
    int64_t prev_wm = kNoWatermark;
    auto last_progress = t0;

    for (;;) {
      std::unique_ptr<Chunk> cur = (hooks_.stop && hooks_.stop()) ? nullptr : source->Next();
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
        wm = std::max(wm, global_.Current());  // an idle partition back: never backwards
      }
      if (Status s = Flush(&totals); !s.ok()) return s;
      if (metrics_) {
        if (prev) metrics_->ObserveLatency(std::chrono::steady_clock::now() - prev->created);
        metrics_->SetWatermark(wm, OpenWindows());
        size_t users = 0, totals_kept = 0;
        for (const auto& k : workers_) {
          users += k->source.rules().tracked_users();
          totals_kept += k->windows.totals();
        }
        metrics_->SetState(users, totals_kept);
      }
      prev = std::move(cur);
      prev_wm = cur_wm;
      auto now = std::chrono::steady_clock::now();
      if (hooks_.progress && now - last_progress >= std::chrono::seconds(1)) {
        last_progress = now;
        hooks_.progress({totals, OpenWindows(), wm, std::chrono::duration<double>(now - t0).count(),
                         file ? file->bytes_in() : 0, file ? file->file_size() : 0});
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
    // A file that could not be read to its end: what was read is out, and the run fails.
    if (Status s = source->status(); !s.ok()) return s;

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
    StringArena& kept = k.kept[c.index % 2];
    kept.Clear();  // the chunk two before this one, aggregated since
    const std::string_view bytes = c.bytes;
    Transaction tx;
    for (size_t i = 0; i < c.size(); ++i) {
      const uint32_t p = c.partition[i];
      if (p % W_ != w) continue;
      const InputRecord in{c.payload(i), c.readable(i), c.key(i),
                           SourcePosition{c.first_seq + i, p, offsets_[p]++}};
      if (k.source.Process(*k.decoder, in, k.out, &tx) != Verdict::kValid) continue;
      if (tx.time_ms > batch_max_[p]) batch_max_[p] = tx.time_ms;
      KeepStrings(bytes, &kept, &tx);
      outbox[OwnerOfKey(k.source.GroupKey(tx), W_)].push_back(Routed{tx, in.pos});
    }
    // Expired rule state goes (when is free: the rules treat expired state as gone).
    if (c.last_in_batch) k.source.rules().Expire([](std::string_view) {});
  }

  // The window step for the keys w owns: the records every worker routed to w for chunk c.
  void AggregateChunk(uint32_t w, const Chunk& c, int64_t wm, bool end_of_batch) {
    Worker& k = *workers_[w];
    (void)k.windows.CloseUpTo(wm, k.out, IgnoreClosed);
    for (auto& src : workers_) {
      auto& in = src->outbox[c.index % 2][w];
      (void)k.windows.AddAll(in, wm, k.out);
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
        if (a->k1 != b->k1) return a->k1 < b->k1;
        if (a->key != b->key) return a->key < b->key;
        return a->k2 < b->k2;
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
