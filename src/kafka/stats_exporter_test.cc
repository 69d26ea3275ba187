#include "kafka/stats_exporter.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

namespace spate::kafka {
namespace {

std::string Scrape(prometheus::Registry& reg) {
  prometheus::TextSerializer s;
  return s.Serialize(reg.Collect());
}

// A trimmed librdkafka statistics document (the fields the exporter reads, as 2.0.2 writes them).
constexpr const char* kStats = R"({
  "name": "rdkafka#consumer-1", "type": "consumer", "msg_cnt": 12,
  "txmsgs": 100, "txmsg_bytes": 5000, "rxmsgs": 250, "rxmsg_bytes": 70000,
  "brokers": {
    "127.0.0.1:29092/1": {"nodeid": 1, "rtt": {"avg": 1500, "p99": 4000}},
    "GroupCoordinator": {"nodeid": -1, "rtt": {"avg": 0}}
  },
  "topics": {
    "financial_transactions": {"partitions": {
      "0": {"partition": 0, "consumer_lag": 42},
      "1": {"partition": 1, "consumer_lag": -1},
      "-1": {"partition": -1, "consumer_lag": -1}
    }}
  }
})";

TEST(StatsExporter, ExportsCountersGaugesAndLag) {
  prometheus::Registry reg;
  StatsExporter e(reg, "consumer");
  e.Update(kStats);
  std::string text = Scrape(reg);
  EXPECT_NE(
      text.find(
          R"(spate_kafka_consumer_lag{client="consumer",partition="0",topic="financial_transactions"} 42)"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find(R"(partition="1")"), std::string::npos)
      << "unassigned partitions have no lag";
  EXPECT_NE(text.find(R"(spate_kafka_broker_rtt_seconds{broker="1",client="consumer"} 0.0015)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(spate_kafka_messages_received_total{client="consumer"} 250)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(spate_kafka_queue_messages{client="consumer"} 12)"), std::string::npos);
  // Cumulative values become counter increments: a second document adds only the difference.
  std::string second = kStats;
  second.replace(second.find("\"rxmsgs\": 250"), 13, "\"rxmsgs\": 300");
  e.Update(second);
  text = Scrape(reg);
  EXPECT_NE(text.find(R"(spate_kafka_messages_received_total{client="consumer"} 300)"),
            std::string::npos)
      << text;
  e.Update("not json");  // ignored, no crash
}

}  // namespace
}  // namespace spate::kafka
