#pragma once
// The engine's first step, once per input record: decode and validate it (a record that fails
// is a dead letter, with its reason), then run the anomaly rules on a valid one. The caller
// routes the valid record by its group key (GroupKey()) to the owner of its windows.
//
// The rules keep state per user and see a user's records in arrival order, so all of a
// user's records must reach the same SourceStep: one per worker in the embedded runner (a
// worker owns whole partitions, keyed by userId), one per input partition in the Kafka runner.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/transaction.h"
#include "stream/anomaly_rules.h"
#include "stream/engine_config.h"
#include "stream/output.h"
#include "stream/output_format.h"
#include "stream/stats.h"

namespace spate {

// One input record as read, and where it came from.
struct InputRecord {
  std::string_view payload;
  size_t readable = 0;   // bytes readable from payload.data(), >= payload.size() (Decoder)
  std::string_view key;  // the message key, kept in a dead letter
  SourcePosition pos;
};

enum class Verdict : uint8_t {
  kValid,        // *tx holds the record; its anomalies were emitted
  kDeadLetter,   // emitted to the dead letters with the reason
  kUnavailable,  // no verdict: the decoder could not ask a schema registry (reason());
                 // nothing was emitted, and the record must be read again later
  kFailed        // the output refused a record the step emitted: error() says why
};

class SourceStep {
 public:
  // Counts into *stats, which must outlive the step.
  SourceStep(const EngineConfig& e, const OutputEncoding& enc, PipelineStats* stats);

  // Decodes `in` with d and judges it, emitting into out. Inline: the per-record path of
  // every runner; what is rare (dead letters, anomalies) is out of line.
  Verdict Process(Decoder& d, const InputRecord& in, StepOutput& out, Transaction* tx) {
    ++stats_->decoded;
    const DecodeError err = d.Decode(in.payload, in.readable, tx, &reason_);
    if (err != DecodeError::kNone) return Reject(err, in, out);
    ++stats_->valid;
    anomalies_.clear();
    rules_.Check(*tx, in.pos.sequence, in.pos.partition, &anomalies_);
    return anomalies_.empty() ? Verdict::kValid : EmitAnomalies(out);
  }

  std::string_view GroupKey(const Transaction& tx) const { return GroupKeyOf(tx, group_by_); }
  // Why the last record was a dead letter or kUnavailable.
  const std::string& reason() const { return reason_; }
  // After kFailed: the output's error.
  const Status& error() const { return error_; }
  AnomalyDetector& rules() { return rules_; }
  const AnomalyDetector& rules() const { return rules_; }

 private:
  Verdict Reject(DecodeError err, const InputRecord& in, StepOutput& out);
  Verdict EmitAnomalies(StepOutput& out);
  // v when s is ok; otherwise kFailed, keeping s in error_.
  Verdict Checked(Status s, Verdict v);
  Status EmitAnomaly(const Anomaly& a, StepOutput& out);

  const RuleConfig rule_config_;
  const GroupBy group_by_;
  const OutputEncoding enc_;
  PipelineStats* stats_;
  AnomalyDetector rules_;
  // Scratch space reused across records.
  std::string reason_, record_;
  std::vector<Anomaly> anomalies_;
  Status error_;
};

}  // namespace spate
