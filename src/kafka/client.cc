#include "kafka/client.h"

namespace spate::kafka {

Result<HandlePtr> NewHandle(rd_kafka_type_t type, ConfPtr conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof(err));
  if (!rk) return Status::Error(std::string("cannot create Kafka client: ") + err);
  conf.release();  // now owned by rk
  return HandlePtr(rk);
}

std::string ErrorText(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
}

std::string FatalErrorText(rd_kafka_t* rk) {
  char reason[512];
  const rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk, reason, sizeof(reason));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return "";
  return std::string(rd_kafka_err2name(err)) + ": " + reason;
}

PartitionListPtr ToList(const std::vector<TopicPartition>& parts) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (const TopicPartition& tp : parts) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        tp.offset;
  }
  return list;
}

std::vector<TopicPartition> FromList(const rd_kafka_topic_partition_list_t& list) {
  std::vector<TopicPartition> parts;
  parts.reserve(static_cast<size_t>(list.cnt));
  for (int i = 0; i < list.cnt; ++i) {
    const auto& e = list.elems[i];
    parts.push_back({e.topic, e.partition, e.offset});
  }
  return parts;
}

}  // namespace spate::kafka
