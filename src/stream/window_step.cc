#include "stream/window_step.h"

#include <algorithm>

#include <fmt/format.h>

namespace spate {

WindowStep::WindowStep(const EngineConfig& e, const OutputEncoding& enc, PipelineStats* stats,
                       bool track_changes)
    : engine_(e),
      enc_(enc),
      stats_(stats),
      windows_(e.window, track_changes, [this](uint64_t a, uint64_t b) { return KeyLess(a, b); }),
      totals_([this](uint64_t a, uint64_t b) { return KeyLess(a, b); }) {}

bool WindowStep::KeyLess(uint64_t a, uint64_t b) const {
  if (KeyIdOf(a) != KeyIdOf(b)) return keys_.Get(KeyIdOf(a)) < keys_.Get(KeyIdOf(b));
  return CurrencyIndexOf(a) < CurrencyIndexOf(b);  // the table is in code order
}

Status WindowStep::AddPartial(std::string_view group_key, Currency c, const PartialAgg& p,
                              int64_t watermark) {
  for (const auto& [start, agg] : p.windows) {
    if (start + engine_.window.size_ms <= watermark) {
      return Status::Error(fmt::format(
          "a partial aggregate of {} records for key '{}' came for window {}, closed at "
          "watermark {}: its sender judged the window open (a bug)",
          p.records, group_key, start, watermark));
    }
  }
  const uint64_t key = StateKey(keys_.Intern(group_key), c);
  for (const auto& [start, agg] : p.windows) windows_.Merge(start, key, agg);
  if (engine_.totals) totals_.Merge(key, p.records, p.sum, p.overflow);
  stats_->aggregated += static_cast<uint64_t>(p.records);
  return Status::Ok();
}

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
  return out.Emit({Output::kLate, pos.sequence, 0, tx.user, record_, {}});
}

Status WindowStep::EmitAggregate(int64_t start, uint64_t key, const WindowAgg& a, bool update,
                                 StepOutput& out) {
  ++stats_->windows_emitted;
  if (a.overflow) ++stats_->sum_overflows;
  const GroupBy g = engine_.group_by;
  const int64_t end = start + engine_.window.size_ms;
  const std::string_view k = KeyString(key);
  const Currency c = KeyCurrency(key);
  record_.clear();
  if (enc_.aggregate_schema_id == 0) {
    AppendAggregateLine(g, start, end, k, c, a, update, &record_);
    record_.pop_back();
  } else {
    AppendAggregateAvro(g, start, end, k, c, a, update, enc_.aggregate_schema_id, &record_);
  }
  return out.Emit({Output::kAggregates, static_cast<uint64_t>(start), c.index, k, record_, k});
}

Status WindowStep::EmitTotal(uint64_t key, const TotalsStore::Total& t, StepOutput& out) {
  ++stats_->totals_emitted;
  if (t.overflow) ++stats_->sum_overflows;
  const std::string_view k = KeyString(key);
  const Currency c = KeyCurrency(key);
  record_.clear();
  AppendTotalLine(engine_.group_by, k, c, t, &record_);
  record_.pop_back();
  return out.Emit({Output::kTotals, 0, c.index, k, record_, k});
}

Status WindowStep::EmitTotals(StepOutput& out) {
  Status st;
  totals_.ForEach([&](uint64_t key, const TotalsStore::Total& t) {
    if (st.ok()) st = EmitTotal(key, t, out);
  });
  return st;
}

void WindowStep::ForgetChanges() {
  windows_.DrainChanges([](int64_t, uint64_t, const WindowAgg&) {});
  totals_.DrainChanges([](uint64_t, const TotalsStore::Total&) {});
}

}  // namespace spate
