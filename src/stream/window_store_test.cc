#include "stream/window_store.h"

#include <algorithm>
#include <functional>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "stream/watermark.h"

namespace spate {
namespace {

using Emitted =
    std::vector<std::tuple<int64_t, uint64_t, int64_t, int64_t>>;  // start,key,count,sum

constexpr TxKind kP = TxKind::kPurchase, kR = TxKind::kRefund;

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
  ws.Add(1500, 2, 100, kP, kNoWatermark, &missed);
  ws.Add(1700, 1, 300, kR, kNoWatermark, &missed);
  ws.Add(1900, 2, 50, kP, kNoWatermark, &missed);
  ws.Add(500, 2, 7, kP, kNoWatermark, &missed);
  ws.Add(2500, 1, 9, kP, kNoWatermark, &missed);
  EXPECT_TRUE(missed.empty());
  EXPECT_EQ(ws.open_windows(), 3u);
  Emitted out;
  std::vector<WindowAgg> aggs;
  ws.CloseUpTo(1999, [&](int64_t s, uint64_t k, const WindowAgg& a) {
    out.emplace_back(s, k, a.count, static_cast<int64_t>(a.sum));
  });
  EXPECT_EQ(out, (Emitted{{0, 2, 1, 7}}));
  out.clear();
  ws.CloseUpTo(2000, [&](int64_t s, uint64_t k, const WindowAgg& a) {
    out.emplace_back(s, k, a.count, static_cast<int64_t>(a.sum));
    aggs.push_back(a);
  });
  EXPECT_EQ(out, (Emitted{{1000, 1, 1, 300}, {1000, 2, 2, 150}}));
  EXPECT_EQ(aggs[0].refunds, 1);
  EXPECT_EQ(aggs[1].min, 50);
  EXPECT_EQ(aggs[1].max, 100);
  EXPECT_EQ(aggs[1].purchases, 2);
  EXPECT_EQ(ws.open_windows(), 1u);
}

TEST(WindowStore, LateRecordsMissClosedWindowsOnly) {
  WindowStore ws({60, 20}, false);
  std::vector<int64_t> missed;
  // t=45 belongs to [0,60), [20,80), [40,100). With watermark 70, [0,60) is closed.
  auto r = ws.Add(45, 1, 10, kP, 70, &missed);
  EXPECT_EQ(r.windows, 3);
  EXPECT_EQ(r.missed, 1);
  EXPECT_EQ(missed, (std::vector<int64_t>{0}));
  missed.clear();
  r = ws.Add(45, 1, 10, kP, 100, &missed);
  EXPECT_EQ(r.missed, 3);
}

TEST(WindowStore, ChangesAreDrainedOncePerChange) {
  WindowStore ws({1000, 1000}, true);
  std::vector<int64_t> missed;
  ws.Add(10, 5, 1, kP, kNoWatermark, &missed);
  ws.Add(20, 5, 2, kP, kNoWatermark, &missed);
  ws.Add(1010, 3, 4, kP, kNoWatermark, &missed);
  Emitted out;
  auto collect = [&](int64_t s, uint64_t k, const WindowAgg& a) {
    out.emplace_back(s, k, a.count, static_cast<int64_t>(a.sum));
  };
  ws.DrainChanges(collect);
  EXPECT_EQ(out, (Emitted{{0, 5, 2, 3}, {1000, 3, 1, 4}}));
  out.clear();
  ws.DrainChanges(collect);
  EXPECT_TRUE(out.empty());
  ws.Add(30, 5, 10, kP, kNoWatermark, &missed);
  ws.DrainChanges(collect);
  EXPECT_EQ(out, (Emitted{{0, 5, 3, 13}}));
}

// A slot's changed flag lives in its aggregate's tail padding: writing the aggregate over a
// changed slot (a restore) keeps the flag, so the key is drained once, with the new value.
TEST(WindowStore, ARestoreOverAChangedSlotKeepsItsFlag) {
  WindowStore ws({1000, 1000}, true);
  std::vector<int64_t> missed;
  ws.Add(10, 5, 1, kP, kNoWatermark, &missed);
  WindowAgg a;
  a.Add(40, kP);
  a.Add(2, kR);
  ws.Restore(0, 5, a);
  ws.Add(20, 5, 100, kP, kNoWatermark, &missed);
  Emitted out;
  ws.DrainChanges([&](int64_t s, uint64_t k, const WindowAgg& g) {
    out.emplace_back(s, k, g.count, static_cast<int64_t>(g.sum));
  });
  EXPECT_EQ(out, (Emitted{{0, 5, 3, 142}}));
}

TEST(WindowStore, RestoredWindowsCloseLikeTheOriginals) {
  WindowStore ws({1000, 1000}, false);
  WindowAgg a;
  a.Add(500, kP);
  a.Add(700, kR);
  ws.Restore(2000, 4, a);
  std::vector<int64_t> missed;
  ws.Add(2100, 4, 100, kP, kNoWatermark, &missed);
  Emitted out;
  std::vector<WindowAgg> aggs;
  ws.CloseAll([&](int64_t s, uint64_t k, const WindowAgg& g) {
    out.emplace_back(s, k, g.count, static_cast<int64_t>(g.sum));
    aggs.push_back(g);
  });
  EXPECT_EQ(out, (Emitted{{2000, 4, 3, 1300}}));
  EXPECT_EQ(aggs[0].min, 100);
  EXPECT_EQ(aggs[0].refunds, 1);
}

TEST(WindowStore, KeysComeBackInTheCallersOrder) {
  // Descending keys: the KeyOrder decides, not the numbers' order.
  WindowStore ws({1000, 1000}, true, [](std::vector<uint64_t>* k) {
    std::sort(k->begin(), k->end(), std::greater<uint64_t>());
  });
  std::vector<int64_t> missed;
  for (uint64_t k : {3, 9, 1}) ws.Add(10, k, 1, kP, kNoWatermark, &missed);
  std::vector<uint64_t> keys;
  ws.DrainChanges([&](int64_t, uint64_t k, const WindowAgg&) { keys.push_back(k); });
  EXPECT_EQ(keys, (std::vector<uint64_t>{9, 3, 1}));
  keys.clear();
  ws.CloseAll([&](int64_t, uint64_t k, const WindowAgg&) { keys.push_back(k); });
  EXPECT_EQ(keys, (std::vector<uint64_t>{9, 3, 1}));
}

TEST(WindowAgg, SumsAreCheckedAndOtherTypesCountInNeither) {
  WindowAgg a;
  a.Add(-5, TxKind::kOther);
  a.Add(10, kR);
  EXPECT_EQ(a.count, 2);
  EXPECT_EQ(static_cast<int64_t>(a.sum), 5);
  EXPECT_EQ(a.min, -5);
  EXPECT_EQ(a.purchases, 0);
  EXPECT_EQ(a.refunds, 1);
  a.sum = ((Sum{1} << 126) - 1) + (Sum{1} << 126);  // the largest 128-bit sum
  a.Add(1, kP);
  EXPECT_TRUE(a.overflow);
  EXPECT_TRUE(a.sum == ((Sum{1} << 126) - 1) + (Sum{1} << 126));  // not wrapped
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

TEST(PartitionWatermarks, AnIdlePartitionIsLeftOutUntilItCatchesUp) {
  PartitionWatermarks w(3, 100, /*idle_ms=*/1000);
  w.Observe(0, 5000);
  w.Observe(1, 4500);
  EXPECT_EQ(w.Current(), 4400);  // within 1000 of the newest: both count
  w.Observe(0, 6000);
  EXPECT_EQ(w.Current(), 5900);  // 4500 < 6000 - 1000: partition 1 is idle
  w.Observe(1, 5200);
  EXPECT_EQ(w.Current(), 5100);  // back: the caller keeps its watermark from falling
}

}  // namespace
}  // namespace spate
