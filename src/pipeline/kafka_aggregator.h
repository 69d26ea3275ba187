#pragma once
// `spate aggregate`: the engine between Kafka topics, exactly once.
//
// One consumer-group member reads every partition of the input topic. Records are processed
// in micro-batches of --commit-interval; each batch is one Kafka transaction holding its
// outputs (aggregates, totals, anomalies, late records, dead letters), the changes to the
// engine's state (a compacted changelog topic, <group>-changelog), and the input positions.
// After kill -9, a restart with the same --instance fences the dead producer (aborting its
// open transaction), restores the state from the changelog and resumes at the committed
// positions: every output appears exactly once.
//
// Not yet: several members sharing the input (the group-by key needs a repartition stage).
// A member that loses partitions starts over from its last commit; if it cannot get every
// partition back (a second member holds some) it stops with an error rather than produce
// partial aggregates.

#include <cstdint>
#include <functional>
#include <string>

#include "core/codec.h"
#include "core/status.h"
#include "kafka/config.h"
#include "obs/metrics.h"
#include "pipeline/embedded.h"
#include "pipeline/stats.h"

namespace spate {

struct AggregateConfig {
  kafka::ClientConfig client;  // bootstrap.servers and -X/-F settings
  std::string input = "financial_transactions";
  std::string group = "spate-aggregate";
  std::string instance = "0";  // transactional.id and group.instance.id suffix
  std::string aggregates_topic = "transaction_aggregates";
  std::string totals_topic = "transaction_totals";
  std::string anomalies_topic = "transaction_anomalies";
  std::string late_topic = "transaction_late";
  std::string dlq_topic = "transaction_dlq";
  WireFormat format = WireFormat::kJson;
  EngineConfig engine;
  int64_t commit_interval_ms = 200;
  bool exit_at_end = false;
};

struct AggregateSummary {
  PipelineStats stats;
  double elapsed_seconds = 0;
  uint64_t transactions = 0;
  uint64_t restored_entries = 0;
};

// Runs until the input is exhausted (exit_at_end), stop() returns true, or a fatal error.
Result<AggregateSummary> RunAggregate(const AggregateConfig& config, PipelineMetrics* metrics,
                                      prometheus::Registry* registry,
                                      const std::function<bool()>& stop,
                                      const ProgressFn& progress);

}  // namespace spate
