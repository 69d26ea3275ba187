#pragma once
// What the schema id of a Confluent frame means, asked of a schema registry: the component
// every reader of Avro records with `--schema-registry` shares (aggregate, consume; index can
// adopt it). It answers per id, and caches:
//   kTransaction  the id's schema encodes like schemas/transaction.avsc (SameEncoding): the
//                 hand-written fast decoder reads it (ids are immutable: cached for good);
//   kOther        another registered schema (cached for good, with the parsed schema, so a
//                 reader may decode it generically with avro-c);
//   kUnknown      the registry says 404 / 40403: not registered. Remembered for
//                 `negative_ttl_ms` (a flood of bad ids costs one request per id per TTL, and
//                 an id registered a moment later is found after it);
//   kUnavailable  the registry could not be asked (unreachable, timeout, 5xx): no verdict on
//                 the record. Tried `attempts` times with doubling back-off first; not cached.
// Thread-safe (one mutex around the cache; a lookup that goes to the registry holds it, so
// concurrent misses of the same id ask once).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/avro_schema.h"
#include "core/codec.h"
#include "core/status.h"
#include "registry/client/client.h"

namespace spate::registry {

struct ResolverOptions {
  ClientOptions client;
  // Where to find (or, with register_schema, put) schemas/transaction.avsc at start-up:
  // TopicNameStrategy, "<topic>-value". Empty: no expected id; every id is asked by id.
  std::string subject;
  bool register_schema = false;
  int attempts = 4;  // per unanswered lookup: 0.2 s, 0.4 s, 0.8 s apart
  int64_t negative_ttl_ms = 10'000;
  long request_timeout_ms = 3'000;
};

class SchemaResolver {
 public:
  // Connects: finds the transaction schema's id under options.subject (POST /subjects/{s}),
  // registering it when absent and register_schema is set. Fails when the registry cannot be
  // reached or refuses the registration, so a misconfigured URL is a start-up error.
  static Result<std::shared_ptr<SchemaResolver>> Create(const ResolverOptions& options);

  enum class Kind { kTransaction, kOther, kUnknown, kUnavailable };
  struct Resolved {
    Kind kind = Kind::kUnavailable;
    std::shared_ptr<const spate::AvroSchema> schema;  // kTransaction, kOther
    std::string why;  // kOther: how it differs; kUnknown / kUnavailable: the registry's answer
    AvroVersion version = AvroVersion::kV2;  // kTransaction: which schemas/transaction*.avsc
  };
  Resolved Resolve(uint32_t id);

  // The transaction schema's id under the subject; 0 when there is none (no subject given, or
  // not registered and not allowed to register).
  uint32_t transaction_id() const { return transaction_id_; }
  const spate::AvroSchema& transaction_schema() const { return *transaction_; }
  // Requests sent to the registry so far (tests watch the caches with it).
  uint64_t requests() const { return client_->requests(); }

 private:
  SchemaResolver() = default;
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Resolved resolved;
    Clock::time_point expires = Clock::time_point::max();
  };
  Resolved Ask(uint32_t id);  // with mu_ held

  ResolverOptions options_;
  std::unique_ptr<RegistryClient> client_;
  std::shared_ptr<const spate::AvroSchema> transaction_, transaction_v1_;
  uint32_t transaction_id_ = 0;
  std::mutex mu_;
  std::map<uint32_t, Entry> cache_;
};

// A Decoder of the transaction record in the Confluent frame whose schema ids are resolved
// through `resolver`: the expected id and every id of the same schema go to the fast decoder;
// an unregistered id is kUnknownSchema, another schema kSchemaMismatch, and a registry that
// cannot answer kSchemaUnavailable (not a dead letter: the caller must stop or retry).
// One per thread, as every Decoder; the resolver may be shared.
std::unique_ptr<Decoder> NewRegistryDecoder(std::shared_ptr<SchemaResolver> resolver,
                                            const RecordFormat& format = RecordFormat());

}  // namespace spate::registry
