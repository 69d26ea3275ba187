#pragma once
// librdkafka's mock cluster for the unit tests of src/kafka/ (unit-level only; the real
// broker is exercised by the kafka-labelled tests), held by a bare librdkafka handle.

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka/consumer.h"

namespace spate::kafka {

class MockCluster {
 public:
  explicit MockCluster(int brokers = 1) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "test.mock.num.brokers", std::to_string(brokers).c_str(), err,
                      sizeof(err));
    rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)));
    mc_ = rd_kafka_handle_mock_cluster(rk_.get());
  }
  rd_kafka_mock_cluster_t* get() const { return mc_; }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mc_); }

 private:
  struct Destroy {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  };
  std::unique_ptr<rd_kafka_t, Destroy> rk_;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
};

// Every committed value of the topic, read from the beginning to each partition's end.
inline std::vector<std::string> ReadCommitted(const std::string& bootstrap,
                                              const std::string& topic) {
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
  // Bounded in time, not in polls: each poll returns at most one message.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline &&
         at_end.size() < cons.assigned_partitions()) {
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

}  // namespace spate::kafka
