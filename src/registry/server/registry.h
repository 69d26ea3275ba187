#pragma once
// The schema registry's state and operations, with Confluent Schema Registry semantics and
// error codes, independent of HTTP: each operation returns the status and JSON body to send.
// The state is the fold of a SchemaLog (store.h); every change is written to the log first and
// applied when the log delivers it back, so instances sharing a Kafka log agree.
// Thread-safe: the HTTP server calls it from its worker threads.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "registry/server/avro_schema.h"
#include "registry/server/store.h"

namespace spate::registry {

// Confluent's error codes (the body's "error_code"; the HTTP status is the first three digits).
inline constexpr int kSubjectNotFound = 40401;
inline constexpr int kVersionNotFound = 40402;
inline constexpr int kSchemaNotFound = 40403;
inline constexpr int kSubjectLevelConfigNotFound = 40408;
inline constexpr int kIncompatibleSchema = 409;
inline constexpr int kInvalidSchema = 42201;
inline constexpr int kInvalidVersion = 42202;
inline constexpr int kInvalidCompatibilityLevel = 42203;
inline constexpr int kStoreError = 50001;

struct Reply {
  int status = 200;
  std::string body;  // JSON
};

// Confluent's error shape: {"error_code": code, "message": message}. Bytes of the message
// that are not UTF-8 are written as U+FFFD.
std::string ErrorBody(int code, const std::string& message);

class Registry {
 public:
  // Replays the log into memory. Fails if the log cannot be read.
  static Result<std::unique_ptr<Registry>> Open(std::unique_ptr<SchemaLog> log);
  // Closes the log first: its tail thread (Kafka) applies into the state below.
  ~Registry() { log_.reset(); }

  // GET /subjects[?deleted=true]
  Reply ListSubjects(bool include_deleted);
  // Schemas held, by id (a gauge).
  size_t SchemaCount() const;
  // POST /subjects/{s}/versions, body {"schema": "...", "schemaType": "AVRO"}: {"id": N}.
  Reply Register(const std::string& subject, const std::string& body);
  // GET /subjects/{s}/versions
  Reply ListVersions(const std::string& subject);
  // GET /subjects/{s}/versions/{v|latest}; schema_only: .../schema (the schema itself).
  Reply GetVersion(const std::string& subject, const std::string& version, bool schema_only);
  // POST /subjects/{s}: is this schema registered under s? {"subject","version","id","schema"}.
  Reply Lookup(const std::string& subject, const std::string& body);
  // DELETE /subjects/{s} (soft: the versions are marked deleted): the deleted versions.
  Reply DeleteSubject(const std::string& subject);
  // DELETE /subjects/{s}/versions/{v|latest} (soft): the deleted version.
  Reply DeleteVersion(const std::string& subject, const std::string& version);
  // GET /schemas/ids/{id}: {"schema": "..."}; with_versions: [{"subject","version"}].
  Reply GetSchemaById(const std::string& id, bool with_versions);
  // GET /config and /config/{s} (subject "" = global): {"compatibilityLevel": "..."}.
  Reply GetConfig(const std::string& subject, bool default_to_global);
  // PUT /config[/{s}], body {"compatibility": "FULL"}: {"compatibility": "FULL"}.
  Reply PutConfig(const std::string& subject, const std::string& body);
  // DELETE /config/{s}: the subject falls back to the global level.
  Reply DeleteConfig(const std::string& subject);
  // POST /compatibility/subjects/{s}/versions[/{v|latest}]: {"is_compatible": bool}
  // (version "": every version the subject's level names).
  Reply TestCompatibility(const std::string& subject, const std::string& version,
                          const std::string& body, bool verbose);

  // How many ids hold a schema kept opaque (see StoredSchema), by schemaType: what the log
  // held that this registry serves but cannot check.
  std::map<std::string, int> OpaqueSchemas() const;

 private:
  // A schema under its id, as the log holds it. An Avro schema without references is parsed.
  // Anything else is kept opaque, never dropped: the PROTOBUF and JSON schemas that
  // Confluent's registry writes to a `_schemas` topic it shares with this one, Avro with
  // references, Avro that avro-c refuses. An opaque schema is served as stored (text,
  // schemaType, references) by id and version, keeps its id and version numbers taken, is
  // never the answer to a lookup, and no Avro schema is compatible with it (as in
  // Confluent's registry, schemas of different types are incompatible).
  struct StoredSchema {
    std::string type = "AVRO";               // the record's "schemaType"
    std::string text;                        // the normal form if parsed, else as stored
    std::string references;                  // the record's "references" as JSON, "" if none
    std::shared_ptr<const AvroSchema> avro;  // null when opaque
  };
  struct VersionState {
    int id = 0;
    bool deleted = false;
  };
  struct SubjectState {
    std::map<int, VersionState> versions;
    bool live() const;
  };

  explicit Registry(std::unique_ptr<SchemaLog> log) : log_(std::move(log)) {}
  void Apply(const std::string& key, const std::string& value);  // from the log
  Compatibility LevelLocked(const std::string& subject) const;
  // The subject's live versions, oldest first; null for an opaque schema.
  std::vector<std::shared_ptr<const AvroSchema>> LiveSchemasLocked(const SubjectState& s) const;
  // True when id holds this Avro schema (same normal form).
  bool SameAvroLocked(int id, const AvroSchema& schema) const;
  // Resolves "latest", "-1" or a number to a live version of a live subject, or an error reply.
  bool ResolveVersionLocked(const std::string& subject, const std::string& version, int* out,
                            Reply* error) const;
  Status WriteSchema(const std::string& subject, int version, int id, const StoredSchema& schema,
                     bool deleted);

  std::unique_ptr<SchemaLog> log_;
  std::mutex write_mu_;    // one change at a time: decide, append, wait for it to be applied
  mutable std::mutex mu_;  // the state below; held by Apply and by readers
  std::map<std::string, SubjectState> subjects_;
  std::map<int, StoredSchema> by_id_;
  std::map<std::string, int> id_by_schema_;  // normalized text -> id
  std::map<std::string, Compatibility> subject_levels_;
  Compatibility global_level_ = Compatibility::kBackward;
  int max_id_ = 0;
};

}  // namespace spate::registry
