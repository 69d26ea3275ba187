#include "pipeline/kafka_aggregator.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "core/partitioner.h"
#include "kafka/admin.h"
#include "kafka/consumer.h"
#include "kafka/errors.h"
#include "kafka/stats_exporter.h"
#include "kafka/txn_producer.h"
#include "pipeline/repartition.h"
#include "stream/anomaly_rules.h"
#include "stream/output_format.h"
#include "stream/totals.h"
#include "stream/watermark.h"
#include "stream/window_store.h"

namespace spate {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kTimeoutMs = 30'000;
constexpr size_t kFrameBytes = 64 * 1024;  // a repartition frame is sent once this full

// Changelog values are little-endian int64s.
void PutI64(std::string* out, int64_t v) {
  for (int i = 0; i < 8; ++i)
    out->push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
}
int64_t GetI64(std::string_view s, size_t i) {
  uint64_t v = 0;
  for (int b = 0; b < 8; ++b) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(s[i * 8 + static_cast<size_t>(b)])) << (8 * b);
  }
  return static_cast<int64_t>(v);
}

std::string Fingerprint(const AggregateConfig& c, int input_partitions) {
  const auto& e = c.engine;
  return fmt::format(
      "v2 partitions={} window={} hop={} lateness={} group={} rules={},{},{},{},{} format={}",
      input_partitions, e.window.size_ms, e.window.hop_ms, e.lateness_ms, GroupByField(e.group_by),
      e.rules.high_amount_cents, e.rules.intl_amount_cents, e.rules.velocity_span_ms,
      e.rules.velocity_count, e.rules.velocity_amount_cents, WireFormatName(c.wire.format));
}

// Stage A, one per input partition: decoding, dead letters and the anomaly rules (per user;
// the input is keyed by userId, so a user's records are all in one partition, in order).
// Valid records go on to the repartition topic, keyed by group key.
// Changelog partition = the input partition: 'm' fingerprint, 'p' largest event time,
// 'u<user>' rule state.
struct SourceTask {
  explicit SourceTask(const EngineConfig& e) : rules(e.rules, e.lateness_ms) {
    rules.TrackDirtyUsers();
  }
  AnomalyDetector rules;
  int64_t max_time = kNoWatermark;  // largest event time read
  bool at_end = false;              // read to its end since its last record
  bool marked = false;              // a marker with the values below was sent
  int64_t marked_time = kNoWatermark;
  bool marked_end = false;
  bool fingerprinted = false;
};

// Stage B, one per repartition partition: the windows and totals of the group keys hashed to
// it. Its watermark is the minimum over the source partitions' markers; a source without a
// marker holds it back unless it is known to be empty.
// Changelog partition = input partitions + this partition: 'm' fingerprint, 's<source>'
// marker, 'w<start>:<key>' open window, 't<key>' total.
struct WindowTask {
  WindowTask(const EngineConfig& e, int sources)
      : windows(e.window, true),
        source_max(static_cast<size_t>(sources), kNoWatermark),
        source_end(static_cast<size_t>(sources), 0) {}

  int64_t Watermark(int64_t lateness_ms) const {
    int64_t wm = INT64_MAX;
    bool any = false;
    for (size_t s = 0; s < source_max.size(); ++s) {
      if (source_max[s] == kNoWatermark) {
        if (!source_end[s]) return kNoWatermark;
        continue;
      }
      any = true;
      wm = std::min(wm, source_max[s] - lateness_ms);
    }
    return any ? wm : kNoWatermark;
  }
  bool AllSourcesEnded() const {
    return std::all_of(source_end.begin(), source_end.end(), [](uint8_t e) { return e != 0; });
  }

  WindowStore windows;
  TotalsStore totals;
  std::vector<int64_t> source_max;
  std::vector<uint8_t> source_end;
  std::set<uint32_t> dirty_sources;  // markers to checkpoint
  int64_t watermark = kNoWatermark;
  bool at_eof = false;  // read to its end since its last message
  bool final_emitted = false;
  bool fingerprinted = false;
};

class Aggregator {
 public:
  Aggregator(const AggregateConfig& c, PipelineMetrics* metrics, prometheus::Registry* registry)
      : c_(c),
        metrics_(metrics),
        changelog_(c.group + "-changelog"),
        repartition_(c.group + "-repartition"),
        decoder_(c.new_decoder ? c.new_decoder() : NewDecoder(c.wire)),
        binary_(NewDecoder(WireFormat::kBinary)) {
    if (registry) exporter_ = std::make_unique<kafka::StatsExporter>(*registry, "aggregate");
  }
  // librdkafka revokes the assignment when the consumer closes: that must not commit.
  ~Aggregator() {
    if (consumer_) consumer_->OnRebalance(nullptr);
  }

