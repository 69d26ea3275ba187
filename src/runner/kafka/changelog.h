#pragma once
// The tasks' state in <group>-changelog: a compacted topic with one partition per task, input
// task p in partition p and window task r in partition P + r (P input partitions). Keys say
// what an entry is; values are little-endian int64s:
//   "m"                     every task: the fingerprint of the engine settings (text)
//   "p"                     input task: the largest event time it has read
//   "h"                     input task: it once let the watermark go past its own (tasks.h),
//                           so all its records go to the window tasks one by one
//   "r"                     input task: the header of the last snapshot of its rule state:
//                           how many chunks follow it ("r0", "r1", ...); reading it forgets
//                           every user
//   "r<i>"                  input task: chunk i of that snapshot, at most kChangelogFrameBytes
//                           of the stream (varint user length | user | varint state length |
//                           AnomalyDetector::ExportUser's bytes)...; chunks of an older,
//                           longer snapshot are tombstones
//   "d<n>"                  input task: what the rules' state changed in one batch
//                           (AnomalyDetector::ApplyChanges' frames), n counting up; the next
//                           snapshot makes those before it tombstones
//   "s<source>"             window task: the last marker from input partition <source>: its
//                           largest event time, and whether it was read to its end
//   "w<start>:<CUR>:<key>"  window task: an open window's aggregate for a group key and
//                           currency: count, sum (low and high 64 bits), min, max, purchases,
//                           refunds; a tombstone once the window closed
//   "t<CUR>:<key>"          window task: a key's all-time total in a currency: count, sum (low
//                           and high 64 bits)
// The user and key strings are the records' own, any bytes.
// A restart with other settings would misread the state: the fingerprint refuses it.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.h"
#include "core/status.h"
#include "kafka/consumer.h"
#include "runner/kafka/aggregator.h"
#include "stream/anomaly_rules.h"

namespace spate {

// A changelog value stays well under the brokers' default message limit (1 MB), whatever a
// user's activity: a snapshot is cut into chunks, and a batch's changes into frames of about
// this size (AnomalyDetector::kChangeFrameBytes; a change is at most a few hundred bytes).
inline constexpr size_t kChangelogFrameBytes = AnomalyDetector::kChangeFrameBytes;
// A new snapshot of the rules' state is written once the changes since the last one pass
// max(kMinSnapshotBytes, kChangesPerSnapshot x the last snapshot's size): what compaction
// keeps of an input task stays within about four times its state (or 3 MiB), a restore
// replays at most three states' worth of change, and snapshots cost a third of the changes'
// bytes.
inline constexpr size_t kMinSnapshotBytes = 1024 * 1024;
inline constexpr size_t kChangesPerSnapshot = 3;

// One changelog entry as read; a tombstone has no value.
struct ChangelogEntry {
  int32_t partition;
  std::string_view key, value;
  bool tombstone;
};

// The settings a task's state depends on, as text ("v2 partitions=6 window=60000 ...").
std::string ChangelogFingerprint(const AggregateConfig& c, int input_partitions);

// Values: little-endian int64s.
void PutI64(std::string* out, int64_t v);
int64_t GetI64(std::string_view s, size_t i);  // the i-th int64 of s

void PutSum(std::string* out, Sum v);
Sum GetSum(std::string_view s, size_t i);  // the int64s i (low) and i + 1 (high)

// Keys.
std::string SnapshotChunkKey(int64_t i);  // "r<i>"
std::string ChangesKey(int64_t n);        // "d<n>"
// The number after the key's first byte ("r12": 12); false if there is none.
bool ParseKeyNumber(std::string_view key, int64_t* n);
std::string SourceKey(uint32_t source);
std::string WindowKey(int64_t start, Currency c, std::string_view key);
std::string TotalKey(Currency c, std::string_view key);
// Their parts back; false for a key that is not of this form.
bool ParseWindowKey(std::string_view key, int64_t* start, Currency* c, std::string_view* group_key);
bool ParseTotalKey(std::string_view key, Currency* c, std::string_view* group_key);

// Reads these partitions of the changelog topic from the beginning to their end, handing each
// entry to apply() as it comes: nothing is held but the entry. The end is the high watermark, not
// the first end-of-partition: read_committed stops at the last stable offset, and a transaction
// left open there (a member killed mid-batch; the coordinator aborts it only after
// transaction.timeout.ms and its next sweep) hides everything later owners committed after
// it. Restoring only up to it gave a task stale state while its input resumed from the newer
// committed offsets: results were lost (the scale test, in CI). So the reading waits until
// that transaction ends and reads on.
// There is no deadline: a large state takes the time it takes. Every 10 s a log line and
// progress(entries read, partitions left) tell how far it is; stop() returning true gives up
// (an error).
struct RestoreHooks {
  std::function<bool()> stop;
  std::function<void(uint64_t entries, size_t pending)> progress;
};
// prober: a read_uncommitted client (NewProber), which tells empty partitions apart.
Status ReadChangelog(kafka::Consumer& restorer, const kafka::Client& prober,
                     const std::string& topic, const std::vector<int32_t>& partitions,
                     const RestoreHooks& hooks,
                     const std::function<Status(const ChangelogEntry&)>& apply);

}  // namespace spate
