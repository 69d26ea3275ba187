#include "runner/kafka/tasks.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/bytes.h"
#include "core/partitioner.h"
#include "obs/log.h"
#include "runner/kafka/repartition.h"

namespace spate {
namespace {

constexpr size_t kFrameBytes = 64 * 1024;  // a repartition frame is sent once this full

}  // namespace

TaskOutput::TaskOutput(const AggregateConfig& c, int windows_partitions)
    : c_(c),
      repartition_(c.group + "-repartition"),
      changelog_(c.group + "-changelog"),
      frames_(static_cast<size_t>(windows_partitions)) {}

Status TaskOutput::Emit(const Emitted& e) {
  const std::string* topic = nullptr;
  switch (e.output) {
    case Output::kAggregates: topic = &c_.aggregates_topic; break;
    case Output::kTotals: topic = &c_.totals_topic; break;
    case Output::kAnomalies: topic = &c_.anomalies_topic; break;
    case Output::kLate: topic = &c_.late_topic; break;
    case Output::kDeadLetters: topic = &c_.dlq_topic; break;
  }
  return producer_->Send(*topic, -1, e.key, e.record);
}

Status TaskOutput::Checkpoint(int32_t partition, std::string_view key, std::string_view value) {
  return producer_->Send(changelog_, partition, key, value);
}

Status TaskOutput::Tombstone(int32_t partition, std::string_view key) {
  return producer_->SendTombstone(changelog_, partition, key);
}

Status TaskOutput::ToFrame(int32_t r, std::string_view entry) {
  std::string& frame = frames_[static_cast<size_t>(r)];
  AppendToFrame(entry, &frame);
  return frame.size() >= kFrameBytes ? SendFrame(r) : Status::Ok();
}

Status TaskOutput::SendFrame(int32_t r) {
  std::string& frame = frames_[static_cast<size_t>(r)];
  if (frame.empty()) return Status::Ok();
  Status s = producer_->Send(repartition_, r, "", frame);
  frame.clear();
  return s;
}

Status TaskOutput::SendFrames() {
  for (int32_t r = 0; r < windows_partitions(); ++r) {
    if (Status s = SendFrame(r); !s.ok()) return s;
  }
  return Status::Ok();
}

void TaskOutput::ClearFrames() {
  for (std::string& f : frames_) f.clear();
}

// ---- Stage A ----------------------------------------------------------------------------

SourceTask::SourceTask(int32_t partition, const AggregateConfig& c, PipelineStats* stats)
    : partition_(partition),
      step_(c.engine, c.encoding, stats),
      idle_timeout_ms_(c.idle_timeout_ms),
      stamp_(c.engine.emit == EmitMode::kChanges),
      combiner_(c.engine.window),
      stats_(stats),
      lateness_ms_(c.engine.lateness_ms),
      window_(c.engine.window) {
  step_.rules().RecordChanges();
}

Status SourceTask::Process(const kafka::Message& m, Decoder& d, TaskOutput& out, Verdict* verdict) {
  at_end_ = false;
  const std::string_view payload = m.payload();
  const InputRecord in{
      payload, payload.size(), m.key(),
      SourcePosition{static_cast<uint64_t>(m.offset()), static_cast<uint32_t>(m.partition()),
                     static_cast<uint64_t>(m.offset())}};
  Transaction tx;
  *verdict = step_.Process(d, in, out, &tx);
  if (*verdict == Verdict::kFailed) return step_.error();
  if (*verdict == Verdict::kUnavailable) {
    return Status::Error(fmt::format("{} [{}] offset {}: schema registry unavailable: {}",
                                     m.topic(), m.partition(), m.offset(), step_.reason()));
  }
  if (*verdict != Verdict::kValid) return Status::Ok();
  max_time_ = std::max(max_time_, tx.time_ms);
  const auto ts = stamp_ ? m.timestamp_ms() : std::nullopt;
  const int64_t stamp = ts && *ts >= 0 ? *ts : -1;
  if (OnTime(tx.time_ms)) {
    combiner_.Add(step_.GroupKey(tx), tx, stamp);
    ++stats_->repartitioned_combined;
    return Status::Ok();
  }
  ++stats_->repartitioned_single;
  entry_.clear();
  EncodeRepartitionRecord(static_cast<uint32_t>(m.partition()), m.offset(), tx, &entry_, stamp);
  const auto r =
      PartitionForKey(step_.GroupKey(tx), static_cast<uint32_t>(out.windows_partitions()));
  return out.ToFrame(static_cast<int32_t>(r), entry_);
}

Status SourceTask::SendPartials(TaskOutput& out) {
  Status st;
  combiner_.Drain([&](std::string_view key, Currency c, const PartialAgg& p) {
    if (!st.ok()) return;
    ++stats_->partials;
    entry_.clear();
    EncodeRepartitionPartial(static_cast<uint32_t>(partition_), key, c, p, &entry_);
    const auto r = PartitionForKey(key, static_cast<uint32_t>(out.windows_partitions()));
    st = out.ToFrame(static_cast<int32_t>(r), entry_);
  });
  return st;
}

Status SourceTask::Commit(TaskOutput& out, const std::string& fingerprint) {
  // The batch's partial aggregates go before the marker that covers them.
  if (Status s = SendPartials(out); !s.ok()) return s;
  SourceState state = at_end_ ? SourceState::kAtEnd : SourceState::kActive;
  if (at_end_ && idle_timeout_ms_ > 0 &&
      std::chrono::steady_clock::now() - end_since_ >=
          std::chrono::milliseconds(idle_timeout_ms_)) {
    state = SourceState::kIdle;
  }
  const bool news = max_time_ != kNoWatermark || at_end_;
  if (news && (!marked_ || max_time_ != marked_time_ || state != marked_state_)) {
    entry_.clear();
    EncodeRepartitionMarker(static_cast<uint32_t>(partition_), max_time_, state, &entry_);
    for (int32_t r = 0; r < out.windows_partitions(); ++r) {
      if (Status s = out.ToFrame(r, entry_); !s.ok()) return s;
    }
    if (max_time_ != marked_time_) {
      std::string v;
      PutI64(&v, max_time_);
      if (Status s = out.Checkpoint(partition_, "p", v); !s.ok()) return s;
    }
    marked_ = true;
    marked_time_ = max_time_;
    marked_state_ = state;
    const bool lets_go =
        state == SourceState::kIdle || (state == SourceState::kAtEnd && max_time_ == kNoWatermark);
    if (lets_go && !unbounded_) {
      unbounded_ = true;
      if (Status s = out.Checkpoint(partition_, "h", "1"); !s.ok()) return s;
    }
  }
  committed_max_ = max_time_;
  step_.rules().Expire([](std::string_view) {});  // each drop is a change
  if (Status s = CheckpointRules(out); !s.ok()) return s;
  if (fingerprinted_) return Status::Ok();
  fingerprinted_ = true;
  return out.Checkpoint(partition_, "m", fingerprint);
}

Status SourceTask::CheckpointRules(TaskOutput& out) {
  std::vector<std::string> frames = step_.rules().TakeChanges();
  size_t bytes = 0;
  for (const std::string& f : frames) bytes += f.size();
  if (bytes == 0) return Status::Ok();
  if (change_bytes_ + bytes >= std::max(kMinSnapshotBytes, kChangesPerSnapshot * snapshot_bytes_)) {
    return WriteSnapshot(out);  // it holds this batch's changes too
  }
  for (const std::string& f : frames) {
    if (Status s = out.Checkpoint(partition_, ChangesKey(next_changes_), f); !s.ok()) return s;
    changes_since_.push_back(next_changes_++);
  }
  change_bytes_ += bytes;
  return Status::Ok();
}

Status SourceTask::WriteSnapshot(TaskOutput& out) {
  // Cut into chunks first: the header, which resets a restore and so goes out before them,
  // says how many there are.
  std::vector<std::string> chunks(1);
  step_.rules().ExportAll([&](std::string_view user, std::string_view state) {
    for (std::string_view part : {user, state}) {
      PutVarint(&chunks.back(), part.size());
      while (!part.empty()) {  // a long state runs on into the next chunks
        const size_t room = kChangelogFrameBytes - chunks.back().size();
        chunks.back().append(part.substr(0, room));
        part.remove_prefix(std::min(room, part.size()));
        if (chunks.back().size() >= kChangelogFrameBytes) chunks.emplace_back();
      }
    }
  });
  if (chunks.back().empty()) chunks.pop_back();
  const auto n = static_cast<int64_t>(chunks.size());
  value_.clear();
  PutI64(&value_, n);
  if (Status s = out.Checkpoint(partition_, "r", value_); !s.ok()) return s;
  snapshot_bytes_ = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::string& c = chunks[static_cast<size_t>(i)];
    if (Status s = out.Checkpoint(partition_, SnapshotChunkKey(i), c); !s.ok()) return s;
    snapshot_bytes_ += c.size();
  }
  for (int64_t i = n; i < snapshot_chunks_; ++i) {  // an older snapshot's further chunks
    if (Status s = out.Tombstone(partition_, SnapshotChunkKey(i)); !s.ok()) return s;
  }
  for (int64_t d : changes_since_) {
    if (Status s = out.Tombstone(partition_, ChangesKey(d)); !s.ok()) return s;
  }
  snapshot_chunks_ = n;
  changes_since_.clear();
  change_bytes_ = 0;
  return Status::Ok();
}

