#pragma once
// The Kafka runner behind `spate aggregate`: the engine between Kafka topics, exactly once.
//
// Two stages, as Kafka Streams splits a keyed aggregation, so that any number of processes in
// one consumer group share the work and state follows the partitions (tasks.h):
//   A. one task per input partition runs the source step (decode, dead letters, anomaly
//      rules; the input is keyed by userId), then sends the valid records to
//      <group>-repartition keyed by group key (combined into partial aggregates per key and
//      currency where they cannot be late), and after each batch a watermark marker (largest
//      event time, read to the end or not) to every repartition partition;
//   B. one task per repartition partition runs the window step (windows and totals of its
//      keys), with the minimum over the source partitions' markers as watermark.
// Each process subscribes to both topics in the group. Its micro-batches of --commit-interval
// are Kafka transactions holding every output, the repartitioned records, the changes to the
// tasks' state (compacted <group>-changelog, one partition per task: changelog.h) and the
// input positions of both topics. A task's state is restored from its changelog partition
// when the group assigns the partition; a member that hands partitions over commits its batch
// first. After kill -9, a restart with the same --instance fences the dead producer (aborting
// its open transaction) and resumes at the committed positions: every output appears exactly
// once.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "core/codec.h"
#include "core/status.h"
#include "kafka/config.h"
#include "obs/latency_histogram.h"
#include "stream/engine_config.h"
#include "stream/progress.h"
#include "stream/stats.h"

namespace spate {

struct AggregateConfig {
  kafka::ClientConfig client;  // bootstrap.servers and -X/-F settings
  std::string input = "financial_transactions";
  std::string group = "spate-aggregate";
  std::string instance;  // transactional.id suffix (not empty)
  // The instance was chosen by the user (--instance): it is also the group.instance.id (static
  // membership). Otherwise the member is dynamic, and leaves the group when it ends.
  bool static_member = false;
  std::string aggregates_topic = "transaction_aggregates";
  std::string totals_topic = "transaction_totals";
  std::string anomalies_topic = "transaction_anomalies";
  std::string late_topic = "transaction_late";
  std::string dlq_topic = "transaction_dlq";
  WireSpec wire;  // of the input topic
  // When set, makes the input decoder instead of NewDecoder(wire): e.g. a schema registry's
  // (registry/client/schema_resolver.h). A kSchemaUnavailable from it is no dead letter: the
  // batch is abandoned and the run starts over from the last commit (at most 10 times in a
  // row).
  std::function<std::unique_ptr<Decoder>()> new_decoder;
  // Avro for the aggregates and anomalies topics (--output-format avro), or JSON lines.
  OutputEncoding encoding;
  EngineConfig engine;
  int64_t commit_interval_ms = 200;
  // An input partition read to its end that has had no record for this long (wall time)
  // stops holding the watermark back, until its next record (0: never; docs/semantics.md).
  int64_t idle_timeout_ms = 60'000;
  bool exit_at_end = false;
};

// Counts are cumulative over rewinds to the last commit: records re-read after one are
// counted again.
struct AggregateSummary {
  PipelineStats stats;
  double elapsed_seconds = 0;
  uint64_t transactions = 0;
  uint64_t restored_entries = 0;
  uint64_t rewinds = 0;                         // batches that could not commit and were done again
  std::set<int32_t> held_inputs, held_windows;  // partitions of each stage this process ran
  // From the watermark passing a window's end to its results committed (final mode: one per
  // window and window task), and from an input record's Kafka timestamp to the committed
  // update that holds it (emit changes); microseconds.
  LatencyHistogram window_result_latency, record_result_latency;
};

// Runs until the input is exhausted (exit_at_end), hooks.stop() returns true, or a fatal
// error.
Result<AggregateSummary> RunAggregate(const AggregateConfig& config, const EngineHooks& hooks);

}  // namespace spate
