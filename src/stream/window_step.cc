#include "stream/window_step.h"

#include <algorithm>

namespace spate {

WindowStep::WindowStep(const EngineConfig& e, const OutputEncoding& enc, PipelineStats* stats,
                       bool track_changes)
    : engine_(e), enc_(enc), stats_(stats), windows_(e.window, track_changes) {}

Status WindowStep::EmitLate(const Transaction& tx, const SourcePosition& pos, int64_t watermark,
                            const WindowStore::AddResult& r, StepOutput& out) {
  const bool partial = r.missed < r.windows;
  if (partial) {
    ++stats_->aggregated;
    ++stats_->partially_late;
  } else {
    ++stats_->late;
  }
  std::sort(missed_.begin(), missed_.end());
  record_.clear();
  AppendLateLine(pos, watermark, missed_, partial, tx, &record_);
  record_.pop_back();
  key_.resize(24);
  key_.resize(FormatId(key_.data(), kUserPrefix, tx.user));
  return out.Emit({Output::kLate, pos.sequence, 0, key_, record_});
}

Status WindowStep::EmitAggregate(int64_t start, uint32_t key, const WindowAgg& a, bool update,
                                 StepOutput& out) {
  ++stats_->windows_emitted;
  const GroupBy g = engine_.group_by;
  const int64_t end = start + engine_.window.size_ms;
  record_.clear();
  if (enc_.aggregate_schema_id == 0) {
    AppendAggregateLine(g, start, end, key, a, update, &record_);
    record_.pop_back();
  } else {
    AppendAggregateAvro(g, start, end, key, a, update, enc_.aggregate_schema_id, &record_);
  }
  key_.clear();
  AppendGroupKey(g, key, &key_);
  return out.Emit({Output::kAggregates, static_cast<uint64_t>(start), key, key_, record_});
}

Status WindowStep::EmitTotal(uint32_t key, const TotalsStore::Total& t, StepOutput& out) {
  ++stats_->totals_emitted;
  const GroupBy g = engine_.group_by;
  record_.clear();
  AppendTotalLine(g, key, t.count, t.sum_cents, &record_);
  record_.pop_back();
  key_.clear();
  AppendGroupKey(g, key, &key_);
  return out.Emit({Output::kTotals, key, 0, key_, record_});
}

Status WindowStep::EmitTotals(StepOutput& out) {
  Status st;
  totals_.ForEach([&](uint32_t key, const TotalsStore::Total& t) {
    if (st.ok()) st = EmitTotal(key, t, out);
  });
  return st;
}

void WindowStep::ForgetChanges() {
  windows_.DrainChanges([](int64_t, uint32_t, const WindowAgg&) {});
  totals_.DrainChanges([](uint32_t, const TotalsStore::Total&) {});
}

}  // namespace spate
