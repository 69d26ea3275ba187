#pragma once
// Where the registry keeps its state: a log of key/value records in the format of Confluent's
// `_schemas` topic. The registry's state is the fold of the log in order, the last record for
// a key winning (so the Kafka topic can be compacted):
//   {"keytype":"SCHEMA","subject":S,"version":V,"magic":1}
//       -> {"subject":S,"version":V,"id":I,"schema":TEXT,"deleted":false}
//   {"keytype":"CONFIG","subject":S or null,"magic":0} -> {"compatibilityLevel":"BACKWARD"}
// An empty value is a tombstone (a deleted subject configuration).

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "kafka/config.h"

namespace spate::registry {

class SchemaLog {
 public:
  // Called with each record in log order; value "" is a tombstone. May run on a background
  // thread (Kafka), never on two threads at once.
  using Apply = std::function<void(const std::string& key, const std::string& value)>;

  virtual ~SchemaLog() = default;
  // Replays every stored record through apply before it returns, then keeps delivering the
  // records other writers add (Kafka). Called once, before Append.
  virtual Status Open(Apply apply) = 0;
  // Stores one record and returns once apply has seen it (for Kafka: once it was acknowledged
  // by the cluster and read back from the topic, so every instance applies it in the same
  // order). Thread-safe.
  virtual Status Append(const std::string& key, const std::string& value) = 0;
  // "memory", "file /path", "kafka topic _schemas on brokers" for the start-up line.
  virtual std::string Describe() const = 0;
};

// Nothing survives the process.
std::unique_ptr<SchemaLog> NewMemoryLog();
// Append-only JSON lines ({"key":..,"value":..}), reloaded at Open; a torn last line (crash
// while writing) is ignored. Every Append is flushed before it returns.
std::unique_ptr<SchemaLog> NewFileLog(std::string path);
// A compacted topic (one partition, created if missing with the cluster's default replication
// factor). conf holds bootstrap.servers and any -X properties.
std::unique_ptr<SchemaLog> NewKafkaLog(kafka::ClientConfig conf, std::string topic);

}  // namespace spate::registry
