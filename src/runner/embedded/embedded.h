#pragma once
// The embedded runner behind `spate run`: generator -> wire encoding (or a file: --input) ->
// the engine's steps (stream/source_step.h, stream/window_step.h) -> an OutputSink, in one
// process with no services.
//
// Threads: the source's generator threads fill chunks ahead; one coordinating thread (the
// caller) hands each chunk to the workers and, while they wait between chunks, writes the
// outputs and publishes metrics. Worker w runs the source step for partitions p % W == w (a
// user's records stay in one partition) and the window step for group keys hash(key) % W ==
// w. Watermarks advance only at batch boundaries, so the results do not depend on the number
// of threads (docs/semantics.md).

#include <cstdint>
#include <string>

#include "core/status.h"
#include "gen/generator.h"
#include "sinks/sink.h"
#include "source/generator_source.h"
#include "stream/engine_config.h"
#include "stream/progress.h"
#include "stream/stats.h"

namespace spate {

struct RunConfig {
  GeneratorConfig gen;
  SourceOptions source;
  EngineConfig engine;
  uint32_t workers = 2;
  // --idle-timeout: a partition this far behind the newest in event time stops holding the
  // watermark back (0: never).
  int64_t idle_timeout_ms = 60'000;
};

struct RunSummary {
  PipelineStats stats;
  double elapsed_seconds = 0;
  int64_t watermark = INT64_MIN;
  int64_t max_event_time = INT64_MIN;
};

// Runs the whole input through the engine into sink. When hooks.stop() returns true (polled
// between chunks) the input ends there, and every open window is still emitted.
Result<RunSummary> RunEmbedded(const RunConfig& config, OutputSink& sink, const EngineHooks& hooks);

// The run's summary as a JSON object (summary.json and `spate run --json`).
std::string SummaryJson(const RunSummary& s, const RunConfig& c);

}  // namespace spate
