#pragma once
// Keeps every output in memory: for tests and benchmarks.

#include <array>
#include <string>

#include "sinks/sink.h"

namespace spate {

class MemorySink final : public OutputSink {
 public:
  Status Write(Output o, std::string_view lines) override {
    data_[static_cast<size_t>(o)].append(lines);
    return Status::Ok();
  }
  Status Close() override { return Status::Ok(); }
  const std::string& data(Output o) const { return data_[static_cast<size_t>(o)]; }

 private:
  std::array<std::string, kOutputCount> data_;
};

}  // namespace spate
