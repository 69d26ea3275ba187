#pragma once
// The engine's five outputs and the interface through which its steps emit records into
// them. A runner implements StepOutput: the embedded runner keeps the records for its sorted
// flush into an OutputSink (sinks/sink.h); the Kafka runner sends each to its topic inside
// the open transaction.

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace spate {

enum class Output { kAggregates, kTotals, kAnomalies, kLate, kDeadLetters };
inline constexpr int kOutputCount = 5;
std::string_view OutputName(Output o);  // "aggregates", "totals", "anomalies", "late", "dlq"

// One record a step emits.
struct Emitted {
  Output output;
  // Where the record sorts within a batch, so that a flush is the same whatever the thread
  // count: by order1, then order_key, then order2. (sequence, -, 0) for a dead letter or a late
  // record, (sequence, -, rule) for an anomaly, (window start, group key, currency) for an
  // aggregate, (0, group key, currency) for a total.
  uint64_t order1 = 0, order2 = 0;
  std::string_view key;     // its Kafka message key
  std::string_view record;  // its bytes: a JSON line without the newline, or an Avro frame
  // Valid as long as the step that emitted it (a group key: the step keeps its strings).
  std::string_view order_key;
};

class StepOutput {
 public:
  virtual ~StepOutput() = default;
  // Takes one record; an error stops the step, which returns it.
  virtual Status Emit(const Emitted& e) = 0;
};

}  // namespace spate
