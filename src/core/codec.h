#pragma once
// Wire codecs for the transaction record: JSON (the reference's format, decoded with simdjson
// under strict validation, with the stream's own field names and time format), a compact
// binary form, and Avro (schemas/transaction.avsc) in the Confluent wire format. All classify
// every failure with a DecodeError code (bounded, used as a metric label) and a human reason
// (for dead letters).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/event_time.h"
#include "core/status.h"
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

// How a stream's JSON records name and write their fields: the name of each role
// (--field ROLE=NAME; the reference's names by default), the form of transactionTime
// (--time-format), and the longest id or free-form string (--max-id-bytes).
struct RecordFormat {
  RecordFormat();
  TimeFormat time = TimeFormat::kEpochMs;
  size_t max_id_bytes = kDefaultMaxIdBytes;

  const std::string& name(Role r) const { return names_[static_cast<size_t>(r)]; }
  // "ROLE=NAME" (ROLE one of the ten role names); an error names what is wrong.
  Status SetField(std::string_view role_eq_name);
  // Whether a name differs from the reference's (kept by SetField: the encoder asks per record).
  bool renamed() const { return renamed_; }
  // The reference's names and epoch milliseconds: what EncodeJson writes by default.
  bool canonical() const { return !renamed() && time == TimeFormat::kEpochMs; }
  bool operator==(const RecordFormat&) const = default;

 private:
  std::array<std::string, kRoleCount> names_;
  bool renamed_ = false;
};

// A wire format with its parameters: what an encoder writes and a decoder expects. Converts
// implicitly from a WireFormat.
struct WireSpec {
  WireSpec(WireFormat f = WireFormat::kJson,  // NOLINT: implicit on purpose
           uint32_t avro_schema_id = kDefaultAvroSchemaId)
      : format(f), schema_id(avro_schema_id) {}
  WireFormat format;
  uint32_t schema_id;  // kAvro: the Confluent frame's schema id, written and required
  // kJson: the records' field names and time format. The id limit holds for every format.
  RecordFormat record;
  bool operator==(const WireSpec&) const = default;
};

// Bytes that must be readable past the end of a message handed to a Decoder without a copy
// (simdjson reads ahead in 64-byte blocks). Buffers in spate reserve this much slack.
inline constexpr size_t kDecodePadding = 64;
// What a typical record takes in format f (JSON ~280, binary ~100, Avro ~100): buffer reserves.
constexpr size_t TypicalEncodedSize(WireFormat f) {
  return f == WireFormat::kJson ? 272 : f == WireFormat::kBinary ? 104 : 104;
}

// Appends the encoding of tx to out. JSON: the reference's field names in a fixed order, every
// string escaped as JSON needs, the amount with its currency's decimals, the time in the given
// form.
void EncodeJson(const Transaction& tx, std::string* out, TimeFormat time = TimeFormat::kEpochMs);
// The same under the stream's field names (--field) and time format.
void EncodeJson(const Transaction& tx, std::string* out, const RecordFormat& f);
void EncodeBinary(const Transaction& tx, std::string* out);
// Confluent wire format: byte 0, schema_id as 4 bytes big-endian, then the Avro binary encoding
// of tx under schemas/transaction.avsc (written by hand for that schema; see avro_codec.cc).
void EncodeAvro(const Transaction& tx, uint32_t schema_id, std::string* out);
void Encode(const WireSpec& w, const Transaction& tx, std::string* out);

// Appends s as a JSON string literal (with quotes), escaping as RFC 8259 requires.
void AppendJsonString(std::string_view s, std::string* out);

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
  // The strings of *tx point into msg, or into the decoder (a string that had escapes): valid
  // until the next Decode. On failure returns the code and sets *reason; *tx is then
  // unspecified.
  virtual DecodeError Decode(std::string_view msg, size_t readable, Transaction* tx,
                             std::string* reason) = 0;
};

// The versions of schemas/transaction.avsc the Avro codec reads: the current one (2), and the
// first (schemas/transaction-v1.avsc: enums and a two-decimal amount).
enum class AvroVersion : uint8_t { kV1, kV2 };
std::unique_ptr<Decoder> NewAvroDecoder(uint32_t schema_id, AvroVersion version,
                                        const RecordFormat& f);

// kAvro: a decoder specialised to schemas/transaction.avsc that accepts only frames carrying
// w.schema_id (another id is kUnknownSchema). Its frames may be of the schema's first version
// too (schemas/transaction-v1.avsc), which the registry decoder tells apart by id.
std::unique_ptr<Decoder> NewDecoder(const WireSpec& w);

}  // namespace spate
