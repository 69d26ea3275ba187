#pragma once
// Progress and summary lines in the style of kafka-producer-perf-test, on stderr.

#include <cstdint>
#include <string>

#include "pipeline/embedded.h"

namespace spate {

// True when stderr is a terminal (progress lines are shown by default only then).
bool StderrIsTerminal();

// "1200000 records, 2400000.0 rec/s (612.30 MB/s), 12 open windows, 0 late, 3 dead letters"
std::string ProgressLine(const ProgressSnapshot& s);

// The final summary as a JSON object (summary.json and `--json`).
std::string SummaryJson(const RunSummary& s, const RunConfig& c);
// The final summary for people.
std::string SummaryText(const RunSummary& s);

}  // namespace spate
