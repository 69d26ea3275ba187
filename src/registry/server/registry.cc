#include "registry/server/registry.h"

#include <charconv>
#include <climits>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace spate::registry {

using Json = nlohmann::json;

// A message may quote avro-c or jansson, which cut what they quote at a byte, inside a UTF-8
// character (found by fuzz/registry_fuzz.cc): a plain dump() threw, and the request got a 500.
std::string ErrorBody(int code, const std::string& message) {
  return Json{{"error_code", code}, {"message", message}}.dump(-1, ' ', false,
                                                               Json::error_handler_t::replace);
}

namespace {

Reply Error(int code, const std::string& message) {
  return Reply{code < 1000 ? code : code / 100, ErrorBody(code, message)};
}

Reply Ok(const Json& j) { return Reply{200, j.dump()}; }

Reply SubjectNotFound(const std::string& s) {
  return Error(kSubjectNotFound, "Subject '" + s + "' not found.");
}

std::string SchemaKey(const std::string& subject, int version) {
  return Json{{"keytype", "SCHEMA"}, {"subject", subject}, {"version", version}, {"magic", 1}}
      .dump();
}

std::string ConfigKey(const std::string& subject) {
  Json k{{"keytype", "CONFIG"}, {"subject", nullptr}, {"magic", 0}};
  if (!subject.empty()) k["subject"] = subject;
  return k.dump();
}

// Confluent's fields beside "schema" for a schema that is not plain Avro: "schemaType" (left
// out for AVRO, its default) and "references".
void AddTypeAndReferences(const std::string& type, const std::string& references, Json* out) {
  if (type != "AVRO") (*out)["schemaType"] = type;
  if (!references.empty()) (*out)["references"] = Json::parse(references, nullptr, false);
}

// The request's {"schema": "..."} parsed and validated, or a 422 reply.
bool ParseSchemaRequest(const std::string& body, std::shared_ptr<const AvroSchema>* out,
                        Reply* error) {
  Json req = Json::parse(body, nullptr, false);
  if (req.is_discarded() || !req.is_object() || !req.contains("schema") ||
      !req["schema"].is_string()) {
    *error = Error(kInvalidSchema, "Invalid schema: the body must be {\"schema\": \"...\"}");
    return false;
  }
  if (req.contains("schemaType") && req["schemaType"] != "AVRO") {
    *error = Error(kInvalidSchema, "Invalid schema: only schemaType AVRO is supported");
    return false;
  }
  if (req.contains("references") && req["references"].is_array() && !req["references"].empty()) {
    *error = Error(kInvalidSchema, "Invalid schema: schema references are not supported");
    return false;
  }
  auto parsed = AvroSchema::Parse(req["schema"].get<std::string>());
  if (!parsed.ok()) {
    *error = Error(kInvalidSchema, parsed.status().message());
    return false;
  }
  *out = std::move(parsed).value();
  return true;
}

}  // namespace

bool Registry::SubjectState::live() const {
  for (const auto& [v, st] : versions) {
    if (!st.deleted) return true;
  }
  return false;
}

Result<std::unique_ptr<Registry>> Registry::Open(std::unique_ptr<SchemaLog> log) {
  std::unique_ptr<Registry> r(new Registry(std::move(log)));
  Registry* self = r.get();
  Status s = r->log_->Open([self](const std::string& k, const std::string& v) {
    try {
      self->Apply(k, v);
    } catch (const Json::exception&) {
      // a record of an unexpected shape: skipped, like the key types we do not know
    }
  });
  if (!s.ok()) return s;
  return r;
}

