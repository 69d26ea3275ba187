// Avro schema parsing and compatibility (registry/server/avro_schema.h, over core's parser
// and its limits) on any text. The input is two schema texts and a compatibility level, read
// with FuzzedDataProvider. Besides not crashing:
//  - a parsed schema's normal form parses again, to the same normal form;
//  - a schema reads what it writes itself (CanRead(s, s));
//  - IsCompatible at each level agrees with CanRead in the directions the level names.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz/fuzz_check.h"
#include "registry/server/avro_schema.h"

namespace spate::registry {
namespace {

std::shared_ptr<const AvroSchema> ParseChecked(const std::string& text) {
  auto parsed = AvroSchema::Parse(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty(), "a refusal without a reason");
    return nullptr;
  }
  auto s = std::move(parsed).value();
  auto again = AvroSchema::Parse(s->normalized());
  FUZZ_CHECK(again.ok(), "a normal form does not parse: " + s->normalized());
  FUZZ_CHECK(again.value()->normalized() == s->normalized(),
             "a normal form parses to another one: " + s->normalized());
  std::string why;
  FUZZ_CHECK(CanRead(*s, *s, &why), "a schema cannot read its own data: " + why);
  return s;
}

}  // namespace
}  // namespace spate::registry

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate::registry;
  FuzzedDataProvider in(data, size);
  const auto level = static_cast<Compatibility>(in.ConsumeIntegralInRange<int>(0, 6));
  const std::string a = in.ConsumeRandomLengthString(size);
  const std::string b = in.ConsumeRemainingBytesAsString();
  const auto reader = ParseChecked(a);
  const auto writer = ParseChecked(b);
  if (!reader || !writer) return 0;
  const bool backward = CanRead(*reader, *writer);  // the candidate reads the old data
  const bool forward = CanRead(*writer, *reader);   // the old version reads the new data
  const bool compatible = IsCompatible(level, *reader, {writer});
  switch (level) {
    case Compatibility::kNone: FUZZ_CHECK(compatible, "NONE refused a schema"); break;
    case Compatibility::kBackward:
    case Compatibility::kBackwardTransitive:
      FUZZ_CHECK(compatible == backward, "BACKWARD disagrees with CanRead");
      break;
    case Compatibility::kForward:
    case Compatibility::kForwardTransitive:
      FUZZ_CHECK(compatible == forward, "FORWARD disagrees with CanRead");
      break;
    case Compatibility::kFull:
    case Compatibility::kFullTransitive:
      FUZZ_CHECK(compatible == (backward && forward), "FULL disagrees with CanRead");
      break;
  }
  return 0;
}
