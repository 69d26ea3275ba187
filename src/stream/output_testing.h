#pragma once
// For tests of the engine's steps: a StepOutput that keeps every emitted record as a line,
// "<output name> <record>", in the order emitted.

#include <string>
#include <vector>

#include "stream/output.h"

namespace spate::test {

class CollectLines final : public StepOutput {
 public:
  Status Emit(const Emitted& e) override {
    lines.push_back(std::string(OutputName(e.output)) + " " + std::string(e.record));
    return Status::Ok();
  }
  std::vector<std::string> lines;
};

}  // namespace spate::test
