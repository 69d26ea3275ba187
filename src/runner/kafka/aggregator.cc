#include "runner/kafka/aggregator.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kafka/errors.h"
#include "kafka/stats_exporter.h"
#include "obs/log.h"
#include "runner/kafka/changelog.h"
#include "runner/kafka/setup.h"
#include "runner/kafka/tasks.h"
#include "stream/metrics.h"

namespace spate {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kTimeoutMs = 30'000;

spdlog::logger& Log() { return Logger("runner/kafka"); }

// One member of the group: its clients, its tasks, and the loop of batches.
class Aggregator {
 public:
  Aggregator(const AggregateConfig& c, const EngineHooks& hooks)
      : c_(c),
        hooks_(hooks),
        decoder_(c.new_decoder ? c.new_decoder() : NewDecoder(c.wire)),
        binary_(NewDecoder(WireFormat::kBinary)) {
    if (hooks.metrics) {
      metrics_.emplace(*hooks.metrics);
      exporter_ = std::make_unique<kafka::StatsExporter>(*hooks.metrics, "aggregate");
    }
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
    s.window_result_latency = window_result_latency_;
    s.record_result_latency = record_result_latency_;
    return s;
  }

  // Runs until the input is exhausted (-e), stop() or an error; Summary() tells what was done.
  Status Run() {
    if (Status s = Connect(); !s.ok()) return Stopping() ? Status::Ok() : s;
    if (Status s = Join(); !s.ok()) return s;
    auto last_progress = t0_;
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
      window_closed_ = false;
      while (Clock::now() < batch_end && !rewind_ && !window_closed_) {
        if (hooks_.stop && hooks_.stop()) {
          done = true;
          break;
        }
        kafka::Message m = consumer_->Poll(20);
        if (!rebalance_status_.ok()) {
          // A stop during a restore ends it: nothing of this batch is committed.
          return Stopping() ? Status::Ok() : rebalance_status_;
        }
        if (m && !m.has_topic() && m.err() &&
            kafka::Classify(m.err()) == kafka::ErrorClass::kFatal) {
          // Seen even while rewinding: a fatal consumer polls on for ever without a record.
          if (Status s = RenewConsumer(kafka::ErrorText(m.err())); !s.ok()) return s;
          continue;
        }
        if (!m || rewind_) continue;  // after a failed batch, m is read again after the rewind
        if (Status s = Dispatch(m); !s.ok()) {
          if (!rewind_) return Stopping() ? Status::Ok() : s;  // a full queue, given up
          failure_ = s.message();
        }
      }
      if (!rewind_) {
        Status s = CommitBatch();
        if (!s.ok() && !rewind_) return Stopping() ? Status::Ok() : s;
        if (!s.ok()) failure_ = s.message();
      }
      if (rewind_) {
        // A stop ends it here: nothing uncommitted is kept, and the rewind is not needed.
        if (Stopping()) return Status::Ok();
        // Ten failed batches in a row: something is persistently wrong.
        if (++failed_batches > 10) return Status::Error(failure_);
        // Done again at once the first time (a rebalance); then waits a little longer each
        // time for what failed (a registry, a broker) to come back: 0 + 1 + ... + 5 s.
        const auto resume = Clock::now() + std::chrono::seconds(std::min(failed_batches - 1, 5));
        while (Clock::now() < resume && !Stopping()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (Stopping()) return Status::Ok();
        if (Status s = Rewind(); !s.ok()) {
          if (Stopping()) return Status::Ok();
          // E.g. no broker answered in time: tried again, bounded above.
          failure_ = s.message();
          rewind_ = true;
          new_producer_ = new_producer_ || !producer_;
        }
        continue;
      }
      failed_batches = 0;
      auto now = Clock::now();
      if (hooks_.progress && now - last_progress >= std::chrono::seconds(1)) {
        last_progress = now;
        hooks_.progress({stats_, OpenWindows(), ProcessWatermark(),
                         std::chrono::duration<double>(now - t0_).count()});
      }
      if (c_.exit_at_end && Finished()) done = true;
    }
    return Status::Ok();
  }