void SourceTask::Apply(const ChangelogEntry& e) {
  AnomalyDetector& rules = step_.rules();
  if (e.key == "h") {
    unbounded_ = !e.tombstone;
    return;
  }
  if (e.key == "p") {
    if (e.tombstone || e.value.size() < 8) return;
    max_time_ = GetI64(e.value, 0);
    committed_max_ = max_time_;
    rules.SetPartitionMax(static_cast<uint32_t>(partition_), max_time_);
    return;
  }
  if (e.key.empty() || e.tombstone) return;  // tombstones: of what a snapshot replaced
  const auto p = static_cast<uint32_t>(partition_);
  int64_t n = 0;
  if (e.key == "r") {  // a snapshot begins: it is the whole state
    if (e.value.size() < 8 || GetI64(e.value, 0) < 0) return;
    rules.Clear();
    snapshot_ = PendingSnapshot{GetI64(e.value, 0), 0, {}};
    snapshot_chunks_ = snapshot_->chunks;
    snapshot_bytes_ = change_bytes_ = 0;
    changes_since_.clear();
    if (snapshot_->chunks == 0) snapshot_.reset();
  } else if (e.key[0] == 'r' && ParseKeyNumber(e.key, &n)) {
    if (!snapshot_ || n != snapshot_->next) return;  // a chunk of an older snapshot
    snapshot_bytes_ += e.value.size();
    ApplySnapshotChunk(e.value);
  } else if (e.key[0] == 'd' && ParseKeyNumber(e.key, &n)) {
    if (!rules.ApplyChanges(e.value, p)) {  // not what a task writes: say so, keep going
      Logger("runner/kafka")
          .warn(
              "changelog partition {}: entry {} is not a frame of rule changes; the "
              "changes after the fault are skipped",
              partition_, e.key);
    }
    next_changes_ = std::max(next_changes_, n + 1);
    changes_since_.push_back(n);
    change_bytes_ += e.value.size();
  }
}

