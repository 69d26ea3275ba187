#include "stream/metrics.h"

#include <chrono>

namespace spate {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

void PipelineMetrics::Init(prometheus::Registry& reg) {
  auto& received = BuildCounter()
                       .Name("spate_records_received_total")
                       .Help("Records a component received")
                       .Register(reg);
  auto& sent = BuildCounter()
                   .Name("spate_records_sent_total")
                   .Help("Records a component passed on")
                   .Register(reg);
  auto& dropped = BuildCounter()
                      .Name("spate_records_dropped_total")
                      .Help("Records a component took out of the main flow, by reason")
                      .Register(reg);
  auto& errors =
      BuildCounter().Name("spate_errors_total").Help("Errors by component and type").Register(reg);
  auto& bytes = BuildCounter()
                    .Name("spate_bytes_sent_total")
                    .Help("Payload bytes a component passed on")
                    .Register(reg);
  auto& dlq = BuildCounter()
                  .Name("spate_dead_letters_total")
                  .Help("Records written to the dead-letter output, by error")
                  .Register(reg);
  auto& anomalies = BuildCounter()
                        .Name("spate_anomalies_total")
                        .Help("Anomalies detected, by rule")
                        .Register(reg);
  auto& late = BuildCounter()
                   .Name("spate_late_records_total")
                   .Help("Valid records that arrived after some or all of their windows closed")
                   .Register(reg);
  auto& windows = BuildCounter()
                      .Name("spate_windows_emitted_total")
                      .Help("Window results (one per window and key) written")
                      .Register(reg);
  gen_sent_ = &sent.Add({{"component", "generator"}});
  gen_bytes_ = &bytes.Add({{"component", "generator"}});
  decoder_received_ = &received.Add({{"component", "decoder"}});
  decoder_sent_ = &sent.Add({{"component", "decoder"}});
  engine_received_ = &received.Add({{"component", "engine"}});
  engine_sent_ = &sent.Add({{"component", "engine"}});
  engine_dropped_late_ = &dropped.Add({{"component", "engine"}, {"reason", "late"}});
  for (int e = 1; e < kDecodeErrorCount; ++e) {
    if (!IsDeadLetter(static_cast<DecodeError>(e))) continue;
    std::string name(DecodeErrorName(static_cast<DecodeError>(e)));
    decoder_dropped_[e] = &dropped.Add({{"component", "decoder"}, {"reason", name}});
    decoder_errors_[e] = &errors.Add({{"component", "decoder"}, {"type", name}});
    dead_letters_[e] = &dlq.Add({{"error", name}});
  }
  for (int r = 0; r < kRuleCount; ++r) {
    anomalies_[r] = &anomalies.Add({{"rule", std::string(RuleName(static_cast<Rule>(r)))}});
  }
  dead_letters_cut_ = &BuildCounter()
                           .Name("spate_dead_letters_truncated_total")
                           .Help(
                               "Dead letters whose record was cut to the size bound "
                               "(the first 64 KiB kept, with the size and SHA-256 of the whole)")
                           .Register(reg)
                           .Add({{"component", "decoder"}});
  late_ = &late.Add({{"kind", "late"}});
  partially_late_ = &late.Add({{"kind", "partial"}});
  windows_emitted_ = &windows.Add({});
  sum_overflows_ = &errors.Add({{"component", "engine"}, {"type", "sum_overflow"}});
  auto& repartitioned =
      BuildCounter()
          .Name("spate_repartitioned_records_total")
          .Help(
              "spate aggregate: valid records sent to the window tasks, one by one (single: "
              "they may be late) or combined into partial aggregates (combined)")
          .Register(reg);
  repartitioned_single_ = &repartitioned.Add({{"how", "single"}});
  repartitioned_combined_ = &repartitioned.Add({{"how", "combined"}});
  partials_ = &BuildCounter()
                   .Name("spate_partial_aggregates_total")
                   .Help(
                       "spate aggregate: partial aggregates (a batch's records of one key "
                       "and currency) sent to the window tasks")
                   .Register(reg)
                   .Add({});
  watermark_lag_ = &BuildGauge()
                        .Name("spate_watermark_lag_seconds")
                        .Help("Wall-clock time minus the event-time watermark")
                        .Register(reg)
                        .Add({});
  watermark_ = &BuildGauge()
                    .Name("spate_watermark_seconds")
                    .Help("The event-time watermark, Unix seconds")
                    .Register(reg)
                    .Add({});
  open_windows_ = &BuildGauge()
                       .Name("spate_open_windows")
                       .Help("Windows open in the engine")
                       .Register(reg)
                       .Add({});
  state_users_ = &BuildGauge()
                      .Name("spate_state_users")
                      .Help("Users with anomaly-rule state (dropped once it expires)")
                      .Register(reg)
                      .Add({});
  state_totals_ = &BuildGauge()
                       .Name("spate_state_totals")
                       .Help("All-time totals kept: one per group key and currency")
                       .Register(reg)
                       .Add({});
  restore_entries_ = &BuildCounter()
                          .Name("spate_restore_entries_total")
                          .Help("Changelog entries read to restore tasks' state")
                          .Register(reg)
                          .Add({});
  restore_pending_ = &BuildGauge()
                          .Name("spate_restore_pending_partitions")
                          .Help("Changelog partitions still being read by a restore")
                          .Register(reg)
                          .Add({});
  latency_ =
      &BuildHistogram()
           .Name("spate_processing_latency_seconds")
           .Help(
               "Time from records' creation to their results (spate run: a chunk's "
               "generation; spate aggregate: a batch's oldest input record's Kafka "
               "timestamp to its commit)")
           .Register(reg)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  const prometheus::Histogram::BucketBoundaries result_buckets{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  window_result_ = &BuildHistogram()
                        .Name("spate_window_result_latency_seconds")
                        .Help(
                            "spate aggregate, final mode: time from the watermark passing a "
                            "window's end to its results committed in the output topic (one "
                            "observation per window and window task)")
                        .Register(reg)
                        .Add({}, result_buckets);
  record_result_ = &BuildHistogram()
                        .Name("spate_record_result_latency_seconds")
                        .Help(
                            "spate aggregate, emit changes: time from an input record's Kafka "
                            "timestamp to the committed update that holds it")
                        .Register(reg)
                        .Add({}, result_buckets);
}

void PipelineMetrics::Publish(const PipelineStats& now) {
  const PipelineStats& was = published_;
  auto inc = [](prometheus::Counter* c, uint64_t a, uint64_t b) {
    if (a > b) c->Increment(static_cast<double>(a - b));
  };
  inc(gen_sent_, now.records, was.records);
  inc(gen_bytes_, now.bytes, was.bytes);
  inc(decoder_received_, now.decoded, was.decoded);
  inc(decoder_sent_, now.valid, was.valid);
  inc(engine_received_, now.valid, was.valid);
  inc(engine_sent_, now.aggregated, was.aggregated);
  inc(engine_dropped_late_, now.late, was.late);
  for (int e = 1; e < kDecodeErrorCount; ++e) {
    if (!IsDeadLetter(static_cast<DecodeError>(e))) continue;
    inc(decoder_dropped_[e], now.dead_letters_by_error[e], was.dead_letters_by_error[e]);
    inc(decoder_errors_[e], now.dead_letters_by_error[e], was.dead_letters_by_error[e]);
    inc(dead_letters_[e], now.dead_letters_by_error[e], was.dead_letters_by_error[e]);
  }
  for (int r = 0; r < kRuleCount; ++r)
    inc(anomalies_[r], now.anomalies_by_rule[r], was.anomalies_by_rule[r]);
  inc(dead_letters_cut_, now.dead_letters_cut, was.dead_letters_cut);
  inc(late_, now.late, was.late);
  inc(partially_late_, now.partially_late, was.partially_late);
  inc(windows_emitted_, now.windows_emitted, was.windows_emitted);
  inc(sum_overflows_, now.sum_overflows, was.sum_overflows);
  inc(repartitioned_single_, now.repartitioned_single, was.repartitioned_single);
  inc(repartitioned_combined_, now.repartitioned_combined, was.repartitioned_combined);
  inc(partials_, now.partials, was.partials);
  published_ = now;
}

void PipelineMetrics::SetWatermark(int64_t watermark_ms, size_t open_windows) {
  open_windows_->Set(static_cast<double>(open_windows));
  if (watermark_ms == INT64_MIN) return;
  double wm = static_cast<double>(watermark_ms) / 1000.0;
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  watermark_->Set(wm);
  watermark_lag_->Set(now - wm);
}

void PipelineMetrics::SetState(size_t users, size_t totals) {
  state_users_->Set(static_cast<double>(users));
  state_totals_->Set(static_cast<double>(totals));
}

void PipelineMetrics::AddRestored(uint64_t entries, size_t pending_partitions) {
  restore_entries_->Increment(static_cast<double>(entries));
  restore_pending_->Set(static_cast<double>(pending_partitions));
}

void PipelineMetrics::ObserveLatency(std::chrono::steady_clock::duration d) {
  latency_->Observe(std::chrono::duration<double>(d).count());
}

void PipelineMetrics::ObserveWindowResult(std::chrono::steady_clock::duration d) {
  window_result_->Observe(std::chrono::duration<double>(d).count());
}

void PipelineMetrics::ObserveRecordResult(std::chrono::steady_clock::duration d) {
  record_result_->Observe(std::chrono::duration<double>(d).count());
}

}  // namespace spate