 private:
  bool Stopping() const { return hooks_.stop && hooks_.stop(); }

  // Subscribes the group consumer, with OnRebalance as its rebalance callback.
  Status Join() {
    consumer_->OnRebalance(
        [this](bool assign, bool lost, const std::vector<kafka::TopicPartition>& p) {
          OnRebalance(assign, lost, p);
        });
    return consumer_->Subscribe({c_.input, output_->repartition_topic()});
  }

  // A consumer that raised a fatal error is replaced. Seen after all three brokers were
  // killed for longer than the session timeout: librdkafka 2.0.2 drops its member id, the
  // restarted coordinator still maps --instance to the old one, and the heartbeat is answered
  // FENCED_INSTANCE_ID. A new consumer with the same group.instance.id joins in its place; the
  // open batch is abandoned (rewound), so nothing of it commits.
  Status RenewConsumer(const std::string& why) {
    if (++consumer_renewals_ > 5) return Status::Error("consumer: " + why);
    Log().warn("consumer: {}; a new consumer joins the group in its place", why);
    consumer_->OnRebalance(nullptr);
    consumer_.reset();
    sources_.clear();
    windows_.clear();
    auto consumer = NewGroupConsumer(c_, exporter_.get(), &session_timeout_ms_);
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(consumer).value();
    if (Status s = Join(); !s.ok()) return s;
    failure_ = "consumer renewed";
    rewind_ = true;
    return Status::Ok();
  }

  // The transactional producer; a new one (same transactional.id) replaces a failed one.
  Status NewProducer() {
    producer_.reset();
    auto p = NewTransactionalProducer(c_, hooks_.stop);
    if (!p.ok()) return p.status();
    producer_ = std::move(p).value();
    if (output_) output_->set_producer(producer_.get());
    return Status::Ok();
  }

  Status Connect() {
    if (Status s = NewProducer(); !s.ok()) return s;
    auto n = PrepareTopics(*producer_, c_);
    if (!n.ok()) return n.status();
    inputs_ = n.value();
    fingerprint_ = ChangelogFingerprint(c_, inputs_);
    output_.emplace(c_, /*windows_partitions=*/inputs_);
    output_->set_producer(producer_.get());
    auto consumer = NewGroupConsumer(c_, exporter_.get(), &session_timeout_ms_);
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(consumer).value();
    auto restorer = NewRestorer(c_);
    if (!restorer.ok()) return restorer.status();
    restorer_ = std::move(restorer).value();
    auto prober = NewProber(c_);
    if (!prober.ok()) return prober.status();
    prober_ = std::move(prober).value();
    return Status::Ok();
  }

  // The group gives or takes partitions (called from inside Poll). Given: tasks are created
  // and their state restored before librdkafka starts fetching. Handed over: the open batch,
  // which holds work on them, is committed first. Lost: this batch cannot commit; start over.
  void OnRebalance(bool assign, bool lost, const std::vector<kafka::TopicPartition>& parts) {
    if (!rebalance_status_.ok()) return;
    auto [inputs, windows] = ByTopic(parts);
    last_rebalance_ = Clock::now();
    if (assign) {
      // A restore can outlast transaction.timeout.ms: it waits behind a dead member's open
      // transaction until the coordinator aborts that. So the open batch commits first: an
      // open transaction of ours would time out meanwhile, and the coordinator would abort it
      // and fence this producer (seen in the scale test after a 32 s restore).
      if (!rewind_ && !CommitInRebalance()) return;
      // After a failed batch the tasks are rebuilt by the rewind, these with the others.
      if (!rewind_) rebalance_status_ = Restore(inputs, windows);
      Log().info("assigned {} input and {} window partitions", inputs.size(), windows.size());
      return;
    }
    if (lost) {
      // Maybe another member's already: nothing of this batch may commit.
      failure_ = "partitions lost";
      rewind_ = true;
    } else if (!rewind_ && !CommitInRebalance()) {
      return;
    }
    for (int32_t p : inputs) sources_.erase(p);
    for (int32_t p : windows) windows_.erase(p);
    Log().info("{} {} input and {} window partitions", lost ? "lost" : "handed over", inputs.size(),
               windows.size());
  }

