#pragma once
// The engine's counters. Each worker or task counts on the hot path without atomics; the
// runner sums them between batches and publishes them (stream/metrics.h).

#include <array>
#include <cstdint>

#include "core/codec.h"
#include "stream/anomaly_rules.h"

namespace spate {

struct PipelineStats {
  uint64_t records = 0;  // released by the source
  uint64_t bytes = 0;    // payload bytes released
  uint64_t decoded = 0;  // records through the decoder (valid + dead letters)
  uint64_t valid = 0;
  uint64_t dead_letters = 0;
  uint64_t dead_letters_cut = 0;  // dead letters whose key or payload was cut to the bound
  uint64_t aggregated = 0;        // valid records added to at least one window
  uint64_t late = 0;              // valid records that missed every window
  uint64_t partially_late = 0;    // valid records that missed some windows
  uint64_t windows_emitted = 0;   // aggregate lines written
  uint64_t totals_emitted = 0;    // totals lines written
  uint64_t anomalies = 0;
  uint64_t sum_overflows = 0;  // results whose sum did not fit 128 bits (never, in practice)
  // spate aggregate's repartition: valid records sent one by one (those that may be late),
  // records combined into partial aggregates, and the partial aggregates sent.
  uint64_t repartitioned_single = 0;
  uint64_t repartitioned_combined = 0;
  uint64_t partials = 0;
  std::array<uint64_t, kDecodeErrorCount> dead_letters_by_error{};
  std::array<uint64_t, kRuleCount> anomalies_by_rule{};

  void Add(const PipelineStats& o) {
    records += o.records;
    bytes += o.bytes;
    decoded += o.decoded;
    valid += o.valid;
    dead_letters += o.dead_letters;
    dead_letters_cut += o.dead_letters_cut;
    aggregated += o.aggregated;
    late += o.late;
    partially_late += o.partially_late;
    windows_emitted += o.windows_emitted;
    totals_emitted += o.totals_emitted;
    anomalies += o.anomalies;
    sum_overflows += o.sum_overflows;
    repartitioned_single += o.repartitioned_single;
    repartitioned_combined += o.repartitioned_combined;
    partials += o.partials;
    for (size_t i = 0; i < dead_letters_by_error.size(); ++i) {
      dead_letters_by_error[i] += o.dead_letters_by_error[i];
    }
    for (size_t i = 0; i < anomalies_by_rule.size(); ++i)
      anomalies_by_rule[i] += o.anomalies_by_rule[i];
  }
};

}  // namespace spate
