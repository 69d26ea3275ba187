#include "core/avro_schema_limits.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include <avro.h>

namespace spate {
namespace {

// Measures a schema's depth on avro-c's tree (kMaxSchemaDepth): a node's height is one more
// than its tallest child's; a reference is followed to its named type, unless that type is on
// the path (recursion), where the reference counts 1. Heights are kept per node, so a type
// named in many places is measured once, and the walk stops below the limit, so its own
// recursion is bounded too.
class DepthMeter {
 public:
  // True when some path from the root is deeper than kMaxSchemaDepth.
  bool TooDeep(avro_schema_t root) { return Height(root, 1) < 0; }

 private:
  // The height of s, which sits at `level` (the root at 1); -1 once a path is too deep.
  int Height(avro_schema_t s, int level) {
    if (level > kMaxSchemaDepth) return -1;
    while (s != nullptr && is_avro_link(s)) {
      s = avro_schema_link_target(s);
      if (open_.count(s)) return 1;
    }
    if (s == nullptr) return 1;
    if (auto it = heights_.find(s); it != heights_.end()) {
      return level - 1 + it->second > kMaxSchemaDepth ? -1 : it->second;
    }
    open_.insert(s);
    int tallest = 0;
    auto child = [&](avro_schema_t c) {
      const int h = Height(c, level + 1);
      tallest = h < 0 ? -1 : std::max(tallest, h);
      return h >= 0;
    };
    if (is_avro_record(s)) {
      for (size_t i = 0; i < avro_schema_record_size(s); ++i) {
        if (!child(avro_schema_record_field_get_by_index(s, static_cast<int>(i)))) break;
      }
    } else if (is_avro_union(s)) {
      for (size_t i = 0; i < avro_schema_union_size(s); ++i) {
        if (!child(avro_schema_union_branch(s, static_cast<int>(i)))) break;
      }
    } else if (is_avro_array(s)) {
      child(avro_schema_array_items(s));
    } else if (is_avro_map(s)) {
      child(avro_schema_map_values(s));
    }
    open_.erase(s);
    if (tallest < 0) return -1;
    return heights_[s] = tallest + 1;
  }

  std::map<avro_schema_t, int> heights_;
  std::set<avro_schema_t> open_;  // the named types on the current path
};

// Finds a record with two fields of one name, or an enum with a symbol twice. Run after
// SchemaTooDeep, so its recursion is bounded; each named type is visited once.
class DuplicateFinder {
 public:
  std::string Find(avro_schema_t s) {
    while (s != nullptr && is_avro_link(s)) s = avro_schema_link_target(s);
    if (s == nullptr || !seen_.insert(s).second) return "";
    if (is_avro_record(s)) {
      std::set<std::string> names;
      for (size_t i = 0; i < avro_schema_record_size(s); ++i) {
        const char* f = avro_schema_record_field_name(s, static_cast<int>(i));
        if (f && !names.insert(f).second) {
          return std::string("record ") + avro_schema_name(s) + " has the field " + f + " twice";
        }
        if (auto d = Find(avro_schema_record_field_get_by_index(s, static_cast<int>(i)));
            !d.empty()) {
          return d;
        }
      }
    } else if (is_avro_enum(s)) {
      std::set<std::string> symbols;
      for (int i = 0; i < avro_schema_enum_number_of_symbols(s); ++i) {
        const char* sym = avro_schema_enum_get(s, i);
        if (sym && !symbols.insert(sym).second) {
          return std::string("enum ") + avro_schema_name(s) + " has the symbol " + sym + " twice";
        }
      }
    } else if (is_avro_union(s)) {
      for (size_t i = 0; i < avro_schema_union_size(s); ++i) {
        if (auto d = Find(avro_schema_union_branch(s, static_cast<int>(i))); !d.empty()) return d;
      }
    } else if (is_avro_array(s)) {
      return Find(avro_schema_array_items(s));
    } else if (is_avro_map(s)) {
      return Find(avro_schema_map_values(s));
    }
    return "";
  }

 private:
  std::set<avro_schema_t> seen_;
};

}  // namespace

Status CheckSchemaNamesUnique(avro_schema_t schema) {
  const std::string d = DuplicateFinder().Find(schema);
  return d.empty() ? Status::Ok() : Status::Error(d);
}

Status CheckSchemaJsonDepth(std::string_view json) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, perhaps a quote
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxSchemaJsonDepth) {
        return Status::Error("nested deeper than " + std::to_string(kMaxSchemaJsonDepth) +
                             " levels of JSON arrays and objects");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Status::Ok();
}

bool SchemaTooDeep(avro_schema_t schema) { return DepthMeter().TooDeep(schema); }

}  // namespace spate
