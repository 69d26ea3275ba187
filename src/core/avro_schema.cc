#include "core/avro_schema.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <type_traits>
#include <unordered_set>

#include <avro.h>
#include <nlohmann/json.hpp>

#include "core/codec.h"

namespace spate {
namespace {

// avro-c allocates a string's or an array's claimed size before it reads the bytes, so a
// hostile length (2^60) would reach malloc. Every allocation above this size fails instead,
// which avro-c reports as an error: Kafka messages are far smaller.
constexpr size_t kMaxAllocation = size_t{64} << 20;

// avro-c 1.11 leaks on some failures: a read whose string runs out after its buffer was
// allocated, a partly grown array; a schema that fails to parse after some of its named types
// were built (a union of two fixed types of one name). ASan's leak checker shows them. While a
// Validate or Parse call runs on this thread, the allocator records every block born in it
// (FailureLeaks); after a failure, and the release of what the call itself held, what is still
// recorded is such a leak and freed.
thread_local std::unordered_set<void*>* t_born = nullptr;

void* BoundedAllocator(void* /*user_data*/, void* ptr, size_t /*osize*/, size_t nsize) {
  const bool tracked = t_born && ptr && t_born->erase(ptr) > 0;
  if (nsize == 0) {
    std::free(ptr);
    return nullptr;
  }
  if (nsize > kMaxAllocation) {
    if (tracked) t_born->insert(ptr);  // realloc failed: the block is unchanged
    return nullptr;
  }
  void* q = std::realloc(ptr, nsize);
  if (t_born && (ptr == nullptr || tracked)) t_born->insert(q ? q : ptr);
  return q;
}

// Records the blocks avro-c allocates on this thread while it lives; Free() releases those
// still alive (call it only after a failure, once everything the call held is released).
class FailureLeaks {
 public:
  FailureLeaks() { t_born = &born_; }
  ~FailureLeaks() { t_born = nullptr; }
  FailureLeaks(const FailureLeaks&) = delete;
  FailureLeaks& operator=(const FailureLeaks&) = delete;
  void Free() {
    t_born = nullptr;
    for (void* p : born_) std::free(p);
    born_.clear();
  }

