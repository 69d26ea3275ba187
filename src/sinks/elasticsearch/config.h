#pragma once
// What `spate index` is told (SinkConfig: the topics, the index pattern, the batches, the
// retries) and what it reports (SinkSummary, also its progress snapshot).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "kafka/config.h"
#include "obs/progress.h"
#include "sinks/elasticsearch/client.h"

namespace spate::es {

struct SinkConfig {
  kafka::ClientConfig consumer;  // bootstrap.servers, group.id, ...
  kafka::ClientConfig producer;  // for the dead letters
  std::vector<std::string> topics;
  std::string index = "spate-{topic}";  // {topic} is replaced by the record's topic
  std::string dlq_topic = "transaction_dlq";
  HttpOptions http;
  bool install_template = true;
  bool id_bloom_filter = true;  // in that template, where the server has it (OpenSearch 2.13+)
  // Batches as kafka-connect-elasticsearch's defaults: 2000 documents, 5 MiB, 1 s linger.
  size_t batch_docs = 2000;
  size_t batch_bytes = 5 << 20;
  int64_t linger_ms = 1000;
  int max_inflight = 4;
  int64_t backoff_base_ms = 100, backoff_cap_ms = 30'000;
  // An item refused (429/5xx in a _bulk reply) more often than this is a dead letter
  // (retries_exhausted), so that no document stalls its partition. A request that fails as a
  // whole (connection, timeout, 429/5xx) is an outage, not the item's: retried for ever.
  int max_item_retries = 10;
  int64_t commit_interval_ms = 1000;
  bool exit_at_end = false;
  // Turns a record's value into the JSON line to index. Unset: the value is that line (the
  // JSON outputs of spate aggregate). Set (`--format avro`): Ok with *json; an error with
  // *dead_letter set (e.g. "unknown_schema") sends the record to the dead letters with that
  // error and the message as reason; an error without it stops the sink, with nothing
  // committed past the record.
  std::function<Status(std::string_view value, std::string* json, std::string* dead_letter)> decode;
};

struct SinkSummary {
  uint64_t received = 0;    // Kafka records read
  uint64_t indexed = 0;     // documents acknowledged by the cluster (2xx)
  uint64_t superseded = 0;  // 409: a newer version of the _id was already there (a replay)
  uint64_t dead_letters = 0;
  uint64_t retries = 0;  // documents sent again
  uint64_t requests = 0;
  double elapsed_seconds = 0;
  std::string server;  // "OpenSearch 2.19.6"
};

using IndexHooks = RunHooks<SinkSummary>;

}  // namespace spate::es
