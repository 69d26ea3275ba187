#pragma once
// Shared by the schema tests (core's and the registry's): schemas as deep as a test needs, to
// check the depth limits of avro_schema.h (kMaxSchemaDepth, kMaxSchemaJsonDepth).

#include <string>

namespace spate::test {

// Arrays of arrays of ... of int: `levels` types in all, about two JSON levels each.
inline std::string NestedArrays(int levels) {
  std::string s = R"("int")";
  for (int i = 1; i < levels; ++i) s = R"({"type":"array","items":)" + s + "}";
  return s;
}

// A record whose fields define records R0 ... R(n-1), each Ri holding an R(i-1) by name, and
// a last field "deep" of type R(n-1): four JSON levels, n + 2 types deep once the names are
// followed. `prefix` names the defining fields ("f": f0, f1, ...); with defaults, each has
// one, so that a reader with other prefixes still reads a writer's data.
inline std::string ReferenceChain(int n, const std::string& prefix = "f", bool defaults = false) {
  std::string fields, value = "0";
  for (int i = 0; i < n; ++i) {
    const std::string type = i == 0 ? "int" : "R" + std::to_string(i - 1);
    value = R"({"x":)" + value + "}";  // a value of Ri
    fields += R"({"name":")" + prefix + std::to_string(i) + R"(","type":{"type":"record",)" +
              R"("name":"R)" + std::to_string(i) + R"(","fields":[{"name":"x","type":")" + type +
              R"("}]})" + (defaults ? R"(,"default":)" + value : "") + "},";
  }
  fields += R"({"name":"deep","type":"R)" + std::to_string(n - 1) + R"("})";
  return R"({"type":"record","name":"Top","fields":[)" + fields + "]}";
}

}  // namespace spate::test
