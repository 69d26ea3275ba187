#include "pipeline/kafka_aggregator.h"

#include <absl/strings/escaping.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "kafka/admin.h"
#include "kafka/consumer.h"
#include "kafka/errors.h"
#include "kafka/stats_exporter.h"
#include "kafka/txn_producer.h"
#include "stream/anomaly_rules.h"
#include "stream/output_format.h"
#include "stream/totals.h"
#include "stream/watermark.h"
#include "stream/window_store.h"

namespace spate {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kTimeoutMs = 30'000;

// Changelog keys: 'm' config fingerprint, 'p<partition>' max event time, 'u<user>' rule state,
// 'w<start>:<key>' open window aggregate, 't<key>' total. Values are little-endian int64s.
void PutI64(std::string* out, int64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
}
int64_t GetI64(std::string_view s, size_t i) {
  uint64_t v = 0;
  for (int b = 0; b < 8; ++b) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(s[i * 8 + static_cast<size_t>(b)])) << (8 * b);
  }
  return static_cast<int64_t>(v);
}

std::string Fingerprint(const AggregateConfig& c) {
  const auto& e = c.engine;
  return fmt::format("v1 window={} hop={} lateness={} group={} rules={},{},{},{},{} format={}",
                     e.window.size_ms, e.window.hop_ms, e.lateness_ms, GroupByField(e.group_by),
                     e.rules.high_amount_cents, e.rules.intl_amount_cents, e.rules.velocity_span_ms,
                     e.rules.velocity_count, e.rules.velocity_amount_cents, WireFormatName(c.format));
}

class Aggregator {
 public:
  Aggregator(const AggregateConfig& c, PipelineMetrics* metrics, prometheus::Registry* registry)
      : c_(c),
        metrics_(metrics),
        changelog_(c.group + "-changelog"),
        decoder_(NewDecoder(c.format)),
        rules_(c.engine.rules, c.engine.lateness_ms),
        windows_(c.engine.window, true),
        watermarks_(1, c.engine.lateness_ms) {
    rules_.TrackDirtyUsers();
    if (registry) exporter_ = std::make_unique<kafka::StatsExporter>(*registry, "aggregate");
  }