// Applies one log record. Records this version cannot read are skipped: the log may hold
// Confluent's other key types (NOOP, DELETE_SUBJECT, ...), which carry no state we serve.
namespace {

// A log record's id or version: an integer from 1 to INT_MAX. Anything else (a float, a
// string, 2^40) is a record this registry did not write and skips: the log may be a topic
// shared with other registries, and an unchecked get<int>() threw (ending the Kafka log's
// thread) or converted a float out of range (found by fuzz/registry_fuzz.cc).
bool PositiveInt(const Json& j, int* out) {
  if (!j.is_number_integer()) return false;
  const int64_t v = j.get<int64_t>();
  if (v < 1 || v > INT_MAX) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

void Registry::Apply(const std::string& key, const std::string& value) {
  Json k = Json::parse(key, nullptr, false);
  if (k.is_discarded() || !k.is_object() || !k.contains("keytype")) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (k["keytype"] == "CONFIG") {
    const bool global = !k.contains("subject") || k["subject"].is_null();
    if (!global && !k["subject"].is_string()) return;
    Json v = Json::parse(value, nullptr, false);
    Compatibility level;
    const bool set = !value.empty() && v.is_object() && v.contains("compatibilityLevel") &&
                     v["compatibilityLevel"].is_string() &&
                     ParseCompatibility(v["compatibilityLevel"].get<std::string>(), &level);
    if (global) {
      global_level_ = set ? level : Compatibility::kBackward;
    } else if (set) {
      subject_levels_[k["subject"].get<std::string>()] = level;
    } else {
      subject_levels_.erase(k["subject"].get<std::string>());
    }
    return;
  }
  int version;
  if (k["keytype"] != "SCHEMA" || !k["subject"].is_string() ||
      !PositiveInt(k["version"], &version)) {
    return;
  }
  const std::string subject = k["subject"].get<std::string>();
  if (value.empty()) {  // tombstone: a permanent delete
    auto it = subjects_.find(subject);
    if (it != subjects_.end()) it->second.versions.erase(version);
    return;
  }
  Json v = Json::parse(value, nullptr, false);
  int id;
  if (v.is_discarded() || !v.is_object() || !PositiveInt(v["id"], &id) ||
      !v["schema"].is_string() || (v.contains("schemaType") && !v["schemaType"].is_string()) ||
      (v.contains("deleted") && !v["deleted"].is_boolean())) {
    return;
  }
  StoredSchema record;
  record.type = v.value("schemaType", "AVRO");
  record.text = v["schema"].get<std::string>();
  if (auto refs = v.find("references"); refs != v.end() && refs->is_array() && !refs->empty()) {
    record.references = refs->dump();
  }
  auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second.type != record.type || it->second.text != record.text ||
      it->second.references != record.references) {
    if (record.type == "AVRO" && record.references.empty()) {
      if (auto parsed = AvroSchema::Parse(record.text); parsed.ok()) {
        record.avro = std::move(parsed).value();
        record.text = record.avro->normalized();
      }
    }
    it = by_id_.insert_or_assign(id, std::move(record)).first;
  }
  if (it->second.avro) id_by_schema_[it->second.text] = id;
  max_id_ = std::max(max_id_, id);
  subjects_[subject].versions[version] = {id, v.value("deleted", false)};
}

bool Registry::SameAvroLocked(int id, const AvroSchema& schema) const {
  auto it = by_id_.find(id);
  return it != by_id_.end() && it->second.avro && it->second.text == schema.normalized();
}

Compatibility Registry::LevelLocked(const std::string& subject) const {
  auto it = subject_levels_.find(subject);
  return it == subject_levels_.end() ? global_level_ : it->second;
}

std::vector<std::shared_ptr<const AvroSchema>> Registry::LiveSchemasLocked(
    const SubjectState& s) const {
  std::vector<std::shared_ptr<const AvroSchema>> out;
  for (const auto& [v, st] : s.versions) {
    if (!st.deleted) out.push_back(by_id_.at(st.id).avro);  // null: opaque
  }
  return out;
}

std::map<std::string, int> Registry::OpaqueSchemas() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, int> out;
  for (const auto& [id, s] : by_id_) {
    if (!s.avro) ++out[s.type];
  }
  return out;
}

bool Registry::ResolveVersionLocked(const std::string& subject, const std::string& version,
                                    int* out, Reply* error) const {
  int v = 0;
  auto [ptr, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
  const bool number = ec == std::errc() && ptr == version.data() + version.size();
  const bool latest = version == "latest" || (number && v == -1);
  if (!latest && (!number || v < 1)) {
    *error = Error(kInvalidVersion, "The specified version '" + version +
                                        "' is not a valid version id. Allowed values are between "
                                        "[1, 2^31-1] and the string \"latest\"");
    return false;
  }
  auto it = subjects_.find(subject);
  if (it == subjects_.end() || !it->second.live()) {
    *error = SubjectNotFound(subject);
    return false;
  }
  const auto& versions = it->second.versions;
  if (latest) {
    for (auto vit = versions.rbegin(); vit != versions.rend(); ++vit) {
      if (!vit->second.deleted) {
        *out = vit->first;
        return true;
      }
    }
  } else if (auto vit = versions.find(v); vit != versions.end() && !vit->second.deleted) {
    *out = v;
    return true;
  }
  *error = Error(kVersionNotFound, "Version " + version + " not found.");
  return false;
}

Status Registry::WriteSchema(const std::string& subject, int version, int id,
                             const StoredSchema& schema, bool deleted) {
  Json v{{"subject", subject},
         {"version", version},
         {"id", id},
         {"schema", schema.text},
         {"deleted", deleted}};
  AddTypeAndReferences(schema.type, schema.references, &v);
  return log_->Append(SchemaKey(subject, version), v.dump());
}

size_t Registry::SchemaCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return by_id_.size();
}

