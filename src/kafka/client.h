#pragma once
// RAII over librdkafka handles, and what every client can do beyond its role. Each rd_kafka_t,
// topic and partition list is owned by a unique_ptr with its deleter; rd_kafka_new takes
// ownership of the conf only on success. Code outside src/kafka/ uses these classes and never
// calls librdkafka itself.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

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

// The fatal error a handle raised, as "<ERR_NAME>: <reason>" (e.g. fenced by a newer
// instance); empty when none was.
std::string FatalErrorText(rd_kafka_t* rk);

// Logical offsets, as librdkafka and kcat take them.
inline constexpr int64_t kOffsetBeginning = RD_KAFKA_OFFSET_BEGINNING;
inline constexpr int64_t kOffsetEnd = RD_KAFKA_OFFSET_END;

// A partition of a topic, with an offset where one is meant (a position, a commit).
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = RD_KAFKA_OFFSET_INVALID;
};
// The list in librdkafka's form, and back.
PartitionListPtr ToList(const std::vector<TopicPartition>& parts);
std::vector<TopicPartition> FromList(const rd_kafka_topic_partition_list_t& list);

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = -1;  // -1: the broker's default.replication.factor
  std::vector<std::pair<std::string, std::string>> configs;
};

struct Watermarks {
  int64_t low = 0, high = 0;  // the first offset, and the offset after the last
};

// What any client handle can do: metadata and topic administration (librdkafka runs them on
// producers and consumers alike). Single-threaded, like the client it belongs to.
class Client {
 public:
  virtual ~Client() = default;

  // Reaches the cluster (a metadata request), or says why not.
  Status Ping(int timeout_ms) const;
  // The topic's partition count, or an error naming the topic. Retries "unknown topic" and
  // "no leader" until the deadline: a topic created moments ago may not be known everywhere.
  Result<int> PartitionCount(const std::string& topic, int timeout_ms) const;
  // Creates the topic unless it exists (an existing topic is accepted as it is).
  Status EnsureTopic(const TopicSpec& spec, int timeout_ms) const;
  // How many brokers the cluster's metadata lists.
  Result<int> BrokerCount(int timeout_ms) const;
  // One setting of an existing topic as the brokers apply it (DescribeConfigs: its own value,
  // or the broker's default).
  Result<std::string> TopicConfig(const std::string& topic, const std::string& name,
                                  int timeout_ms) const;
  // A partition's watermarks, asked of its leader (retrying while a just-created topic has
  // no leader yet).
  Result<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition,
                                     int timeout_ms) const;

  // After a fatal error (RD_KAFKA_RESP_ERR__FATAL): what it was (FatalErrorText).
  std::string FatalError() const { return FatalErrorText(rk_.get()); }
  // ErrorText(err), or for RD_KAFKA_RESP_ERR__FATAL the fatal error itself (FatalError()).
  std::string Explain(rd_kafka_resp_err_t err) const;

  // For src/kafka/ only: the handle, for librdkafka calls between clients.
  rd_kafka_t* handle() const { return rk_.get(); }

 private:
  // One DescribeConfigs request; *transient is set when the topic is not known yet.
  Result<std::string> DescribeTopicConfig(const std::string& topic, const std::string& name,
                                          int timeout_ms, rd_kafka_resp_err_t* transient) const;

 protected:
  HandlePtr rk_;
};

}  // namespace spate::kafka
