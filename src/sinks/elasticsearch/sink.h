#pragma once
// `spate index`: Kafka topics (aggregates, totals, anomalies, transactions) into an
// Elasticsearch 7/8 or OpenSearch 1/2 index with `_bulk`, effectively once.
//
// One thread does everything: it consumes, builds documents (document.h), cuts batches by
// count, bytes and linger, keeps up to max_inflight `_bulk` requests running (client.h), reads
// every item of every response (bulk_response.h), retries what may succeed later with
// backoff and jitter (backoff.h), sends what never can to the dead-letter topic, and commits a
// partition's offset only up to the first record whose document is not yet acknowledged.
// A crash therefore replays from the first unacknowledged record of each partition, and what
// it replays lands on the same _ids (with the Kafka offset as external version), so nothing
// is lost or doubled in the index.

#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <string>
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

// The index name for a topic (the pattern with {topic} replaced), and the template's pattern.
std::string IndexFor(const std::string& pattern, const std::string& topic);
std::string IndexPattern(const std::string& pattern);
// The index template's body (composable, `_index_template`): keyword keys, epoch-millisecond
// dates, exact amounts (see the .cc for the mapping and why). id_bloom_filter adds OpenSearch's
// bloom filter on _id (2.13 and later; other servers refuse the setting).
std::string IndexTemplateBody(const std::string& index_pattern, bool id_bloom_filter = false);
// Whether a server (GET /'s version.distribution and version.number) takes the _id bloom
// filter setting: OpenSearch 2.13 and later (2.12 had it behind a feature flag).
bool HasIdBloomFilter(bool opensearch, std::string_view version);
// The name spate installs that template under for an --index pattern: "spate-" + the pattern
// with {topic} replaced by "all".
std::string IndexTemplateName(const std::string& pattern);

// Checks the cluster (reachable, credentials, version, health) and installs the template.
// Returns "Elasticsearch 8.x.y" / "OpenSearch 2.x.y", or a clear error.
Result<std::string> PrepareCluster(HttpClient& http, const SinkConfig& c);

// Runs until the input is exhausted (exit_at_end), hooks.stop() returns true, or a fatal
// error. Progress snapshots are the summary so far.
using IndexHooks = RunHooks<SinkSummary>;
Result<SinkSummary> RunIndexSink(const SinkConfig& c, const IndexHooks& hooks);

}  // namespace spate::es
