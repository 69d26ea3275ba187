#include "registry/server/avro_schema.h"

#include <set>
#include <utility>

#include <avro.h>
#include <nlohmann/json.hpp>

namespace spate::registry {

using Json = nlohmann::ordered_json;

namespace {

bool IsPrimitiveName(const std::string& s) {
  return s == "null" || s == "boolean" || s == "int" || s == "long" || s == "float" ||
         s == "double" || s == "bytes" || s == "string";
}

// The normal form: schema positions ("type", "items", "values", field types, union branches)
// are rewritten, {"type":"int"} becomes "int"; every other attribute (defaults, docs, logical
// types) is kept as written, in its order.
Json Normalize(const Json& j) {
  if (j.is_array()) {
    Json out = Json::array();
    for (const auto& b : j) out.push_back(Normalize(b));
    return out;
  }
  if (!j.is_object()) return j;
  auto t = j.find("type");
  if (j.size() == 1 && t != j.end() && t->is_string() && IsPrimitiveName(t->get<std::string>())) {
    return *t;
  }
  // {"type": {...}} alone is the inner schema: {"type": {"type": "int"}} is "int" (found by
  // fuzz/avro_schema_fuzz.cc, whose normal form did not parse to itself).
  if (j.size() == 1 && t != j.end() && t->is_object()) return Normalize(*t);
  Json out = Json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == "type" || k == "items" || k == "values") {
      out[k] = Normalize(it.value());
    } else if (k == "fields" && it.value().is_array()) {
      Json fields = Json::array();
      for (const auto& f : it.value()) {
        Json nf = f;
        if (nf.is_object() && nf.contains("type")) nf["type"] = Normalize(nf["type"]);
        fields.push_back(std::move(nf));
      }
      out[k] = std::move(fields);
    } else {
      out[k] = it.value();
    }
  }
  return out;
}

avro_schema_t Deref(avro_schema_t s) {
  while (s != nullptr && is_avro_link(s)) s = avro_schema_link_target(s);
  return s;
}

}  // namespace

// Walks the JSON and avro-c's tree side by side and records what avro-c drops: whether each
// record field has a default, its aliases, and whether an enum has a default symbol. A named
// type is defined once in the JSON; later references are strings (links in avro-c), skipped.
struct Collector {
  AvroSchema* out;

  void Walk(const Json& j, avro_schema_t s) {
    if (s == nullptr || is_avro_link(s) || j.is_string()) return;
    if (j.is_array()) {
      if (!is_avro_union(s)) return;
      const size_t n = std::min(j.size(), avro_schema_union_size(s));
      for (size_t i = 0; i < n; ++i) Walk(j[i], avro_schema_union_branch(s, static_cast<int>(i)));
      return;
    }
    if (!j.is_object()) return;
    auto t = j.find("type");
    if (t == j.end()) return;
    if (!t->is_string()) return Walk(*t, s);
    if (is_avro_record(s)) {
      auto fields = j.find("fields");
      if (fields == j.end() || !fields->is_array()) return;
      const size_t n = std::min(fields->size(), avro_schema_record_size(s));
      std::vector<AvroSchema::FieldInfo> info(n);
      for (size_t i = 0; i < n; ++i) {
        const Json& f = (*fields)[i];
        info[i].has_default = f.contains("default");
        auto aliases = f.find("aliases");
        if (aliases != f.end() && aliases->is_array()) {
          for (const auto& a : *aliases) {
            if (a.is_string()) info[i].aliases.push_back(a.get<std::string>());
          }
        }
        if (f.contains("type")) {
          Walk(f["type"], avro_schema_record_field_get_by_index(s, static_cast<int>(i)));
        }
      }
      out->fields_[s] = std::move(info);
    } else if (is_avro_enum(s)) {
      out->enum_defaults_[s] = j.contains("default");
    } else if (is_avro_array(s) && j.contains("items")) {
      Walk(j["items"], avro_schema_array_items(s));
    } else if (is_avro_map(s) && j.contains("values")) {
      Walk(j["values"], avro_schema_map_values(s));
    }
  }
};

