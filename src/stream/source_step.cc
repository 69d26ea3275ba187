#include "stream/source_step.h"

namespace spate {

SourceStep::SourceStep(const EngineConfig& e, const OutputEncoding& enc, PipelineStats* stats)
    : rule_config_(e.rules),
      group_by_(e.group_by),
      enc_(enc),
      stats_(stats),
      rules_(e.rules, e.lateness_ms) {}

Verdict SourceStep::Reject(DecodeError err, const InputRecord& in, StepOutput& out) {
  if (err == DecodeError::kSchemaUnavailable) {
    // Dead-lettering it would be wrong, skipping it would lose it: the caller reads it again.
    return Verdict::kUnavailable;
  }
  ++stats_->dead_letters;
  ++stats_->dead_letters_by_error[static_cast<size_t>(err)];
  record_.clear();
  if (AppendDeadLetterLine(in.pos, err, reason_, in.key, in.payload, &record_))
    ++stats_->dead_letters_cut;
  record_.pop_back();  // the newline
  return Checked(
      out.Emit({Output::kDeadLetters, in.pos.sequence, 0, DeadLetterKey(in.key), record_, {}}),
      Verdict::kDeadLetter);
}

Verdict SourceStep::EmitAnomalies(StepOutput& out) {
  for (const Anomaly& a : anomalies_) {
    if (Status s = EmitAnomaly(a, out); !s.ok()) return Checked(std::move(s), Verdict::kValid);
  }
  return Verdict::kValid;
}

Verdict SourceStep::Checked(Status s, Verdict v) {
  if (s.ok()) return v;
  error_ = std::move(s);
  return Verdict::kFailed;
}

Status SourceStep::EmitAnomaly(const Anomaly& a, StepOutput& out) {
  ++stats_->anomalies;
  ++stats_->anomalies_by_rule[static_cast<size_t>(a.rule)];
  record_.clear();
  if (enc_.anomaly_schema_id == 0) {
    AppendAnomalyLine(a, rule_config_, &record_);
    record_.pop_back();
  } else {
    AppendAnomalyAvro(a, rule_config_, enc_.anomaly_schema_id, &record_);
  }
  return out.Emit(
      {Output::kAnomalies, a.sequence, static_cast<uint64_t>(a.rule), a.tx.user, record_, {}});
}

}  // namespace spate