  // Commits the open batch from inside a rebalance and begins the next transaction. False
  // when that failed in a way that ends the run (rebalance_status_); a failure that a rewind
  // repairs sets rewind_ instead, for Run().
  bool CommitInRebalance() {
    Status s = CommitBatch();
    if (!s.ok() && !rewind_) {
      rebalance_status_ = s;
      return false;
    }
    if (!s.ok()) failure_ = s.message();
    if (!rewind_) {
      if (Status b = producer_->Begin(); !b.ok()) {
        failure_ = b.message();  // Run() rewinds with a new producer
        rewind_ = true;
        new_producer_ = true;
      }
    }
    return true;
  }

  // After a batch that could not commit (its transaction aborted, e.g. ILLEGAL_GENERATION in
  // a rebalance; the producer failed; or partitions were lost), goes back to the last commit
  // without leaving the group: the open transaction is aborted (or the producer replaced),
  // every task is rebuilt from its changelog, and every assigned partition is sought back to
  // its committed position. Keeping the consumer matters: a new one under the same static
  // group.instance.id could leave partitions assigned to nobody (librdkafka 2.0.2,
  // cooperative-sticky), as a restart with a new consumer once did in the scale test.
  Status Rewind() {
    Log().info("{}; rewinding to the last commit", failure_);
    std::string error;
    if (new_producer_ || !producer_ ||
        (producer_->in_transaction() &&
         producer_->Abort(kTimeoutMs, &error) == kafka::TxnOutcome::kFatal)) {
      // init_transactions fences the old producer and aborts what it left open.
      new_producer_ = true;
      if (Status s = NewProducer(); !s.ok()) return s;
    }
    new_producer_ = false;
    output_->ClearFrames();
    sources_.clear();
    windows_.clear();
    auto assigned = consumer_->Assignment();
    if (!assigned.ok()) return assigned.status();
    const auto [inputs, windows] = ByTopic(assigned.value());
    Status sought;  // in slices of 1 s, so that a stop is seen while no broker answers
    for (int slice = 0; slice < kTimeoutMs / 1000; ++slice) {
      sought = consumer_->SeekToCommitted(1000);
      if (sought.ok() || Stopping()) break;
    }
    if (!sought.ok()) return sought;
    if (Status s = Restore(inputs, windows); !s.ok()) return s;
    rewind_ = false;
    ++rewinds_;
    return Status::Ok();
  }

