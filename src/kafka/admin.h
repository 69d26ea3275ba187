#pragma once
// Admin operations on an existing client handle (librdkafka runs them on any rd_kafka_t).

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace spate::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = -1;  // -1: the broker's default.replication.factor
  std::vector<std::pair<std::string, std::string>> configs;
};

// Creates the topic unless it exists (an existing topic is accepted as it is).
Status EnsureTopic(rd_kafka_t* rk, const TopicSpec& spec, int timeout_ms);

// The topic's partition count, or an error naming the topic.
Result<int> PartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

}  // namespace spate::kafka
