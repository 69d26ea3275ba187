// The aggregator's side of the consumer group (member.h): assignments and hand-overs, tasks
// restored from the changelog, and the rewind to the last commit after a failed batch.
#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "runner/kafka/changelog.h"
#include "runner/kafka/member.h"
#include "runner/kafka/setup.h"

namespace spate {

Status AggregateMember::Join() {
  consumer_->OnRebalance(
      [this](bool assign, bool lost, const std::vector<kafka::TopicPartition>& p) {
        OnRebalance(assign, lost, p);
      });
  return consumer_->Subscribe({c_.input, output_->repartition_topic()});
}

Status AggregateMember::RenewConsumer(const std::string& why) {
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

void AggregateMember::OnRebalance(bool assign, bool lost,
                                  const std::vector<kafka::TopicPartition>& parts) {
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

bool AggregateMember::CommitInRebalance() {
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

Status AggregateMember::Rewind() {
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

Status AggregateMember::Restore(const std::vector<int32_t>& inputs,
                                const std::vector<int32_t>& windows) {
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
  Status s = ReadChangelog(
      *restorer_, *prober_, output_->changelog_topic(), parts, hooks, [&](const ChangelogEntry& e) {
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
    Log().info("restored {} changelog entries of {} partitions in {:.1f} s", entries, parts.size(),
               std::chrono::duration<double>(Clock::now() - t0).count());
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

std::pair<std::vector<int32_t>, std::vector<int32_t>> AggregateMember::ByTopic(
    const std::vector<kafka::TopicPartition>& parts) const {
  std::pair<std::vector<int32_t>, std::vector<int32_t>> split;
  for (const kafka::TopicPartition& tp : parts) {
    (c_.input == tp.topic ? split.first : split.second).push_back(tp.partition);
  }
  return split;
}

Status AggregateMember::TasksAssigned() const {
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

}  // namespace spate