Reply Registry::ListSubjects(bool include_deleted) {
  std::lock_guard<std::mutex> lock(mu_);
  Json out = Json::array();
  for (const auto& [name, s] : subjects_) {
    if (include_deleted ? !s.versions.empty() : s.live()) out.push_back(name);
  }
  return Ok(out);
}

Reply Registry::Register(const std::string& subject, const std::string& body) {
  std::shared_ptr<const AvroSchema> schema;
  Reply error;
  if (!ParseSchemaRequest(body, &schema, &error)) return error;
  std::lock_guard<std::mutex> write(write_mu_);
  int id = 0, version = 1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto sit = subjects_.find(subject);
    if (sit != subjects_.end()) {
      for (const auto& [v, st] : sit->second.versions) {
        if (!st.deleted && SameAvroLocked(st.id, *schema)) {
          return Ok(Json{{"id", st.id}});  // already registered: the same id, no new version
        }
      }
      std::string why;
      if (!IsCompatible(LevelLocked(subject), *schema, LiveSchemasLocked(sit->second), &why)) {
        return Error(kIncompatibleSchema,
                     "Schema being registered is incompatible with an earlier schema for "
                     "subject \"" +
                         subject + "\" (" + std::string(CompatibilityName(LevelLocked(subject))) +
                         "): " + why);
      }
      if (!sit->second.versions.empty()) version = sit->second.versions.rbegin()->first + 1;
    }
    auto iit = id_by_schema_.find(schema->normalized());
    id = iit != id_by_schema_.end() ? iit->second : max_id_ + 1;
  }
  Status s = WriteSchema(subject, version, id,
                         StoredSchema{"AVRO", schema->normalized(), "", schema}, false);
  if (!s.ok()) return Error(kStoreError, "Error in the backend data store: " + s.message());
  // Read back: with a shared Kafka log another instance may have written the same version or
  // id between our decision and our record (see README: one writer instance avoids it).
  std::lock_guard<std::mutex> lock(mu_);
  const auto& versions = subjects_[subject].versions;
  auto vit = versions.find(version);
  if (vit == versions.end() || vit->second.id != id || !SameAvroLocked(id, *schema)) {
    return Error(kStoreError, "A concurrent registration on another instance took version " +
                                  std::to_string(version) + " or id " + std::to_string(id) +
                                  "; retry");
  }
  return Ok(Json{{"id", id}});
}

Reply Registry::ListVersions(const std::string& subject) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = subjects_.find(subject);
  if (it == subjects_.end() || !it->second.live()) return SubjectNotFound(subject);
  Json out = Json::array();
  for (const auto& [v, st] : it->second.versions) {
    if (!st.deleted) out.push_back(v);
  }
  return Ok(out);
}

Reply Registry::GetVersion(const std::string& subject, const std::string& version,
                           bool schema_only) {
  std::lock_guard<std::mutex> lock(mu_);
  int v = 0;
  Reply error;
  if (!ResolveVersionLocked(subject, version, &v, &error)) return error;
  const int id = subjects_.at(subject).versions.at(v).id;
  const StoredSchema& stored = by_id_.at(id);
  if (schema_only) return Reply{200, stored.text};
  Json out{{"subject", subject}, {"version", v}, {"id", id}, {"schema", stored.text}};
  AddTypeAndReferences(stored.type, stored.references, &out);
  return Ok(out);
}

Reply Registry::Lookup(const std::string& subject, const std::string& body) {
  std::shared_ptr<const AvroSchema> schema;
  Reply error;
  if (!ParseSchemaRequest(body, &schema, &error)) return error;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = subjects_.find(subject);
  if (it == subjects_.end() || !it->second.live()) return SubjectNotFound(subject);
  for (const auto& [v, st] : it->second.versions) {
    if (!st.deleted && SameAvroLocked(st.id, *schema)) {
      return Ok(Json{
          {"subject", subject}, {"version", v}, {"id", st.id}, {"schema", schema->normalized()}});
    }
  }
  return Error(kSchemaNotFound, "Schema not found");
}

Reply Registry::DeleteSubject(const std::string& subject) {
  std::lock_guard<std::mutex> write(write_mu_);
  std::vector<std::pair<int, int>> live;  // version, id
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = subjects_.find(subject);
    if (it == subjects_.end() || !it->second.live()) return SubjectNotFound(subject);
    for (const auto& [v, st] : it->second.versions) {
      if (!st.deleted) live.emplace_back(v, st.id);
    }
  }
  Json out = Json::array();
  for (const auto& [v, id] : live) {
    StoredSchema stored;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stored = by_id_.at(id);
    }
    Status s = WriteSchema(subject, v, id, stored, true);
    if (!s.ok()) return Error(kStoreError, "Error in the backend data store: " + s.message());
    out.push_back(v);
  }
  return Ok(out);
}

