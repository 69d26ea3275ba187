#include "stream/window_store.h"

#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "stream/watermark.h"

namespace spate {
namespace {

using Emitted =
    std::vector<std::tuple<int64_t, uint32_t, int64_t, int64_t>>;  // start,key,count,sum

std::vector<int64_t> Starts(WindowSpec w, int64_t t) {
  std::vector<int64_t> s;
  w.ForEach(t, [&](int64_t start) { s.push_back(start); });
  return s;
}

TEST(WindowSpec, TumblingAndHopping) {
  EXPECT_EQ(Starts({60'000, 60'000}, 59'999), (std::vector<int64_t>{0}));
  EXPECT_EQ(Starts({60'000, 60'000}, 60'000), (std::vector<int64_t>{60'000}));
  EXPECT_EQ(Starts({60'000, 20'000}, 65'000), (std::vector<int64_t>{60'000, 40'000, 20'000}));
  EXPECT_EQ(Starts({60'000, 20'000}, 60'000), (std::vector<int64_t>{60'000, 40'000, 20'000}));
  // A hop that does not divide the size: [s, s+50) for s multiple of 20 containing 45: 40, 20, 0.
  EXPECT_EQ(Starts({50, 20}, 45), (std::vector<int64_t>{40, 20, 0}));
  EXPECT_EQ(Starts({50, 20}, 50), (std::vector<int64_t>{40, 20}));
}

TEST(WindowStore, AggregatesAndClosesInOrder) {
  WindowStore ws({1000, 1000}, false);
  std::vector<int64_t> missed;
  ws.Add(1500, 2, 100, false, kNoWatermark, &missed);
  ws.Add(1700, 1, 300, true, kNoWatermark, &missed);
  ws.Add(1900, 2, 50, false, kNoWatermark, &missed);
  ws.Add(500, 2, 7, false, kNoWatermark, &missed);
  ws.Add(2500, 1, 9, false, kNoWatermark, &missed);
  EXPECT_TRUE(missed.empty());
  EXPECT_EQ(ws.open_windows(), 3u);
  Emitted out;
  std::vector<WindowAgg> aggs;
  ws.CloseUpTo(1999, [&](int64_t s, uint32_t k, const WindowAgg& a) {
    out.emplace_back(s, k, a.count, a.sum_cents);
  });
  EXPECT_EQ(out, (Emitted{{0, 2, 1, 7}}));
  out.clear();
  ws.CloseUpTo(2000, [&](int64_t s, uint32_t k, const WindowAgg& a) {
    out.emplace_back(s, k, a.count, a.sum_cents);
    aggs.push_back(a);
  });
  EXPECT_EQ(out, (Emitted{{1000, 1, 1, 300}, {1000, 2, 2, 150}}));
  EXPECT_EQ(aggs[0].refunds, 1);
  EXPECT_EQ(aggs[1].min_cents, 50);
  EXPECT_EQ(aggs[1].max_cents, 100);
  EXPECT_EQ(aggs[1].purchases, 2);
  EXPECT_EQ(ws.open_windows(), 1u);
}

TEST(WindowStore, LateRecordsMissClosedWindowsOnly) {
  WindowStore ws({60, 20}, false);
  std::vector<int64_t> missed;
  // t=45 belongs to [0,60), [20,80), [40,100). With watermark 70, [0,60) is closed.
  auto r = ws.Add(45, 1, 10, false, 70, &missed);
  EXPECT_EQ(r.windows, 3);
  EXPECT_EQ(r.missed, 1);
  EXPECT_EQ(missed, (std::vector<int64_t>{0}));
  missed.clear();
  r = ws.Add(45, 1, 10, false, 100, &missed);
  EXPECT_EQ(r.missed, 3);
}

TEST(WindowStore, ChangesAreDrainedOncePerChange) {
  WindowStore ws({1000, 1000}, true);
  std::vector<int64_t> missed;
  ws.Add(10, 5, 1, false, kNoWatermark, &missed);
  ws.Add(20, 5, 2, false, kNoWatermark, &missed);
  ws.Add(1010, 3, 4, false, kNoWatermark, &missed);
  Emitted out;
  auto collect = [&](int64_t s, uint32_t k, const WindowAgg& a) {
    out.emplace_back(s, k, a.count, a.sum_cents);
  };
  ws.DrainChanges(collect);
  EXPECT_EQ(out, (Emitted{{0, 5, 2, 3}, {1000, 3, 1, 4}}));
  out.clear();
  ws.DrainChanges(collect);
  EXPECT_TRUE(out.empty());
  ws.Add(30, 5, 10, false, kNoWatermark, &missed);
  ws.DrainChanges(collect);
  EXPECT_EQ(out, (Emitted{{0, 5, 3, 13}}));
}

TEST(WindowStore, RestoredWindowsCloseLikeTheOriginals) {
  WindowStore ws({1000, 1000}, false);
  WindowAgg a;
  a.Add(500, false);
  a.Add(700, true);
  ws.Restore(2000, 4, a);
  std::vector<int64_t> missed;
  ws.Add(2100, 4, 100, false, kNoWatermark, &missed);
  Emitted out;
  std::vector<WindowAgg> aggs;
  ws.CloseAll([&](int64_t s, uint32_t k, const WindowAgg& g) {
    out.emplace_back(s, k, g.count, g.sum_cents);
    aggs.push_back(g);
  });
  EXPECT_EQ(out, (Emitted{{2000, 4, 3, 1300}}));
  EXPECT_EQ(aggs[0].min_cents, 100);
  EXPECT_EQ(aggs[0].refunds, 1);
}

TEST(PartitionWatermarks, MinimumOverActivePartitions) {
  PartitionWatermarks w(3, 100);
  EXPECT_EQ(w.Current(), kNoWatermark);
  w.Observe(0, 5000);
  EXPECT_EQ(w.Current(), 4900);
  w.Observe(2, 3000);
  EXPECT_EQ(w.Current(), 2900);
  w.Observe(2, 2000);  // never moves back
  EXPECT_EQ(w.Current(), 2900);
  EXPECT_EQ(w.MaxEventTime(), 5000);
}

}  // namespace
}  // namespace spate
