#pragma once
// All-time totals per group key (the reference job, fixed): count and exact sum. One per worker.

#include <algorithm>
#include <cstdint>
#include <vector>

#include <absl/container/flat_hash_map.h>

namespace spate {

class TotalsStore {
 public:
  struct Total {
    int64_t count = 0;
    int64_t sum_cents = 0;
    bool dirty = false;
  };

  void Add(uint32_t key, int64_t amount_cents) {
    Total& t = totals_[key];
    ++t.count;
    t.sum_cents += amount_cents;
    if (!t.dirty) {
      t.dirty = true;
      dirty_.push_back(key);
    }
  }

  // fn(key, total) for every key, in key order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    std::vector<uint32_t> keys;
    keys.reserve(totals_.size());
    for (const auto& kv : totals_) keys.push_back(kv.first);
    std::sort(keys.begin(), keys.end());
    for (uint32_t k : keys) fn(k, totals_.find(k)->second);
  }

  // fn(key, total) for every key changed since the last call, in key order.
  template <typename Fn>
  void DrainChanges(Fn&& fn) {
    std::sort(dirty_.begin(), dirty_.end());
    for (uint32_t k : dirty_) {
      Total& t = totals_.find(k)->second;
      t.dirty = false;
      fn(k, t);
    }
    dirty_.clear();
  }

  // Puts back a key's total from a checkpoint.
  void Restore(uint32_t key, int64_t count, int64_t sum_cents) {
    Total& t = totals_[key];
    t.count = count;
    t.sum_cents = sum_cents;
  }

  size_t size() const { return totals_.size(); }

 private:
  absl::flat_hash_map<uint32_t, Total> totals_;
  std::vector<uint32_t> dirty_;
};

}  // namespace spate
