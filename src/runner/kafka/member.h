#pragma once
// One member of the aggregator's consumer group (aggregator.h): its clients, its tasks, and its
// loop of micro-batches. Internal to src/runner/kafka/. Its definitions are in two files:
//   aggregator.cc  the loop: poll, dispatch to the tasks, commit each batch as a transaction;
//   rebalance.cc   the group's side: joining, assignments and hand-overs, restoring tasks from
//                  the changelog, and rewinding to the last commit after a failed batch.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kafka/consumer.h"
#include "kafka/stats_exporter.h"
#include "kafka/txn_producer.h"
#include "obs/latency_histogram.h"
#include "obs/log.h"
#include "runner/kafka/aggregator.h"
#include "runner/kafka/tasks.h"
#include "stream/metrics.h"

namespace spate {

class AggregateMember {
 public:
  AggregateMember(const AggregateConfig& c, const EngineHooks& hooks);

  // librdkafka revokes the assignment when the consumer closes: that must not commit.
  ~AggregateMember();

  AggregateSummary Summary() const;

  // Runs until the input is exhausted (-e), stop() or an error; Summary() tells what was done.
  Status Run();

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr int kTimeoutMs = 30'000;
  static spdlog::logger& Log() { return Logger("runner/kafka"); }
  bool Stopping() const { return hooks_.stop && hooks_.stop(); }

  // The loop (aggregator.cc).

  // Creates the clients and checks or creates the topics.
  Status Connect();

  // The transactional producer; a new one (same transactional.id) replaces a failed one.
  Status NewProducer();

  // One message of the group consumer, to the task of its partition.
  Status Dispatch(const kafka::Message& m);

  // Ends the micro-batch: both stages' end-of-batch work, then the outputs, the state changes
  // and the input positions commit as one transaction.
  Status CommitBatch();

  // The batch's results are visible: how long its closed windows and (emit changes) its
  // records waited for them.
  void ObserveResultLatencies();

  // -e: every task this member holds has finished (called after a commit). A member that
  // holds none waits out a session timeout without rebalances first: a cooperative rebalance
  // gives a newcomer its partitions only in a second round, and a static member that leaves
  // keeps whatever it was given from everyone else until its session expires.
  bool Finished() const;

  // Over this member's window tasks: the lowest watermark, and the windows open.
  int64_t ProcessWatermark() const;

  size_t OpenWindows() const;

  // The group's side (rebalance.cc).

  // Subscribes the group consumer, with OnRebalance as its rebalance callback.
  Status Join();

  // A consumer that raised a fatal error is replaced. Seen after all three brokers were
  // killed for longer than the session timeout: librdkafka 2.0.2 drops its member id, the
  // restarted coordinator still maps --instance to the old one, and the heartbeat is answered
  // FENCED_INSTANCE_ID. A new consumer with the same group.instance.id joins in its place; the
  // open batch is abandoned (rewound), so nothing of it commits.
  Status RenewConsumer(const std::string& why);

  // The group gives or takes partitions (called from inside Poll). Given: tasks are created
  // and their state restored before librdkafka starts fetching. Handed over: the open batch,
  // which holds work on them, is committed first. Lost: this batch cannot commit; start over.
  void OnRebalance(bool assign, bool lost, const std::vector<kafka::TopicPartition>& parts);

  // Commits the open batch from inside a rebalance and begins the next transaction. False
  // when that failed in a way that ends the run (rebalance_status_); a failure that a rewind
  // repairs sets rewind_ instead, for Run().
  bool CommitInRebalance();

  // After a batch that could not commit (its transaction aborted, e.g. ILLEGAL_GENERATION in
  // a rebalance; the producer failed; or partitions were lost), goes back to the last commit
  // without leaving the group: the open transaction is aborted (or the producer replaced),
  // every task is rebuilt from its changelog, and every assigned partition is sought back to
  // its committed position. Keeping the consumer matters: a new one under the same static
  // group.instance.id could leave partitions assigned to nobody (librdkafka 2.0.2,
  // cooperative-sticky), as a restart with a new consumer once did in the scale test.
  Status Rewind();

  // Creates the tasks of these partitions, rebuilt from their changelog partitions: each
  // entry goes to its task as it is read.
  Status Restore(const std::vector<int32_t>& inputs, const std::vector<int32_t>& windows);

  // Partitions of the input and of the repartition topic, apart.
  std::pair<std::vector<int32_t>, std::vector<int32_t>> ByTopic(
      const std::vector<kafka::TopicPartition>& parts) const;

  // Whether librdkafka still assigns every task's partition (an error naming one it does
  // not).
  Status TasksAssigned() const;

  const AggregateConfig& c_;
  const EngineHooks& hooks_;
  std::optional<PipelineMetrics> metrics_;
  std::unique_ptr<kafka::StatsExporter> exporter_;
  std::unique_ptr<kafka::TxnProducer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_, restorer_, prober_;
  std::optional<TaskOutput> output_;
  int inputs_ = 0;  // partition count of the input (and of the repartition topic)
  std::string fingerprint_;
  std::unique_ptr<Decoder> decoder_, binary_;
  PipelineStats stats_;  // before the tasks, which count into it
  std::map<int32_t, SourceTask> sources_;
  std::map<int32_t, WindowTask> windows_;
  std::set<int32_t> held_inputs_, held_windows_;
  Status rebalance_status_;
  bool rewind_ = false;         // the open batch cannot commit: Rewind() before the next
  bool window_closed_ = false;  // final mode: a window task closes a window at this batch's end
  bool new_producer_ = false;   // ... with a new producer
  std::string failure_;         // why
  uint64_t rewinds_ = 0;
  int consumer_renewals_ = 0;
  int64_t oldest_ms_ = INT64_MAX;  // Kafka timestamp of the batch's oldest input record
  int session_timeout_ms_ = 30'000;
  Clock::time_point last_rebalance_;
  const Clock::time_point t0_ = Clock::now();
  uint64_t transactions_ = 0, restored_ = 0;
  LatencyHistogram window_result_latency_, record_result_latency_;
};

}  // namespace spate
