#include "stream/interner.h"

#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace spate {
namespace {

TEST(Interner, SameBytesSameId) {
  Interner in;
  const uint32_t a = in.Intern("alpha");
  EXPECT_EQ(in.Intern(std::string("alpha")), a);
  EXPECT_NE(in.Intern("beta"), a);
  EXPECT_EQ(in.Get(a), "alpha");
  EXPECT_EQ(in.Find("beta"), 1);
  EXPECT_EQ(in.Find("gamma"), -1);
  EXPECT_EQ(in.size(), 2u);
}

TEST(Interner, ErasedIdsAreReused) {
  Interner in;
  const uint32_t a = in.Intern("alpha"), b = in.Intern("beta");
  in.Erase(a);
  EXPECT_EQ(in.Find("alpha"), -1);
  EXPECT_EQ(in.size(), 1u);
  EXPECT_EQ(in.Intern("gamma"), a);
  EXPECT_EQ(in.Get(a), "gamma");
  EXPECT_EQ(in.Get(b), "beta");
  EXPECT_EQ(in.id_limit(), 2u);
}

// Erasing most strings compacts the blocks: the live ones keep their ids and bytes, and the
// memory follows what is live.
TEST(Interner, CompactionKeepsLiveStrings) {
  Interner in;
  auto name = [](int i) { return "user-" + std::to_string(i) + std::string(40, 'x'); };
  for (int i = 0; i < 100'000; ++i) in.Intern(name(i));
  const size_t full = in.memory();
  for (int i = 0; i < 100'000; ++i) {
    if (i % 100 != 0) in.Erase(static_cast<uint32_t>(i));
  }
  EXPECT_EQ(in.size(), 1000u);
  for (int i = 0; i < 100'000; i += 100) {
    ASSERT_EQ(in.Get(static_cast<uint32_t>(i)), name(i));
    ASSERT_EQ(in.Find(name(i)), i);
  }
  EXPECT_EQ(in.Find(name(1)), -1);
  // The blocks shrink; the id table and map keep their capacity for the next users.
  EXPECT_LT(in.memory(), full / 2);
  // Refilling reuses the freed ids.
  for (int i = 0; i < 99'000; ++i) in.Intern(name(200'000 + i));
  EXPECT_EQ(in.id_limit(), 100'000u);
}

// Keys that differ in one byte only, at every position of every length around the word-sized
// comparisons' edges, get ids of their own; the same bytes at another address, the same id.
TEST(Interner, OneByteOfDifferenceIsAnotherKey) {
  Interner in;
  for (size_t n = 1; n <= 40; ++n) {
    const std::string base(n, 'a');
    const uint32_t id = in.Intern(base);
    for (size_t i = 0; i < n; ++i) {
      std::string other = base;
      other[i] = 'b';
      const uint32_t other_id = in.Intern(other);
      EXPECT_NE(other_id, id) << n << " bytes, differing at " << i;
      EXPECT_EQ(in.Intern(std::string(other)), other_id);
      EXPECT_EQ(in.Get(other_id), other);
    }
    EXPECT_EQ(in.Find(std::string(base)), int64_t{id});
  }
}

// Hashes that collide: strings of the same length (mod 4) share one, and one of the hashes is
// KeyTable's reserved ~0. Every string keeps an id of its own, found by its bytes, through
// erases (of the string that holds the table's entry and of the others), reuse of ids and
// compactions, checked against a map after every step.
struct CollidingHash {
  uint64_t operator()(std::string_view s) const {
    return s.size() % 4 == 3 ? ~uint64_t{0} : s.size() % 4;
  }
};

TEST(Interner, CollidingHashesStillKeepStringsApart) {
  BasicInterner<CollidingHash> in;
  std::map<std::string, uint32_t> want;
  std::mt19937_64 rng(11);
  auto check = [&] {
    ASSERT_EQ(in.size(), want.size());
    for (const auto& [str, id] : want) {
      ASSERT_EQ(in.Find(str), int64_t{id}) << str;
      ASSERT_EQ(in.Get(id), str);
      ASSERT_EQ(in.Intern(str), id) << "interning again gives the same id";
    }
  };
  for (int step = 0; step < 6000; ++step) {
    if (want.size() < 5 || rng() % 3 != 0) {
      std::string str(60 + rng() % 80, 'x');
      str += std::to_string(rng() % 3000);
      const uint64_t h = BasicInterner<CollidingHash>::HashOf(str);
      if (rng() % 2 == 0) {
        in.PrefetchSlot(h);
        in.PrefetchEntry(h);
        in.PrefetchBytes(h);
      }
      const uint32_t id = rng() % 2 == 0 ? in.Intern(str) : in.Intern(str, h);
      auto [it, added] = want.emplace(str, id);
      ASSERT_EQ(it->second, id) << str;
      (void)added;
    } else {
      auto it = want.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(rng() % want.size()));
      in.Erase(it->second);
      want.erase(it);
    }
    if (step % 100 == 0) check();
    if (::testing::Test::HasFatalFailure()) return;
  }
  check();
  EXPECT_EQ(in.Find("never interned"), -1);
}

TEST(Interner, HintsOnAnEmptyInternerAreHarmless) {
  Interner in;
  const uint64_t h = Interner::HashOf("alpha");
  in.PrefetchSlot(h);
  in.PrefetchEntry(h);
  in.PrefetchBytes(h);
  EXPECT_EQ(in.Intern("alpha", h), 0u);
  EXPECT_EQ(in.Find("alpha"), 0);
}

}  // namespace
}  // namespace spate
