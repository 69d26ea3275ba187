#include "stream/output.h"

namespace spate {

std::string_view OutputName(Output o) {
  switch (o) {
    case Output::kAggregates: return "aggregates";
    case Output::kTotals: return "totals";
    case Output::kAnomalies: return "anomalies";
    case Output::kLate: return "late";
    case Output::kDeadLetters: return "dlq";
  }
  return "unknown";
}

}  // namespace spate
