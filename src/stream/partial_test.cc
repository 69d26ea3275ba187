#include "stream/partial.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gen/generator.h"
#include "gen/generator_testing.h"
#include "stream/output_testing.h"
#include "stream/watermark.h"
#include "stream/window_step.h"

namespace spate {
namespace {

using Collect = test::CollectLines;

// The same records, added one by one to a window step or combined per batch and added as
// partial aggregates, give the same results: windows closed, updates, totals.
void ExpectSameResults(WindowSpec spec, EmitMode emit, GroupBy group_by) {
  EngineConfig e;
  e.window = spec;
  e.emit = emit;
  e.group_by = group_by;
  GeneratorConfig gc = test::GeneratorTestConfig();
  gc.malformed = 0;
  gc.late = 0;
  gc.out_of_order = 0;
  gc.profile = Profile::kRealistic;
  gc.merchants = 40;
  Generator gen(gc);
  PipelineStats one_stats, combined_stats;
  WindowStep one(e, {}, &one_stats, true), combined(e, {}, &combined_stats, true);
  Combiner combiner(spec);
  Collect one_out, combined_out;
  int64_t watermark = kNoWatermark;
  constexpr uint64_t kBatch = 700;
  for (uint64_t b = 0; b < 12; ++b) {
    int64_t batch_min = INT64_MAX;
    for (uint64_t i = b * kBatch; i < (b + 1) * kBatch; ++i) {
      GeneratedRecord r;
      gen.Make(i, &r);
      const Transaction& tx = r.tx;
      batch_min = std::min(batch_min, tx.time_ms);
      ASSERT_TRUE(one.Add(tx, {}, watermark, one_out).ok());
      combiner.Add(GroupKeyOf(tx, group_by), tx, -1);
    }
    combiner.Drain([&](std::string_view key, Currency c, const PartialAgg& p) {
      ASSERT_TRUE(combined.AddPartial(key, c, p, watermark).ok());
    });
    // The watermark stays below every window of the next batch: nothing is late.
    watermark = std::max(watermark, batch_min - spec.size_ms);
    for (auto [step, out] : {std::pair{&one, &one_out}, std::pair{&combined, &combined_out}}) {
      ASSERT_TRUE(step->CloseUpTo(watermark, *out, IgnoreClosed).ok());
      ASSERT_TRUE(
          step->DrainWindowChanges(emit == EmitMode::kChanges, *out, IgnoreWindowChange).ok());
      ASSERT_TRUE(step->DrainTotalChanges(true, *out, IgnoreTotalChange).ok());
    }
  }
  ASSERT_TRUE(one.CloseAll(one_out, IgnoreClosed).ok());
  ASSERT_TRUE(combined.CloseAll(combined_out, IgnoreClosed).ok());
  EXPECT_GT(one_out.lines.size(), 100u);
  EXPECT_EQ(one_out.lines, combined_out.lines);
  EXPECT_EQ(one_stats.aggregated, combined_stats.aggregated);
  EXPECT_EQ(one_stats.late, 0u);
}

TEST(Partial, CombinedRecordsGiveTheSameResults) {
  ExpectSameResults({60'000, 60'000}, EmitMode::kFinal, GroupBy::kMerchantId);
  ExpectSameResults({60'000, 20'000}, EmitMode::kFinal, GroupBy::kLocation);
  ExpectSameResults({30'000, 30'000}, EmitMode::kChanges, GroupBy::kMerchantId);
}

TEST(Partial, CombinesPerKeyAndCurrency) {
  Combiner c({60'000, 60'000});
  Transaction tx;
  tx.type = "purchase";
  tx.time_ms = 120'000;
  for (const char* cur : {"USD", "JPY", "USD"}) {
    tx.currency = *ParseCurrency(cur);
    tx.amount = 5;
    c.Add("a b", tx, 11);
  }
  tx.currency = *ParseCurrency("USD");
  c.Add(std::string_view("a b\0", 4), tx, 12);  // another key: any bytes
  std::vector<std::string> got;
  c.Drain([&](std::string_view key, Currency cur, const PartialAgg& p) {
    got.push_back(std::string(key) + "/" + std::string(CurrencyCode(cur)) + "/" +
                  std::to_string(p.records) + "/" + std::to_string(p.stamps.size()) + "/" +
                  std::to_string(p.windows.size()));
  });
  EXPECT_EQ(got, (std::vector<std::string>{"a b/USD/2/2/1", "a b/JPY/1/1/1",
                                           std::string("a b\0/USD/1/1/1", 14)}));
  EXPECT_TRUE(c.empty());
}

// A partial for a window that closed is refused, not added to an emitted result.
TEST(Partial, RefusedForAClosedWindow) {
  EngineConfig e;
  PipelineStats stats;
  WindowStep step(e, {}, &stats, false);
  PartialAgg p;
  Transaction tx;
  tx.time_ms = 30'000;
  tx.amount = 1;
  p.Add(tx, e.window);
  EXPECT_TRUE(step.AddPartial("k", tx.currency, p, 59'999).ok());
  const Status s = step.AddPartial("k", tx.currency, p, 60'000);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("closed"), std::string::npos) << s.message();
  EXPECT_EQ(stats.aggregated, 1u);
}

}  // namespace
}  // namespace spate
