#pragma once
// A librdkafka consumer, either assigned to every partition of one topic (like kcat -C) or a
// member of a consumer group with cooperative rebalancing (like kcat -G). Single-threaded:
// call every method from one thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "kafka/client.h"
#include "kafka/config.h"
#include "kafka/message.h"
#include "kafka/stats_exporter.h"

namespace spate::kafka {

class Consumer : public Client {
 public:
  // conf must hold bootstrap.servers; group.id is set for group mode. spate's defaults:
  // isolation.level=read_committed, enable.partition.eof=true.
  // With stats, librdkafka's statistics (consumer lag per partition among them) are exported
  // every second; the exporter must outlive the consumer.
  static Result<std::unique_ptr<Consumer>> Create(const ClientConfig& conf,
                                                  StatsExporter* stats = nullptr);
  ~Consumer();
  // Leaves the group: the rebalance handler sees its partitions revoked, then the consumer
  // reads nothing more. The destructor does it if it was not done; call it first when the
  // handler needs the Consumer (a unique_ptr being reset is already null in the handler).
  void Close();

  // Assigns every partition of topic, starting at `offset` (kOffsetBeginning, kOffsetEnd, or
  // an absolute offset). Fails clearly if the topic does not exist.
  Status AssignAll(const std::string& topic, int64_t offset, int timeout_ms = 10'000);
  // Assigns these partitions of topic, each starting at `offset` (replaces the assignment).
  Status Assign(const std::string& topic, const std::vector<int32_t>& partitions, int64_t offset);
  // Joins the group (cooperative-sticky) for these topics.
  Status Subscribe(const std::vector<std::string>& topics);
  // Group mode: seeks every assigned partition back to the group's committed offset (the
  // beginning where none is committed), dropping whatever was fetched beyond it. This is how
  // a transactional reader rewinds after an aborted transaction without leaving the group
  // (librdkafka's examples/transactions.c).
  Status SeekToCommitted(int timeout_ms);

  // Called from Poll() when the group gives partitions (assign = true) or takes them
  // (assign = false; lost = true when they were lost rather than handed over, and may
  // already belong to another member). Runs before librdkafka's incremental assign or
  // unassign, so a handler can restore state before the first fetch, or commit work on
  // revoked partitions while they are still its own.
  using RebalanceHandler =
      std::function<void(bool assign, bool lost, const std::vector<TopicPartition>& parts)>;
  void OnRebalance(RebalanceHandler handler) { on_rebalance_ = std::move(handler); }

  // The next message or event (see Message), or an empty Message on timeout.
  Message Poll(int timeout_ms) { return Message(rd_kafka_consumer_poll(rk_.get(), timeout_ms)); }

  // The partitions assigned now (offsets not set).
  Result<std::vector<TopicPartition>> Assignment() const;
  // The group's committed offsets of these partitions (offset < 0: none committed).
  Result<std::vector<TopicPartition>> Committed(const std::vector<TopicPartition>& parts,
                                                int timeout_ms) const;
  // Commits these offsets (each the next offset to read) for the group, synchronously.
  Status Commit(const std::vector<TopicPartition>& offsets);
  // Pauses or resumes fetching for every assigned partition. librdkafka drops what it had
  // prefetched for a paused partition and fetches it again on resume.
  void PauseAll(bool pause);
  // The watermarks last seen for a partition this consumer fetches (no request: librdkafka's
  // cached values, refreshed by every fetch response), if any.
  std::optional<Watermarks> CachedWatermarks(const std::string& topic, int32_t partition) const;
  // Whether the application has read a partition up to the end offset of the last fetch
  // response: its position (the offset after the last message handed out) is at or past the
  // cached high watermark. No request. A fallback for the partition EOF event, which librdkafka
  // sends once per end it reaches. Behind a transaction's control record the position stays
  // one short, so this says false there.
  bool AtCachedEnd(const std::string& topic, int32_t partition) const;

  size_t assigned_partitions() const { return assigned_; }

 private:
  Consumer() = default;
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque);
  static int OnStats(rd_kafka_t* rk, char* json, size_t len, void* opaque);

  bool closed_ = false;
  size_t assigned_ = 0;
  StatsExporter* exporter_ = nullptr;
  RebalanceHandler on_rebalance_;
};

}  // namespace spate::kafka
