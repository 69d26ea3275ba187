#pragma once
// Where the pipeline's outputs go. One sink receives all five output streams; a flush hands
// it complete JSON lines. Implementations: sinks/file (JSON lines files); Kafka and
// Elasticsearch sinks follow the same shape.

#include <string_view>

#include "core/status.h"

namespace spate {

enum class Output { kAggregates, kTotals, kAnomalies, kLate, kDeadLetters };
inline constexpr int kOutputCount = 5;
std::string_view OutputName(Output o);  // "aggregates", "totals", ...

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Appends newline-terminated lines to output o. Called from one thread.
  virtual Status Write(Output o, std::string_view lines) = 0;
  // Flushes and closes; reports the first error (e.g. a full disk).
  virtual Status Close() = 0;
};

}  // namespace spate