  Result<AggregateSummary> Run(const std::function<bool()>& stop, const ProgressFn& progress) {
    const auto t0 = Clock::now();
    if (Status s = Connect(); !s.ok()) return s;
    if (Status s = Restore(); !s.ok()) return s;  // before any input is read
    if (Status s = consumer_->Subscribe({c_.input}); !s.ok()) return s;
    const auto assign_deadline = t0 + std::chrono::seconds(90);
    auto last_progress = t0;
    bool done = false;
    while (!done) {
      if (Status s = producer_->Begin(); !s.ok()) return s;
      const auto batch_end = Clock::now() + std::chrono::milliseconds(c_.commit_interval_ms);
      while (Clock::now() < batch_end) {
        if (stop && stop()) {
          done = true;
          break;
        }
        // One member per group (see the header): it must hold every partition, and keep them.
        const size_t assigned = consumer_->assigned_partitions();
        if (assigned == static_cast<size_t>(partitions_)) {
          had_all_ = true;
        } else if (had_all_) {
          // Partitions were taken away: a coordinator failover that outlived the session, or
          // another member. This batch cannot commit; start over from the last commit, which
          // also tells the two apart (another member keeps the partitions: error below).
          lost_partitions_ = true;
          return Status::Error("lost partitions of " + c_.input);
        } else if (Clock::now() > assign_deadline) {
          return Status::Error("group " + c_.group + " did not assign all " +
                               std::to_string(partitions_) + " partitions of " + c_.input +
                               " to this member within 90 s: spate aggregate does not share "
                               "partitions yet; run one member per group");
        }
        auto m = consumer_->Poll(20);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          at_end_.insert(m->partition);
          if (c_.exit_at_end && at_end_.size() >= static_cast<size_t>(partitions_)) {
            done = true;
            break;
          }
          continue;
        }
        if (m->err) {
          if (kafka::Classify(m->err) == kafka::ErrorClass::kFatal) {
            return Status::Error("consumer: " + kafka::ErrorText(m->err));
          }
          continue;  // retriable: librdkafka recovers
        }
        at_end_.erase(m->partition);
        if (Status s = Process(*m); !s.ok()) return s;
      }
      if (done && c_.exit_at_end && at_end_.size() >= static_cast<size_t>(partitions_)) {
        final_ = true;  // the input is exhausted: emit every open window
      }
      if (Status s = CommitBatch(); !s.ok()) return s;
      auto now = Clock::now();
      if (progress && now - last_progress >= std::chrono::seconds(1)) {
        last_progress = now;
        progress({stats_, windows_.open_windows(), watermark_,
                  std::chrono::duration<double>(now - t0).count()});
      }
    }
    AggregateSummary s;
    s.stats = stats_;
    s.elapsed_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    s.transactions = transactions_;
    s.restored_entries = restored_;
    return s;
  }

 private:
  Status Connect() {
    kafka::ClientConfig pc = c_.client;
    pc.Set("transactional.id", "spate-aggregate-" + c_.group + "-" + c_.instance);
    pc.Set("partitioner", "murmur2_random");
    if (pc.Get("transaction.timeout.ms").empty()) pc.Set("transaction.timeout.ms", "30000");
    auto p = kafka::TxnProducer::Create(pc, kTimeoutMs);
    if (!p.ok()) return p.status();
    producer_ = std::move(p).value();
    auto n = kafka::PartitionCount(producer_->handle(), c_.input, 10'000);
    if (!n.ok()) return n.status();
    partitions_ = n.value();
    watermarks_ = PartitionWatermarks(static_cast<size_t>(partitions_), c_.engine.lateness_ms);
    batch_max_.assign(static_cast<size_t>(partitions_), kNoWatermark);
    for (const std::string& t : {c_.aggregates_topic, c_.totals_topic, c_.anomalies_topic,
                                 c_.late_topic, c_.dlq_topic}) {
      if (auto k = kafka::PartitionCount(producer_->handle(), t, 10'000); !k.ok()) return k.status();
    }
    kafka::TopicSpec spec{changelog_, 1, -1,
                          {{"cleanup.policy", "compact"}, {"min.insync.replicas", "2"}}};
    if (Status s = kafka::EnsureTopic(producer_->handle(), spec, 10'000); !s.ok()) return s;

    kafka::ClientConfig cc = c_.client;
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
    auto consumer = kafka::Consumer::Create(cc, exporter_.get());
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(consumer).value();
    return Status::Ok();
  }

  // Reads the changelog to its end (read_committed) and rebuilds the engine's state.
  Status Restore() {
    kafka::ClientConfig rc = c_.client;
    rc.Set("isolation.level", "read_committed");
    rc.Set("enable.partition.eof", "true");
    rc.Set("enable.auto.commit", "false");
    rc.Set("auto.offset.reset", "earliest");  // any reset must re-read the whole changelog
    auto consumer = kafka::Consumer::Create(rc);
    if (!consumer.ok()) return consumer.status();
    if (Status s = consumer.value()->AssignAll(changelog_, RD_KAFKA_OFFSET_BEGINNING); !s.ok()) return s;
    std::map<std::string, std::string> state;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto m = consumer.value()->Poll(1000);
      if (Clock::now() > deadline) return Status::Error("reading " + changelog_ + ": timed out");
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
      // A changelog created a moment ago may not be known to every broker yet: keep polling.
      if (m->err && kafka::Classify(m->err) == kafka::ErrorClass::kRetriable) continue;
      if (m->err) return Status::Error("reading " + changelog_ + ": " + kafka::ErrorText(m->err));
      std::string key(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) {
        state[key].assign(static_cast<const char*>(m->payload), m->len);
      } else {
        state.erase(key);
      }
    }
    const std::string fp = Fingerprint(c_);
    if (!state.empty() && state["m"] != fp) {
      return Status::Error("the state in " + changelog_ + " was written with other settings (" +
                           state["m"] + "); use another --group, or the same settings");
    }
    for (const auto& [key, value] : state) {
      ++restored_;
      switch (key[0]) {
        case 'p':
          watermarks_.Observe(std::stoul(key.substr(1)), GetI64(value, 0));
          break;
        case 'u':
          rules_.ImportUser(static_cast<uint32_t>(std::stoul(key.substr(1))), value);
          break;
        case 'w': {
          size_t colon = key.find(':');
          WindowAgg a{GetI64(value, 0), GetI64(value, 1), GetI64(value, 2),
                      GetI64(value, 3), GetI64(value, 4), GetI64(value, 5)};
          windows_.Restore(std::stoll(key.substr(1, colon - 1)),
                           static_cast<uint32_t>(std::stoul(key.substr(colon + 1))), a);
          break;
        }
        case 't':
          totals_.Restore(static_cast<uint32_t>(std::stoul(key.substr(1))), GetI64(value, 0),
                          GetI64(value, 1));
          break;
        default:
          break;
      }
    }
    (void)rules_.TakeDirtyUsers();
    windows_.DrainChanges([](int64_t, uint32_t, const WindowAgg&) {});
    totals_.DrainChanges([](uint32_t, const TotalsStore::Total&) {});
    watermark_ = Watermark();
    fingerprint_written_ = !state.empty();
    return Status::Ok();
  }

  // The minimum over the input partitions of (largest event time - lateness). Unlike the
  // embedded run, a partition without data holds the watermark back (its records may simply
  // not have been fetched yet) unless it is known to be empty (read to its end).
  int64_t Watermark() const {
    int64_t wm = INT64_MAX;
    bool any = false;
    for (int p = 0; p < partitions_; ++p) {
      int64_t t = watermarks_.MaxTimeOf(static_cast<size_t>(p));
      if (t == kNoWatermark) {
        if (!at_end_.count(p)) return kNoWatermark;
        continue;
      }
      any = true;
      wm = std::min(wm, t - c_.engine.lateness_ms);
    }
    return any ? wm : kNoWatermark;
  }

  Status Send(const std::string& topic, std::string_view key, std::string line) {
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return producer_->Send(topic, -1, key, line);
  }

  Status Process(const rd_kafka_message_t& m) {
    ++stats_.records;
    ++stats_.decoded;
    stats_.bytes += m.len;
    std::string_view payload(static_cast<const char*>(m.payload), m.payload ? m.len : 0);
    std::string_view key(static_cast<const char*>(m.key), m.key ? m.key_len : 0);
    Transaction tx;
    DecodeError err = decoder_->Decode(payload, payload.size(), &tx, &reason_);
    SourcePosition pos{static_cast<uint64_t>(m.offset), static_cast<uint32_t>(m.partition),
                       static_cast<uint64_t>(m.offset)};
    if (err != DecodeError::kNone) {
      ++stats_.dead_letters;
      ++stats_.dead_letters_by_error[static_cast<size_t>(err)];
      line_.clear();
      AppendDeadLetterLine(pos, err, reason_, key, payload, &line_);
      return Send(c_.dlq_topic, key, line_);
    }
    ++stats_.valid;
    auto& bm = batch_max_[static_cast<size_t>(m.partition)];
    if (tx.time_ms > bm) bm = tx.time_ms;
    anomalies_.clear();
    rules_.Check(tx, pos.sequence, &anomalies_);
    for (const Anomaly& a : anomalies_) {
      ++stats_.anomalies;
      ++stats_.anomalies_by_rule[static_cast<size_t>(a.rule)];
      line_.clear();
      AppendAnomalyLine(a, c_.engine.rules, &line_);
      if (Status s = Send(c_.anomalies_topic, IdString(kUserPrefix, tx.user), line_); !s.ok()) return s;
    }
    const uint32_t gkey = GroupKeyOf(tx, c_.engine.group_by);
    missed_.clear();
    auto res = windows_.Add(tx.time_ms, gkey, tx.amount_cents, tx.type == TxType::kRefund,
                            watermark_, &missed_);
    totals_.Add(gkey, tx.amount_cents);
    if (res.missed == 0) {
      ++stats_.aggregated;
      return Status::Ok();
    }
    const bool partial = res.missed < res.windows;
    partial ? (++stats_.aggregated, ++stats_.partially_late) : ++stats_.late;
    std::sort(missed_.begin(), missed_.end());
    line_.clear();
    AppendLateLine(pos, watermark_, missed_, partial, tx, &line_);
    return Send(c_.late_topic, IdString(kUserPrefix, tx.user), line_);
  }

  // Ends the micro-batch: moves the watermark, emits what closed, writes the state changes and
  // the input positions, and commits it all as one transaction.
  Status CommitBatch() {
    const GroupBy g = c_.engine.group_by;
    const bool final_mode = c_.engine.emit == EmitMode::kFinal;
    for (size_t p = 0; p < batch_max_.size(); ++p) {
      if (batch_max_[p] == kNoWatermark) continue;
      watermarks_.Observe(p, batch_max_[p]);
      std::string v;
      PutI64(&v, watermarks_.MaxTimeOf(p));
      if (Status s = producer_->Send(changelog_, 0, "p" + std::to_string(p), v); !s.ok()) return s;
      batch_max_[p] = kNoWatermark;
    }
    watermark_ = Watermark();
    Status st;
    auto close = [&](int64_t start, uint32_t key, const WindowAgg& a) {
      if (!st.ok()) return;
      if (final_mode) {
        ++stats_.windows_emitted;
        line_.clear();
        AppendAggregateLine(g, start, start + c_.engine.window.size_ms, key, a, false, &line_);
        st = Send(c_.aggregates_topic, GroupKeyString(g, key), line_);
      }
      if (st.ok()) {
        st = producer_->SendTombstone(changelog_, 0, fmt::format("w{}:{}", start, key));
      }
    };
    if (final_) {
      windows_.CloseAll(close);
    } else {
      windows_.CloseUpTo(watermark_, close);
    }
    if (!st.ok()) return st;
    windows_.DrainChanges([&](int64_t start, uint32_t key, const WindowAgg& a) {
      if (!st.ok()) return;
      if (!final_mode) {
        ++stats_.windows_emitted;
        line_.clear();
        AppendAggregateLine(g, start, start + c_.engine.window.size_ms, key, a, true, &line_);
        st = Send(c_.aggregates_topic, GroupKeyString(g, key), line_);
      }
      std::string v;
      for (int64_t x : {a.count, a.sum_cents, a.min_cents, a.max_cents, a.purchases, a.refunds}) {
        PutI64(&v, x);
      }
      if (st.ok()) st = producer_->Send(changelog_, 0, fmt::format("w{}:{}", start, key), v);
    });
    if (!st.ok()) return st;
    // Totals in update mode, as the reference job: every key the batch changed.
    totals_.DrainChanges([&](uint32_t key, const TotalsStore::Total& t) {
      if (!st.ok()) return;
      ++stats_.totals_emitted;
      line_.clear();
      AppendTotalLine(g, key, t.count, t.sum_cents, &line_);
      st = Send(c_.totals_topic, GroupKeyString(g, key), line_);
      std::string v;
      PutI64(&v, t.count);
      PutI64(&v, t.sum_cents);
      if (st.ok()) st = producer_->Send(changelog_, 0, "t" + std::to_string(key), v);
    });
    if (!st.ok()) return st;
    for (uint32_t user : rules_.TakeDirtyUsers()) {
      std::string v;
      rules_.ExportUser(user, &v);
      if (Status s = producer_->Send(changelog_, 0, "u" + std::to_string(user), v); !s.ok()) return s;
    }
    if (!fingerprint_written_) {
      if (Status s = producer_->Send(changelog_, 0, "m", Fingerprint(c_)); !s.ok()) return s;
      fingerprint_written_ = true;
    }
    std::string error;
    kafka::TxnOutcome o = producer_->SendOffsets(consumer_->handle(), kTimeoutMs, &error);
    if (o == kafka::TxnOutcome::kCommitted) o = producer_->Commit(kTimeoutMs, &error);
    switch (o) {
      case kafka::TxnOutcome::kCommitted:
        ++transactions_;
        if (metrics_) {
          metrics_->Publish(stats_);
          metrics_->SetWatermark(watermark_, windows_.open_windows());
        }
        return Status::Ok();
      case kafka::TxnOutcome::kAborted:
        // The batch's effects are gone, but this process's state already holds them: stop,
        // and let the restart rebuild from the changelog and the committed positions.
        return Status::Error("transaction aborted (" + error + "); restart to resume from the last commit");
      case kafka::TxnOutcome::kFatal:
        return Status::Error("transaction failed: " + error);
    }
    return Status::Error("unreachable");
  }

  const AggregateConfig& c_;
  PipelineMetrics* metrics_;
  std::unique_ptr<kafka::StatsExporter> exporter_;
  const std::string changelog_;
  std::unique_ptr<kafka::TxnProducer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  int partitions_ = 0;
  std::unique_ptr<Decoder> decoder_;
  AnomalyDetector rules_;
  WindowStore windows_;
  TotalsStore totals_;
  PartitionWatermarks watermarks_;
  std::vector<int64_t> batch_max_;
  int64_t watermark_ = kNoWatermark;
  std::set<int32_t> at_end_;  // partitions read to their end (EOF since their last record)
  bool final_ = false;
  bool had_all_ = false;  // the member once held every input partition
 public:
  bool lost_partitions_ = false;
 private:
  bool fingerprint_written_ = false;
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
  for (int attempt = 0;; ++attempt) {
    Aggregator a(config, metrics, registry);
    auto r = a.Run(stop, progress);
    if (r.ok() || !a.lost_partitions_ || attempt == 5) return r;
    // Everything uncommitted is dropped with `a` (its open transaction is aborted by the next
    // instance's init_transactions); the next one restores from the changelog.
    std::fprintf(stderr, "spate aggregate: %s; restarting from the last commit\n",
                 r.status().message().c_str());
  }
}

}  // namespace spate
