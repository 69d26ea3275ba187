#pragma once
// Exponential backoff with full jitter (AWS architecture blog's "full jitter", which Vector and
// the Elasticsearch clients also use): attempt n waits a uniform random time in
// [0, min(cap, base * 2^n)], so that many writers that failed together do not retry together.

#include <algorithm>
#include <cstdint>
#include <random>

namespace spate::es {

class Backoff {
 public:
  Backoff(int64_t base_ms, int64_t cap_ms, uint64_t seed = std::random_device{}())
      : base_ms_(base_ms), cap_ms_(cap_ms), rng_(seed) {}

  // The ceiling of attempt n (0-based): min(cap, base * 2^n).
  int64_t Ceiling(int attempt) const {
    int64_t c = base_ms_;
    for (int i = 0; i < attempt && c < cap_ms_; ++i) c *= 2;
    return std::min(c, cap_ms_);
  }
  // A delay for attempt n, uniform in [0, Ceiling(n)]; never less than 1 ms.
  int64_t Delay(int attempt) {
    std::uniform_int_distribution<int64_t> d(1, std::max<int64_t>(1, Ceiling(attempt)));
    return d(rng_);
  }

 private:
  int64_t base_ms_, cap_ms_;
  std::mt19937_64 rng_;
};

}  // namespace spate::es