Result<std::shared_ptr<const AvroSchema>> AvroSchema::Parse(std::string_view text) {
  // Before Normalize and Collector, which recurse once per level of the JSON.
  if (Status depth = CheckSchemaJsonDepth(text); !depth.ok()) {
    return Status::Error("Invalid schema: " + depth.message());
  }
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::exception& e) {
    return Status::Error(std::string("Invalid schema: not JSON: ") + e.what());
  }
  Json norm = Normalize(doc);
  std::shared_ptr<AvroSchema> s(new AvroSchema());
  s->normalized_ = norm.dump();
  // avro-c parses objects and arrays; a bare primitive name is given to it as {"type": name}.
  std::string for_avro = norm.is_string() ? Json{{"type", norm}}.dump() : s->normalized_;
  auto parsed = spate::AvroSchema::Parse(for_avro);
  if (!parsed.ok()) {
    // "invalid Avro schema: <avro-c's complaint>" -> Confluent's "Invalid schema: ..."
    std::string_view why = parsed.status().message();
    if (const size_t colon = why.find(": "); colon != std::string_view::npos) {
      why.remove_prefix(colon + 2);
    }
    return Status::Error("Invalid schema: " + std::string(why));
  }
  s->parsed_ = parsed.value();
  Collector{s.get()}.Walk(norm, s->handle());
  return std::shared_ptr<const AvroSchema>(std::move(s));
}

AvroSchema::~AvroSchema() = default;

const std::vector<AvroSchema::FieldInfo>* AvroSchema::fields(avro_schema_t record) const {
  auto it = fields_.find(record);
  return it == fields_.end() ? nullptr : &it->second;
}

bool AvroSchema::enum_has_default(avro_schema_t e) const {
  auto it = enum_defaults_.find(e);
  return it != enum_defaults_.end() && it->second;
}

namespace {

// How deep Resolver may recurse. Each step goes down the writer, the reader or both, and
// Parse refused schemas deeper than kMaxSchemaDepth, so only recursive types, whose pairs
// repeat only after a while, could come near it: refused rather than followed off the stack.
constexpr int kMaxResolveDepth = 2 * kMaxSchemaDepth;

// The specification's resolution rules between a writer and a reader schema, recursively.
// Recursive types: a pair under examination is assumed to resolve (the other paths decide);
// a failed trial of a reader union branch restores that set, so no assumption outlives it.
class Resolver {
 public:
  Resolver(const AvroSchema& reader, std::string* why) : reader_(reader), why_(why) {}

  bool Check(avro_schema_t w, avro_schema_t r, const std::string& path) {
    w = Deref(w);
    r = Deref(r);
    if (assumed_.count({w, r})) return true;
    if (depth_ >= kMaxResolveDepth) {
      return Fail(path, "the schemas nest deeper than " + std::to_string(kMaxResolveDepth) +
                            " levels when resolved against each other; not checked");
    }
    assumed_.insert({w, r});
    ++depth_;
    const bool ok = CheckNew(w, r, path);
    --depth_;
    return ok;
  }

 private:
  bool Fail(const std::string& path, const std::string& what) {
    if (why_ != nullptr && why_->empty()) *why_ = (path.empty() ? "" : path + ": ") + what;
    return false;
  }

  static std::string TypeName(avro_schema_t s) {
    const char* n = is_avro_named_type(s) ? avro_schema_name(s) : avro_schema_type_name(s);
    return n ? n : "?";
  }

  static bool SameName(avro_schema_t w, avro_schema_t r) {
    return std::string_view(avro_schema_name(w)) == std::string_view(avro_schema_name(r));
  }