  AggregateSummary Summary() const {
    AggregateSummary s;
    s.stats = stats_;
    s.elapsed_seconds = std::chrono::duration<double>(Clock::now() - t0_).count();
    s.transactions = transactions_;
    s.rewinds = rewinds_;
    s.restored_entries = restored_;
    s.held_inputs = held_inputs_;
    s.held_windows = held_windows_;
    return s;
  }

  // Runs until the input is exhausted (-e), stop() or an error; Summary() tells what was done.
  Status Run(const std::function<bool()>& stop, const ProgressFn& progress) {
    const auto t0 = t0_;
    if (Status s = Connect(); !s.ok()) return s;
    consumer_->OnRebalance(
        [this](bool assign, bool lost, const rd_kafka_topic_partition_list_t& p) {
          OnRebalance(assign, lost, p);
        });
    if (Status s = consumer_->Subscribe({c_.input, repartition_}); !s.ok()) return s;
    auto last_progress = t0;
    bool done = false;
    int failed_batches = 0;  // in a row
    while (!done) {
      if (Status s = producer_ ? producer_->Begin() : Status::Error("no producer"); !s.ok()) {
        // E.g. an abort that librdkafka still has in progress: a new producer starts clean.
        failure_ = s.message();
        rewind_ = true;
        new_producer_ = true;
      }
      const auto batch_end = Clock::now() + std::chrono::milliseconds(c_.commit_interval_ms);
      while (Clock::now() < batch_end && !rewind_) {
        if (stop && stop()) {
          done = true;
          break;
        }
        auto m = consumer_->Poll(20);
        if (!rebalance_status_.ok()) return rebalance_status_;
        if (!m || rewind_) continue;  // after a failed batch, m is read again after the rewind
        if (Status s = Dispatch(*m); !s.ok()) {
          if (!rewind_) return s;
          failure_ = s.message();
        }
      }
      if (!rewind_) {
        Status s = CommitBatch();
        if (!s.ok() && !rewind_) return s;
        if (!s.ok()) failure_ = s.message();
      }
      if (rewind_) {
        // Ten failed batches in a row: something is persistently wrong.
        if (++failed_batches > 10) return Status::Error(failure_);
        // Done again at once the first time (a rebalance); then waits a little longer each
        // time for what failed (a registry, a broker) to come back: 0 + 1 + ... + 5 s.
        std::this_thread::sleep_for(std::chrono::seconds(std::min(failed_batches - 1, 5)));
        if (Status s = Rewind(); !s.ok()) {
          // E.g. no broker answered in time: tried again, bounded above.
          failure_ = s.message();
          rewind_ = true;
          new_producer_ = new_producer_ || !producer_;
        }
        continue;  // a stop requested meanwhile ends the loop: nothing uncommitted is left
      }
      failed_batches = 0;
      auto now = Clock::now();
      if (progress && now - last_progress >= std::chrono::seconds(1)) {
        last_progress = now;
        progress({stats_, OpenWindows(), ProcessWatermark(),
                  std::chrono::duration<double>(now - t0).count()});
      }
      if (c_.exit_at_end && Finished()) done = true;
    }
    return Status::Ok();
  }

 private:
  // The transactional producer; a new one (same transactional.id) replaces a failed one.
  Status NewProducer() {
    producer_.reset();
    kafka::ClientConfig pc = c_.client.For(kafka::ClientConfig::Role::kProducer);
    pc.Set("transactional.id", "spate-aggregate-" + c_.group + "-" + c_.instance);
    // A member that dies for good blocks read_committed readers of the partitions it wrote
    // until its open transaction times out; but librdkafka also caps message.timeout.ms at
    // this, and 10 s (Kafka Streams' value) was too short to ride out a broker's death on
    // a loaded machine (leadership moves after broker.session.timeout.ms, 9 s).
    if (pc.Get("transaction.timeout.ms").empty()) pc.Set("transaction.timeout.ms", "30000");
    // Outputs, frames and changelog entries compress well; a commit flushes anyway, so a
    // longer linger only fills batches (measured: brokers' CPU -25%, README).
    if (pc.Get("compression.type").empty()) pc.Set("compression.type", "lz4");
    if (pc.Get("linger.ms").empty()) pc.Set("linger.ms", "20");
    auto p = kafka::TxnProducer::Create(pc, kTimeoutMs);
    if (!p.ok()) return p.status();
    producer_ = std::move(p).value();
    return Status::Ok();
  }

