#pragma once
// JSON lines files in a directory: aggregates.jsonl, totals.jsonl, anomalies.jsonl,
// late.jsonl and dlq.jsonl. The directory is created if missing; files are truncated.

#include <memory>
#include <string>

#include "sinks/sink.h"

namespace spate {

Result<std::unique_ptr<OutputSink>> NewFileSink(const std::string& dir);

}  // namespace spate
