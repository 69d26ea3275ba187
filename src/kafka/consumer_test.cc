// The consumer against librdkafka's mock cluster (unit level; the real broker is exercised by
// the kafka-labelled tests).

#include "kafka/consumer.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "kafka/mock_cluster_testing.h"
#include "kafka/producer.h"

namespace spate::kafka {
namespace {

TEST(Consumer, AtCachedEndOnceEveryMessageWasHandedOut) {
  MockCluster mc;
  ASSERT_NE(mc.get(), nullptr);
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "in", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ClientConfig pc;
  pc.Set("bootstrap.servers", mc.bootstrap());
  pc.Set("partitioner", "consistent");  // the same key, the same partition
  auto producer = Producer::Create(pc, "in", nullptr, 10'000);
  ASSERT_TRUE(producer.ok()) << producer.status().message();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(producer.value()->Send("k", "v").ok());
  ASSERT_EQ(producer.value()->Flush(10'000), 0);

  ClientConfig cc;
  cc.Set("bootstrap.servers", mc.bootstrap());
  cc.Set("enable.partition.eof", "false");   // the fallback alone
  cc.Set("fetch.message.max.bytes", "100");  // a few messages per fetch
  auto consumer = Consumer::Create(cc);
  ASSERT_TRUE(consumer.ok()) << consumer.status().message();
  Consumer& c = *consumer.value();
  ASSERT_TRUE(c.Assign("in", {0, 1}, RD_KAFKA_OFFSET_BEGINNING).ok());
  EXPECT_FALSE(c.AtCachedEnd("in", 0));  // nothing fetched yet
  EXPECT_FALSE(c.AtCachedEnd("in", 1));

  int32_t full = -1;
  int read = 0;
  for (int i = 0; i < 100 && read < 5; ++i) {
    auto m = c.Poll(100);
    if (!m || m.err()) continue;
    full = m.partition();
    if (++read < 5) {
      EXPECT_FALSE(c.AtCachedEnd("in", full)) << "after " << read << " of 5";
    }
  }
  ASSERT_EQ(read, 5);
  EXPECT_TRUE(c.AtCachedEnd("in", full));
  // The empty partition: its high watermark is 0 and nothing was handed out, so its position
  // is unknown and it does not count as read.
  EXPECT_FALSE(c.AtCachedEnd("in", 1 - full));
  EXPECT_FALSE(c.AtCachedEnd("other", 0));
}

}  // namespace
}  // namespace spate::kafka
