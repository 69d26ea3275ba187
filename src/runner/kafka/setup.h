#pragma once
// The Kafka runner's set-up: its clients and topics. A member has four clients:
//   - a transactional producer (transactional.id spate-aggregate-<group>-<instance>), which
//     writes every output, frame and changelog entry of a batch in one transaction;
//   - a group consumer of the input and repartition topics (static membership under
//     --instance, cooperative-sticky, read_committed, offsets committed only through the
//     producer's transactions);
//   - a restorer, assigned (not subscribed) to changelog partitions while tasks are rebuilt;
//   - a prober (read_uncommitted), which asks changelog partitions for their high watermark.
// The output topics must exist; the internal topics are created if missing.

#include <functional>
#include <memory>

#include "core/status.h"
#include "kafka/config.h"
#include "kafka/consumer.h"
#include "kafka/stats_exporter.h"
#include "kafka/txn_producer.h"
#include "runner/kafka/aggregator.h"

namespace spate {

// A new transactional producer (init_transactions fences an older one with the same id and
// aborts what it left open).
// stop: see kafka::TxnProducer::Create.
Result<std::unique_ptr<kafka::TxnProducer>> NewTransactionalProducer(const AggregateConfig& c,
                                                                     std::function<bool()> stop);

// Checks the input and output topics and creates the internal ones (repartition and
// changelog) if missing, with the cluster's default replication and min.insync.replicas.
// Returns the input's partition count.
Result<int> PrepareTopics(const kafka::Client& client, const AggregateConfig& c);

// The group consumer, and the session timeout it was given.
Result<std::unique_ptr<kafka::Consumer>> NewGroupConsumer(const AggregateConfig& c,
                                                          kafka::StatsExporter* stats,
                                                          int* session_timeout_ms);

// The changelog's reader.
Result<std::unique_ptr<kafka::Consumer>> NewRestorer(const AggregateConfig& c);

// The changelog's prober: a read_uncommitted client, whose watermark queries return the high
// watermark (a read_committed one is told the last stable offset).
Result<std::unique_ptr<kafka::Consumer>> NewProber(const AggregateConfig& c);

}  // namespace spate