  Status Connect() {
    if (Status s = NewProducer(); !s.ok()) return s;
    rd_kafka_t* rk = producer_->handle();
    auto n = kafka::PartitionCount(rk, c_.input, 10'000);
    if (!n.ok()) return n.status();
    inputs_ = n.value();
    windows_partitions_ = inputs_;
    frames_.assign(static_cast<size_t>(windows_partitions_), std::string());
    for (const std::string& t :
         {c_.aggregates_topic, c_.totals_topic, c_.anomalies_topic, c_.late_topic, c_.dlq_topic}) {
      if (auto k = kafka::PartitionCount(rk, t, 10'000); !k.ok()) return k.status();
    }
    // Internal topics, with the cluster's default replication and min.insync.replicas.
    const kafka::TopicSpec internal[] = {
        {repartition_, windows_partitions_, -1, {}},
        {changelog_, inputs_ + windows_partitions_, -1, {{"cleanup.policy", "compact"}}}};
    for (const kafka::TopicSpec& spec : internal) {
      if (Status s = kafka::EnsureTopic(rk, spec, 10'000); !s.ok()) return s;
      auto k = kafka::PartitionCount(rk, spec.name, 10'000);
      if (!k.ok()) return k.status();
      if (k.value() != spec.partitions) {
        return Status::Error(fmt::format(
            "{} has {} partitions but {} with {} partitions needs {} (was it made by another "
            "version of spate, or for another input?); use another --group",
            spec.name, k.value(), c_.input, inputs_, spec.partitions));
      }
    }

    kafka::ClientConfig cc = c_.client.For(kafka::ClientConfig::Role::kConsumer);
    cc.Set("group.id", c_.group);
    cc.Set("group.instance.id", c_.instance);  // static membership: a restart keeps the partitions
    cc.Set("partition.assignment.strategy", "cooperative-sticky");
    cc.Set("isolation.level", "read_committed");
    cc.Set("enable.auto.commit", "false");
    cc.Set("enable.partition.eof", "true");
    cc.Set("auto.offset.reset", "earliest");
    // Long enough to ride out a coordinator failover; static membership makes a restarted
    // instance take its partitions back at once anyway.
    if (cc.Get("session.timeout.ms").empty()) cc.Set("session.timeout.ms", "30000");
    session_timeout_ms_ = std::stoi(cc.Get("session.timeout.ms"));
    auto consumer = kafka::Consumer::Create(cc, exporter_.get());
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(consumer).value();
    // The subscription sees the just-created repartition topic only once this handle's
    // metadata has it; without it the first assignment would lack the window tasks.
    if (auto k = kafka::PartitionCount(consumer_->handle(), repartition_, 10'000); !k.ok()) {
      return k.status();
    }

    kafka::ClientConfig rc = c_.client.For(kafka::ClientConfig::Role::kConsumer);
    rc.Set("isolation.level", "read_committed");
    rc.Set("enable.partition.eof", "true");
    rc.Set("enable.auto.commit", "false");
    rc.Set("auto.offset.reset", "earliest");  // any reset must re-read the whole changelog
    auto restorer = kafka::Consumer::Create(rc);
    if (!restorer.ok()) return restorer.status();
    restorer_ = std::move(restorer).value();
    return Status::Ok();
  }

  // The group gives or takes partitions (called from inside Poll). Given: tasks are created
  // and their state restored before librdkafka starts fetching. Handed over: the open batch,
  // which holds work on them, is committed first. Lost: this batch cannot commit; start over.
  void OnRebalance(bool assign, bool lost, const rd_kafka_topic_partition_list_t& parts) {
    if (!rebalance_status_.ok()) return;
    std::vector<int32_t> inputs, windows;
    for (int i = 0; i < parts.cnt; ++i) {
      const auto& tp = parts.elems[i];
      (c_.input == tp.topic ? inputs : windows).push_back(tp.partition);
    }
    last_rebalance_ = Clock::now();
    if (assign) {
      // After a failed batch the tasks are rebuilt by the rewind, these with the others.
      if (!rewind_) rebalance_status_ = Restore(inputs, windows);
      std::fprintf(stderr, "spate aggregate: assigned %zu input and %zu window partitions\n",
                   inputs.size(), windows.size());
      return;
    }
    if (lost) {
      // Maybe another member's already: nothing of this batch may commit.
      failure_ = "partitions lost";
      rewind_ = true;
    } else if (!rewind_) {
      Status s = CommitBatch();
      if (!s.ok() && !rewind_) {
        rebalance_status_ = s;
        return;
      }
      if (!s.ok()) failure_ = s.message();
    }
    for (int32_t p : inputs) sources_.erase(p);
    for (int32_t p : windows) windows_.erase(p);
    std::fprintf(stderr, "spate aggregate: %s %zu input and %zu window partitions\n",
                 lost ? "lost" : "handed over", inputs.size(), windows.size());
    if (!rewind_) {
      if (Status s = producer_->Begin(); !s.ok()) {
        failure_ = s.message();  // Run() rewinds with a new producer
        rewind_ = true;
        new_producer_ = true;
      }
    }
  }

  // After a batch that could not commit (its transaction aborted, e.g. ILLEGAL_GENERATION in
  // a rebalance; the producer failed; or partitions were lost), goes back to the last commit
  // without leaving the group: the open transaction is aborted (or the producer replaced),
  // every task is rebuilt from its changelog, and every assigned partition is sought back to
  // its committed position. Keeping the consumer matters: a new one under the same static
  // group.instance.id could leave partitions assigned to nobody (librdkafka 2.0.2,
  // cooperative-sticky), as a restart with a new consumer once did in the scale test.
  Status Rewind() {
    std::fprintf(stderr, "spate aggregate: %s; rewinding to the last commit\n", failure_.c_str());
    std::string error;
    if (new_producer_ || !producer_ ||
        (producer_->in_transaction() &&
         producer_->Abort(kTimeoutMs, &error) == kafka::TxnOutcome::kFatal)) {
      // init_transactions fences the old producer and aborts what it left open.
      new_producer_ = true;
      if (Status s = NewProducer(); !s.ok()) return s;
    }
    new_producer_ = false;
    for (std::string& f : frames_) f.clear();
    sources_.clear();
    windows_.clear();
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_resp_err_t err = rd_kafka_assignment(consumer_->handle(), &raw)) {
      return Status::Error("assignment: " + kafka::ErrorText(err));
    }
    kafka::PartitionListPtr assigned(raw);
    std::vector<int32_t> inputs, windows;
    for (int i = 0; i < assigned->cnt; ++i) {
      const auto& tp = assigned->elems[i];
      (c_.input == tp.topic ? inputs : windows).push_back(tp.partition);
    }
    if (Status s = consumer_->SeekToCommitted(kTimeoutMs); !s.ok()) return s;
    if (Status s = Restore(inputs, windows); !s.ok()) return s;
    rewind_ = false;
    ++rewinds_;
    return Status::Ok();
  }

  // Reads the tasks' changelog partitions to their end (read_committed) and rebuilds them.
  //
  // The end is the high watermark, not the first end-of-partition: read_committed stops at
  // the last stable offset, and a transaction left open there (a member killed mid-batch;
  // the coordinator aborts it only after transaction.timeout.ms and its next sweep) hides
  // everything later owners committed after it. Restoring only up to it gave a task stale
  // state while its input resumed from the newer committed offsets: results were lost (the
  // scale test, in CI). So the restore waits until that transaction ends and reads on.
  Status Restore(const std::vector<int32_t>& inputs, const std::vector<int32_t>& windows) {
    std::vector<int32_t> parts;
    for (int32_t p : inputs) parts.push_back(p);
    for (int32_t p : windows) parts.push_back(inputs_ + p);
    std::map<int32_t, std::map<std::string, std::string>> state;
    if (!parts.empty()) {
      if (Status s = restorer_->Assign(changelog_, parts, RD_KAFKA_OFFSET_BEGINNING); !s.ok())
        return s;
      std::set<int32_t> pending(parts.begin(), parts.end()), blocked;
      // The reading itself takes seconds; an open transaction may take the transaction
      // timeout (30 s by default) plus the coordinator's abort sweep (10 s) to end.
      const auto deadline = Clock::now() + std::chrono::seconds(120);
      while (!pending.empty()) {
        if (Clock::now() > deadline) {
          return Status::Error("reading " + changelog_ + ": timed out" +
                               (blocked.empty() ? "" : " behind a transaction that stays open"));
        }
        auto m = restorer_->Poll(500);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          int64_t low = 0, high = 0;
          if (rd_kafka_get_watermark_offsets(restorer_->handle(), changelog_.c_str(), m->partition,
                                             &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
              high > m->offset) {
            // An open transaction at m->offset: another end-of-partition follows once it is
            // committed or aborted.
            if (blocked.insert(m->partition).second) {
              std::fprintf(stderr,
                           "spate aggregate: %s [%d]: waiting for the transaction open at "
                           "offset %lld (up to the high watermark %lld) to end\n",
                           changelog_.c_str(), m->partition, static_cast<long long>(m->offset),
                           static_cast<long long>(high));
            }
            continue;
          }
          pending.erase(m->partition);
          continue;
        }
        if (m->err && kafka::Classify(m->err) == kafka::ErrorClass::kRetriable) continue;
        if (m->err) return Status::Error("reading " + changelog_ + ": " + kafka::ErrorText(m->err));
        auto& kv = state[m->partition];
        std::string key(static_cast<const char*>(m->key), m->key_len);
        if (m->payload) {
          kv[key].assign(static_cast<const char*>(m->payload), m->len);
        } else {
          kv.erase(key);
        }
      }
      if (Status s = restorer_->Assign(changelog_, {}, 0); !s.ok()) return s;
    }
    const std::string fp = Fingerprint(c_, inputs_);
    for (int32_t p : parts) {
      auto& kv = state[p];
      if (!kv.empty() && kv["m"] != fp) {
        return Status::Error("the state in " + changelog_ + " was written with other settings (" +
                             kv["m"] + "); use another --group, or the same settings");
      }
      restored_ += kv.size();
      if (p < inputs_) {
        RestoreSource(p, kv);
      } else {
        RestoreWindows(p - inputs_, kv);
      }
    }
    return Status::Ok();
  }

  void RestoreSource(int32_t p, const std::map<std::string, std::string>& kv) {
    held_inputs_.insert(p);
    SourceTask& t = sources_.insert_or_assign(p, SourceTask(c_.engine)).first->second;
    for (const auto& [key, value] : kv) {
      if (key == "p") t.max_time = GetI64(value, 0);
      if (key[0] == 'u')
        t.rules.ImportUser(static_cast<uint32_t>(std::stoul(key.substr(1))), value);
    }
    (void)t.rules.TakeDirtyUsers();
    t.fingerprinted = !kv.empty();
  }

  void RestoreWindows(int32_t r, const std::map<std::string, std::string>& kv) {
    held_windows_.insert(r);
    WindowTask& w = windows_.insert_or_assign(r, WindowTask(c_.engine, inputs_)).first->second;
    for (const auto& [key, value] : kv) {
      switch (key[0]) {
        case 's': {
          size_t s = std::stoul(key.substr(1));
          if (s < w.source_max.size()) {
            w.source_max[s] = GetI64(value, 0);
            w.source_end[s] = GetI64(value, 1) != 0;
          }
          break;
        }
        case 'w': {
          size_t colon = key.find(':');
          WindowAgg a{GetI64(value, 0), GetI64(value, 1), GetI64(value, 2),
                      GetI64(value, 3), GetI64(value, 4), GetI64(value, 5)};
          w.windows.Restore(std::stoll(key.substr(1, colon - 1)),
                            static_cast<uint32_t>(std::stoul(key.substr(colon + 1))), a);
          break;
        }
        case 't':
          w.totals.Restore(static_cast<uint32_t>(std::stoul(key.substr(1))), GetI64(value, 0),
                           GetI64(value, 1));
          break;
        default:
          break;
      }
    }
    w.windows.DrainChanges([](int64_t, uint32_t, const WindowAgg&) {});
    w.totals.DrainChanges([](uint32_t, const TotalsStore::Total&) {});
    w.watermark = w.Watermark(c_.engine.lateness_ms);
    w.fingerprinted = !kv.empty();
  }

  Status Dispatch(const rd_kafka_message_t& m) {
    if (!m.rkt) {  // a consumer-level event, not about one partition
      if (m.err && kafka::Classify(m.err) == kafka::ErrorClass::kFatal) {
        return Status::Error("consumer: " + kafka::ErrorText(m.err));
      }
      return Status::Ok();
    }
    const bool input = c_.input == rd_kafka_topic_name(m.rkt);
    auto src = input ? sources_.find(m.partition) : sources_.end();
    auto win = input ? windows_.end() : windows_.find(m.partition);
    // A message of a partition just handed over (librdkafka drops those; be safe).
    if (input ? src == sources_.end() : win == windows_.end()) return Status::Ok();
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      (input ? src->second.at_end : win->second.at_eof) = true;
      return Status::Ok();
    }
    if (m.err) {
      if (kafka::Classify(m.err) == kafka::ErrorClass::kFatal) {
        return Status::Error("consumer: " + kafka::ErrorText(m.err));
      }
      return Status::Ok();  // retriable: librdkafka recovers
    }
    return input ? ProcessInput(src->second, m) : ProcessRepartitioned(win->second, m);
  }

  Status Send(const std::string& topic, std::string_view key, std::string line) {
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return producer_->Send(topic, -1, key, line);
  }

  // An aggregate or an anomaly as a JSON line, or in Avro with the schema id registered for
  // its topic (--output-format avro). Avro bytes may end in '\n': sent as they are.
  Status SendAggregate(int64_t start, uint32_t key, const WindowAgg& a, bool update) {
    const GroupBy g = c_.engine.group_by;
    const int64_t end = start + c_.engine.window.size_ms;
    line_.clear();
    if (c_.aggregate_schema_id == 0) {
      AppendAggregateLine(g, start, end, key, a, update, &line_);
      return Send(c_.aggregates_topic, GroupKeyString(g, key), line_);
    }
    AppendAggregateAvro(g, start, end, key, a, update, c_.aggregate_schema_id, &line_);
    return producer_->Send(c_.aggregates_topic, -1, GroupKeyString(g, key), line_);
  }
  Status SendAnomaly(const Anomaly& a) {
    line_.clear();
    const std::string key = IdString(kUserPrefix, a.tx.user);
    if (c_.anomaly_schema_id == 0) {
      AppendAnomalyLine(a, c_.engine.rules, &line_);
      return Send(c_.anomalies_topic, key, line_);
    }
    AppendAnomalyAvro(a, c_.engine.rules, c_.anomaly_schema_id, &line_);
    return producer_->Send(c_.anomalies_topic, -1, key, line_);
  }

  // Stage A for one input record.
  Status ProcessInput(SourceTask& t, const rd_kafka_message_t& m) {
    t.at_end = false;
    ++stats_.records;
    rd_kafka_timestamp_type_t ts_type;
    const int64_t ts = rd_kafka_message_timestamp(&m, &ts_type);
    if (ts_type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) oldest_ms_ = std::min(oldest_ms_, ts);
    ++stats_.decoded;
    stats_.bytes += m.len;
    std::string_view payload(static_cast<const char*>(m.payload), m.payload ? m.len : 0);
    std::string_view key(static_cast<const char*>(m.key), m.key ? m.key_len : 0);
    Transaction tx;
    DecodeError err = decoder_->Decode(payload, payload.size(), &tx, &reason_);
    SourcePosition pos{static_cast<uint64_t>(m.offset), static_cast<uint32_t>(m.partition),
                       static_cast<uint64_t>(m.offset)};
    if (err == DecodeError::kSchemaUnavailable) {
      // No verdict on the record: dead-lettering it would be wrong, skipping it would lose it.
      // The batch is done again (Rewind) once the registry answers.
      rewind_ = true;
      return Status::Error(fmt::format("{} [{}] offset {}: schema registry unavailable: {}",
                                       c_.input, m.partition, m.offset, reason_));
    }
    if (err != DecodeError::kNone) {
      ++stats_.dead_letters;
      ++stats_.dead_letters_by_error[static_cast<size_t>(err)];
      line_.clear();
      AppendDeadLetterLine(pos, err, reason_, key, payload, &line_);
      return Send(c_.dlq_topic, key, line_);
    }
    ++stats_.valid;
    t.max_time = std::max(t.max_time, tx.time_ms);
    anomalies_.clear();
    t.rules.Check(tx, pos.sequence, &anomalies_);
    for (const Anomaly& a : anomalies_) {
      ++stats_.anomalies;
      ++stats_.anomalies_by_rule[static_cast<size_t>(a.rule)];
      if (Status s = SendAnomaly(a); !s.ok()) return s;
    }
    const std::string gkey = GroupKeyString(c_.engine.group_by, GroupKeyOf(tx, c_.engine.group_by));
    line_.clear();
    EncodeRepartitionRecord(static_cast<uint32_t>(m.partition), m.offset, tx, &line_);
    return ToFrame(
        static_cast<int32_t>(PartitionForKey(gkey, static_cast<uint32_t>(windows_partitions_))),
        line_);
  }

  // Adds an entry to partition r's frame; a full frame is sent.
  Status ToFrame(int32_t r, std::string_view entry) {
    std::string& frame = frames_[static_cast<size_t>(r)];
    AppendToFrame(entry, &frame);
    return frame.size() >= kFrameBytes ? SendFrame(r) : Status::Ok();
  }
  Status SendFrame(int32_t r) {
    std::string& frame = frames_[static_cast<size_t>(r)];
    if (frame.empty()) return Status::Ok();
    Status s = producer_->Send(repartition_, r, "", frame);
    frame.clear();
    return s;
  }

  // Stage B for one message (a frame) of the repartition topic.
  Status ProcessRepartitioned(WindowTask& w, const rd_kafka_message_t& m) {
    w.at_eof = false;
    std::string_view data(static_cast<const char*>(m.payload), m.payload ? m.len : 0);
    Status st;
    const bool well_formed = ForEachInFrame(data, [&](std::string_view entry) {
      RepartitionMessage r;
      if (!DecodeRepartition(entry, binary_.get(), &r) ||
          r.source_partition >= w.source_max.size()) {
        return false;
      }
      st = ProcessEntry(w, r);
      return st.ok();
    });
    if (!st.ok()) return st;
    if (!well_formed) {
      return Status::Error(fmt::format("{} [{}] at offset {}: not a spate repartition frame",
                                       repartition_, m.partition, m.offset));
    }
    return Status::Ok();
  }

  // One record for the windows, or a marker.
  Status ProcessEntry(WindowTask& w, const RepartitionMessage& r) {
    if (r.kind == RepartitionMessage::Kind::kMarker) {
      w.source_max[r.source_partition] = std::max(w.source_max[r.source_partition], r.value);
      w.source_end[r.source_partition] = r.at_end;
      w.dirty_sources.insert(r.source_partition);
      return Status::Ok();
    }
    const Transaction& tx = r.tx;
    const uint32_t gkey = GroupKeyOf(tx, c_.engine.group_by);
    missed_.clear();
    auto res = w.windows.Add(tx.time_ms, gkey, tx.amount_cents, tx.type == TxType::kRefund,
                             w.watermark, &missed_);
    w.totals.Add(gkey, tx.amount_cents);
    if (res.missed == 0) {
      ++stats_.aggregated;
      return Status::Ok();
    }
    const bool partial = res.missed < res.windows;
    partial ? (++stats_.aggregated, ++stats_.partially_late) : ++stats_.late;
    std::sort(missed_.begin(), missed_.end());
    SourcePosition pos{static_cast<uint64_t>(r.value), r.source_partition,
                       static_cast<uint64_t>(r.value)};
    line_.clear();
    AppendLateLine(pos, w.watermark, missed_, partial, tx, &line_);
    return Send(c_.late_topic, IdString(kUserPrefix, tx.user), line_);
  }

  Status Checkpoint(int32_t partition, const std::string& key, std::string_view value) {
    return producer_->Send(changelog_, partition, key, value);
  }

  // Stage A at the end of a batch: markers for the window tasks, and the rule state.
  Status CommitSource(int32_t p, SourceTask& t) {
    const bool news = t.max_time != kNoWatermark || t.at_end;
    if (news && (!t.marked || t.max_time != t.marked_time || t.at_end != t.marked_end)) {
      std::string marker;
      EncodeRepartitionMarker(static_cast<uint32_t>(p), t.max_time, t.at_end, &marker);
      for (int r = 0; r < windows_partitions_; ++r) {
        if (Status s = ToFrame(r, marker); !s.ok()) return s;
      }
      if (t.max_time != t.marked_time) {
        std::string v;
        PutI64(&v, t.max_time);
        if (Status s = Checkpoint(p, "p", v); !s.ok()) return s;
      }
      t.marked = true;
      t.marked_time = t.max_time;
      t.marked_end = t.at_end;
    }
    for (uint32_t user : t.rules.TakeDirtyUsers()) {
      std::string v;
      t.rules.ExportUser(user, &v);
      if (Status s = Checkpoint(p, "u" + std::to_string(user), v); !s.ok()) return s;
    }
    return Fingerprinted(p, &t.fingerprinted);
  }

  // Stage B at the end of a batch: moves the watermark, emits what closed (everything, once
  // the input is exhausted under -e) and checkpoints the changes.
  Status CommitWindows(int32_t r, WindowTask& w) {
    const int32_t cp = inputs_ + r;
    const GroupBy g = c_.engine.group_by;
    const bool final_mode = c_.engine.emit == EmitMode::kFinal;
    for (uint32_t s : w.dirty_sources) {
      std::string v;
      PutI64(&v, w.source_max[s]);
      PutI64(&v, w.source_end[s]);
      if (Status st = Checkpoint(cp, "s" + std::to_string(s), v); !st.ok()) return st;
    }
    w.dirty_sources.clear();
    w.watermark = w.Watermark(c_.engine.lateness_ms);
    Status st;
    auto close = [&](int64_t start, uint32_t key, const WindowAgg& a) {
      if (!st.ok()) return;
      if (final_mode) {
        ++stats_.windows_emitted;
        st = SendAggregate(start, key, a, false);
      }
      if (st.ok()) st = producer_->SendTombstone(changelog_, cp, fmt::format("w{}:{}", start, key));
    };
    const bool final = c_.exit_at_end && !w.final_emitted && w.at_eof && w.AllSourcesEnded();
    if (final) {
      w.windows.CloseAll(close);
      w.final_emitted = true;
    } else {
      w.windows.CloseUpTo(w.watermark, close);
    }
    if (!st.ok()) return st;
    w.windows.DrainChanges([&](int64_t start, uint32_t key, const WindowAgg& a) {
      if (!st.ok()) return;
      if (!final_mode) {
        ++stats_.windows_emitted;
        st = SendAggregate(start, key, a, true);
      }
      std::string v;
      for (int64_t x : {a.count, a.sum_cents, a.min_cents, a.max_cents, a.purchases, a.refunds}) {
        PutI64(&v, x);
      }
      if (st.ok()) st = Checkpoint(cp, fmt::format("w{}:{}", start, key), v);
    });
    if (!st.ok()) return st;
    // Totals in update mode, as the reference job: every key the batch changed.
    w.totals.DrainChanges([&](uint32_t key, const TotalsStore::Total& t) {
      if (!st.ok()) return;
      ++stats_.totals_emitted;
      line_.clear();
      AppendTotalLine(g, key, t.count, t.sum_cents, &line_);
      st = Send(c_.totals_topic, GroupKeyString(g, key), line_);
      std::string v;
      PutI64(&v, t.count);
      PutI64(&v, t.sum_cents);
      if (st.ok()) st = Checkpoint(cp, "t" + std::to_string(key), v);
    });
    if (!st.ok()) return st;
    return Fingerprinted(cp, &w.fingerprinted);
  }

  Status Fingerprinted(int32_t changelog_partition, bool* done) {
    if (*done) return Status::Ok();
    *done = true;
    return Checkpoint(changelog_partition, "m", Fingerprint(c_, inputs_));
  }

  // Ends the micro-batch: both stages' end-of-batch work, then the outputs, the state changes
  // and the input positions commit as one transaction.
  Status CommitBatch() {
    for (auto& [p, t] : sources_) {
      if (Status s = CommitSource(p, t); !s.ok()) return s;
    }
    for (int r = 0; r < windows_partitions_; ++r) {
      if (Status s = SendFrame(r); !s.ok()) return s;
    }
    for (auto& [r, w] : windows_) {
      if (Status s = CommitWindows(r, w); !s.ok()) return s;
    }
    std::string error;
    const int64_t oldest = std::exchange(oldest_ms_, INT64_MAX);
    kafka::TxnOutcome o = producer_->SendOffsets(consumer_->handle(), kTimeoutMs, &error);
    if (o == kafka::TxnOutcome::kCommitted) o = producer_->Commit(kTimeoutMs, &error);
    switch (o) {
      case kafka::TxnOutcome::kCommitted:
        ++transactions_;
        if (metrics_) {
          if (oldest != INT64_MAX) {
            // The batch's oldest input record, from its Kafka timestamp to its results
            // becoming visible: what a downstream reader waits at worst.
            const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
            metrics_->ObserveLatency(
                std::chrono::milliseconds(std::max<int64_t>(0, now_ms - oldest)));
          }
          metrics_->Publish(stats_);
          metrics_->SetWatermark(ProcessWatermark(), OpenWindows());
        }
        return Status::Ok();
      case kafka::TxnOutcome::kAborted:
        // The batch's effects are gone, but the tasks already hold them: Rewind().
        rewind_ = true;
        return Status::Error("transaction aborted (" + error + ")");
      case kafka::TxnOutcome::kFatal:
        // E.g. a message timed out while a broker died (the epoch must be bumped): a new
        // producer with the same transactional.id recovers; Run() bounds the retries.
        rewind_ = true;
        new_producer_ = true;
        return Status::Error("transaction failed: " + error);
    }
    return Status::Error("unreachable");
  }

  // -e: every task this member holds has finished (called after a commit). A member that
  // holds none waits out a session timeout without rebalances first: a cooperative rebalance
  // gives a newcomer its partitions only in a second round, and a static member that leaves
  // keeps whatever it was given from everyone else until its session expires.
  bool Finished() const {
    if (sources_.empty() && windows_.empty()) {
      return last_rebalance_ != Clock::time_point() &&
             Clock::now() - last_rebalance_ > std::chrono::milliseconds(session_timeout_ms_);
    }
    for (const auto& [p, t] : sources_) {
      if (!t.at_end || !t.marked || !t.marked_end) return false;
    }
    for (const auto& [r, w] : windows_) {
      if (!w.final_emitted) return false;
    }
    return true;
  }

  int64_t ProcessWatermark() const {
    if (windows_.empty()) return kNoWatermark;
    int64_t wm = INT64_MAX;
    for (const auto& [r, w] : windows_) wm = std::min(wm, w.watermark);
    return wm;
  }
  size_t OpenWindows() const {
    size_t n = 0;
    for (const auto& [r, w] : windows_) n += w.windows.open_windows();
    return n;
  }

  const AggregateConfig& c_;
  PipelineMetrics* metrics_;
  std::unique_ptr<kafka::StatsExporter> exporter_;
  const std::string changelog_, repartition_;
  std::unique_ptr<kafka::TxnProducer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_, restorer_;
  int inputs_ = 0, windows_partitions_ = 0;  // partition counts
  std::unique_ptr<Decoder> decoder_, binary_;
  std::map<int32_t, SourceTask> sources_;
  std::vector<std::string> frames_;  // per repartition partition, not yet sent
  std::map<int32_t, WindowTask> windows_;
  std::set<int32_t> held_inputs_, held_windows_;
  Status rebalance_status_;
  bool rewind_ = false;        // the open batch cannot commit: Rewind() before the next
  bool new_producer_ = false;  // ... with a new producer
  std::string failure_;        // why
  uint64_t rewinds_ = 0;
  int64_t oldest_ms_ = INT64_MAX;  // Kafka timestamp of the batch's oldest input record
  int session_timeout_ms_ = 30'000;
  Clock::time_point last_rebalance_;
  const Clock::time_point t0_ = Clock::now();
  PipelineStats stats_;
  uint64_t transactions_ = 0, restored_ = 0;
  std::string reason_, line_;
  std::vector<Anomaly> anomalies_;
  std::vector<int64_t> missed_;
};

}  // namespace

Result<AggregateSummary> RunAggregate(const AggregateConfig& config, PipelineMetrics* metrics,
                                      prometheus::Registry* registry,
                                      const std::function<bool()>& stop,
                                      const ProgressFn& progress) {
  Aggregator a(config, metrics, registry);
  if (Status s = a.Run(stop, progress); !s.ok()) return s;
  return a.Summary();
}

}  // namespace spate
