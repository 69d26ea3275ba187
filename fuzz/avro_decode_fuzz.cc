// The Avro decoder (core/avro_codec.cc: Confluent frames of schemas/transaction.avsc, and of
// its first version) on any bytes. The first byte picks the version the decoder reads; the
// rest is the frame. A record that decodes must encode (always the current version) and decode
// back to itself, and its encoding must be a valid datum of the schema for avro-c too.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/avro_schema.h"
#include "core/codec.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate;
  if (size < 1) return 0;
  static auto* v1 =
      NewAvroDecoder(kDefaultAvroSchemaId, AvroVersion::kV1, RecordFormat()).release();
  static auto* v2 =
      NewAvroDecoder(kDefaultAvroSchemaId, AvroVersion::kV2, RecordFormat()).release();
  static const auto schema = AvroSchema::Parse(TransactionAvsc()).value();
  Decoder& decoder = (data[0] & 1) ? *v2 : *v1;
  const std::string_view msg(reinterpret_cast<const char*>(data + 1), size - 1);
  Transaction tx;
  std::string reason;
  if (decoder.Decode(msg, msg.size(), &tx, &reason) != DecodeError::kNone) {
    FUZZ_CHECK(!reason.empty(), "a dead letter without a reason");
    return 0;
  }
  const TransactionData owned = TransactionData::From(tx);
  fuzz::CheckRoundTrip(owned, *v2, [](const Transaction& t, std::string* out) {
    EncodeAvro(t, kDefaultAvroSchemaId, out);
  });
  std::string frame;
  EncodeAvro(owned.View(), kDefaultAvroSchemaId, &frame);
  uint32_t id = 0;
  const Status valid = ValidateConfluent(*schema, frame, &id);
  FUZZ_CHECK(valid.ok(), "avro-c refuses what EncodeAvro wrote: " + valid.message());
  return 0;
}
