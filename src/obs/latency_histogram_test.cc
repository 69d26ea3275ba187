#include "obs/latency_histogram.h"

#include <gtest/gtest.h>

namespace spate {
namespace {

TEST(LatencyHistogram, QuantilesWithinTwoPercent) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100'000; ++v) h.Record(v);  // uniform 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100'000u);
  EXPECT_EQ(h.max_micros(), 100'000u);
  EXPECT_NEAR(h.mean_micros(), 50'000.5, 0.01);
  for (double q : {0.5, 0.95, 0.99, 0.999}) {
    double want = q * 100'000;
    EXPECT_NEAR(static_cast<double>(h.Quantile(q)), want, want * 0.02) << q;
  }
  EXPECT_EQ(LatencyHistogram().Quantile(0.5), 0u);
}

TEST(LatencyHistogram, SmallValuesAreExactAndHugeOnesClamp) {
  LatencyHistogram h;
  h.Record(3);
  h.Record(3);
  h.Record(7);
  EXPECT_EQ(h.Quantile(0.5), 3u);
  EXPECT_EQ(h.Quantile(1.0), 7u);
  h.Record(uint64_t{1} << 40);  // beyond the top bucket: counted, max kept
  EXPECT_EQ(h.max_micros(), uint64_t{1} << 40);
  EXPECT_EQ(h.count(), 4u);
}

}  // namespace
}  // namespace spate
