// The aggregator's loop of micro-batches (member.h): poll the group consumer, hand each message
// to its task, and end each batch with one transaction.
#include "runner/kafka/aggregator.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "kafka/errors.h"
#include "runner/kafka/member.h"
#include "runner/kafka/setup.h"

namespace spate {

AggregateMember::AggregateMember(const AggregateConfig& c, const EngineHooks& hooks)
    : c_(c),
      hooks_(hooks),
      decoder_(c.new_decoder ? c.new_decoder() : NewDecoder(c.wire)),
      binary_(NewDecoder(WireFormat::kBinary)) {
  if (hooks.metrics) {
    metrics_.emplace(*hooks.metrics);
    exporter_ = std::make_unique<kafka::StatsExporter>(*hooks.metrics, "aggregate");
  }
}

AggregateMember::~AggregateMember() {
  if (consumer_) consumer_->OnRebalance(nullptr);
}

AggregateSummary AggregateMember::Summary() const {
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

Status AggregateMember::Run() {
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
      if (m && !m.has_topic() && m.err() && kafka::Classify(m.err()) == kafka::ErrorClass::kFatal) {
        // Seen even while rewinding: a fatal consumer polls on for ever without a record.
        if (Status s = RenewConsumer(consumer_->Explain(m.err())); !s.ok()) return s;
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

Status AggregateMember::Connect() {
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

Status AggregateMember::NewProducer() {
  producer_.reset();
  auto p = NewTransactionalProducer(c_, hooks_.stop);
  if (!p.ok()) return p.status();
  producer_ = std::move(p).value();
  if (output_) output_->set_producer(producer_.get());
  return Status::Ok();
}

Status AggregateMember::Dispatch(const kafka::Message& m) {
  if (!m.has_topic()) {  // a consumer-level event, not about one partition
    if (m.err() && kafka::Classify(m.err()) == kafka::ErrorClass::kFatal) {
      return Status::Error("consumer: " + consumer_->Explain(m.err()));
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
      return Status::Error("consumer: " + consumer_->Explain(m.err()));
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

Status AggregateMember::CommitBatch() {
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

void AggregateMember::ObserveResultLatencies() {
  const auto now = Clock::now();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (auto& [r, w] : windows_) {
    for (const Clock::time_point passed : w.closed_passes()) {
      const auto d = now - passed;
      window_result_latency_.Record(
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
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

bool AggregateMember::Finished() const {
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

int64_t AggregateMember::ProcessWatermark() const {
  if (windows_.empty()) return kNoWatermark;
  int64_t wm = INT64_MAX;
  for (const auto& [r, w] : windows_) wm = std::min(wm, w.watermark());
  return wm;
}

size_t AggregateMember::OpenWindows() const {
  size_t n = 0;
  for (const auto& [r, w] : windows_) n += w.open_windows();
  return n;
}

Result<AggregateSummary> RunAggregate(const AggregateConfig& config, const EngineHooks& hooks) {
  AggregateMember a(config, hooks);
  if (Status s = a.Run(); !s.ok()) return s;
  return a.Summary();
}

}  // namespace spate