Reply Registry::DeleteVersion(const std::string& subject, const std::string& version) {
  std::lock_guard<std::mutex> write(write_mu_);
  int v = 0, id = 0;
  StoredSchema stored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Reply error;
    if (!ResolveVersionLocked(subject, version, &v, &error)) return error;
    id = subjects_.at(subject).versions.at(v).id;
    stored = by_id_.at(id);
  }
  Status s = WriteSchema(subject, v, id, stored, true);
  if (!s.ok()) return Error(kStoreError, "Error in the backend data store: " + s.message());
  return Ok(Json(v));
}

Reply Registry::GetSchemaById(const std::string& id_text, bool with_versions) {
  int id = 0;
  auto [ptr, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it =
      ec == std::errc() && ptr == id_text.data() + id_text.size() ? by_id_.find(id) : by_id_.end();
  if (it == by_id_.end()) return Error(kSchemaNotFound, "Schema " + id_text + " not found");
  if (!with_versions) {
    Json out{{"schema", it->second.text}};
    AddTypeAndReferences(it->second.type, it->second.references, &out);
    return Ok(out);
  }
  Json out = Json::array();
  for (const auto& [name, s] : subjects_) {
    for (const auto& [v, st] : s.versions) {
      if (st.id == id && !st.deleted) out.push_back(Json{{"subject", name}, {"version", v}});
    }
  }
  return Ok(out);
}

Reply Registry::GetConfig(const std::string& subject, bool default_to_global) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!subject.empty() && !subject_levels_.count(subject) && !default_to_global) {
    return Error(kSubjectLevelConfigNotFound,
                 "Subject '" + subject + "' does not have subject-level compatibility configured");
  }
  return Ok(Json{{"compatibilityLevel", std::string(CompatibilityName(LevelLocked(subject)))}});
}

Reply Registry::PutConfig(const std::string& subject, const std::string& body) {
  Json req = Json::parse(body, nullptr, false);
  Compatibility level;
  if (req.is_discarded() || !req.is_object() || !req.contains("compatibility") ||
      !req["compatibility"].is_string() ||
      !ParseCompatibility(req["compatibility"].get<std::string>(), &level)) {
    return Error(kInvalidCompatibilityLevel,
                 "Invalid compatibility level. Valid values are none, backward, forward, full, "
                 "backward_transitive, forward_transitive, and full_transitive");
  }
  std::lock_guard<std::mutex> write(write_mu_);
  const std::string name(CompatibilityName(level));
  Status s = log_->Append(ConfigKey(subject), Json{{"compatibilityLevel", name}}.dump());
  if (!s.ok()) return Error(kStoreError, "Error in the backend data store: " + s.message());
  return Ok(Json{{"compatibility", name}});
}

Reply Registry::DeleteConfig(const std::string& subject) {
  std::lock_guard<std::mutex> write(write_mu_);
  std::string previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = subject_levels_.find(subject);
    if (it == subject_levels_.end()) return SubjectNotFound(subject);
    previous = CompatibilityName(it->second);
  }
  Status s = log_->Append(ConfigKey(subject), "");
  if (!s.ok()) return Error(kStoreError, "Error in the backend data store: " + s.message());
  return Ok(Json{{"compatibilityLevel", previous}});
}

Reply Registry::TestCompatibility(const std::string& subject, const std::string& version,
                                  const std::string& body, bool verbose) {
  std::shared_ptr<const AvroSchema> schema;
  Reply error;
  if (!ParseSchemaRequest(body, &schema, &error)) return error;
  std::lock_guard<std::mutex> lock(mu_);
  Compatibility level = LevelLocked(subject);
  std::vector<std::shared_ptr<const AvroSchema>> against;
  if (version.empty() || version == "latest" || version == "-1") {
    auto it = subjects_.find(subject);
    if (it == subjects_.end() || !it->second.live()) {
      if (!version.empty()) return SubjectNotFound(subject);
    } else {
      against = LiveSchemasLocked(it->second);  // IsCompatible picks latest or all by level
    }
  } else {
    int v = 0;
    if (!ResolveVersionLocked(subject, version, &v, &error)) return error;
    against.push_back(by_id_.at(subjects_.at(subject).versions.at(v).id).avro);
  }
  std::string why;
  const bool ok = IsCompatible(level, *schema, against, &why);
  Json out{{"is_compatible", ok}};
  if (verbose) out["messages"] = ok ? Json::array() : Json::array({why});
  return Ok(out);
}

}  // namespace spate::registry
