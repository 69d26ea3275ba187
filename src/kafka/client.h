#pragma once
// RAII over librdkafka handles. Each rd_kafka_t, topic and partition list is owned by a
// unique_ptr with its deleter; rd_kafka_new takes ownership of the conf only on success.

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

#include "core/status.h"
#include "kafka/config.h"

namespace spate::kafka {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// Creates a client from conf (consumed on success and on failure).
Result<HandlePtr> NewHandle(rd_kafka_type_t type, ConfPtr conf);

// "Broken: <what>: <librdkafka's words>"
std::string ErrorText(rd_kafka_resp_err_t err);

}  // namespace spate::kafka
