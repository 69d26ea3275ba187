#pragma once
// Per-partition event-time progress. The watermark is the minimum, over partitions that have
// seen a record, of (largest event time - lateness); kNoWatermark before any record.
// With an idle bound D (> 0), a partition whose largest time is more than D behind the largest
// of all is left out until it catches up: `spate run --idle-timeout`, in event time because
// its input is a replay (docs/semantics.md). Left out and back in, the minimum can fall: the
// caller keeps its watermark from moving backwards.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace spate {

inline constexpr int64_t kNoWatermark = INT64_MIN;

class PartitionWatermarks {
 public:
  PartitionWatermarks(size_t partitions, int64_t lateness_ms, int64_t idle_ms = 0)
      : max_time_(partitions, kNoWatermark), lateness_ms_(lateness_ms), idle_ms_(idle_ms) {}

  void Observe(size_t partition, int64_t time_ms) {
    max_time_[partition] = std::max(max_time_[partition], time_ms);
  }
  // Folds another tracker's observations in (per-batch local maxima).
  void Merge(const PartitionWatermarks& other) {
    for (size_t p = 0; p < max_time_.size(); ++p) {
      max_time_[p] = std::max(max_time_[p], other.max_time_[p]);
    }
  }
  void Reset() { std::fill(max_time_.begin(), max_time_.end(), kNoWatermark); }

  int64_t Current() const {
    int64_t wm = INT64_MAX;
    bool any = false;
    const int64_t newest = MaxEventTime();
    for (int64_t t : max_time_) {
      if (t == kNoWatermark) continue;
      if (idle_ms_ > 0 && t < newest - idle_ms_) continue;  // idle
      any = true;
      wm = std::min(wm, t - lateness_ms_);
    }
    return any ? wm : kNoWatermark;
  }
  int64_t MaxTimeOf(size_t partition) const { return max_time_[partition]; }
  int64_t MaxEventTime() const { return *std::max_element(max_time_.begin(), max_time_.end()); }
  size_t partitions() const { return max_time_.size(); }

 private:
  std::vector<int64_t> max_time_;
  int64_t lateness_ms_;
  int64_t idle_ms_;
};

}  // namespace spate