// Imports the users the snapshot's bytes so far hold in full; a user cut at the chunk's end
// waits for the next chunk.
void SourceTask::ApplySnapshotChunk(std::string_view chunk) {
  PendingSnapshot& sn = *snapshot_;
  sn.bytes.append(chunk);
  size_t at = 0;
  for (;;) {
    std::string_view parts[2];
    size_t i = at;
    bool whole = true;
    for (std::string_view& part : parts) {
      uint64_t len = 0;
      if (!GetVarint(sn.bytes, &i, &len) || len > sn.bytes.size() - i) {
        whole = false;
        break;
      }
      part = std::string_view(sn.bytes).substr(i, len);
      i += len;
    }
    if (!whole) break;
    if (!step_.rules().ImportUser(parts[0], static_cast<uint32_t>(partition_), parts[1])) {
      Logger("runner/kafka")
          .warn(
              "changelog partition {}: a snapshot's state of one user is not one a task "
              "writes; that user starts afresh",
              partition_);
    }
    at = i;
  }
  sn.bytes.erase(0, at);
  if (++sn.next == sn.chunks) snapshot_.reset();
}

void SourceTask::Restored(bool had_entries) {
  snapshot_.reset();
  combiner_.Clear();
  (void)step_.rules().TakeChanges();
  fingerprinted_ = had_entries;
}

