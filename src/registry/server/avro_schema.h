#pragma once
// Avro schemas as the schema registry sees them: validation (avro-c parses every schema),
// a normal form that makes whitespace and key spelling differences irrelevant, and the Avro
// specification's schema resolution rules, which decide compatibility.
//
// Parsing and validation are core/avro_schema.h's (one avro-c wrapper for the project); this
// class adds what the registry needs on top: the normal form and the field details.
//
// Why not avro-c's resolver: avro_resolved_writer_new(writer, reader) fails whenever the reader
// has a field the writer lacks, default or not ("TODO: Handle default values!" in
// resolved-writer.c; avro-c's schema tree does not keep field defaults at all), so adding a
// field with a default, the most common backward-compatible change, would be refused. It also
// refuses string -> bytes, and is too lenient elsewhere: it does not compare enum symbols and
// accepts a writer union when any one branch resolves (the others fail only when such data is
// read). So the type tree comes from avro-c (names, namespaces and references resolved), the
// defaults and aliases from the JSON, and CanRead() applies the specification's rules to both
// (avro_schema_test.cc shows avro-c's verdict beside ours on the classic cases).

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/avro_schema.h"
#include "core/status.h"

namespace spate::registry {

class AvroSchema {
 public:
  // Parses and validates schema text (JSON). The error names what avro-c refused.
  static Result<std::shared_ptr<const AvroSchema>> Parse(std::string_view text);
  ~AvroSchema();
  AvroSchema(const AvroSchema&) = delete;
  AvroSchema& operator=(const AvroSchema&) = delete;

  // Compact JSON with the keys in their original order and {"type":"int"} written as "int":
  // two texts with the same normal form are the same schema to the registry (same id).
  const std::string& normalized() const { return normalized_; }
  avro_schema_t handle() const { return parsed_->handle(); }
  // The generic schema (validation of datums, SameEncoding).
  const spate::AvroSchema& parsed() const { return *parsed_; }

  struct FieldInfo {
    bool has_default = false;
    std::vector<std::string> aliases;
  };
  // What avro-c does not keep, by the avro-c node it belongs to.
  const std::vector<FieldInfo>* fields(avro_schema_t record) const;
  bool enum_has_default(avro_schema_t e) const;

 private:
  AvroSchema() = default;
  friend struct Collector;
  std::shared_ptr<const spate::AvroSchema> parsed_;
  std::string normalized_;
  std::map<avro_schema_t, std::vector<FieldInfo>> fields_;
  std::map<avro_schema_t, bool> enum_defaults_;
};

// True when data written with `writer` can be read with `reader` (Avro spec, "Schema
// Resolution"). On false, *why says where resolution fails (may be null).
bool CanRead(const AvroSchema& reader, const AvroSchema& writer, std::string* why = nullptr);

enum class Compatibility {
  kNone,
  kBackward,
  kBackwardTransitive,
  kForward,
  kForwardTransitive,
  kFull,
  kFullTransitive,
};
// "BACKWARD" etc.; false for anything else.
bool ParseCompatibility(std::string_view name, Compatibility* out);
std::string_view CompatibilityName(Compatibility c);

// Checks `candidate` against the existing versions of a subject, oldest first (soft-deleted
// versions left out by the caller). BACKWARD: the candidate reads data written with the latest
// version; FORWARD: the latest reads data written with the candidate; FULL: both; the
// *_TRANSITIVE levels check every version instead of the latest; NONE: always compatible.
// A null version is a schema of another type (registry.h's opaque schemas): incompatible.
bool IsCompatible(Compatibility level, const AvroSchema& candidate,
                  const std::vector<std::shared_ptr<const AvroSchema>>& existing,
                  std::string* why = nullptr);

}  // namespace spate::registry
