#pragma once
// The Kafka runner's tasks. A task is the engine's step for one partition, with the state that
// lets another process take it over: what it must checkpoint to the changelog at the end of
// every batch, and how it is rebuilt from there (changelog.h).
//   SourceTask, one per input partition: the source step (decode, dead letters, anomaly
//     rules; the input is keyed by userId, so a user's records are all in one partition, in
//     order); valid records go on to the repartition topic, keyed by group key, and after each
//     batch a watermark marker to every repartition partition. A record that cannot be late
//     at its window task goes combined with the batch's other records of its key and currency,
//     as one partial aggregate (stream/partial.h) sent at the end of the batch, before the
//     marker; the others go one by one, so that a late one is reported as itself.
//     Why a partial is never late: a window task's watermark is the minimum over the sources'
//     markers, so it is at most this partition's last marker, sent before the batch, minus the
//     lateness; a record whose earliest window ends after that is on time. That holds while
//     this partition holds the watermark back: once it has sent a marker that does not (idle,
//     or read to its end with no record), other partitions may have moved the watermark past
//     any time of its, and from then on all its records go one by one ("h" in the changelog).
//   WindowTask, one per repartition partition: the window step for the group keys hashed to
//     it. Its watermark is the minimum over the source partitions' markers; a source without
//     a marker holds it back unless it is known to be empty.
// Everything a task sends goes through TaskOutput, into the open transaction.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "kafka/message.h"
#include "kafka/txn_producer.h"
#include "runner/kafka/aggregator.h"
#include "runner/kafka/changelog.h"
#include "runner/kafka/repartition.h"
#include "stream/source_step.h"
#include "stream/watermark.h"
#include "stream/window_step.h"

namespace spate {

// Where the tasks' records go: the engine's outputs to their topics, the repartition frames
// and the changelog entries, all through the transactional producer of the open batch.
class TaskOutput final : public StepOutput {
 public:
  TaskOutput(const AggregateConfig& c, int windows_partitions);

  // The producer of the open transaction (replaced after a fatal error).
  void set_producer(kafka::TxnProducer* p) { producer_ = p; }

  // An engine output record, to its topic.
  Status Emit(const Emitted& e) override;
  // A changelog entry for a task's partition, or its tombstone.
  Status Checkpoint(int32_t partition, std::string_view key, std::string_view value);
  Status Tombstone(int32_t partition, std::string_view key);
  // Adds an entry to repartition partition r's frame; a full frame is sent.
  Status ToFrame(int32_t r, std::string_view entry);
  // Sends every frame that has entries (end of batch); Clear() drops them (a rewind).
  Status SendFrames();
  void ClearFrames();

  int windows_partitions() const { return static_cast<int>(frames_.size()); }
  const std::string& repartition_topic() const { return repartition_; }
  const std::string& changelog_topic() const { return changelog_; }

 private:
  Status SendFrame(int32_t r);

  const AggregateConfig& c_;
  const std::string repartition_, changelog_;
  kafka::TxnProducer* producer_ = nullptr;
  std::vector<std::string> frames_;  // per repartition partition, not yet sent
};

class SourceTask {
 public:
  SourceTask(int32_t partition, const AggregateConfig& c, PipelineStats* stats);

  // Stage A for one input record. kUnavailable (a schema registry that did not answer) comes
  // back as an error with *verdict set: the batch must be done again.
  Status Process(const kafka::Message& m, Decoder& d, TaskOutput& out, Verdict* verdict);
  // The partition was read to its end.
  void ReadToEnd() {
    if (!at_end_) end_since_ = std::chrono::steady_clock::now();
    at_end_ = true;
  }
  bool at_end() const { return at_end_; }
  // End of batch: a marker for the window tasks if there is news, the rule state changed,
  // and tombstones for the users whose state expired.
  Status Commit(TaskOutput& out, const std::string& fingerprint);
  // Rebuilding a new task from its changelog partition: each entry in order, then Restored().
  void Apply(const ChangelogEntry& e);
  void Restored(bool had_entries);

  size_t users() const { return step_.rules().tracked_users(); }

  // Read to its end, and the window tasks were told so.
  bool Finished() const { return at_end_ && marked_ && marked_state_ != SourceState::kActive; }