// ---- Stage B ----------------------------------------------------------------------------

WindowTask::WindowTask(int32_t partition, const AggregateConfig& c, int sources,
                       PipelineStats* stats)
    : partition_(partition),
      c_(c),
      step_(c.engine, c.encoding, stats, /*track_changes=*/true),
      source_max_(static_cast<size_t>(sources), kNoWatermark),
      source_state_(static_cast<size_t>(sources), SourceState::kActive) {}

int32_t WindowTask::changelog_partition() const {
  return static_cast<int32_t>(source_max_.size()) + partition_;
}

int64_t WindowTask::Watermark() const {
  int64_t wm = INT64_MAX;
  bool any = false;
  for (size_t s = 0; s < source_max_.size(); ++s) {
    if (source_state_[s] == SourceState::kIdle) continue;  // --idle-timeout
    if (source_max_[s] == kNoWatermark) {
      if (source_state_[s] == SourceState::kActive) return kNoWatermark;
      continue;
    }
    any = true;
    wm = std::min(wm, source_max_[s] - c_.engine.lateness_ms);
  }
  return any ? wm : kNoWatermark;
}

bool WindowTask::AllSourcesEnded() const {
  return std::all_of(source_state_.begin(), source_state_.end(),
                     [](SourceState s) { return s != SourceState::kActive; });
}

Status WindowTask::ProcessFrame(const kafka::Message& m, Decoder& binary, TaskOutput& out) {
  at_eof_ = false;
  Status st;
  RepartitionMessage r;
  const bool well_formed = ForEachInFrame(m.payload(), [&](std::string_view entry) {
    if (!DecodeRepartition(entry, &binary, &r) || r.source_partition >= source_max_.size()) {
      return false;
    }
    st = Process(r, out);
    return st.ok();
  });
  if (!st.ok()) return st;
  if (!well_formed) {
    return Status::Error(fmt::format("{} [{}] at offset {}: not a spate repartition frame",
                                     m.topic(), m.partition(), m.offset()));
  }
  return Status::Ok();
}

// One record for the windows, or a marker.
Status WindowTask::Process(const RepartitionMessage& r, TaskOutput& out) {
  if (r.kind == RepartitionMessage::Kind::kMarker) {
    source_max_[r.source_partition] = std::max(source_max_[r.source_partition], r.value);
    source_state_[r.source_partition] = r.state;
    dirty_sources_.insert(r.source_partition);
    if (c_.engine.emit == EmitMode::kFinal) {  // the moment the watermark moves, for latency
      const int64_t wm = std::max(watermark_, Watermark());
      if (wm > (passes_.empty() ? watermark_ : passes_.back().first)) {
        passes_.emplace_back(wm, std::chrono::steady_clock::now());
        closes_a_window_ = closes_a_window_ || wm >= step_.first_window_end();
      }
    }
    return Status::Ok();
  }
  if (r.kind == RepartitionMessage::Kind::kPartial) {
    record_stamps_.insert(record_stamps_.end(), r.partial.stamps.begin(), r.partial.stamps.end());
    return step_.AddPartial(r.key, r.currency, r.partial, watermark_);
  }
  const SourcePosition pos{static_cast<uint64_t>(r.value), r.source_partition,
                           static_cast<uint64_t>(r.value)};
  if (r.ingest_ms >= 0) record_stamps_.push_back(r.ingest_ms);
  return step_.Add(r.tx, pos, watermark_, out);
}

