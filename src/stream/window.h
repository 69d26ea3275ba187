#pragma once
// Event-time windows aligned to the epoch: size and hop (hop == size: tumbling).
// Window [s, s + size) with s a multiple of hop contains t when s <= t < s + size.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/money.h"
#include "core/transaction.h"

namespace spate {

struct WindowSpec {
  int64_t size_ms = 60'000;
  int64_t hop_ms = 60'000;

  // Calls fn(start) for every window containing t, latest start first. Times are >= 0.
  template <typename Fn>
  void ForEach(int64_t t, Fn&& fn) const {
    int64_t start = t - t % hop_ms;
    for (; start > t - size_ms && start >= 0; start -= hop_ms) fn(start);
  }
  // The end of the earliest window containing t: t's record is late for some window once the
  // watermark reaches it.
  int64_t EarliestEnd(int64_t t) const {
    int64_t earliest = t - t % hop_ms;
    ForEach(t, [&](int64_t start) { earliest = start; });
    return earliest + size_ms;
  }
};

// Per window, key and currency: the aggregate of the records added, amounts in the currency's
// minor units. The sum is 128-bit and checked: `overflow` is set, and the sum left as it was,
// if an addition would not fit (impossible below 1.7 x 10^20 records of 18-digit amounts).
struct WindowAgg {
  int64_t count = 0;
  PackedSum sum = 0;
  int64_t min = INT64_MAX;
  int64_t max = INT64_MIN;
  int64_t purchases = 0;
  int64_t refunds = 0;
  bool overflow = false;

  void Add(int64_t amount, TxKind kind) {
    ++count;
    if (!AddTo(&sum, amount)) overflow = true;
    if (amount < min) min = amount;
    if (amount > max) max = amount;
    purchases += kind == TxKind::kPurchase;
    refunds += kind == TxKind::kRefund;
  }
  // Adds another aggregate of the same window and key (a partial one: stream/partial.h).
  void Merge(const WindowAgg& o) {
    count += o.count;
    if (o.overflow || !AddTo(&sum, o.sum)) overflow = true;
    if (o.min < min) min = o.min;
    if (o.max > max) max = o.max;
    purchases += o.purchases;
    refunds += o.refunds;
  }
};

// The composite key of the engine's state: a group key's id (an Interner's) and the currency.
inline uint64_t StateKey(uint32_t key_id, Currency c) { return uint64_t{c.index} << 32 | key_id; }
inline uint32_t KeyIdOf(uint64_t state_key) { return static_cast<uint32_t>(state_key); }
inline uint16_t CurrencyIndexOf(uint64_t state_key) {
  return static_cast<uint16_t>(state_key >> 32);
}

// Puts StateKeys in the order their results are handed back in (the caller's: WindowStep's is
// key strings, then currency codes). The stores call it once per sort, not once per comparison.
using KeyOrder = std::function<void(std::vector<uint64_t>*)>;
inline void NumericOrder(std::vector<uint64_t>* keys) { std::sort(keys->begin(), keys->end()); }

}  // namespace spate
