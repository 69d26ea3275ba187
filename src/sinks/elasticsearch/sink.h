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

#include "core/status.h"
#include "sinks/elasticsearch/config.h"

namespace spate::es {

// Runs until the input is exhausted (exit_at_end), hooks.stop() returns true, or a fatal
// error. Progress snapshots are the summary so far.
Result<SinkSummary> RunIndexSink(const SinkConfig& c, const IndexHooks& hooks);

}  // namespace spate::es
