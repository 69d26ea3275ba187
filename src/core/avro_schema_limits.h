#pragma once
// How deep an Avro schema may nest, and the checks that AvroSchema::Parse (and the registry,
// before its own walks) apply. Every walk over a schema recurses once per level: avro-c's
// parser, reader and comparisons, the AvroJson::kPlain writer, the registry's normal form and
// compatibility check. Unbounded, a schema nested 50,000 deep (100 KB of text) or a chain of
// 100,000 records each naming the one before overflows the stack. Real schemas stay far below
// both limits.

#include <string_view>

#include "core/status.h"

typedef struct avro_obj_t* avro_schema_t;  // avro.h's handle, without including avro.h

namespace spate {

// Types within types (record fields, array items, map values, union branches), references to
// named types followed; a reference to a type being defined (a recursive type) ends a path.
inline constexpr int kMaxSchemaDepth = 64;
// Arrays and objects within one another in the schema's JSON text: a nested record costs
// three levels (its object, "fields", the field), a union in a field one more.
inline constexpr int kMaxSchemaJsonDepth = 4 * kMaxSchemaDepth;

// Ok unless `json` nests arrays and objects deeper than kMaxSchemaJsonDepth. A single pass
// without recursion, so any text is safe to give it; the text need not be valid JSON.
Status CheckSchemaJsonDepth(std::string_view json);

// True when avro-c's parsed tree nests types deeper than kMaxSchemaDepth. Its own recursion
// stops at the limit; a type named in many places is measured once.
bool SchemaTooDeep(avro_schema_t schema);

// Ok unless a record has two fields of one name or an enum a symbol twice, which the Avro
// specification forbids and avro-c 1.11 accepts: a field would then resolve to the first of
// its name, and a schema could not read its own data (found by fuzz/avro_schema_fuzz.cc).
// Call it after SchemaTooDeep.
Status CheckSchemaNamesUnique(avro_schema_t schema);

}  // namespace spate