  // Creates the tasks of these partitions, rebuilt from their changelog partitions: each
  // entry goes to its task as it is read.
  Status Restore(const std::vector<int32_t>& inputs, const std::vector<int32_t>& windows) {
    const auto t0 = Clock::now();
    std::vector<int32_t> parts;
    for (int32_t p : inputs) {
      parts.push_back(p);
      held_inputs_.insert(p);
      sources_.erase(p);
      sources_.try_emplace(p, p, c_, &stats_);
    }
    for (int32_t r : windows) {
      parts.push_back(inputs_ + r);
      held_windows_.insert(r);
      windows_.erase(r);
      windows_.try_emplace(r, r, c_, inputs_, &stats_);
    }
    struct Read {
      uint64_t entries = 0;
      std::string fingerprint;
    };
    std::map<int32_t, Read> read;
    auto other_settings = [&](std::string_view found) {
      return Status::Error("the state in " + output_->changelog_topic() +
                           " was written with other settings or by another spate (" +
                           std::string(found) + "; now: " + fingerprint_ +
                           "); use another --group, or the same settings");
    };
    RestoreHooks hooks;
    hooks.stop = hooks_.stop;
    uint64_t reported = 0;
    hooks.progress = [&](uint64_t entries, size_t pending) {
      if (metrics_) metrics_->AddRestored(entries - reported, pending);
      reported = entries;
    };
    Status s =
        ReadChangelog(*restorer_, *prober_, output_->changelog_topic(), parts, hooks,
                      [&](const ChangelogEntry& e) {
                        Read& r = read[e.partition];
                        ++r.entries;
                        if (e.key == "m") {
                          r.fingerprint.assign(e.value);
                          return e.value == fingerprint_ ? Status::Ok() : other_settings(e.value);
                        }
                        if (e.partition < inputs_) {
                          sources_.at(e.partition).Apply(e);
                        } else {
                          windows_.at(e.partition - inputs_).Apply(e);
                        }
                        return Status::Ok();
                      });
    if (!s.ok()) return s;
    uint64_t entries = 0;
    for (const auto& [p, r] : read) entries += r.entries;
    if (!parts.empty())
      Log().info("restored {} changelog entries of {} partitions in {:.1f} s", entries,
                 parts.size(), std::chrono::duration<double>(Clock::now() - t0).count());
    for (int32_t p : parts) {
      const Read& r = read[p];
      if (r.entries > 0 && r.fingerprint != fingerprint_) return other_settings(r.fingerprint);
      restored_ += r.entries;
      if (p < inputs_) {
        sources_.at(p).Restored(r.entries > 0);
      } else {
        windows_.at(p - inputs_).Restored(r.entries > 0);
      }
    }
    return Status::Ok();
  }

  Status Dispatch(const kafka::Message& m) {
    if (!m.has_topic()) {  // a consumer-level event, not about one partition
      if (m.err() && kafka::Classify(m.err()) == kafka::ErrorClass::kFatal) {
        return Status::Error("consumer: " + kafka::ErrorText(m.err()));
      }
      return Status::Ok();
    }
    const bool input = c_.input == m.topic();
    auto src = input ? sources_.find(m.partition()) : sources_.end();
    auto win = input ? windows_.end() : windows_.find(m.partition());
    // A message of a partition just handed over (librdkafka drops those; be safe).
    if (input ? src == sources_.end() : win == windows_.end()) return Status::Ok();
    if (m.partition_eof()) {
      input ? src->second.ReadToEnd() : win->second.ReadToEnd();
      return Status::Ok();
    }
    if (m.err()) {
      if (kafka::Classify(m.err()) == kafka::ErrorClass::kFatal) {
        return Status::Error("consumer: " + kafka::ErrorText(m.err()));
      }
      return Status::Ok();  // retriable: librdkafka recovers
    }
    if (!input) {
      Status s = win->second.ProcessFrame(m, *binary_, *output_);
      // A window's result is ready: the batch ends now rather than at the commit interval,
      // so that its result is committed within the commit's own time (one more transaction
      // per window end and window partition at most).
      window_closed_ = window_closed_ || win->second.closes_a_window();
      return s;
    }
    ++stats_.records;
    stats_.bytes += m.payload().size();
    if (auto ts = m.timestamp_ms()) oldest_ms_ = std::min(oldest_ms_, *ts);
    Verdict verdict;
    Status s = src->second.Process(m, *decoder_, *output_, &verdict);
    // No verdict on the record: dead-lettering it would be wrong, skipping it would lose it.
    // The batch is done again (Rewind) once the registry answers.
    if (verdict == Verdict::kUnavailable) rewind_ = true;
    return s;
  }

