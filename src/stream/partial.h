#pragma once
// Partial aggregation before a shuffle (Flink's local-global aggregation, Spark's partial
// aggregation): the Kafka runner's input tasks combine a batch's valid records per (group key,
// currency), so that one entry per key and batch crosses the repartition topic instead of one
// per record. A PartialAgg is what one key's records of one batch add: to its all-time total,
// and to each window they fall in. WindowStep::AddPartial adds it on the other side; it must
// only carry records that cannot be late there (runner/kafka/tasks.h says how that is judged).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/currency.h"
#include "core/money.h"
#include "core/transaction.h"
#include "stream/window.h"

namespace spate {

struct PartialAgg {
  int64_t records = 0;  // how many records it combines
  Sum sum = 0;          // their amounts' sum (the total's share)
  bool overflow = false;
  std::vector<std::pair<int64_t, WindowAgg>> windows;  // by window start: one or a few
  std::vector<int64_t> stamps;  // each record's input Kafka timestamp, when kept (latency)

  void Add(const Transaction& tx, const WindowSpec& spec) {
    ++records;
    if (!AddChecked(sum, tx.amount, &sum)) overflow = true;
    spec.ForEach(tx.time_ms, [&](int64_t start) {
      for (auto& [s, agg] : windows) {
        if (s == start) return agg.Add(tx.amount, tx.kind());
      }
      windows.emplace_back(start, WindowAgg{}).second.Add(tx.amount, tx.kind());
    });
  }
  void Clear() {
    records = 0;
    sum = 0;
    overflow = false;
    windows.clear();
    stamps.clear();
  }
};

// One batch's partial aggregates, by (group key, currency). The entries are reused from batch
// to batch, so a key seen before costs no allocation.
class Combiner {
 public:
  explicit Combiner(WindowSpec spec) : spec_(spec) {}

  // stamp >= 0: the record's input Kafka timestamp, kept for the record-to-result latency.
  void Add(std::string_view key, const Transaction& tx, int64_t stamp) {
    probe_.assign(reinterpret_cast<const char*>(&tx.currency.index), sizeof tx.currency.index);
    probe_.append(key);
    auto [it, fresh] = index_.try_emplace(probe_, used_);
    if (fresh) {
      if (used_ == entries_.size()) entries_.emplace_back();
      Entry& e = entries_[used_++];
      e.key.assign(key);
      e.currency = tx.currency;
      e.agg.Clear();
    }
    PartialAgg& agg = entries_[it->second].agg;
    agg.Add(tx, spec_);
    if (stamp >= 0) agg.stamps.push_back(stamp);
  }

  bool empty() const { return used_ == 0; }
  // fn(key, currency, agg) for each key of the batch, then forgets them.
  template <typename Fn>
  void Drain(Fn&& fn) {
    for (size_t i = 0; i < used_; ++i) fn(entries_[i].key, entries_[i].currency, entries_[i].agg);
    Clear();
  }
  void Clear() {
    index_.clear();
    used_ = 0;
  }

 private:
  struct Entry {
    std::string key;
    Currency currency;
    PartialAgg agg;
  };
  const WindowSpec spec_;
  absl::flat_hash_map<std::string, size_t> index_;  // currency index bytes + key -> entries_
  std::vector<Entry> entries_;
  size_t used_ = 0;
  std::string probe_;
};

}  // namespace spate
