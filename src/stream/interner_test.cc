#include "stream/interner.h"

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

}  // namespace
}  // namespace spate