  bool CheckNew(avro_schema_t w, avro_schema_t r, const std::string& path) {
    // A writer union resolves when every branch it may have written resolves.
    if (is_avro_union(w)) {
      for (size_t i = 0; i < avro_schema_union_size(w); ++i) {
        if (!Check(avro_schema_union_branch(w, static_cast<int>(i)), r, path)) return false;
      }
      return true;
    }
    // A reader union resolves when one of its branches reads the writer's type.
    if (is_avro_union(r)) {
      for (size_t i = 0; i < avro_schema_union_size(r); ++i) {
        auto saved = assumed_;
        std::string* why = std::exchange(why_, nullptr);
        bool ok = Check(w, avro_schema_union_branch(r, static_cast<int>(i)), path);
        why_ = why;
        if (ok) return true;
        assumed_ = std::move(saved);
      }
      return Fail(path, "no branch of the reader's union reads the writer's " + TypeName(w));
    }
    const avro_type_t rt = avro_typeof(r);
    auto mismatch = [&] {
      return Fail(path, "reader's " + TypeName(r) + " cannot read the writer's " + TypeName(w));
    };
    switch (avro_typeof(w)) {
      case AVRO_NULL:
      case AVRO_BOOLEAN:
      case AVRO_DOUBLE: return rt == avro_typeof(w) ? true : mismatch();
      case AVRO_INT32:  // promotions: int -> long, float, double
        return rt == AVRO_INT32 || rt == AVRO_INT64 || rt == AVRO_FLOAT || rt == AVRO_DOUBLE
                   ? true
                   : mismatch();
      case AVRO_INT64:  // long -> float, double
        return rt == AVRO_INT64 || rt == AVRO_FLOAT || rt == AVRO_DOUBLE ? true : mismatch();
      case AVRO_FLOAT:  // float -> double
        return rt == AVRO_FLOAT || rt == AVRO_DOUBLE ? true : mismatch();
      case AVRO_STRING:  // string <-> bytes
      case AVRO_BYTES: return rt == AVRO_STRING || rt == AVRO_BYTES ? true : mismatch();
      case AVRO_ARRAY:
        if (rt != AVRO_ARRAY) return mismatch();
        return Check(avro_schema_array_items(w), avro_schema_array_items(r), path + "[]");
      case AVRO_MAP:
        if (rt != AVRO_MAP) return mismatch();
        return Check(avro_schema_map_values(w), avro_schema_map_values(r), path + "{}");
      case AVRO_FIXED:
        if (rt != AVRO_FIXED || !SameName(w, r)) return mismatch();
        if (avro_schema_fixed_size(w) != avro_schema_fixed_size(r)) {
          return Fail(path, "fixed " + TypeName(r) + " changed its size");
        }
        return true;
      case AVRO_ENUM:
        if (rt != AVRO_ENUM || !SameName(w, r)) return mismatch();
        return CheckEnum(w, r, path);
      case AVRO_RECORD:
        if (rt != AVRO_RECORD || !SameName(w, r)) return mismatch();
        return CheckRecord(w, r, path);
      case AVRO_UNION:
      case AVRO_LINK: break;  // unions handled above, links dereferenced by Check()
    }
    return mismatch();
  }

  // Every symbol the writer may write must exist in the reader, unless the reader's enum has a
  // default symbol (Avro 1.9+) to read unknown ones as.
  bool CheckEnum(avro_schema_t w, avro_schema_t r, const std::string& path) {
    if (reader_.enum_has_default(r)) return true;
    for (int i = 0; i < avro_schema_enum_number_of_symbols(w); ++i) {
      const char* sym = avro_schema_enum_get(w, i);
      if (avro_schema_enum_get_by_name(r, sym) < 0) {
        return Fail(path, "the reader's enum " + TypeName(r) + " lacks the symbol " + sym);
      }
    }
    return true;
  }

