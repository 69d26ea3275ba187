#pragma once
// All-time totals per group key and currency (the reference job, fixed): count and exact sum.
// Keys are StateKeys; the order they are handed back in is the caller's KeyOrder, as in
// WindowStore. One per worker or task. State grows with the distinct keys seen (docs/
// semantics.md); --totals off turns totals off.

#include <cstdint>
#include <vector>

#include "core/money.h"
#include "stream/key_table.h"
#include "stream/window.h"

namespace spate {

class TotalsStore {
 public:
  // Aligned to its size (static_assert below): a total never straddles two cache lines.
  struct alignas(32) Total {
    int64_t count = 0;
    PackedSum sum = 0;
    bool overflow = false;  // an addition would not fit 128 bits (see WindowAgg)
    bool dirty = false;
  };
  explicit TotalsStore(KeyOrder order = NumericOrder) : order_(std::move(order)) {}

  void Add(uint64_t key, int64_t amount) {
    Total& t = Changed(key);
    ++t.count;
    if (!AddTo(&t.sum, amount)) t.overflow = true;
  }
  // Hints for a caller that knows its next keys (KeyTable's): PrefetchKey, then PrefetchValue.
  void PrefetchKey(uint64_t key) const { totals_.PrefetchKey(key); }
  void PrefetchValue(uint64_t key) const { totals_.PrefetchValue(key); }
  // Adds `count` records of sum `sum` at once (a partial aggregate: stream/partial.h).
  void Merge(uint64_t key, int64_t count, Sum sum, bool overflow) {
    Total& t = Changed(key);
    t.count += count;
    if (overflow || !AddTo(&t.sum, sum)) t.overflow = true;
  }

  // fn(key, total) for every key, in the KeyOrder's order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    std::vector<uint64_t> keys;
    keys.reserve(totals_.size());
    totals_.ForEach([&](uint64_t k, const Total&) { keys.push_back(k); });
    order_(&keys);
    for (uint64_t k : keys) fn(k, *totals_.find(k));
  }

  // fn(key, total) for every key changed since the last call, in the KeyOrder's order.
  template <typename Fn>
  void DrainChanges(Fn&& fn) {
    order_(&dirty_);
    for (uint64_t k : dirty_) {
      Total& t = *totals_.find(k);
      t.dirty = false;
      fn(k, t);
    }
    dirty_.clear();
  }

  // Puts back a key's total from a checkpoint.
  void Restore(uint64_t key, int64_t count, Sum sum) {
    Total& t = totals_[key];
    t.count = count;
    t.sum = sum;
  }

  size_t size() const { return totals_.size(); }

 private:
  Total& Changed(uint64_t key) {
    Total& t = totals_[key];
    if (!t.dirty) {
      t.dirty = true;
      dirty_.push_back(key);
    }
    return t;
  }

  static_assert(sizeof(Total) == 32, "two totals a cache line");
  KeyTable<Total> totals_;
  std::vector<uint64_t> dirty_;
  KeyOrder order_;
};

}  // namespace spate