 private:
  std::unordered_set<void*> born_;
};

void InstallAllocator() {
  static std::once_flag once;
  std::call_once(once, [] { avro_set_allocator(BoundedAllocator, nullptr); });
}

std::string LastError() {
  const char* e = avro_strerror();
  std::string s = e && *e ? e : "unknown avro-c error";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct ReaderDeleter {
  void operator()(avro_reader_t r) const { avro_reader_free(r); }
};
using ReaderPtr = std::unique_ptr<std::remove_pointer_t<avro_reader_t>, ReaderDeleter>;

// A generic value of the schema's class; decref'd on scope exit.
class Value {
 public:
  explicit Value(avro_value_iface_t* iface) { ok_ = avro_generic_value_new(iface, &v_) == 0; }
  ~Value() {
    if (ok_) avro_value_decref(&v_);
  }
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  bool ok() const { return ok_; }
  avro_value_t* get() { return &v_; }

 private:
  avro_value_t v_{};
  bool ok_ = false;
};

// Collects the logical type annotations of a schema's JSON, depth first in document order.
void CollectLogicalTypes(const nlohmann::json& j, std::vector<std::string>* out) {
  if (j.is_array()) {
    for (const auto& b : j) CollectLogicalTypes(b, out);
    return;
  }
  if (!j.is_object()) return;
  if (auto lt = j.find("logicalType"); lt != j.end()) {
    std::string a = lt->dump();
    for (const char* k : {"precision", "scale", "size"}) {
      if (auto v = j.find(k); v != j.end()) a += "/" + v->dump();
    }
    out->push_back(std::move(a));
  }
  for (const char* k : {"type", "fields", "items", "values"}) {
    if (auto v = j.find(k); v != j.end()) CollectLogicalTypes(*v, out);
  }
}

// The named types (records, enums, fixed) of a schema's JSON by full and by short name, so a
// reference by name finds its definition.
void CollectNamed(const nlohmann::json& j, const std::string& ns,
                  std::map<std::string, const nlohmann::json*>* out) {
  if (j.is_array()) {
    for (const auto& b : j) CollectNamed(b, ns, out);
    return;
  }
  if (!j.is_object()) return;
  std::string inner = ns;
  if (auto n = j.find("name");
      n != j.end() && n->is_string() && j.contains("type") && j["type"].is_string()) {
    const std::string t = j["type"];
    if (t == "record" || t == "enum" || t == "fixed" || t == "error") {
      std::string name = *n;
      if (auto x = j.find("namespace"); x != j.end() && x->is_string()) inner = *x;
      if (name.find('.') != std::string::npos) {
        inner = name.substr(0, name.rfind('.'));
        name = name.substr(name.rfind('.') + 1);
      }
      (*out)[inner.empty() ? name : inner + "." + name] = &j;
      out->emplace(name, &j);
    }
  }
  for (const char* k : {"type", "fields", "items", "values"}) {
    if (auto v = j.find(k); v != j.end()) CollectNamed(*v, inner, out);
  }
}

// Decimals of up to 16 bytes (precision 38); __extension__: GCC's 128-bit integers.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// Writes avro-c's generic value in AvroJson::kPlain form, walking the schema's JSON beside it
// for what avro-c does not keep (logical types). Hand-written: avro-c's own JSON writer knows
// neither decimals nor a form without union wrappers, and no Debian library does this.
class PlainJsonWriter {
 public:
  explicit PlainJsonWriter(const std::map<std::string, const nlohmann::json*>& named)
      : named_(named) {}

  bool Write(avro_value_t* v, const nlohmann::json& schema, std::string* out) {
    const nlohmann::json& s = Resolve(schema);
    if (s.is_array()) {  // a union: the branch's value as it is
      int d = 0;
      avro_value_t branch;
      if (avro_value_get_discriminant(v, &d) != 0 || d < 0 || static_cast<size_t>(d) >= s.size() ||
          avro_value_get_current_branch(v, &branch) != 0) {
        return false;
      }
      return Write(&branch, s[static_cast<size_t>(d)], out);
    }
    if (s.is_object() && s.contains("type") && !s["type"].is_string())
      return Write(v, s["type"], out);
    switch (avro_value_get_type(v)) {
      case AVRO_NULL: *out += "null"; return true;
      case AVRO_BOOLEAN: {
        int b = 0;
        avro_value_get_boolean(v, &b);
        *out += b ? "true" : "false";
        return true;
      }
      case AVRO_INT32: {
        int32_t x = 0;
        avro_value_get_int(v, &x);
        *out += std::to_string(x);
        return true;
      }
      case AVRO_INT64: {
        int64_t x = 0;
        avro_value_get_long(v, &x);
        *out += std::to_string(x);
        return true;
      }
      case AVRO_FLOAT:
      case AVRO_DOUBLE: {
        double x = 0;
        if (avro_value_get_type(v) == AVRO_FLOAT) {
          float f = 0;
          avro_value_get_float(v, &f);
          x = f;
        } else {
          avro_value_get_double(v, &x);
        }
        *out += std::isfinite(x) ? nlohmann::json(x).dump() : "null";
        return true;
      }
      case AVRO_STRING: {
        const char* p = nullptr;
        size_t n = 0;  // with the terminating NUL
        avro_value_get_string(v, &p, &n);
        String(std::string_view(p, n ? n - 1 : 0), out);
        return true;
      }
      case AVRO_BYTES:
      case AVRO_FIXED: {
        const void* p = nullptr;
        size_t n = 0;
        if (avro_value_get_type(v) == AVRO_BYTES) {
          avro_value_get_bytes(v, &p, &n);
        } else {
          avro_value_get_fixed(v, &p, &n);
        }
        std::string_view b(static_cast<const char*>(p), n);
        if (s.is_object() && s.value("logicalType", "") == "decimal") {
          return Decimal(b, s.value("scale", 0), out);
        }
        String(b, out);
        return true;
      }
      case AVRO_ENUM: {
        int i = 0;
        avro_value_get_enum(v, &i);
        if (!s.is_object() || !s.contains("symbols") || i < 0 ||
            static_cast<size_t>(i) >= s["symbols"].size()) {
          return false;
        }
        String(s["symbols"][static_cast<size_t>(i)].get<std::string>(), out);
        return true;
      }
      case AVRO_ARRAY:
      case AVRO_MAP: {
        const bool map = avro_value_get_type(v) == AVRO_MAP;
        if (!s.is_object() || !s.contains(map ? "values" : "items")) return false;
        const nlohmann::json& inner = s[map ? "values" : "items"];
        size_t n = 0;
        avro_value_get_size(v, &n);
        *out += map ? '{' : '[';
        for (size_t i = 0; i < n; ++i) {
          avro_value_t e;
          const char* key = nullptr;
          if (avro_value_get_by_index(v, i, &e, &key) != 0) return false;
          if (i) *out += ',';
          if (map) {
            String(key ? key : "", out);
            *out += ':';
          }
          if (!Write(&e, inner, out)) return false;
        }
        *out += map ? '}' : ']';
        return true;
      }
      case AVRO_RECORD: {
        if (!s.is_object() || !s.contains("fields")) return false;
        const nlohmann::json& fields = s["fields"];
        size_t n = 0;
        avro_value_get_size(v, &n);
        if (n != fields.size()) return false;
        *out += '{';
        bool first = true;
        for (size_t i = 0; i < n; ++i) {
          avro_value_t f;
          if (avro_value_get_by_index(v, i, &f, nullptr) != 0) return false;
          avro_value_t shown = f;
          if (avro_value_get_type(&f) == AVRO_UNION &&
              avro_value_get_current_branch(&f, &shown) != 0) {
            return false;
          }
          if (avro_value_get_type(&shown) == AVRO_NULL) continue;  // as the JSON lines: absent
          if (!first) *out += ',';
          first = false;
          String(fields[i].value("name", ""), out);
          *out += ':';
          if (!Write(&f, fields[i]["type"], out)) return false;
        }
        *out += '}';
        return true;
      }
      case AVRO_UNION:
      case AVRO_LINK: return false;  // a union value against a non-union schema: they disagree
    }
    return false;
  }

 private:
  const nlohmann::json& Resolve(const nlohmann::json& s) const {
    if (s.is_string()) {
      if (auto it = named_.find(s.get<std::string>()); it != named_.end()) return *it->second;
    }
    return s;
  }
  static void String(std::string_view text, std::string* out) {
    *out += nlohmann::json(std::string(text))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  // A decimal's bytes: the unscaled value, big-endian two's complement; printed with `scale`
  // digits after the point.
  static bool Decimal(std::string_view b, int scale, std::string* out) {
    if (b.empty() || b.size() > 16 || scale < 0 || scale > 38) return false;
    Int128 x = static_cast<int8_t>(b[0]);
    for (size_t i = 1; i < b.size(); ++i) x = x * 256 + static_cast<uint8_t>(b[i]);
    const bool neg = x < 0;
    UInt128 u = neg ? static_cast<UInt128>(-(x + 1)) + 1 : static_cast<UInt128>(x);
    std::string digits;
    do {
      digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
      u /= 10;
    } while (u);
    if (digits.size() <= static_cast<size_t>(scale)) {
      digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
    }
    if (neg) *out += '-';
    *out += digits.substr(0, digits.size() - static_cast<size_t>(scale));
    if (scale) *out += '.' + digits.substr(digits.size() - static_cast<size_t>(scale));
    return true;
  }
  const std::map<std::string, const nlohmann::json*>& named_;
};

}  // namespace

struct AvroSchema::Handles {
  avro_schema_t schema = nullptr;
  avro_value_iface_t* iface = nullptr;
  nlohmann::json tree;                                 // the schema's JSON, for AvroJson::kPlain
  std::map<std::string, const nlohmann::json*> named;  // into tree
  ~Handles() {
    if (iface) avro_value_iface_decref(iface);
    if (schema) avro_schema_decref(schema);
  }
};

AvroSchema::AvroSchema(std::unique_ptr<Handles> h) : h_(std::move(h)) {}
AvroSchema::~AvroSchema() = default;

Result<std::shared_ptr<const AvroSchema>> AvroSchema::Parse(std::string_view json) {
  InstallAllocator();
  if (Status depth = CheckSchemaJsonDepth(json); !depth.ok()) {
    return Status::Error("invalid Avro schema: " + depth.message());
  }
  auto h = std::make_unique<Handles>();
  // avro-c reads the text with jansson, which needs no terminator given the length.
  {
    FailureLeaks leaks;
    if (avro_schema_from_json_length(json.data(), json.size(), &h->schema) != 0) {
      h->schema = nullptr;
      std::string error = LastError();
      leaks.Free();
      return Status::Error("invalid Avro schema: " + error);
    }
  }
  if (SchemaTooDeep(h->schema)) {
    return Status::Error("invalid Avro schema: types nested deeper than " +
                         std::to_string(kMaxSchemaDepth) +
                         " levels (references to named types followed)");
  }
  if (Status unique = CheckSchemaNamesUnique(h->schema); !unique.ok()) {
    return Status::Error("invalid Avro schema: " + unique.message());
  }
  h->iface = avro_generic_class_from_schema(h->schema);
  if (!h->iface) return Status::Error("cannot build a value class for the schema: " + LastError());
  std::shared_ptr<AvroSchema> s(new AvroSchema(std::move(h)));
  const char* name = avro_schema_name(s->h_->schema);
  s->name_ = name ? name : avro_schema_type_name(s->h_->schema);
  if (const char* ns = avro_schema_namespace(s->h_->schema); name && ns && *ns) {
    s->name_ = std::string(ns) + "." + s->name_;
  }
  // The canonical JSON, written into a growing buffer.
  std::string buf(4096, '\0');
  for (;;) {
    avro_writer_t w = avro_writer_memory(buf.data(), static_cast<int64_t>(buf.size()));
    int rc = avro_schema_to_json(s->h_->schema, w);
    int64_t n = avro_writer_tell(w);
    avro_writer_free(w);
    if (rc == 0) {
      buf.resize(static_cast<size_t>(n));
      break;
    }
    if (buf.size() >= kMaxAllocation) {
      buf.clear();
      break;
    }
    buf.assign(buf.size() * 4, '\0');
  }
  s->json_ = std::move(buf);
  // avro-c parsed it, so it is JSON.
  s->h_->tree = nlohmann::json::parse(json, nullptr, false);
  CollectLogicalTypes(s->h_->tree, &s->logical_types_);
  CollectNamed(s->h_->tree, "", &s->h_->named);
  return std::shared_ptr<const AvroSchema>(std::move(s));
}

avro_schema_t AvroSchema::handle() const { return h_->schema; }

bool AvroSchema::SameEncoding(const AvroSchema& other) const {
  return logical_types_ == other.logical_types_ &&
         avro_schema_equal(h_->schema, other.h_->schema) != 0;
}

Status AvroSchema::Validate(std::string_view datum, std::string* json, AvroJson form) const {
  FailureLeaks leaks;
  Status s = Read(datum, json, form);
  if (!s.ok()) leaks.Free();  // what avro-c lost on the failed read
  return s;
}

Status AvroSchema::Read(std::string_view datum, std::string* json, AvroJson form) const {
  ReaderPtr reader(avro_reader_memory(datum.data(), static_cast<int64_t>(datum.size())));
  if (!reader) return Status::Error("out of memory");
  Value value(h_->iface);
  if (!value.ok()) return Status::Error("cannot create a value: " + LastError());
  if (avro_value_read(reader.get(), value.get()) != 0) {
    return Status::Error("not a valid " + name_ + " datum (truncated or invalid): " + LastError());
  }
  // The datum must end exactly here: one more byte must not be readable.
  char extra;
  if (avro_read(reader.get(), &extra, 1) == 0) {
    size_t left = 1;
    while (avro_read(reader.get(), &extra, 1) == 0) ++left;
    return Status::Error(std::to_string(left) + " trailing byte(s) after the " + name_ + " datum");
  }
  if (json && form == AvroJson::kPlain) {
    json->clear();
    if (!PlainJsonWriter(h_->named).Write(value.get(), h_->tree, json)) {
      return Status::Error("cannot write the " + name_ +
                           " value as JSON: the value and the schema disagree");
    }
    return Status::Ok();
  }
  if (json) {
    char* text = nullptr;
    if (avro_value_to_json(value.get(), 1, &text) != 0 || !text) {
      return Status::Error("cannot write the value as JSON: " + LastError());
    }
    json->assign(text);
    std::free(text);  // allocated by jansson with malloc
  }
  return Status::Ok();
}

Status ValidateConfluent(const AvroSchema& schema, std::string_view message, uint32_t* schema_id,
                         std::string* json, AvroJson form) {
  if (message.size() < 5) {
    return Status::Error(std::to_string(message.size()) +
                         " bytes: shorter than the Confluent header (magic byte 0 and a 4-byte "
                         "schema id)");
  }
  if (!ReadConfluentHeader(message, schema_id)) {
    return Status::Error("magic byte " + std::to_string(static_cast<unsigned char>(message[0])) +
                         ", expected 0");
  }
  return schema.Validate(message.substr(5), json, form);
}

}  // namespace spate