  // Fields match by name (or a reader field's alias); a reader field the writer lacks needs a
  // default; writer fields the reader lacks are skipped.
  bool CheckRecord(avro_schema_t w, avro_schema_t r, const std::string& path) {
    const auto* info = reader_.fields(r);
    for (size_t i = 0; i < avro_schema_record_size(r); ++i) {
      const int ri = static_cast<int>(i);
      const std::string name = avro_schema_record_field_name(r, ri);
      const AvroSchema::FieldInfo* fi = info && i < info->size() ? &(*info)[i] : nullptr;
      int wi = avro_schema_record_field_get_index(w, name.c_str());
      for (size_t a = 0; wi < 0 && fi && a < fi->aliases.size(); ++a) {
        wi = avro_schema_record_field_get_index(w, fi->aliases[a].c_str());
      }
      const std::string sub = path.empty() ? name : path + "." + name;
      if (wi < 0) {
        if (fi && fi->has_default) continue;
        return Fail(sub, "the reader's field has no default and the writer does not write it");
      }
      if (!Check(avro_schema_record_field_get_by_index(w, wi),
                 avro_schema_record_field_get_by_index(r, ri), sub)) {
        return false;
      }
    }
    return true;
  }

  const AvroSchema& reader_;
  std::string* why_;
  std::set<std::pair<avro_schema_t, avro_schema_t>> assumed_;
  int depth_ = 0;  // Check calls on the stack
};

}  // namespace

bool CanRead(const AvroSchema& reader, const AvroSchema& writer, std::string* why) {
  return Resolver(reader, why).Check(writer.handle(), reader.handle(), "");
}

namespace {
constexpr std::pair<Compatibility, std::string_view> kLevels[] = {
    {Compatibility::kNone, "NONE"},
    {Compatibility::kBackward, "BACKWARD"},
    {Compatibility::kBackwardTransitive, "BACKWARD_TRANSITIVE"},
    {Compatibility::kForward, "FORWARD"},
    {Compatibility::kForwardTransitive, "FORWARD_TRANSITIVE"},
    {Compatibility::kFull, "FULL"},
    {Compatibility::kFullTransitive, "FULL_TRANSITIVE"},
};
}  // namespace

bool ParseCompatibility(std::string_view name, Compatibility* out) {
  for (const auto& [level, n] : kLevels) {
    if (n == name) {
      *out = level;
      return true;
    }
  }
  return false;
}

std::string_view CompatibilityName(Compatibility c) {
  for (const auto& [level, n] : kLevels) {
    if (level == c) return n;
  }
  return "NONE";
}

bool IsCompatible(Compatibility level, const AvroSchema& candidate,
                  const std::vector<std::shared_ptr<const AvroSchema>>& existing,
                  std::string* why) {
  bool backward = false, forward = false, transitive = false;
  switch (level) {
    case Compatibility::kNone: return true;
    case Compatibility::kBackward: backward = true; break;
    case Compatibility::kBackwardTransitive: backward = transitive = true; break;
    case Compatibility::kForward: forward = true; break;
    case Compatibility::kForwardTransitive: forward = transitive = true; break;
    case Compatibility::kFull: backward = forward = true; break;
    case Compatibility::kFullTransitive: backward = forward = transitive = true; break;
  }
  const size_t first = transitive || existing.empty() ? 0 : existing.size() - 1;
  for (size_t i = existing.size(); i-- > first;) {  // newest first: the likeliest conflict
    if (!existing[i]) {
      if (why) {
        *why =
            "an earlier version is not a schema this registry can check (another schemaType, "
            "or Avro with references): schemas of different types are incompatible";
      }
      return false;
    }
    const AvroSchema& old = *existing[i];
    std::string reason;
    if (backward && !CanRead(candidate, old, &reason)) {
      if (why) *why = "the new schema cannot read data written with an earlier one: " + reason;
      return false;
    }
    if (forward && !CanRead(old, candidate, &reason)) {
      if (why) *why = "an earlier schema cannot read data written with the new one: " + reason;
      return false;
    }
  }
  return true;
}

}  // namespace spate::registry
