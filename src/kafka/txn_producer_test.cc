// Transactions against librdkafka's mock cluster (unit-level fault injection; the real broker
// is exercised by the kafka-labelled tests).

#include "kafka/txn_producer.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka/consumer.h"

namespace spate::kafka {
namespace {

constexpr int kTimeoutMs = 10'000;
constexpr int16_t kApiProduce = 0;  // Kafka protocol ApiKeys

std::unique_ptr<TxnProducer> NewProducer(const std::string& bootstrap, const std::string& txn_id) {
  ClientConfig c;
  if (bootstrap.empty()) {
    c.Set("test.mock.num.brokers", "3");
  } else {
    c.Set("bootstrap.servers", bootstrap);
  }
  c.Set("transactional.id", txn_id);
  c.Set("linger.ms", "0");
  auto p = TxnProducer::Create(c, kTimeoutMs);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.status().message());
  return p.ok() ? std::move(p).value() : nullptr;
}

std::vector<std::string> ReadCommitted(const std::string& bootstrap, const std::string& topic) {
  ClientConfig c;
  c.Set("bootstrap.servers", bootstrap);
  c.Set("isolation.level", "read_committed");
  c.Set("enable.partition.eof", "true");
  auto consumer = Consumer::Create(c);
  EXPECT_TRUE(consumer.ok());
  Consumer& cons = *consumer.value();
  EXPECT_TRUE(cons.AssignAll(topic, RD_KAFKA_OFFSET_BEGINNING).ok());
  std::vector<std::string> values;
  std::set<int32_t> at_end;  // partitions whose end was reached after their last message
  for (int i = 0; i < 300 && at_end.size() < cons.assigned_partitions(); ++i) {
    auto m = cons.Poll(100);
    if (!m) continue;
    if (m.partition_eof()) {
      at_end.insert(m.partition());
    } else if (!m.err()) {
      at_end.erase(m.partition());
      values.emplace_back(m.payload());
    }
  }
  return values;
}

TEST(TxnProducer, CommittedRecordsAreVisibleAbortedOnesAreNot) {
  auto p = NewProducer("", "spate-test-1");
  ASSERT_TRUE(p);
  rd_kafka_mock_cluster_t* mc = rd_kafka_handle_mock_cluster(p->handle());
  ASSERT_NE(mc, nullptr);
  ASSERT_EQ(rd_kafka_mock_topic_create(mc, "out", 3, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
  std::string err;

  ASSERT_TRUE(p->Begin().ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p->Send("out", -1, "k", "committed").ok());
  EXPECT_EQ(p->Commit(kTimeoutMs, &err), TxnOutcome::kCommitted) << err;

  ASSERT_TRUE(p->Begin().ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p->Send("out", -1, "k", "aborted").ok());
  EXPECT_EQ(p->Abort(kTimeoutMs, &err), TxnOutcome::kAborted) << err;

  ASSERT_TRUE(p->Begin().ok());
  ASSERT_TRUE(p->Send("out", 1, "", "committed").ok());
  EXPECT_EQ(p->Commit(kTimeoutMs, &err), TxnOutcome::kCommitted) << err;

  auto values = ReadCommitted(bootstrap, "out");
  EXPECT_EQ(values.size(), 11u);
  for (const auto& v : values) EXPECT_EQ(v, "committed");
}

TEST(TxnProducer, AFailedDeliveryAbortsTheCommit) {
  auto p = NewProducer("", "spate-test-2");
  ASSERT_TRUE(p);
  rd_kafka_mock_cluster_t* mc = rd_kafka_handle_mock_cluster(p->handle());
  ASSERT_EQ(rd_kafka_mock_topic_create(mc, "out", 1, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
  std::string err;
  ASSERT_TRUE(p->Begin().ok());
  // The broker refuses the record for good: the transaction must not commit without it.
  rd_kafka_mock_push_request_errors(mc, kApiProduce, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  ASSERT_TRUE(p->Send("out", 0, "", "lost").ok());
  EXPECT_EQ(p->Commit(kTimeoutMs, &err), TxnOutcome::kAborted) << err;
  EXPECT_FALSE(err.empty());
  EXPECT_GE(p->delivery_failures(), 1u);
  EXPECT_TRUE(ReadCommitted(bootstrap, "out").empty());
}

// Fencing of an older instance with the same transactional.id needs a real broker (the mock
// cluster of librdkafka 2.0.2 does not fence producer epochs): it belongs with the real-broker
// tests of the exactly-once aggregator.

}  // namespace
}  // namespace spate::kafka