 private:
  const int32_t partition_;
  SourceStep step_;
  int64_t max_time_ = kNoWatermark;  // largest event time read
  const int64_t idle_timeout_ms_;
  const bool stamp_;     // records carry their Kafka timestamp to the window tasks (changes)
  bool at_end_ = false;  // read to its end since its last record
  std::chrono::steady_clock::time_point end_since_;
  bool marked_ = false;  // a marker with the values below was sent
  int64_t marked_time_ = kNoWatermark;
  SourceState marked_state_ = SourceState::kActive;
  bool fingerprinted_ = false;
  // Partial aggregation: the batch's combined records; the largest event time of the last
  // marker (at the last commit, or restored); whether a marker let the watermark go past it.
  Combiner combiner_;
  int64_t committed_max_ = kNoWatermark;
  bool unbounded_ = false;
  PipelineStats* stats_;
  const int64_t lateness_ms_;
  const WindowSpec window_;
  std::string entry_, value_;
  // The rule state in the changelog (changelog.h): a snapshot in chunks, then the batches'
  // changes. A new snapshot is written once the changes since the last one outweigh it.
  int64_t next_changes_ = 0;            // the number of the next "d" entry
  std::vector<int64_t> changes_since_;  // "d" entries since the last snapshot
  size_t change_bytes_ = 0, snapshot_bytes_ = 0;
  int64_t snapshot_chunks_ = 0;  // "s" entries of the last snapshot
  // Restore: the snapshot being read (its chunks follow its "S" entry).
  struct PendingSnapshot {
    int64_t chunks = 0, next = 0;
    std::string bytes;  // read, not yet imported
  };
  std::optional<PendingSnapshot> snapshot_;

  // Whether a record of time t cannot be late at its window task (see above).
  bool OnTime(int64_t t) const {
    return !unbounded_ && (committed_max_ == kNoWatermark ||
                           window_.EarliestEnd(t) > committed_max_ - lateness_ms_);
  }
  Status SendPartials(TaskOutput& out);
  // The batch's rule changes, or a new snapshot in their place.
  Status CheckpointRules(TaskOutput& out);
  Status WriteSnapshot(TaskOutput& out);
  void ApplySnapshotChunk(std::string_view chunk);
};

class WindowTask {
 public:
  WindowTask(int32_t partition, const AggregateConfig& c, int sources, PipelineStats* stats);

  // Stage B for one message (a frame) of the repartition topic.
  Status ProcessFrame(const kafka::Message& m, Decoder& binary, TaskOutput& out);
  // The partition was read to its end.
  void ReadToEnd() { at_eof_ = true; }
  // End of batch: moves the watermark, emits what closed (everything, once the input is
  // exhausted under -e), and checkpoints the changes.
  Status Commit(TaskOutput& out, const std::string& fingerprint);
  // Rebuilding a new task from its changelog partition: each entry in order, then Restored().
  void Apply(const ChangelogEntry& e);
  void Restored(bool had_entries);

  // What the batch emitted, for the result latencies once its transaction commits: when the
  // watermark passed the end of each window it closed (final mode), and each record's input
  // Kafka timestamp (emit changes). ClearEmitted() after each commit or rewind.
  const std::vector<std::chrono::steady_clock::time_point>& closed_passes() const {
    return closed_passes_;
  }
  const std::vector<int64_t>& record_stamps() const { return record_stamps_; }
  void ClearEmitted() {
    closed_passes_.clear();
    record_stamps_.clear();
  }

  // Final mode: a marker of this batch moved the watermark past the end of an open window,
  // whose result waits for the batch's end (the aggregator ends it early).
  bool closes_a_window() const { return closes_a_window_; }
  bool Finished() const { return final_emitted_; }
  int64_t watermark() const { return watermark_; }
  size_t open_windows() const { return step_.open_windows(); }
  size_t totals() const { return step_.totals(); }

 private:
  int64_t Watermark() const;
  bool AllSourcesEnded() const;
  Status Process(const RepartitionMessage& r, TaskOutput& out);
  int32_t changelog_partition() const;

  const int32_t partition_;
  const AggregateConfig& c_;
  WindowStep step_;
  std::vector<int64_t> source_max_;
  std::vector<SourceState> source_state_;
  std::set<uint32_t> dirty_sources_;  // markers to checkpoint
  int64_t watermark_ = kNoWatermark;
  // Final mode: each watermark the markers of this batch raised it to, and when.
  std::vector<std::pair<int64_t, std::chrono::steady_clock::time_point>> passes_;
  std::vector<std::chrono::steady_clock::time_point> closed_passes_;
  std::vector<int64_t> record_stamps_;
  bool closes_a_window_ = false;
  bool at_eof_ = false;  // read to its end since its last message
  bool final_emitted_ = false;
  bool fingerprinted_ = false;
  std::string value_;
};

}  // namespace spate
