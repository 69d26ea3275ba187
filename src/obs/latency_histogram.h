#pragma once
// Log-linear latency histogram for delivery percentiles (p50 .. p99.9) with ~1% relative error,
// from 1 us to ~70 min, in fixed memory. Written here because Debian has no C/C++
// HdrHistogram package; prometheus histograms cannot give exact percentiles.

#include <array>
#include <cmath>
#include <cstdint>

namespace spate {

class LatencyHistogram {
 public:
  void Record(uint64_t micros) {
    ++buckets_[Index(micros)];
    ++count_;
    sum_ += micros;
    if (micros > max_) max_ = micros;
  }
  uint64_t count() const { return count_; }
  double mean_micros() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  uint64_t max_micros() const { return max_; }
  // The q-quantile (0..1) in microseconds: the upper bound of the bucket holding it.
  uint64_t Quantile(double q) const {
    if (count_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return std::min<uint64_t>(UpperBound(i), max_);
    }
    return max_;
  }
  void Merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    if (o.max_ > max_) max_ = o.max_;
  }

 private:
  // 64 linear sub-buckets per power of two: values < 64 exact, then ~1.5% steps.
  static constexpr int kSub = 64;
  static constexpr int kMaxExp = 32;
  static size_t Index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    int exp = 63 - __builtin_clzll(v);  // >= 6
    if (exp >= kMaxExp) return kSub * (kMaxExp - 5) - 1;
    uint64_t sub = (v >> (exp - 6)) - kSub;  // 0..63
    return static_cast<size_t>(kSub * (exp - 5) + sub);
  }
  static uint64_t UpperBound(size_t i) {
    if (i < kSub) return i;
    uint64_t exp = i / kSub + 5, sub = i % kSub;
    return ((kSub + sub + 1) << (exp - 6)) - 1;
  }

  std::array<uint64_t, kSub*(kMaxExp - 5)> buckets_{};
  uint64_t count_ = 0, sum_ = 0, max_ = 0;
};

}  // namespace spate
