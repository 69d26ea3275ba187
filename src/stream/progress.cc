#include "stream/progress.h"

#include <fmt/format.h>

namespace spate {

std::string ProgressLine(const ProgressSnapshot& s) {
  double secs = s.elapsed_seconds > 0 ? s.elapsed_seconds : 1e-9;
  std::string line = fmt::format(
      "{} records, {:.1f} rec/s ({:.2f} MB/s), {} open windows, {} late, {} dead letters",
      s.stats.records, static_cast<double>(s.stats.records) / secs,
      static_cast<double>(s.stats.bytes) / secs / 1e6, s.open_windows, s.stats.late,
      s.stats.dead_letters);
  if (s.input_size > 0) {
    line += fmt::format(", {:.0f}% of the input read", 100.0 * static_cast<double>(s.input_bytes) /
                                                           static_cast<double>(s.input_size));
  } else if (s.input_bytes > 0) {
    line += fmt::format(", {:.1f} MB of the input read", static_cast<double>(s.input_bytes) / 1e6);
  }
  return line;
}

std::string SummaryLine(const PipelineStats& t, double elapsed_seconds) {
  double secs = elapsed_seconds > 0 ? elapsed_seconds : 1e-9;
  return fmt::format(
      "{} records in {:.2f} s, {:.1f} rec/s ({:.2f} MB/s): {} valid, {} dead letters, "
      "{} late ({} partially), {} window results, {} totals, {} anomalies",
      t.records, elapsed_seconds, static_cast<double>(t.records) / secs,
      static_cast<double>(t.bytes) / secs / 1e6, t.valid, t.dead_letters, t.late, t.partially_late,
      t.windows_emitted, t.totals_emitted, t.anomalies);
}

}  // namespace spate
