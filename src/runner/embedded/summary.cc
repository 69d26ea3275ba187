// The summary of a `spate run` as JSON: summary.json and `--json`.

#include <fmt/format.h>

#include "obs/progress.h"
#include "runner/embedded/embedded.h"

namespace spate {

std::string SummaryJson(const RunSummary& s, const RunConfig& c) {
  const PipelineStats& t = s.stats;
  double secs = s.elapsed_seconds > 0 ? s.elapsed_seconds : 1e-9;
  std::string by_rule, by_error;
  for (int r = 0; r < kRuleCount; ++r) {
    by_rule += fmt::format(R"({}"{}":{})", r ? "," : "", RuleName(static_cast<Rule>(r)),
                           t.anomalies_by_rule[r]);
  }
  for (int e = 1; e < kDecodeErrorCount; ++e) {
    if (!IsDeadLetter(static_cast<DecodeError>(e))) continue;
    by_error +=
        fmt::format(R"({}"{}":{})", e > 1 ? "," : "", DecodeErrorName(static_cast<DecodeError>(e)),
                    t.dead_letters_by_error[e]);
  }
  std::string input = "null";  // the file read (--input), or null: the generator
  if (!c.source.input.empty()) {
    input.clear();
    AppendJsonString(c.source.input, &input);
  }
  auto opt_time = [](int64_t v) {
    return v == INT64_MIN ? std::string("null") : std::to_string(v);
  };
  return fmt::format(
      R"({{"records":{},"bytes":{},"valid":{},"deadLetters":{},"deadLettersByError":{{{}}},)"
      R"("deadLettersTruncated":{},)"
      R"("aggregated":{},"late":{},"partiallyLate":{},"windowsEmitted":{},"totalsEmitted":{},)"
      R"("anomalies":{},"anomaliesByRule":{{{}}},"sumOverflows":{},"watermark":{},)"
      R"("maxEventTime":{},"peakRssBytes":{},)"
      R"("elapsedSeconds":{:.6f},"recordsPerSecond":{:.1f},"megabytesPerSecond":{:.3f},)"
      R"("config":{{"seed":{},"partitions":{},"batchSize":{},"windowMs":{},"hopMs":{},)"
      R"("latenessMs":{},"groupBy":"{}","emit":"{}","format":"{}","workers":{},"generatorThreads":{},)"
      R"("input":{},"totals":{},"rules":{}}}}})",
      t.records, t.bytes, t.valid, t.dead_letters, by_error, t.dead_letters_cut, t.aggregated,
      t.late, t.partially_late, t.windows_emitted, t.totals_emitted, t.anomalies, by_rule,
      t.sum_overflows, opt_time(s.watermark), opt_time(s.max_event_time), PeakRssBytes(),
      s.elapsed_seconds, static_cast<double>(t.records) / secs,
      static_cast<double>(t.bytes) / secs / 1e6, c.gen.seed, c.source.partitions,
      c.source.batch_size, c.engine.window.size_ms, c.engine.window.hop_ms, c.engine.lateness_ms,
      GroupByField(c.engine.group_by), c.engine.emit == EmitMode::kFinal ? "final" : "changes",
      WireFormatName(c.source.wire.format), c.workers, c.source.threads, input,
      c.engine.totals ? "true" : "false", c.engine.rules.enabled ? "true" : "false");
}

}  // namespace spate
