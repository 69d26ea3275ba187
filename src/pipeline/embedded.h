#pragma once
// The embedded pipeline behind `spate run`: generator -> wire encoding -> decode/validate ->
// anomaly rules -> windowed aggregation -> outputs, in one process with no services.
//
// Threads: the source's generator threads fill chunks ahead; one coordinating thread (the
// caller) hands each chunk to the workers and, while they wait between chunks, writes the
// outputs and publishes metrics. Worker w owns source partitions p % W == w (decoding, dead
// letters, anomaly rules: a user's records stay in one partition) and group keys
// hash(key) % W == w (windows, totals). Watermarks advance only at batch boundaries, so the
// results do not depend on the number of threads (docs/semantics.md).

#include <chrono>
#include <cstdint>
#include <functional>

#include "core/status.h"
#include "gen/generator.h"
#include "gen/source.h"
#include "obs/metrics.h"
#include "pipeline/stats.h"
#include "sinks/sink.h"
#include "stream/anomaly_rules.h"
#include "stream/group_key.h"
#include "stream/window.h"

namespace spate {

enum class EmitMode : uint8_t { kFinal, kChanges };

struct EngineConfig {
  WindowSpec window;
  int64_t lateness_ms = 5'000;
  GroupBy group_by = GroupBy::kMerchantId;
  EmitMode emit = EmitMode::kFinal;
  RuleConfig rules;
};

struct RunConfig {
  GeneratorConfig gen;
  SourceOptions source;
  EngineConfig engine;
  uint32_t workers = 2;
};

struct RunSummary {
  PipelineStats stats;
  double elapsed_seconds = 0;
  int64_t watermark = INT64_MIN;
  int64_t max_event_time = INT64_MIN;
};

struct ProgressSnapshot {
  const PipelineStats& stats;
  size_t open_windows;
  int64_t watermark;
  double elapsed_seconds;
};
using ProgressFn = std::function<void(const ProgressSnapshot&)>;

// Runs the whole input through the pipeline into sink. metrics and progress may be null.
// stop, if set, is polled between chunks: when it returns true the input ends there and every
// open window is still emitted.
Result<RunSummary> RunEmbedded(const RunConfig& config, OutputSink* sink, PipelineMetrics* metrics,
                               const ProgressFn& progress, const std::function<bool()>& stop);

}  // namespace spate
