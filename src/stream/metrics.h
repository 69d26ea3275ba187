#pragma once
// The engine's Prometheus series: records received / sent / dropped per component (generator,
// decoder, engine), dead letters by error, anomalies by rule, late records, windows emitted,
// the watermark and the processing and result latencies (docs/metrics.md). Workers and tasks count
// in PipelineStats; Publish() adds the deltas once per batch, from the runner's thread.

#include <array>
#include <chrono>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "stream/stats.h"

namespace spate {

class PipelineMetrics {
 public:
  explicit PipelineMetrics(prometheus::Registry& registry) { Init(registry); }

  // Adds the difference between `now` and the last published totals.
  void Publish(const PipelineStats& now);
  void SetWatermark(int64_t watermark_ms, size_t open_windows);
  void ObserveLatency(std::chrono::steady_clock::duration d);
  // spate aggregate: from the watermark passing a window's end to its result committed (final
  // mode), and from an input record's Kafka timestamp to the committed update that holds it
  // (emit changes).
  void ObserveWindowResult(std::chrono::steady_clock::duration d);
  void ObserveRecordResult(std::chrono::steady_clock::duration d);
  // State sizes: users with rule state, all-time totals (open windows: SetWatermark).
  void SetState(size_t users, size_t totals);
  // A restore read `entries` more changelog entries; so many partitions are left.
  void AddRestored(uint64_t entries, size_t pending_partitions);

 private:
  void Init(prometheus::Registry& reg);

  PipelineStats published_;

  prometheus::Counter* gen_sent_ = nullptr;
  prometheus::Counter* gen_bytes_ = nullptr;
  prometheus::Counter* decoder_received_ = nullptr;
  prometheus::Counter* decoder_sent_ = nullptr;
  prometheus::Counter* engine_received_ = nullptr;
  prometheus::Counter* engine_sent_ = nullptr;
  prometheus::Counter* engine_dropped_late_ = nullptr;
  std::array<prometheus::Counter*, kDecodeErrorCount> decoder_dropped_{};
  std::array<prometheus::Counter*, kDecodeErrorCount> decoder_errors_{};
  std::array<prometheus::Counter*, kDecodeErrorCount> dead_letters_{};
  std::array<prometheus::Counter*, kRuleCount> anomalies_{};
  prometheus::Counter* dead_letters_cut_ = nullptr;
  prometheus::Counter* late_ = nullptr;
  prometheus::Counter* partially_late_ = nullptr;
  prometheus::Counter* windows_emitted_ = nullptr;
  prometheus::Counter* sum_overflows_ = nullptr;
  prometheus::Counter* repartitioned_single_ = nullptr;
  prometheus::Counter* repartitioned_combined_ = nullptr;
  prometheus::Counter* partials_ = nullptr;
  prometheus::Gauge* watermark_lag_ = nullptr;
  prometheus::Gauge* watermark_ = nullptr;
  prometheus::Gauge* open_windows_ = nullptr;
  prometheus::Gauge* state_users_ = nullptr;
  prometheus::Gauge* state_totals_ = nullptr;
  prometheus::Counter* restore_entries_ = nullptr;
  prometheus::Gauge* restore_pending_ = nullptr;
  prometheus::Histogram* latency_ = nullptr;
  prometheus::Histogram* window_result_ = nullptr;
  prometheus::Histogram* record_result_ = nullptr;
};

}  // namespace spate
