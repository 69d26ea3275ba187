#pragma once
// Where the embedded runner (`spate run`) writes its outputs: after each batch, the records
// its steps emitted, sorted and joined into newline-terminated JSON lines, one Write per
// output. Implementations: sinks/file (a JSON-lines file per output) and sinks/memory (tests
// and benchmarks). The Kafka runner does not use it: it sends each record to its output
// topic inside a transaction (runner/kafka). `spate index` is a sink of another kind: it
// reads Kafka topics into Elasticsearch (sinks/elasticsearch).

#include <string_view>

#include "core/status.h"
#include "stream/output.h"

namespace spate {

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Appends newline-terminated lines to output o. Called from one thread.
  virtual Status Write(Output o, std::string_view lines) = 0;
  // Flushes and closes; reports the first error (e.g. a full disk).
  virtual Status Close() = 0;
};

}  // namespace spate
