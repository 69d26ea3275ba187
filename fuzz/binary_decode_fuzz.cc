// The binary decoder (core/binary_codec.cc: the repartition topic's records and
// `spate gen --format binary`) on any bytes. A record that decodes must encode and decode back
// to itself.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/codec.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate;
  static auto* decoder = NewDecoder(WireFormat::kBinary).release();
  const std::string_view msg(reinterpret_cast<const char*>(data), size);
  Transaction tx;
  std::string reason;
  if (decoder->Decode(msg, msg.size(), &tx, &reason) != DecodeError::kNone) {
    FUZZ_CHECK(!reason.empty(), "a dead letter without a reason");
    return 0;
  }
  fuzz::CheckRoundTrip(TransactionData::From(tx), *decoder, EncodeBinary);
  return 0;
}
