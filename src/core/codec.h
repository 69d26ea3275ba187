#pragma once
// Wire codecs for the transaction record: JSON (the reference's format, decoded with simdjson
// under strict validation), a compact binary form, and Avro (schemas/transaction.avsc) in the
// Confluent wire format. All classify every failure with a DecodeError code (bounded, used as a
// metric label) and a human reason (for dead letters).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/transaction.h"

namespace spate {

enum class DecodeError : uint8_t {
  kNone = 0,
  kInvalidJson,
  kMissingField,
  kDuplicateField,
  kWrongType,
  kOutOfRange,
  kBadValue,
  kTrailingContent,
  kBadBinary,
  kBadAvro,         // not a Confluent frame, or not a valid datum of the Avro schema
  kUnknownSchema,   // a Confluent frame whose schema id is not the expected one (or, with a
                    // schema registry, not registered)
  kSchemaMismatch,  // a registered schema id whose schema is not dev.spate.Transaction
  // Not a verdict on the record: the schema registry could not be asked (down, timing out,
  // 5xx). The record must not become a dead letter; the caller stops or retries.
  kSchemaUnavailable,
};
inline constexpr int kDecodeErrorCount = 13;
std::string_view DecodeErrorName(DecodeError e);
// Every failure but kSchemaUnavailable judges the record itself: it goes to the dead letters
// (and its code is a metric label).
constexpr bool IsDeadLetter(DecodeError e) {
  return e != DecodeError::kNone && e != DecodeError::kSchemaUnavailable;
}

enum class WireFormat : uint8_t { kJson, kBinary, kAvro };
std::string_view WireFormatName(WireFormat f);

// The schema id an Avro frame carries when none is configured (--schema-id).
inline constexpr uint32_t kDefaultAvroSchemaId = 1;

// A wire format with its parameters: what an encoder writes and a decoder expects. Converts
// implicitly from a WireFormat (JSON and binary have no parameters).
struct WireSpec {
  WireSpec(WireFormat f = WireFormat::kJson,  // NOLINT: implicit on purpose
           uint32_t avro_schema_id = kDefaultAvroSchemaId)
      : format(f), schema_id(avro_schema_id) {}
  WireFormat format;
  uint32_t schema_id;  // kAvro: the Confluent frame's schema id, written and required
  bool operator==(const WireSpec&) const = default;
};

// Bytes that must be readable past the end of a message handed to a Decoder without a copy
// (simdjson reads ahead in 64-byte blocks). Buffers in spate reserve this much slack.
inline constexpr size_t kDecodePadding = 64;
// Upper bound of one encoded record, any format.
inline constexpr size_t kMaxEncodedSize = 320;
// What a typical record takes in format f (JSON ~280, binary ~34, Avro ~92): buffer reserves.
constexpr size_t TypicalEncodedSize(WireFormat f) {
  return f == WireFormat::kJson ? 272 : f == WireFormat::kBinary ? 40 : 104;
}

// Appends the encoding of tx to out. JSON field order is fixed; amounts have two decimals.
void EncodeJson(const Transaction& tx, std::string* out);
void EncodeBinary(const Transaction& tx, std::string* out);
// Confluent wire format: byte 0, schema_id as 4 bytes big-endian, then the Avro binary encoding
// of tx under schemas/transaction.avsc (written by hand for that schema; see avro_codec.cc).
void EncodeAvro(const Transaction& tx, uint32_t schema_id, std::string* out);
void Encode(const WireSpec& w, const Transaction& tx, std::string* out);

// The Confluent wire format's frame: magic byte 0 and a 4-byte big-endian schema id.
inline constexpr size_t kConfluentHeaderSize = 5;
// The schema id of a Confluent frame; false when `frame` is shorter than the header or its
// first byte is not the magic 0.
inline bool ReadConfluentHeader(std::string_view frame, uint32_t* schema_id) {
  if (frame.size() < kConfluentHeaderSize || frame[0] != 0) return false;
  const auto* u = reinterpret_cast<const unsigned char*>(frame.data());
  *schema_id = static_cast<uint32_t>(u[1]) << 24 | static_cast<uint32_t>(u[2]) << 16 |
               static_cast<uint32_t>(u[3]) << 8 | u[4];
  return true;
}

// A Decoder holds per-thread parser state; use one per thread. Not thread-safe.
class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decodes msg into *tx. `readable` is how many bytes starting at msg.data() may be read
  // (>= msg.size()); when it is less than msg.size() + kDecodePadding the decoder copies.
  // On failure returns the code and sets *reason; *tx is then unspecified.
  virtual DecodeError Decode(std::string_view msg, size_t readable, Transaction* tx,
                             std::string* reason) = 0;
};

// kAvro: a decoder specialised to schemas/transaction.avsc that accepts only frames carrying
// w.schema_id (another id is kUnknownSchema).
std::unique_ptr<Decoder> NewDecoder(const WireSpec& w);

}  // namespace spate
