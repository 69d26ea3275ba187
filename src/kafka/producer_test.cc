// The producer against librdkafka's mock cluster: records sent in place (SendAll) arrive
// whole, and their lease lives exactly as long as librdkafka may read it.

#include "kafka/producer.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kafka/mock_cluster_testing.h"

namespace spate::kafka {
namespace {

// Values back to back in one buffer, as a chunk holds them; says when it is destroyed.
struct Values final : Lease {
  Values(int n, size_t big_at, bool* gone_flag) : gone(gone_flag) {
    for (int i = 0; i < n; ++i) {
      offsets.push_back(bytes.size());
      bytes +=
          static_cast<size_t>(i) == big_at ? std::string(4096, 'x') : "value-" + std::to_string(i);
    }
    offsets.push_back(bytes.size());
  }
  ~Values() override { *gone = true; }
  std::string_view value(size_t i) const {
    return std::string_view(bytes).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
  std::string bytes;
  std::vector<size_t> offsets;
  bool* gone;
};

std::unique_ptr<Producer> NewProducer(const std::string& bootstrap,
                                      const std::string& queue_messages = "100000") {
  ClientConfig pc;
  pc.Set("bootstrap.servers", bootstrap);
  pc.Set("queue.buffering.max.messages", queue_messages);
  pc.Set("enable.idempotence", "true");
  pc.Set("message.max.bytes", "2000");  // the 4 KiB value is refused at enqueue
  pc.Set("message.timeout.ms", "3000");
  auto p = Producer::Create(pc, "in", nullptr, 10'000);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? std::move(p).value() : nullptr;
}

TEST(Producer, SendAllDeliversInPlaceAndFreesTheLeaseAfterItsLastRecord) {
  MockCluster mc;
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "in", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto p = NewProducer(mc.bootstrap());
  ASSERT_NE(p, nullptr);
  constexpr int kRecords = 1000;
  constexpr size_t kBig = 500;
  bool gone = false;
  auto lease = std::make_unique<Values>(kRecords, kBig, &gone);
  const Values& v = *lease;
  const std::string key = "user";
  ASSERT_TRUE(p->SendAll(std::move(lease), kRecords, [&](size_t i) {
                 return Producer::KeyValue(key, v.value(i));
               }).ok());
  // Delivery reports are served only in Poll or Flush: nothing was reported yet.
  EXPECT_FALSE(gone);
  EXPECT_EQ(p->stats().sent, kRecords - 1u);
  EXPECT_EQ(p->stats().failed, 1u);  // the record over message.max.bytes, refused at enqueue
  EXPECT_EQ(p->Flush(10'000), 0);
  EXPECT_TRUE(gone);
  EXPECT_EQ(p->stats().acked, kRecords - 1u);
  EXPECT_EQ(p->stats().latency.count(), kRecords - 1u);

  std::multiset<std::string> expected;
  for (int i = 0; i < kRecords; ++i) {
    if (i != static_cast<int>(kBig)) expected.insert("value-" + std::to_string(i));
  }
  const std::vector<std::string> values = ReadCommitted(mc.bootstrap(), "in");
  const std::multiset<std::string> read(values.begin(), values.end());
  EXPECT_EQ(read.size(), expected.size());
  EXPECT_TRUE(read == expected);
}

TEST(Producer, SendAllWaitsForRoomAndKeepsTheOrder) {
  MockCluster mc;
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "in", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto p = NewProducer(mc.bootstrap(), "50");  // the queue holds 50 records: SendAll waits
  ASSERT_NE(p, nullptr);
  constexpr int kRecords = 1000;
  bool gone[2] = {false, false};
  for (bool& g : gone) {
    auto lease = std::make_unique<Values>(kRecords, kRecords, &g);
    const Values& v = *lease;
    ASSERT_TRUE(p->SendAll(std::move(lease), kRecords, [&](size_t i) {
                   return Producer::KeyValue("k", v.value(i));
                 }).ok());
  }
  EXPECT_EQ(p->stats().sent, 2u * kRecords);
  EXPECT_EQ(p->stats().failed, 0u);
  EXPECT_EQ(p->Flush(10'000), 0);
  EXPECT_TRUE(gone[0] && gone[1]);
  EXPECT_EQ(p->stats().acked, 2u * kRecords);
  std::vector<std::string> expected;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kRecords; ++i) expected.push_back("value-" + std::to_string(i));
  }
  const std::vector<std::string> read = ReadCommitted(mc.bootstrap(), "in");
  ASSERT_EQ(read.size(), expected.size());
  for (size_t i = 0; i < read.size(); ++i) {  // one partition: in send order
    ASSERT_EQ(read[i], expected[i]) << "record " << i;
  }
}

TEST(Producer, AStopWhileTheQueueIsFullSendsNoMore) {
  MockCluster mc;
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "in", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto p = NewProducer(mc.bootstrap(), "50");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(rd_kafka_mock_broker_set_down(mc.get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  p->SetStop([] { return true; });
  bool gone = false;
  auto lease = std::make_unique<Values>(100, 100, &gone);
  const Values& v = *lease;
  const Status s = p->SendAll(std::move(lease), 100,
                              [&](size_t i) { return Producer::KeyValue("k", v.value(i)); });
  EXPECT_EQ(s.message(), Producer::kStopped);
  EXPECT_EQ(p->stats().sent, 50u);  // what the queue took
  EXPECT_FALSE(gone);               // those 50 are still librdkafka's to read
  p.reset();
  EXPECT_TRUE(gone);
}

TEST(Producer, ALeaseOfUndeliveredRecordsOutlivesLibrdkafkaThenGoes) {
  MockCluster mc;
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "in", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto p = NewProducer(mc.bootstrap());
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(rd_kafka_mock_broker_set_down(mc.get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  bool gone = false;
  auto lease = std::make_unique<Values>(100, 100, &gone);
  const Values& v = *lease;
  ASSERT_TRUE(p->SendAll(std::move(lease), 100, [&](size_t i) {
                 return Producer::KeyValue("k", v.value(i));
               }).ok());
  p->Poll(100);
  EXPECT_FALSE(gone);
  p.reset();  // librdkafka's threads stop first, then the lease is freed (ASan checks both)
  EXPECT_TRUE(gone);
}

}  // namespace
}  // namespace spate::kafka
