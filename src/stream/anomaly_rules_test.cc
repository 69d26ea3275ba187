#include "stream/anomaly_rules.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace spate {
namespace {

using namespace std::string_view_literals;

// User n's id: strings that outlive the test (the detector keeps its own copies anyway).
std::string_view User(uint32_t n) {
  static std::map<uint32_t, std::string> names;
  return names.emplace(n, "user " + std::to_string(n)).first->second;
}

// Times are milliseconds after 2026-01-01, so records are in the codecs' range of times
// (kMinTimeMs..kMaxTimeMs), as ImportUser requires of a state.
constexpr int64_t kT0 = 1'767'225'600'000;

Transaction Tx(uint32_t user, int64_t time, int64_t cents, bool intl = false,
               std::string_view currency = "USD") {
  Transaction t;
  t.user = User(user);
  t.time_ms = kT0 + time;
  t.amount = cents;
  t.international = intl;
  t.currency = *ParseCurrency(currency);
  return t;
}

AmountLimit Limit(std::string_view spec) {
  AmountLimit l;
  EXPECT_TRUE(l.Set(spec).ok()) << spec;
  return l;
}

RuleConfig Rules() {
  RuleConfig r;
  r.high_amount = Limit("10.00");
  r.intl_amount = Limit("5.00");
  r.velocity_span_ms = 100;
  r.velocity_count = 3;
  r.velocity_amount = Limit("2.50");
  return r;
}

std::vector<Rule> Fired(AnomalyDetector& d, const Transaction& t) {
  std::vector<Anomaly> out;
  d.Check(t, 0, 0, &out);
  std::vector<Rule> rules;
  for (auto& a : out) rules.push_back(a.rule);
  return rules;
}

TEST(AnomalyRules, AmountRulesUseStrictThresholds) {
  RuleConfig r = Rules();
  r.velocity_amount = Limit("1000000000");
  AnomalyDetector d(r, 0);
  EXPECT_TRUE(Fired(d, Tx(1, 0, 1000)).empty());
  EXPECT_EQ(Fired(d, Tx(2, 0, 1001)), (std::vector<Rule>{Rule::kHighAmount}));
  EXPECT_TRUE(Fired(d, Tx(3, 0, 500, true)).empty());
  EXPECT_EQ(Fired(d, Tx(4, 0, 501, true)), (std::vector<Rule>{Rule::kInternationalHigh}));
  EXPECT_EQ(Fired(d, Tx(5, 0, 2000, true)),
            (std::vector<Rule>{Rule::kHighAmount, Rule::kInternationalHigh}));
}

TEST(AnomalyRules, VelocityCountsTheSpanEndingAtTheRecord) {
  AnomalyDetector d(Rules(), 0);
  EXPECT_TRUE(Fired(d, Tx(1, 1000, 10)).empty());
  EXPECT_TRUE(Fired(d, Tx(1, 1050, 10)).empty());
  EXPECT_TRUE(Fired(d, Tx(1, 1099, 10)).empty());
  // (1000, 1100]: 1050, 1099, 1100 -> 3, not more than 3.
  EXPECT_TRUE(Fired(d, Tx(1, 1100, 10)).empty());
  // (1001, 1101]... 1050, 1099, 1100, 1101 -> 4.
  std::vector<Anomaly> out;
  d.Check(Tx(1, 1101, 10), 7, 0, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule, Rule::kVelocityCount);
  EXPECT_EQ(out[0].count, 4u);
  EXPECT_EQ(out[0].sum, 40);
  EXPECT_EQ(out[0].sequence, 7u);
  // Another user is independent.
  EXPECT_TRUE(Fired(d, Tx(2, 1101, 10)).empty());
}

TEST(AnomalyRules, VelocityAmountAndOutOfOrderRecords) {
  AnomalyDetector d(Rules(), 50);
  EXPECT_TRUE(Fired(d, Tx(1, 1000, 100)).empty());
  EXPECT_TRUE(Fired(d, Tx(1, 1080, 100)).empty());
  // Out of order, 1040: (940, 1040] holds 1000 and 1040 -> 200.
  EXPECT_TRUE(Fired(d, Tx(1, 1040, 100)).empty());
  // 1090: (990, 1090] holds 1000, 1040, 1080, 1090 -> count 4 > 3 and sum 400 > 250.
  EXPECT_EQ(Fired(d, Tx(1, 1090, 100)),
            (std::vector<Rule>{Rule::kVelocityCount, Rule::kVelocityAmount}));
}

TEST(AnomalyRules, EvictsOlderThanSpanPlusLateness) {
  AnomalyDetector d(Rules(), 50);
  EXPECT_TRUE(Fired(d, Tx(1, 1000, 100)).empty());
  EXPECT_TRUE(Fired(d, Tx(1, 1100, 100)).empty());
  EXPECT_TRUE(Fired(d, Tx(1, 1149, 1)).empty());  // keeps > 999: 1000 stays
  // Now M = 1151: keeps > 1001, 1000 is evicted. A late record at 1010 sees (910, 1010]: only
  // itself, because 1000 is gone.
  EXPECT_TRUE(Fired(d, Tx(1, 1151, 1)).empty());
  std::vector<Anomaly> out;
  d.Check(Tx(1, 1010, 200), 0, 0, &out);
  EXPECT_TRUE(out.empty());
}

TEST(AnomalyRules, SumsStayExactAfterCompaction) {
  RuleConfig r = Rules();
  r.velocity_span_ms = 10;
  r.velocity_count = 1'000'000;
  r.velocity_amount = Limit("0.35");  // four records of 10 in the span would be 40
  AnomalyDetector d(r, 0);
  std::vector<Anomaly> out;
  // One record a ms for a long time: old entries are evicted and compacted away again and
  // again; the span (t-10, t] always holds 10 records of 1, then an out-of-order one at front.
  for (int i = 0; i < 10'000; ++i) d.Check(Tx(1, 1000 + i, 1), 0, 0, &out);
  EXPECT_TRUE(out.empty());
  d.Check(Tx(1, 1000 + 10'000, 30), 0, 0, &out);  // 9 x 1 + 30 = 39 > 35
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].count, 10u);
  EXPECT_EQ(out[0].sum, 39);
  out.clear();
  d.Check(Tx(1, 1000 + 9'995, 1), 0, 0, &out);  // (9985, 9995]: 10 records of 1 -> 10
  EXPECT_TRUE(out.empty());
}

TEST(AnomalyRules, ExportedStateBehavesLikeTheOriginal) {
  RuleConfig r = Rules();
  r.velocity_span_ms = 50;
  AnomalyDetector a(r, 20), b(r, 20);
  std::vector<Anomaly> out;
  int64_t partition_max = INT64_MIN;
  for (int i = 0; i < 500; ++i) {
    const Transaction t = Tx(1 + i % 3, 1000 + 7 * i - (i % 5) * 3, 10 + i % 40);
    a.Check(t, 0, 0, &out);
    partition_max = std::max(partition_max, t.time_ms);
  }
  b.SetPartitionMax(0, partition_max);  // as a task restores its "p"
  std::vector<std::string> names;
  a.ExportAll([&](std::string_view user, std::string_view bytes) {
    names.emplace_back(user);
    ASSERT_TRUE(b.ImportUser(user, 0, bytes));
  });
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"user 1", "user 2", "user 3"}));
  EXPECT_FALSE(b.ImportUser("user 9", 0, "short"));
  // States no record could have left (found by fuzz/changelog_fuzz.cc: a time near INT64_MIN
  // overflowed Check()): refused, the user starts afresh.
  auto state = [](int64_t max_time, std::vector<std::pair<int64_t, int64_t>> entries) {
    std::string bytes;
    auto put = [&bytes](int64_t v) { bytes.append(reinterpret_cast<const char*>(&v), 8); };
    put(max_time);
    bytes += '\1';
    bytes += "USD";
    const auto n = static_cast<uint32_t>(entries.size());
    bytes.append(reinterpret_cast<const char*>(&n), 4);
    for (auto [time, amount] : entries) {
      put(time);
      put(amount);
    }
    return bytes;
  };
  EXPECT_TRUE(b.ImportUser("user 9", 0, state(kT0 + 10, {{kT0, 5}, {kT0 + 10, -5}})));
  EXPECT_FALSE(b.ImportUser("user 9", 0, state(INT64_MIN + 1768, {{INT64_MIN + 1768, 5}})));
  EXPECT_FALSE(b.ImportUser("user 9", 0, state(kT0 + 10, {{kT0 + 10, 5}, {kT0, 5}})));
  EXPECT_FALSE(b.ImportUser("user 9", 0, state(kT0, {{kT0 + 10, 5}})));
  EXPECT_FALSE(b.ImportUser("user 9", 0, state(kT0, {{kT0, kMaxAmount + 1}})));
  b.Forget("user 9");
  // From here on both must fire exactly the same anomalies with the same evidence.
  for (int i = 500; i < 900; ++i) {
    std::vector<Anomaly> oa, ob;
    Transaction t = Tx(1 + i % 3, 1000 + 7 * i - (i % 5) * 3, 10 + i % 40);
    a.Check(t, i, 0, &oa);
    b.Check(t, i, 0, &ob);
    ASSERT_EQ(oa.size(), ob.size()) << i;
    for (size_t k = 0; k < oa.size(); ++k) {
      EXPECT_EQ(oa[k].rule, ob[k].rule);
      EXPECT_EQ(oa[k].count, ob[k].count);
      EXPECT_TRUE(oa[k].sum == ob[k].sum);
    }
  }
}

TEST(AnomalyRules, HotUserStaysFast) {
  RuleConfig r = Rules();
  r.velocity_count = 1'000'000;
  r.velocity_amount = Limit("10000000000000");
  r.velocity_span_ms = 1'000'000;
  AnomalyDetector d(r, 0);
  std::vector<Anomaly> out;
  for (int i = 0; i < 200'000; ++i) d.Check(Tx(1, 1000 + i, 1), 0, 0, &out);  // O(log n) each
  EXPECT_TRUE(out.empty());
  d.Check(Tx(1, 1000 + 200'000, 1), 0, 0, &out);
  EXPECT_TRUE(out.empty());
}

TEST(AnomalyRules, LimitsArePerCurrencyAndAmountsNeverMix) {
  RuleConfig r = Rules();
  r.high_amount = Limit("10");
  ASSERT_TRUE(r.high_amount.Set("JPY=1500").ok());
  r.velocity_amount = Limit("1000000");
  AnomalyDetector d(r, 0);
  // 10 USD is 1000 cents; JPY has its own limit, 1500 yen; BHD the default, 10.000.
  EXPECT_TRUE(Fired(d, Tx(1, 0, 1000, false, "USD")).empty());
  EXPECT_EQ(Fired(d, Tx(2, 0, 1001, false, "USD")), (std::vector<Rule>{Rule::kHighAmount}));
  EXPECT_TRUE(Fired(d, Tx(3, 0, 1500, false, "JPY")).empty());
  EXPECT_EQ(Fired(d, Tx(4, 0, 1501, false, "JPY")), (std::vector<Rule>{Rule::kHighAmount}));
  EXPECT_TRUE(Fired(d, Tx(5, 0, 10'000, false, "BHD")).empty());
  EXPECT_EQ(Fired(d, Tx(6, 0, 10'001, false, "BHD")), (std::vector<Rule>{Rule::kHighAmount}));
  EXPECT_EQ(r.high_amount.ToString(), "10.0000;JPY=1500.0000");
  // velocity_amount sums one currency: 200 cents of USD and 200 of GBP are not 400 of either;
  // velocity_count counts both.
  AnomalyDetector v(Rules(), 0);
  EXPECT_TRUE(Fired(v, Tx(7, 1000, 200, false, "USD")).empty());
  EXPECT_TRUE(Fired(v, Tx(7, 1001, 200, false, "GBP")).empty());
  EXPECT_TRUE(Fired(v, Tx(7, 1002, 40, false, "GBP")).empty());  // GBP 2.40
  EXPECT_EQ(Fired(v, Tx(7, 1003, 20, false, "GBP")),             // 4 records; GBP 2.60
            (std::vector<Rule>{Rule::kVelocityCount, Rule::kVelocityAmount}));
  // Negative amounts (refunds, reversals) count and subtract.
  EXPECT_TRUE(Fired(v, Tx(8, 1000, 300, false, "USD")).size() == 1);  // 3.00 > 2.50
  EXPECT_TRUE(Fired(v, Tx(8, 1001, -100, false, "USD")).empty());     // 2.00
}

// Expiry: span 100 + lateness 20. User 1's state expires once its partition has a record at
// 1020 + 120 or later, whether Expire() has run or not.
TEST(AnomalyRules, ExpiredStateIsDroppedWithItsName) {
  for (bool sweep : {true, false}) {
    AnomalyDetector d(Rules(), 20);
    for (int64_t t : {1000, 1010, 1020}) EXPECT_TRUE(Fired(d, Tx(1, t, 1)).empty());
    EXPECT_TRUE(Fired(d, Tx(2, 1139, 1)).empty());
    std::vector<std::string> dropped;
    auto collect = [&](std::string_view u) { dropped.emplace_back(u); };
    d.Expire(collect);
    EXPECT_TRUE(dropped.empty()) << "1139 < 1140: user 1 is still live";
    EXPECT_TRUE(Fired(d, Tx(2, 1140, 1)).empty());
    if (sweep) {
      d.Expire(collect);
      EXPECT_EQ(dropped, std::vector<std::string>{"user 1"});
      EXPECT_EQ(d.tracked_users(), 1u);
    }
    // A late record of user 1 (behind 1140 - 20) sees nothing of the dropped state: one
    // record, not four, in (930, 1030].
    EXPECT_TRUE(Fired(d, Tx(1, 1030, 1)).empty()) << sweep;
    EXPECT_EQ(Fired(d, Tx(1, 1031, 1)).size(), 0u);
  }
}

// Every user's state, by name (ExportUser's bytes).
std::map<std::string, std::string> States(const AnomalyDetector& d) {
  std::map<std::string, std::string> m;
  d.ExportAll([&](std::string_view u, std::string_view b) { m.emplace(u, b); });
  return m;
}

// The changes a detector records, applied in order to a copy of its earlier state (restored
// from a snapshot: ImportUser), make the same state: histories, evictions, emptied expired
// states and dropped users, in several currencies. Then both judge new records alike.
TEST(AnomalyRules, ChangesReplayToTheSameState) {
  RuleConfig r = Rules();
  AnomalyDetector a(r, 20);
  a.RecordChanges();
  std::unique_ptr<AnomalyDetector> b;
  std::vector<Anomaly> out;
  size_t drops = 0, emptied = 0;
  for (int batch = 0; batch < 40; ++batch) {
    if (batch % 10 == 0) {  // a snapshot: b starts again from a's whole state
      b = std::make_unique<AnomalyDetector>(r, 20);
      b->SetPartitionMax(0, kT0 + batch * 1000);
      a.ExportAll([&](std::string_view u, std::string_view bytes) {
        ASSERT_TRUE(b->ImportUser(u, 0, bytes));
      });
      (void)a.TakeChanges();
    }
    for (int i = 0; i < 50; ++i) {
      // Each user comes 5 times a batch, 200 ms apart (more than span + lateness: its state
      // expires in between), some records out of order; a batch's users are new.
      const auto user = static_cast<uint32_t>(batch * 10 + i % 10);
      const int64_t t = batch * 1000 + i * 20 - (i % 7 == 0 ? 30 : 0);
      const auto before = States(a);
      a.Check(Tx(user, t, 10 + i, false, i % 3 ? "USD" : "JPY"), 0, 0, &out);
      const std::string name(User(user));
      emptied += before.count(name) && States(a).at(name).size() == 8 + 1 + 7 + 16;
    }
    a.Expire([&](std::string_view) { ++drops; });
    for (const std::string& f : a.TakeChanges()) ASSERT_TRUE(b->ApplyChanges(f, 0));
    ASSERT_EQ(States(a), States(*b)) << batch;
  }
  EXPECT_GT(drops, 10u);
  EXPECT_GT(emptied, 0u);
  for (int i = 0; i < 200; ++i) {
    std::vector<Anomaly> oa, ob;
    const Transaction t = Tx(static_cast<uint32_t>(i % 5), 4000 + i, 30);
    a.Check(t, 0, 0, &oa);
    b->Check(t, 0, 0, &ob);
    ASSERT_EQ(oa.size(), ob.size()) << i;
    for (size_t k = 0; k < oa.size(); ++k) EXPECT_EQ(oa[k].count, ob[k].count);
  }
  // Not a frame of changes: refused.
  for (std::string_view bad : {"\x05user"sv, "\x01u\x07"sv, "\x01u\x00short"sv, "\x00\x02"sv}) {
    EXPECT_FALSE(b->ApplyChanges(bad, 0)) << bad;
  }
}

TEST(AnomalyRules, StateOfManyUsersStaysBounded) {
  AnomalyDetector d(Rules(), 20);
  std::vector<Anomaly> out;
  size_t dropped = 0, most = 0;
  for (uint32_t i = 0; i < 200'000; ++i) {
    d.Check(Tx(i, 1000 + i, 1), i, i % 2, &out);  // a new user every ms, in two partitions
    if (i % 1000 == 999) {
      d.Expire([&](std::string_view) { ++dropped; });
      most = std::max(most, d.tracked_users());
    }
  }
  EXPECT_LE(most, 1200u);  // the last 120 ms of users, plus a sweep's worth
  EXPECT_GE(dropped, 198'000u);
  EXPECT_TRUE(out.empty());
}

TEST(AnomalyRules, OffKeepsNoState) {
  RuleConfig r = Rules();
  r.enabled = false;
  AnomalyDetector d(r, 0);
  EXPECT_TRUE(Fired(d, Tx(1, 0, 1'000'000)).empty());
  EXPECT_EQ(d.tracked_users(), 0u);
}

}  // namespace
}  // namespace spate
