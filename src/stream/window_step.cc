#include "stream/window_step.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/bytes.h"

namespace spate {

WindowStep::WindowStep(const EngineConfig& e, const OutputEncoding& enc, PipelineStats* stats,
                       bool track_changes)
    : engine_(e),
      enc_(enc),
      stats_(stats),
      windows_(e.window, track_changes, [this](std::vector<uint64_t>* k) { SortKeys(k); }),
      totals_([this](std::vector<uint64_t>* k) { SortKeys(k); }) {}

namespace {
// A string's first 8 bytes as a big-endian number (zeros past its end): numbers in the order
// of the strings, except where they are equal.
uint64_t PrefixOf(std::string_view s) {
  if (s.size() >= 8) return __builtin_bswap64(Load64(s.data()));
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v = v << 8 | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0u);
  }
  return v;
}
}  // namespace

// Each key's string is looked up once, and its first 8 bytes settle most comparisons: a
// comparator that looked up both strings (std::function, one call per comparison) was 5% of
// JSON decode + aggregate on the realistic profile (perf), most of it memcmp and cache misses.
void WindowStep::SortKeys(std::vector<uint64_t>* keys) {
  order_.clear();
  order_.reserve(keys->size());
  for (uint64_t k : *keys) {
    const std::string_view s = KeyString(k);
    order_.push_back({PrefixOf(s), k, s});
  }
  std::sort(order_.begin(), order_.end(), [](const Ordered& a, const Ordered& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    if (KeyIdOf(a.key) != KeyIdOf(b.key)) return a.string < b.string;
    return CurrencyIndexOf(a.key) < CurrencyIndexOf(b.key);  // the table is in code order
  });
  for (size_t i = 0; i < order_.size(); ++i) (*keys)[i] = order_[i].key;
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
