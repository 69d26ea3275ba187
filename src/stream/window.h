#pragma once
// Event-time windows aligned to the epoch: size and hop (hop == size: tumbling).
// Window [s, s + size) with s a multiple of hop contains t when s <= t < s + size.

#include <cstdint>

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
};

// Per window and key: the aggregate of the records added.
struct WindowAgg {
  int64_t count = 0;
  int64_t sum_cents = 0;
  int64_t min_cents = INT64_MAX;
  int64_t max_cents = INT64_MIN;
  int64_t purchases = 0;
  int64_t refunds = 0;

  void Add(int64_t amount_cents, bool refund) {
    ++count;
    sum_cents += amount_cents;
    if (amount_cents < min_cents) min_cents = amount_cents;
    if (amount_cents > max_cents) max_cents = amount_cents;
    refunds += refund;
    purchases += !refund;
  }
};

}  // namespace spate
