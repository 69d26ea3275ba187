#include "stream/window_step.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gen/generator.h"
#include "gen/generator_testing.h"
#include "stream/output_testing.h"
#include "stream/watermark.h"

namespace spate {
namespace {

using Collect = test::CollectLines;

struct Record {
  Transaction tx;
  SourcePosition pos;
};

struct Case {
  WindowSpec spec;
  EmitMode emit;
  bool totals;
  Profile profile;
  size_t fetch_ahead_from = 0;  // WindowStep::FetchAheadFrom: 0 fetches ahead from the start
};

// AddAll() over chunks of every size, below and above the depth it fetches ahead, gives what
// Add() gives one record at a time: the same windows, totals, updates and late records, and
// the same counts. Late and out-of-order records included, so that records miss windows and
// windows open while a chunk's later records are already being fetched.
void ExpectAddAllIsAdd(const Case& c) {
  EngineConfig e;
  e.window = c.spec;
  e.emit = c.emit;
  e.totals = c.totals;
  GeneratorConfig gc = test::GeneratorTestConfig();
  gc.profile = c.profile;
  gc.malformed = 0;
  gc.late = 0.02;
  gc.late_delay_ms = 90'000;
  gc.out_of_order = 0.1;
  gc.event_rate = 50;
  Generator gen(gc);
  std::vector<GeneratedRecord> made(6000);  // each record's strings live in its GeneratedRecord
  std::vector<Record> records;
  for (uint64_t i = 0; i < made.size(); ++i) {
    gen.Make(i, &made[i]);
    records.push_back(Record{made[i].tx, SourcePosition{i, 0, i}});
  }

  PipelineStats one_stats, all_stats;
  WindowStep one(e, {}, &one_stats, c.emit == EmitMode::kChanges);
  WindowStep all(e, {}, &all_stats, c.emit == EmitMode::kChanges);
  all.FetchAheadFrom(c.fetch_ahead_from);
  Collect one_out, all_out;
  const size_t sizes[] = {0, 1, 2, 5, 13, 40, 700, 1};
  int64_t watermark = kNoWatermark, seen_max = kNoWatermark;
  size_t at = 0;
  for (size_t round = 0; at < records.size(); ++round) {
    const size_t n = std::min(sizes[round % std::size(sizes)], records.size() - at);
    const std::vector<Record> chunk(records.begin() + static_cast<std::ptrdiff_t>(at),
                                    records.begin() + static_cast<std::ptrdiff_t>(at + n));
    for (const Record& r : chunk) ASSERT_TRUE(one.Add(r.tx, r.pos, watermark, one_out).ok());
    ASSERT_TRUE(all.AddAll(chunk, watermark, all_out).ok());
    for (const Record& r : chunk) seen_max = std::max(seen_max, r.tx.time_ms);
    at += n;
    if (seen_max != kNoWatermark) watermark = std::max(watermark, seen_max - 5'000);
    for (auto [step, out] : {std::pair{&one, &one_out}, std::pair{&all, &all_out}}) {
      ASSERT_TRUE(step->CloseUpTo(watermark, *out, IgnoreClosed).ok());
      if (c.emit == EmitMode::kChanges) {
        ASSERT_TRUE(step->DrainWindowChanges(true, *out, IgnoreWindowChange).ok());
        ASSERT_TRUE(step->DrainTotalChanges(true, *out, IgnoreTotalChange).ok());
      }
    }
  }
  for (auto [step, out] : {std::pair{&one, &one_out}, std::pair{&all, &all_out}}) {
    ASSERT_TRUE(step->CloseAll(*out, IgnoreClosed).ok());
    if (c.totals) {
      ASSERT_TRUE(step->EmitTotals(*out).ok());
    }
  }
  EXPECT_GT(one_stats.late + one_stats.partially_late, 20u) << "the case has late records";
  EXPECT_GT(one_out.lines.size(), 500u);
  EXPECT_EQ(one_out.lines, all_out.lines);
  EXPECT_EQ(one_stats.aggregated, all_stats.aggregated);
  EXPECT_EQ(one_stats.late, all_stats.late);
  EXPECT_EQ(one_stats.partially_late, all_stats.partially_late);
  EXPECT_EQ(one_stats.windows_emitted, all_stats.windows_emitted);
}

TEST(WindowStep, AddAllIsAddTumbling) {
  ExpectAddAllIsAdd({{60'000, 60'000}, EmitMode::kFinal, true, Profile::kReference});
  ExpectAddAllIsAdd({{60'000, 60'000}, EmitMode::kFinal, true, Profile::kRealistic});
}
TEST(WindowStep, AddAllIsAddFromTheEntriesWhereItStartsToFetchAhead) {
  ExpectAddAllIsAdd({{60'000, 60'000}, EmitMode::kFinal, true, Profile::kRealistic, 400});
  ExpectAddAllIsAdd({{60'000, 60'000},
                     EmitMode::kFinal,
                     true,
                     Profile::kRealistic,
                     WindowStep::kFetchAheadEntries});
}
TEST(WindowStep, AddAllIsAddHoppingWithChanges) {
  ExpectAddAllIsAdd({{60'000, 20'000}, EmitMode::kChanges, true, Profile::kRealistic});
}
TEST(WindowStep, AddAllIsAddWithoutTotals) {
  ExpectAddAllIsAdd({{30'000, 10'000}, EmitMode::kFinal, false, Profile::kRealistic});
}

// Results come in (group key bytes, currency code) order, whatever order the keys were first
// seen in: keys that share their first 8 bytes or more, one that is another's prefix, bytes
// above 0x7f and NUL, and one key in several currencies.
TEST(WindowStep, ResultsComeInKeyStringThenCurrencyOrder) {
  const std::vector<std::string> names = {"merchant_long_name_b",
                                          "merchant_long_name_a",
                                          "merchant",
                                          "merchant_",
                                          "merch",
                                          std::string("ab\0c", 4),
                                          "ab",
                                          std::string("ab\0", 3),
                                          "\xc3\xa9t\xc3\xa9",
                                          "Z",
                                          "a",
                                          "\x7f",
                                          "\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                                          "\xff\xff\xff\xff\xff\xff\xff\xff"};
  const std::vector<std::string> codes = {"USD", "JPY", "EUR"};
  EngineConfig e;
  PipelineStats stats;
  WindowStep step(e, {}, &stats, false);
  Collect sink;
  std::vector<std::pair<std::string, std::string>> want;
  uint64_t seq = 0;
  for (const std::string& code : codes) {
    for (const std::string& name : names) {
      Transaction tx;
      tx.merchant = name;
      tx.currency = *ParseCurrency(code);
      tx.time_ms = 1'000;
      ASSERT_TRUE(step.Add(tx, SourcePosition{seq, 0, seq}, kNoWatermark, sink).ok());
      ++seq;
      want.emplace_back(name, code);
    }
  }
  std::sort(want.begin(), want.end());
  std::vector<std::pair<std::string, std::string>> got;
  ASSERT_TRUE(step.CloseAll(sink,
                            [&](int64_t, uint64_t key) {
                              got.emplace_back(std::string(step.KeyString(key)),
                                               std::string(CurrencyCode(step.KeyCurrency(key))));
                              return Status::Ok();
                            })
                  .ok());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace spate
