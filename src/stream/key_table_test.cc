#include "stream/key_table.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace spate {
namespace {

struct Value {
  int64_t n = -1;  // V{} on insertion
  int64_t pad[7] = {};
};

// Every operation mirrored in a std::map, and the two compared after each step.
class Mirror {
 public:
  void Set(uint64_t k, int64_t v) {
    Value& x = t_[k];
    if (!m_.count(k)) {
      EXPECT_EQ(x.n, -1) << "a new key's value is V{}";
    }
    x.n = v;
    m_[k] = v;
  }
  void Erase(uint64_t k) { EXPECT_EQ(t_.erase(k), m_.erase(k) == 1) << k; }
  void Check() const {
    ASSERT_EQ(t_.size(), m_.size());
    for (const auto& [k, v] : m_) {
      const Value* x = t_.find(k);
      ASSERT_NE(x, nullptr) << k;
      EXPECT_EQ(x->n, v) << k;
    }
    std::map<uint64_t, int64_t> seen;
    t_.ForEach([&](uint64_t k, const Value& x) { EXPECT_TRUE(seen.emplace(k, x.n).second) << k; });
    EXPECT_EQ(seen, m_);
    EXPECT_LE(t_.size() * 4, t_.capacity() * 3) << "at most 3/4 full";
  }
  KeyTable<Value>& table() { return t_; }

 private:
  KeyTable<Value> t_;
  std::map<uint64_t, int64_t> m_;
};

TEST(KeyTable, EmptyTableFindsNothingAndTakesHints) {
  KeyTable<Value> t;
  EXPECT_EQ(t.find(7), nullptr);
  EXPECT_FALSE(t.erase(7));
  t.PrefetchKey(7);
  t.PrefetchValue(7);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.capacity(), 0u);
}

// StateKeys as the stores make them (currency << 32 | dense id), random keys, and keys that
// differ only in their high bits, with erases in between: every entry stays reachable after
// the backward shifts, across growth and across the wrap at the table's end.
TEST(KeyTable, AgreesWithAMapThroughInsertsErasesAndGrowth) {
  std::mt19937_64 rng(7);
  Mirror m;
  std::vector<uint64_t> keys;
  for (uint64_t id = 0; id < 3000; ++id) keys.push_back(uint64_t{id % 7} << 32 | id);
  for (int i = 0; i < 2000; ++i) keys.push_back(rng() >> 1);
  for (uint64_t i = 0; i < 200; ++i) keys.push_back(i << 54);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (size_t i = 0; i < keys.size(); ++i) {
    m.Set(keys[i], static_cast<int64_t>(i));
    if (i % 3 == 2) m.Erase(keys[rng() % (i + 1)]);
    if (i % 5 == 0) m.Set(keys[rng() % (i + 1)], -static_cast<int64_t>(i));
    if (i % 500 == 0) m.Check();
  }
  m.Check();
  for (uint64_t k : keys) m.Erase(k);
  m.Check();
  EXPECT_TRUE(m.table().empty());
}

// A small table kept near its limit: keys crowd into long runs that wrap around the end, and
// erasing from the middle of a run must move the right entries back.
TEST(KeyTable, EraseInsideRunsThatWrap) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    std::mt19937_64 rng(seed);
    Mirror m;
    std::vector<uint64_t> live;
    for (int step = 0; step < 400; ++step) {
      if (live.size() < 12 || rng() % 2 == 0) {
        const uint64_t k = rng() % 64;
        m.Set(k, step);
        live.push_back(k);
      } else {
        const size_t i = rng() % live.size();
        m.Erase(live[i]);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      }
      m.Check();
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(KeyTable, ReinsertedKeyStartsFromAFreshValue) {
  KeyTable<Value> t;
  t[5].n = 9;
  t[5].pad[3] = 4;
  ASSERT_TRUE(t.erase(5));
  EXPECT_EQ(t[5].n, -1);
  EXPECT_EQ(t[5].pad[3], 0);
}

}  // namespace
}  // namespace spate
