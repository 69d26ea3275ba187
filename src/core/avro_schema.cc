#include "core/avro_schema.h"

#include <avro.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <unordered_set>

namespace spate {
namespace {

// avro-c allocates a string's or an array's claimed size before it reads the bytes, so a
// hostile length (2^60) would reach malloc. Every allocation above this size fails instead,
// which avro-c reports as an error: Kafka messages are far smaller.
constexpr size_t kMaxAllocation = size_t{64} << 20;

// avro-c 1.11 leaks on some failed reads (a string whose bytes run out after its buffer was
// allocated; a partly grown array): ASan's leak checker shows them. While a Validate call
// runs on this thread, the allocator records every block born in it; after a failed read and
// the release of the value and the reader, what is still recorded is such a leak and freed.
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

}  // namespace

struct AvroSchema::Handles {
  avro_schema_t schema = nullptr;
  avro_value_iface_t* iface = nullptr;
  ~Handles() {
    if (iface) avro_value_iface_decref(iface);
    if (schema) avro_schema_decref(schema);
  }
};

AvroSchema::AvroSchema(std::unique_ptr<Handles> h) : h_(std::move(h)) {}
AvroSchema::~AvroSchema() = default;

Result<std::shared_ptr<const AvroSchema>> AvroSchema::Parse(std::string_view json) {
  InstallAllocator();
  auto h = std::make_unique<Handles>();
  // avro-c reads the text with jansson, which needs no terminator given the length.
  if (avro_schema_from_json_length(json.data(), json.size(), &h->schema) != 0) {
    h->schema = nullptr;
    return Status::Error("invalid Avro schema: " + LastError());
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
  CollectLogicalTypes(nlohmann::json::parse(json, nullptr, false), &s->logical_types_);
  return std::shared_ptr<const AvroSchema>(std::move(s));
}

avro_schema_t AvroSchema::handle() const { return h_->schema; }

bool AvroSchema::SameEncoding(const AvroSchema& other) const {
  return logical_types_ == other.logical_types_ &&
         avro_schema_equal(h_->schema, other.h_->schema) != 0;
}

Status AvroSchema::Validate(std::string_view datum, std::string* json) const {
  std::unordered_set<void*> born;
  t_born = &born;
  Status s = Read(datum, json);
  t_born = nullptr;
  if (!s.ok()) {
    for (void* p : born) std::free(p);  // what avro-c lost on the failed read
  }
  return s;
}

Status AvroSchema::Read(std::string_view datum, std::string* json) const {
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
                         std::string* json) {
  if (message.size() < 5) {
    return Status::Error(std::to_string(message.size()) +
                         " bytes: shorter than the Confluent header (magic byte 0 and a 4-byte "
                         "schema id)");
  }
  const auto* u = reinterpret_cast<const uint8_t*>(message.data());
  if (u[0] != 0) return Status::Error("magic byte " + std::to_string(u[0]) + ", expected 0");
  *schema_id = static_cast<uint32_t>(u[1]) << 24 | static_cast<uint32_t>(u[2]) << 16 |
               static_cast<uint32_t>(u[3]) << 8 | u[4];
  return schema.Validate(message.substr(5), json);
}

}  // namespace spate
