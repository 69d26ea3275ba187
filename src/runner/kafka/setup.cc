#include "runner/kafka/setup.h"

#include <algorithm>

#include <fmt/format.h>

namespace spate {
namespace {

constexpr int kTimeoutMs = 30'000;
constexpr int kMetadataTimeoutMs = 10'000;

}  // namespace

Result<std::unique_ptr<kafka::TxnProducer>> NewTransactionalProducer(const AggregateConfig& c,
                                                                     std::function<bool()> stop) {
  kafka::ClientConfig pc = c.client.For(kafka::ClientConfig::Role::kProducer);
  pc.Set("transactional.id", "spate-aggregate-" + c.group + "-" + c.instance);
  // A member that dies for good blocks read_committed readers of the partitions it wrote
  // until its open transaction times out; but librdkafka also caps message.timeout.ms at
  // this, and 10 s (Kafka Streams' value) was too short to ride out a broker's death on
  // a loaded machine (leadership moves after broker.session.timeout.ms, 9 s).
  pc.SetDefaults({{"transaction.timeout.ms", "30000"}});
  // Outputs, frames and changelog entries compress well; a commit flushes anyway, so a
  // longer linger only fills batches (measured: brokers' CPU -25%, bench/README.md).
  pc.SetDefaults({{"compression.type", "lz4"}, {"linger.ms", "20"}});
  // A transaction begun right after a commit finds the coordinator still writing the last
  // one's markers: it answers CONCURRENT_TRANSACTIONS. librdkafka 2.0.2 asks again after 20 ms
  // when that answers AddPartitionsToTxn, but after retry.backoff.ms (100) when it answers
  // AddOffsetsToTxn; those 100 ms were most of the time from a window's close to its
  // committed result (p50 112 ms, 48 with 20: bench/README.md).
  pc.SetDefaults({{"retry.backoff.ms", "20"}});
  return kafka::TxnProducer::Create(pc, kTimeoutMs, std::move(stop));
}

Result<int> PrepareTopics(const kafka::Client& client, const AggregateConfig& c) {
  auto n = client.PartitionCount(c.input, kMetadataTimeoutMs);
  if (!n.ok()) return n.status();
  const int inputs = n.value(), windows = inputs;
  for (const std::string& t :
       {c.aggregates_topic, c.totals_topic, c.anomalies_topic, c.late_topic, c.dlq_topic}) {
    if (auto k = client.PartitionCount(t, kMetadataTimeoutMs); !k.ok()) return k.status();
  }
  // The internal topics hold the only copy of the state and of records in flight: replicated
  // on up to 3 brokers, with writes acknowledged by 2 (1 on a one-broker cluster), whatever the
  // brokers' defaults.
  auto brokers = client.BrokerCount(kMetadataTimeoutMs);
  if (!brokers.ok()) return brokers.status();
  const int rf = std::clamp(brokers.value(), 1, 3);
  const std::string min_isr = std::to_string(std::min(rf, 2));
  const std::string changelog = c.group + "-changelog";
  const kafka::TopicSpec internal[] = {
      {c.group + "-repartition", windows, rf, {{"min.insync.replicas", min_isr}}},
      {changelog,
       inputs + windows,
       rf,
       {{"cleanup.policy", "compact"}, {"min.insync.replicas", min_isr}}}};
  for (const kafka::TopicSpec& spec : internal) {
    if (Status s = client.EnsureTopic(spec, kMetadataTimeoutMs); !s.ok()) return s;
    auto k = client.PartitionCount(spec.name, kMetadataTimeoutMs);
    if (!k.ok()) return k.status();
    if (k.value() != spec.partitions) {
      return Status::Error(fmt::format(
          "{} has {} partitions but {} with {} partitions needs {} (was it made by another "
          "version of spate, or for another input?); use another --group",
          spec.name, k.value(), c.input, inputs, spec.partitions));
    }
  }
  // An existing changelog that deletes by retention would lose state that is still live.
  auto policy = client.TopicConfig(changelog, "cleanup.policy", kMetadataTimeoutMs);
  if (!policy.ok()) return policy.status();
  if (policy.value().find("compact") == std::string::npos) {
    return Status::Error(fmt::format(
        "{} has cleanup.policy={}: the state it holds would be deleted by retention; make it "
        "compacted (kafka-configs.sh --alter --entity-type topics --entity-name {} "
        "--add-config cleanup.policy=compact) or use another --group",
        changelog, policy.value(), changelog));
  }
  return inputs;
}

Result<std::unique_ptr<kafka::Consumer>> NewGroupConsumer(const AggregateConfig& c,
                                                          kafka::StatsExporter* stats,
                                                          int* session_timeout_ms) {
  kafka::ClientConfig cc = c.client.For(kafka::ClientConfig::Role::kConsumer);
  cc.SetAll(kafka::GroupSettings(c.group));
  // Static membership: a restart with the same id keeps the partitions. A static member never
  // leaves the group, so without a stable id (the default, new on every run) the next run with
  // this group would wait out the old member's session timeout before it got any partition.
  if (c.static_member) cc.Set("group.instance.id", c.instance);
  cc.SetAll(kafka::ReaderSettings());
  // Long enough to ride out a coordinator failover; static membership makes a restarted
  // instance take its partitions back at once anyway.
  cc.SetDefaults({{"session.timeout.ms", "30000"}});
  // The defaults held half a second of this engine's work: 2M records took 16-17 s, a third
  // of it in empty polls; with these, 8.7-9.4 s, for about 150 MiB more peak RSS
  // (docs/aggregate.md#memory).
  cc.SetDefaults(kafka::PrefetchSettings());
  *session_timeout_ms = std::stoi(cc.Get("session.timeout.ms"));
  auto consumer = kafka::Consumer::Create(cc, stats);
  if (!consumer.ok()) return consumer.status();
  // The subscription sees the just-created repartition topic only once this handle's
  // metadata has it; without it the first assignment would lack the window tasks.
  auto k = consumer.value()->PartitionCount(c.group + "-repartition", kMetadataTimeoutMs);
  if (!k.ok()) return k.status();
  return consumer;
}

Result<std::unique_ptr<kafka::Consumer>> NewRestorer(const AggregateConfig& c) {
  kafka::ClientConfig rc = c.client.For(kafka::ClientConfig::Role::kConsumer);
  // auto.offset.reset=earliest: any reset must re-read the whole changelog.
  rc.SetAll(kafka::ReaderSettings());
  // A restore reads to the end: a fetch there waits fetch.wait.max.ms (500 ms by default) for
  // nothing before the end is reported.
  rc.SetDefaults({{"fetch.wait.max.ms", "20"}});
  rc.SetDefaults(kafka::PrefetchSettings());
  return kafka::Consumer::Create(rc);
}

Result<std::unique_ptr<kafka::Consumer>> NewProber(const AggregateConfig& c) {
  kafka::ClientConfig pc = c.client.For(kafka::ClientConfig::Role::kConsumer);
  pc.Set("isolation.level", "read_uncommitted");
  return kafka::Consumer::Create(pc);
}

}  // namespace spate
