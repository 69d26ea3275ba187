#pragma once
// The engine's second step, once per valid record: add it to every event-time window that
// contains it and is still open at the watermark, and to its key's all-time total. A record
// that missed some or all of its windows (they had closed: end <= watermark) is emitted to the
// late output with the windows it missed.
//
// Then, at the points the runner chooses (a batch boundary, the end of the input):
//   - CloseUpTo / CloseAll close windows; in final mode each (window, key) result is emitted;
//   - DrainWindowChanges / DrainTotalChanges hand over what changed since the last drain
//     (emitted as updates when asked: emit-changes mode, and the Kafka runner's totals);
//   - EmitTotals emits every all-time total (the embedded runner's end of input).
// Each of them also tells the caller which entries closed or changed, which is how the Kafka
// runner keeps its changelog. All of a group key's records must reach the same WindowStep.

#include <cstdint>
#include <string>
#include <vector>

#include "core/transaction.h"
#include "stream/engine_config.h"
#include "stream/output.h"
#include "stream/output_format.h"
#include "stream/stats.h"
#include "stream/totals.h"
#include "stream/window_store.h"

namespace spate {

// Callbacks for a caller with nothing to do when an entry closes or changes.
inline Status IgnoreClosed(int64_t, uint32_t) { return Status::Ok(); }
inline Status IgnoreWindowChange(int64_t, uint32_t, const WindowAgg&) { return Status::Ok(); }
inline Status IgnoreTotalChange(uint32_t, const TotalsStore::Total&) { return Status::Ok(); }

class WindowStep {
 public:
  // track_changes: DrainWindowChanges() is used (emit-changes mode, or a changelog).
  // Counts into *stats, which must outlive the step.
  WindowStep(const EngineConfig& e, const OutputEncoding& enc, PipelineStats* stats,
             bool track_changes);

  Status Add(const Transaction& tx, const SourcePosition& pos, int64_t watermark, StepOutput& out) {
    const uint32_t key = GroupKeyOf(tx, engine_.group_by);
    missed_.clear();
    const WindowStore::AddResult r = windows_.Add(tx.time_ms, key, tx.amount_cents,
                                                  tx.type == TxType::kRefund, watermark, &missed_);
    totals_.Add(key, tx.amount_cents);
    if (r.missed == 0) {
      ++stats_->aggregated;
      return Status::Ok();
    }
    return EmitLate(tx, pos, watermark, r, out);
  }

  // Closes every window with end <= watermark (CloseAll: every window). In final mode each
  // (window, key) result is emitted; closed(start, key) is called for each either way.
  // Callbacks return a Status: the first error stops the emitting and is returned.
  template <typename Fn>
  Status CloseUpTo(int64_t watermark, StepOutput& out, Fn&& closed) {
    Status st;
    windows_.CloseUpTo(watermark, [&](int64_t start, uint32_t key, const WindowAgg& a) {
      st = OnClose(st, start, key, a, out, closed);
    });
    return st;
  }
  template <typename Fn>
  Status CloseAll(StepOutput& out, Fn&& closed) {
    Status st;
    windows_.CloseAll([&](int64_t start, uint32_t key, const WindowAgg& a) {
      st = OnClose(st, start, key, a, out, closed);
    });
    return st;
  }

  // Every (window, key) changed since the last call, in (start, key) order: emitted as an
  // update when `emit`, and changed(start, key, agg) either way.
  template <typename Fn>
  Status DrainWindowChanges(bool emit, StepOutput& out, Fn&& changed) {
    Status st;
    windows_.DrainChanges([&](int64_t start, uint32_t key, const WindowAgg& a) {
      if (!st.ok()) return;
      if (emit) st = EmitAggregate(start, key, a, true, out);
      if (st.ok()) st = changed(start, key, a);
    });
    return st;
  }
  // Every total changed since the last call, in key order: emitted when `emit`, and
  // changed(key, total) either way.
  template <typename Fn>
  Status DrainTotalChanges(bool emit, StepOutput& out, Fn&& changed) {
    Status st;
    totals_.DrainChanges([&](uint32_t key, const TotalsStore::Total& t) {
      if (!st.ok()) return;
      if (emit) st = EmitTotal(key, t, out);
      if (st.ok()) st = changed(key, t);
    });
    return st;
  }
  // Every all-time total, in key order.
  Status EmitTotals(StepOutput& out);

  // Restoring from a checkpoint: puts entries back, then forgets them as changes.
  void RestoreWindow(int64_t start, uint32_t key, const WindowAgg& a) {
    windows_.Restore(start, key, a);
  }
  void RestoreTotal(uint32_t key, int64_t count, int64_t sum_cents) {
    totals_.Restore(key, count, sum_cents);
  }
  void ForgetChanges();

  size_t open_windows() const { return windows_.open_windows(); }
  const EngineConfig& engine() const { return engine_; }

 private:
  template <typename Fn>
  Status OnClose(const Status& st, int64_t start, uint32_t key, const WindowAgg& a, StepOutput& out,
                 Fn& closed) {
    if (!st.ok()) return st;
    if (engine_.emit == EmitMode::kFinal) {
      if (Status s = EmitAggregate(start, key, a, false, out); !s.ok()) return s;
    }
    return closed(start, key);
  }
  Status EmitLate(const Transaction& tx, const SourcePosition& pos, int64_t watermark,
                  const WindowStore::AddResult& r, StepOutput& out);
  Status EmitAggregate(int64_t start, uint32_t key, const WindowAgg& a, bool update,
                       StepOutput& out);
  Status EmitTotal(uint32_t key, const TotalsStore::Total& t, StepOutput& out);

  const EngineConfig engine_;
  const OutputEncoding enc_;
  PipelineStats* stats_;
  WindowStore windows_;
  TotalsStore totals_;
  // Scratch space reused across records.
  std::vector<int64_t> missed_;
  std::string record_, key_;
};

}  // namespace spate
