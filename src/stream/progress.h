#pragma once
// The engine runners' progress snapshot, and their progress and summary lines in the style of
// kafka-producer-perf-test.

#include <cstddef>
#include <cstdint>
#include <string>

#include "obs/progress.h"
#include "stream/stats.h"

namespace spate {

struct ProgressSnapshot {
  const PipelineStats& stats;
  size_t open_windows;
  int64_t watermark;
  double elapsed_seconds;
  // Reading a file (--input): bytes of it read so far, and its size (0: a pipe).
  uint64_t input_bytes = 0;
  uint64_t input_size = 0;
};
using EngineHooks = RunHooks<ProgressSnapshot>;

// "1200000 records, 2400000.0 rec/s (612.30 MB/s), 12 open windows, 0 late, 3 dead letters"
// and, reading a file, ", 42% of the input read" (or ", 120.5 MB of the input read").
std::string ProgressLine(const ProgressSnapshot& s);
// "1200000 records in 0.50 s, ...: 1199990 valid, 10 dead letters, ..."
std::string SummaryLine(const PipelineStats& t, double elapsed_seconds);

}  // namespace spate