Status WindowTask::Commit(TaskOutput& out, const std::string& fingerprint) {
  const int32_t cp = changelog_partition();
  for (uint32_t s : dirty_sources_) {
    value_.clear();
    PutI64(&value_, source_max_[s]);
    PutI64(&value_, static_cast<int64_t>(source_state_[s]));
    if (Status st = out.Checkpoint(cp, SourceKey(s), value_); !st.ok()) return st;
  }
  dirty_sources_.clear();
  // Never backwards: an idle input that has records again holds it no longer back than here
  // (its records behind it are late).
  watermark_ = std::max(watermark_, Watermark());
  // A closed window's state is gone from the changelog too.
  int64_t last_start = kNoWatermark;
  auto closed = [&](int64_t start, uint64_t key) {
    if (start != last_start) {  // a window closed by the watermark: when did it pass the end?
      last_start = start;
      const int64_t end = start + c_.engine.window.size_ms;
      auto pass = std::find_if(passes_.begin(), passes_.end(),
                               [&](const auto& p) { return p.first >= end; });
      if (pass != passes_.end()) closed_passes_.push_back(pass->second);
    }
    return out.Tombstone(cp, WindowKey(start, step_.KeyCurrency(key), step_.KeyString(key)));
  };
  Status st;
  if (c_.exit_at_end && !final_emitted_ && at_eof_ && AllSourcesEnded()) {
    passes_.clear();  // the end of the input closes them, not the watermark
    st = step_.CloseAll(out, closed);
    final_emitted_ = true;
  } else {
    st = step_.CloseUpTo(watermark_, out, closed);
  }
  passes_.clear();  // every window ending at or before them is closed now
  closes_a_window_ = false;
  if (!st.ok()) return st;
  const bool changes_mode = c_.engine.emit == EmitMode::kChanges;
  st = step_.DrainWindowChanges(
      changes_mode, out, [&](int64_t start, uint64_t key, const WindowAgg& a) {
        value_.clear();
        PutI64(&value_, a.count);
        PutSum(&value_, a.sum);
        for (int64_t x : {a.min, a.max, a.purchases, a.refunds, int64_t{a.overflow}}) {
          PutI64(&value_, x);
        }
        return out.Checkpoint(cp, WindowKey(start, step_.KeyCurrency(key), step_.KeyString(key)),
                              value_);
      });
  if (!st.ok()) return st;
  // Totals in update mode, as the reference job: every key the batch changed.
  st = step_.DrainTotalChanges(true, out, [&](uint64_t key, const TotalsStore::Total& t) {
    value_.clear();
    PutI64(&value_, t.count);
    PutSum(&value_, t.sum);
    return out.Checkpoint(cp, TotalKey(step_.KeyCurrency(key), step_.KeyString(key)), value_);
  });
  if (!st.ok()) return st;
  if (fingerprinted_) return Status::Ok();
  fingerprinted_ = true;
  return out.Checkpoint(cp, "m", fingerprint);
}

void WindowTask::Apply(const ChangelogEntry& e) {
  const std::string_view key = e.key, value = e.value;
  if (key.empty()) return;
  switch (key[0]) {
    case 's': {
      size_t s = 0;
      if (e.tombstone || value.size() != 2 * 8 ||
          std::from_chars(key.data() + 1, key.data() + key.size(), s).ptr !=
              key.data() + key.size() ||
          s >= source_max_.size()) {
        break;
      }
      source_max_[s] = GetI64(value, 0);
      const int64_t st = GetI64(value, 1);
      source_state_[s] = st >= 0 && st <= static_cast<int64_t>(SourceState::kIdle)
                             ? static_cast<SourceState>(st)
                             : SourceState::kActive;
      break;
    }
    case 'w': {
      int64_t start;
      Currency c;
      std::string_view group_key;
      if (!ParseWindowKey(key, &start, &c, &group_key)) break;
      if (e.tombstone) {  // closed
        step_.ForgetWindow(start, group_key, c);
        break;
      }
      if (value.size() != 8 * 8) break;
      WindowAgg a;
      a.count = GetI64(value, 0);
      a.sum = GetSum(value, 1);
      a.min = GetI64(value, 3);
      a.max = GetI64(value, 4);
      a.purchases = GetI64(value, 5);
      a.refunds = GetI64(value, 6);
      a.overflow = GetI64(value, 7) != 0;
      step_.RestoreWindow(start, group_key, c, a);
      break;
    }
    case 't': {
      Currency c;
      std::string_view group_key;
      if (e.tombstone || !ParseTotalKey(key, &c, &group_key) || value.size() != 3 * 8) break;
      step_.RestoreTotal(group_key, c, GetI64(value, 0), GetSum(value, 1));
      break;
    }
    default: break;
  }
}

void WindowTask::Restored(bool had_entries) {
  step_.ForgetChanges();
  watermark_ = Watermark();
  fingerprinted_ = had_entries;
}

}  // namespace spate
