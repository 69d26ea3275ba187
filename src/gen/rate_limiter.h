#pragma once
// Token bucket pacing records to a target rate (records/s; 0 = unlimited). Single-threaded:
// the thread that releases records calls Acquire.

#include <chrono>
#include <cstdint>
#include <thread>

namespace spate {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // burst: how many records may go at once after an idle period.
  explicit RateLimiter(double rate, double burst = 0)
      : rate_(rate), burst_(burst > 0 ? burst : rate / 20 + 1), tokens_(0), last_(Clock::now()) {}

  // Blocks until n records may be released.
  void Acquire(uint64_t n) {
    if (rate_ <= 0) return;
    for (;;) {
      Refill();
      if (tokens_ >= static_cast<double>(n) || tokens_ >= burst_) {
        tokens_ -= static_cast<double>(n);
        return;
      }
      double missing = std::min(static_cast<double>(n), burst_) - tokens_;
      std::this_thread::sleep_for(std::chrono::duration<double>(missing / rate_));
    }
  }

 private:
  void Refill() {
    auto now = Clock::now();
    tokens_ += std::chrono::duration<double>(now - last_).count() * rate_;
    if (tokens_ > burst_) tokens_ = burst_;
    last_ = now;
  }

  double rate_, burst_, tokens_;
  Clock::time_point last_;
};

}  // namespace spate