  // Ends the micro-batch: both stages' end-of-batch work, then the outputs, the state changes
  // and the input positions commit as one transaction.
  Status CommitBatch() {
    // A task whose partition librdkafka no longer assigns (it unassigns everything, without a
    // rebalance callback, on a fatal consumer error) must not commit: its state would go out
    // without its input position, and so without the group's fencing of that commit.
    if (Status s = TasksAssigned(); !s.ok()) {
      rewind_ = true;
      return s;
    }
    for (auto& [p, t] : sources_) {
      // The EOF event is the usual sign; this covers an end it did not report again.
      if (!t.at_end() && consumer_->AtCachedEnd(c_.input, p)) t.ReadToEnd();
      if (Status s = t.Commit(*output_, fingerprint_); !s.ok()) return s;
    }
    if (Status s = output_->SendFrames(); !s.ok()) return s;
    for (auto& [r, w] : windows_) {
      if (Status s = w.Commit(*output_, fingerprint_); !s.ok()) return s;
    }
    std::string error;
    const int64_t oldest = std::exchange(oldest_ms_, INT64_MAX);
    kafka::TxnOutcome o = producer_->SendOffsets(*consumer_, kTimeoutMs, &error);
    if (o == kafka::TxnOutcome::kCommitted) o = producer_->Commit(kTimeoutMs, &error);
    switch (o) {
      case kafka::TxnOutcome::kCommitted:
        ++transactions_;
        ObserveResultLatencies();
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
          size_t users = 0, totals = 0;
          for (const auto& [p, t] : sources_) users += t.users();
          for (const auto& [r, w] : windows_) totals += w.totals();
          metrics_->SetState(users, totals);
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

  // Partitions of the input and of the repartition topic, apart.
  std::pair<std::vector<int32_t>, std::vector<int32_t>> ByTopic(
      const std::vector<kafka::TopicPartition>& parts) const {
    std::pair<std::vector<int32_t>, std::vector<int32_t>> split;
    for (const kafka::TopicPartition& tp : parts) {
      (c_.input == tp.topic ? split.first : split.second).push_back(tp.partition);
    }
    return split;
  }

  Status TasksAssigned() const {
    auto assigned = consumer_->Assignment();
    if (!assigned.ok()) return assigned.status();
    const auto [inputs, windows] = ByTopic(assigned.value());
    auto held = [](const std::vector<int32_t>& v, int32_t p) {
      return std::find(v.begin(), v.end(), p) != v.end();
    };
    for (const auto& [p, t] : sources_) {
      if (!held(inputs, p))
        return Status::Error(fmt::format("input partition {} is no longer assigned", p));
    }
    for (const auto& [r, w] : windows_) {
      if (!held(windows, r))
        return Status::Error(fmt::format("window partition {} is no longer assigned", r));
    }
    return Status::Ok();
  }

  // The batch's results are visible: how long its closed windows and (emit changes) its
  // records waited for them.
  void ObserveResultLatencies() {
    const auto now = Clock::now();
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    for (auto& [r, w] : windows_) {
      for (const Clock::time_point passed : w.closed_passes()) {
        const auto d = now - passed;
        window_result_latency_.Record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
        if (metrics_) metrics_->ObserveWindowResult(d);
      }
      for (const int64_t stamp : w.record_stamps()) {
        const auto d = std::chrono::milliseconds(std::max<int64_t>(0, now_ms - stamp));
        record_result_latency_.Record(static_cast<uint64_t>(d.count()) * 1000);
        if (metrics_) metrics_->ObserveRecordResult(d);
      }
      w.ClearEmitted();
    }
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
      if (!t.Finished()) return false;
    }
    for (const auto& [r, w] : windows_) {
      if (!w.Finished()) return false;
    }
    return true;
  }

  int64_t ProcessWatermark() const {
    if (windows_.empty()) return kNoWatermark;
    int64_t wm = INT64_MAX;
    for (const auto& [r, w] : windows_) wm = std::min(wm, w.watermark());
    return wm;
  }
  size_t OpenWindows() const {
    size_t n = 0;
    for (const auto& [r, w] : windows_) n += w.open_windows();
    return n;
  }

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

}  // namespace

Result<AggregateSummary> RunAggregate(const AggregateConfig& config, const EngineHooks& hooks) {
  Aggregator a(config, hooks);
  if (Status s = a.Run(); !s.ok()) return s;
  return a.Summary();
}

}  // namespace spate
