#pragma once
// Any Avro schema, parsed by avro-c (Debian's libavro), and validation of binary-encoded
// datums against it: the generic path for schemas the hand-written transaction codec
// (avro_codec.cc) does not know, e.g. whatever a Schema Registry holds under an id.
// An AvroSchema is immutable after Parse; Validate is const and may run on several threads
// at once (each call builds its own reader and value).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/avro_schema_limits.h"
#include "core/status.h"

typedef struct avro_obj_t* avro_schema_t;  // avro.h's handle, without including avro.h

namespace spate {

// How a decoded value is written as JSON: avro-c's own form (unions as {"type": value}, bytes
// and decimals as strings), or the plain form of spate's JSON lines (union branches unwrapped,
// record fields whose value is null left out, enums as their symbols, decimals as numbers with
// their scale's digits, e.g. 1050.00), in which an Avro aggregate or anomaly reads exactly as
// its JSON line.
enum class AvroJson { kAvroC, kPlain };

class AvroSchema {
 public:
  // Parses a schema in its JSON form (an .avsc file, or a registry's "schema" string). The
  // error names avro-c's complaint, or the limit exceeded (kMaxSchemaDepth, ...JsonDepth).
  static Result<std::shared_ptr<const AvroSchema>> Parse(std::string_view json);
  ~AvroSchema();
  AvroSchema(const AvroSchema&) = delete;
  AvroSchema& operator=(const AvroSchema&) = delete;

  // Decodes `datum` (Avro binary encoding, no Confluent frame) as one value of this schema.
  // Ok when it is exactly one valid value with no bytes left over; otherwise the reason
  // ("truncated or invalid: ...", "N trailing byte(s)"). With json != nullptr, a valid
  // value's JSON form as avro-c writes it (unions as {"type": value}, bytes as strings).
  Status Validate(std::string_view datum, std::string* json = nullptr,
                  AvroJson form = AvroJson::kAvroC) const;

  // The full name of a named schema (record, enum, fixed), else its type ("long", ...).
  const std::string& name() const { return name_; }
  // Canonical JSON as avro-c writes it back.
  const std::string& json() const { return json_; }
  // avro-c's schema tree (names and references resolved); owned by this object.
  avro_schema_t handle() const;

  // True when a datum written with this schema is read field for field the same way with
  // `other`: the same names, fields in the same order, types, enum symbols and fixed sizes
  // (avro-c's avro_schema_equal) and the same logical types (avro-c ignores them; compared
  // from the JSON). Docs, defaults and aliases do not matter.
  bool SameEncoding(const AvroSchema& other) const;

 private:
  struct Handles;
  explicit AvroSchema(std::unique_ptr<Handles> h);
  Status Read(std::string_view datum, std::string* json, AvroJson form) const;  // Validate's work
  std::unique_ptr<Handles> h_;
  std::string name_, json_;
  // Every logicalType annotation of the text in document order: "decimal/18/2", "uuid", ...
  std::vector<std::string> logical_types_;
};

// The schemas of schemas/*.avsc as compiled in (the text of the files).
std::string_view TransactionAvsc();    // dev.spate.Transaction, version 2: what spate writes
std::string_view TransactionV1Avsc();  // its first version, which the Avro codec still reads
std::string_view AggregateAvsc();      // dev.spate.WindowAggregate
std::string_view AnomalyAvsc();        // dev.spate.Anomaly

// Validate after stripping the Confluent frame (magic byte 0, 4-byte big-endian schema id);
// *schema_id receives the id. Fails on a missing or wrong frame.
Status ValidateConfluent(const AvroSchema& schema, std::string_view message, uint32_t* schema_id,
                         std::string* json = nullptr, AvroJson form = AvroJson::kAvroC);

}  // namespace spate
