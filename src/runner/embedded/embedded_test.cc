#include "runner/embedded/embedded.h"

#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "sinks/memory_sink.h"

namespace spate {
namespace {

RunConfig Config(uint32_t workers) {
  RunConfig c;
  c.gen.seed = 3;
  c.gen.users = 500;
  c.gen.merchants = 20;
  c.gen.event_rate = 1000;
  c.gen.out_of_order = 0.2;
  c.gen.max_delay_ms = 3000;
  c.gen.late = 0.01;
  c.gen.late_delay_ms = 120'000;
  c.gen.malformed = 0.01;
  c.gen.anomalies = 0.01;
  c.source.records = 60'000;
  c.source.batch_size = 4096;
  c.source.chunk_size = 1000;
  c.source.partitions = 5;
  c.source.threads = 2;
  c.engine.window = {10'000, 5'000};
  c.engine.lateness_ms = 2000;
  c.engine.rules = c.gen.rules;
  c.workers = workers;
  return c;
}

TEST(EmbeddedPipeline, AccountsForEveryRecord) {
  MemorySink sink;
  auto r = RunEmbedded(Config(2), sink, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const PipelineStats& s = r.value().stats;
  EXPECT_EQ(s.records, 60'000u);
  EXPECT_EQ(s.valid + s.dead_letters, s.records);
  EXPECT_EQ(s.aggregated + s.late, s.valid);
  EXPECT_GT(s.dead_letters, 0u);
  EXPECT_GT(s.late, 0u);
  EXPECT_GT(s.partially_late, 0u);
  EXPECT_GT(s.anomalies, 0u);
  EXPECT_EQ(static_cast<uint64_t>(std::count(sink.data(Output::kDeadLetters).begin(),
                                             sink.data(Output::kDeadLetters).end(), '\n')),
            s.dead_letters);
  EXPECT_EQ(static_cast<uint64_t>(
                std::count(sink.data(Output::kLate).begin(), sink.data(Output::kLate).end(), '\n')),
            s.late + s.partially_late);
  EXPECT_EQ(s.totals_emitted, 60u);  // 20 merchants, each in 3 currencies
}

TEST(EmbeddedPipeline, OutputsDoNotDependOnThreads) {
  MemorySink one, three;
  RunConfig c1 = Config(1), c3 = Config(3);
  c3.source.threads = 3;
  c3.source.chunk_size = 333;
  ASSERT_TRUE(RunEmbedded(c1, one, {}).ok());
  ASSERT_TRUE(RunEmbedded(c3, three, {}).ok());
  for (int o = 0; o < kOutputCount; ++o) {
    EXPECT_EQ(one.data(static_cast<Output>(o)), three.data(static_cast<Output>(o)))
        << OutputName(static_cast<Output>(o));
  }
}

TEST(EmbeddedPipeline, ChangesModeEndsWithTheFinalValues) {
  MemorySink fin, chg;
  RunConfig cf = Config(2), cc = Config(2);
  cc.engine.emit = EmitMode::kChanges;
  ASSERT_TRUE(RunEmbedded(cf, fin, {}).ok());
  ASSERT_TRUE(RunEmbedded(cc, chg, {}).ok());
  // The last update per (window, key) equals the final line, minus the "emit" marker.
  std::map<std::string, std::string> last;
  std::istringstream in(chg.data(Output::kAggregates));
  for (std::string line; std::getline(in, line);) {
    auto key_end = line.find(",\"transactionCount\"");
    line.erase(line.find(R"(,"emit":"update")"), 16);
    last[line.substr(0, key_end)] = line;
  }
  std::istringstream fin_in(fin.data(Output::kAggregates));
  size_t n = 0;
  for (std::string line; std::getline(fin_in, line); ++n) {
    auto key_end = line.find(",\"transactionCount\"");
    EXPECT_EQ(last[line.substr(0, key_end)], line);
  }
  EXPECT_EQ(n, last.size());
}

TEST(EmbeddedPipeline, StopEndsTheInputAndStillEmits) {
  MemorySink sink;
  int calls = 0;
  EngineHooks hooks;
  hooks.stop = [&] { return ++calls > 5; };
  auto r = RunEmbedded(Config(2), sink, hooks);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().stats.records, 4'096u);  // 4 chunks of 1000 and the batch's last 96
  EXPECT_FALSE(sink.data(Output::kAggregates).empty());
  EXPECT_FALSE(sink.data(Output::kTotals).empty());
}

}  // namespace
}  // namespace spate
