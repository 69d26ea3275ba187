#pragma once
// Prometheus metrics (prometheus-cpp), named after Vector's component spec with the spate_
// prefix: records received / sent / dropped per component, errors by type, and the stream
// engine's own series. Workers count locally (PipelineStats); Publish() adds the deltas once
// per chunk from the coordinating thread.

#include <chrono>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "core/status.h"
#include "pipeline/stats.h"

namespace spate {

// The /metrics endpoint and the registry every component of a process registers in.
class MetricsServer {
 public:
  // Serves /metrics on addr ("127.0.0.1:9464"; port 0 picks a free one). An empty addr keeps
  // the metrics in memory only. Fails with a clear message when the address cannot be bound.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& addr);

  // The exposer is deliberately not stopped: civetweb's stop waits up to 2 s for its poll loop,
  // and a MetricsServer lives until the process exits, which ends its threads anyway.
  ~MetricsServer() { (void)exposer_.release(); }

  prometheus::Registry& registry() { return *registry_; }
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  int port_ = 0;
};

class PipelineMetrics {
 public:
  explicit PipelineMetrics(prometheus::Registry& registry) { Init(registry); }

  // Adds the difference between `now` and the last published totals.
  void Publish(const PipelineStats& now);
  void SetWatermark(int64_t watermark_ms, size_t open_windows);
  void ObserveLatency(std::chrono::steady_clock::duration d);


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
  prometheus::Counter* late_ = nullptr;
  prometheus::Counter* partially_late_ = nullptr;
  prometheus::Counter* windows_emitted_ = nullptr;
  prometheus::Gauge* watermark_lag_ = nullptr;
  prometheus::Gauge* watermark_ = nullptr;
  prometheus::Gauge* open_windows_ = nullptr;
  prometheus::Histogram* latency_ = nullptr;
};

}  // namespace spate
