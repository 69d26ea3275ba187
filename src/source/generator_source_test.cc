#include "source/generator_source.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "gen/generator_testing.h"

namespace spate {
namespace {

GeneratorConfig Config() { return test::GeneratorTestConfig(); }

std::string Drain(const Generator& g, SourceOptions o) {
  GeneratorSource s(g, o);
  std::string all;
  uint64_t expect_seq = 0;
  while (auto c = s.Next()) {
    EXPECT_EQ(c->first_seq, expect_seq);
    expect_seq += c->size();
    all.append(c->bytes.data(), c->offsets.back());
  }
  return all;
}

TEST(GeneratorSource, SameBytesWhateverTheThreadCountAndChunking) {
  Generator g(Config());
  SourceOptions o;
  o.records = 50'001;
  o.batch_size = 10'000;
  o.chunk_size = 10'000;
  o.threads = 1;
  std::string one = Drain(g, o);
  o.threads = 4;
  o.chunk_size = 999;
  std::string four = Drain(g, o);
  EXPECT_EQ(one, four);
  EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 50'001);
}

TEST(GeneratorSource, ChunksNeverStraddleBatches) {
  Generator g(Config());
  SourceOptions o;
  o.records = 2500;
  o.batch_size = 1000;
  o.chunk_size = 300;
  o.threads = 3;
  o.partitions = 4;
  GeneratorSource s(g, o);
  uint64_t batches_ended = 0;
  while (auto c = s.Next()) {
    EXPECT_EQ(c->first_seq / 1000, (c->first_seq + c->size() - 1) / 1000);
    EXPECT_EQ(c->batch, c->first_seq / 1000);
    batches_ended += c->last_in_batch;
    for (auto p : c->partition) EXPECT_LT(p, 4);
  }
  EXPECT_EQ(batches_ended, 3u);
  EXPECT_EQ(s.released(), 2500u);
}

}  // namespace
}  // namespace spate
