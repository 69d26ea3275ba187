#pragma once
// One message, or event, from a consumer: owns librdkafka's rd_kafka_message_t and reads it.
// A message with an error is an event: the end of a partition (partition_eof()), or an error
// about a partition or, without a topic, the consumer as a whole.

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <librdkafka/rdkafka.h>

namespace spate::kafka {

class Message {
 public:
  Message() = default;
  explicit Message(rd_kafka_message_t* m) : m_(m) {}

  // False after a poll that timed out.
  explicit operator bool() const { return m_ != nullptr; }

  rd_kafka_resp_err_t err() const { return m_->err; }
  bool partition_eof() const { return m_->err == RD_KAFKA_RESP_ERR__PARTITION_EOF; }
  // False for an event about the consumer as a whole.
  bool has_topic() const { return m_->rkt != nullptr; }
  std::string_view topic() const { return rd_kafka_topic_name(m_->rkt); }
  int32_t partition() const { return m_->partition; }
  int64_t offset() const { return m_->offset; }
  // Empty when the message has none (a null key, a tombstone).
  std::string_view key() const {
    return m_->key ? std::string_view(static_cast<const char*>(m_->key), m_->key_len)
                   : std::string_view();
  }
  std::string_view payload() const {
    return m_->payload ? std::string_view(static_cast<const char*>(m_->payload), m_->len)
                       : std::string_view();
  }
  bool has_key() const { return m_->key != nullptr; }
  bool tombstone() const { return m_->payload == nullptr; }
  // The record's timestamp in epoch milliseconds (create or log-append time), if it has one.
  std::optional<int64_t> timestamp_ms() const {
    rd_kafka_timestamp_type_t type;
    const int64_t ts = rd_kafka_message_timestamp(m_.get(), &type);
    if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) return std::nullopt;
    return ts;
  }

 private:
  struct Deleter {
    void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  };
  std::unique_ptr<rd_kafka_message_t, Deleter> m_;
};

}  // namespace spate::kafka
