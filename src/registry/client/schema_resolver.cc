#include "registry/client/schema_resolver.h"

#include <thread>

#include <fmt/format.h>

namespace spate::registry {

Result<std::shared_ptr<SchemaResolver>> SchemaResolver::Create(const ResolverOptions& options) {
  std::shared_ptr<SchemaResolver> r(new SchemaResolver());
  r->options_ = options;
  ClientOptions co = options.client;
  co.timeout_ms = options.request_timeout_ms;
  auto client = RegistryClient::Create(co);
  if (!client.ok()) return client.status();
  r->client_ = std::move(client).value();
  auto parsed = spate::AvroSchema::Parse(TransactionAvsc());
  if (!parsed.ok()) return parsed.status();
  r->transaction_ = parsed.value();
  auto v1 = spate::AvroSchema::Parse(TransactionV1Avsc());
  if (!v1.ok()) return v1.status();
  r->transaction_v1_ = v1.value();
  if (options.subject.empty()) return r;
  const std::string schema(TransactionAvsc());
  auto found = r->client_->Lookup(options.subject, schema);
  if (!found.ok()) return found.status();
  int id = found.value().value_or(0);
  if (id == 0 && options.register_schema) {
    auto registered = r->client_->Register(options.subject, schema);
    if (!registered.ok()) {
      return Status::Error("registering schemas/transaction.avsc under " + options.subject + ": " +
                           registered.status().message());
    }
    id = registered.value();
  }
  if (id > 0) {
    r->transaction_id_ = static_cast<uint32_t>(id);
    r->cache_[r->transaction_id_].resolved = {Kind::kTransaction, r->transaction_, ""};
  }
  return r;
}

SchemaResolver::Resolved SchemaResolver::Resolve(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(id);
  if (it != cache_.end() && it->second.expires > Clock::now()) return it->second.resolved;
  Resolved r = Ask(id);
  switch (r.kind) {
    case Kind::kTransaction:
    case Kind::kOther: cache_[id] = {r, Clock::time_point::max()}; break;
    case Kind::kUnknown:
      // Bounded: ids from garbage frames must not grow the cache without end.
      if (cache_.size() >= 100'000) {
        std::erase_if(cache_,
                      [](const auto& e) { return e.second.resolved.kind == Kind::kUnknown; });
      }
      cache_[id] = {r, Clock::now() + std::chrono::milliseconds(options_.negative_ttl_ms)};
      break;
    case Kind::kUnavailable: break;  // not an answer: ask again next time
  }
  return r;
}

SchemaResolver::Resolved SchemaResolver::Ask(uint32_t id) {
  // Confluent ids are non-negative Java ints; a larger one cannot be registered.
  if (id > static_cast<uint32_t>(INT32_MAX)) return {Kind::kUnknown, nullptr, "not a valid id"};
  Result<std::optional<std::string>> got = Status::Error("not asked");
  auto backoff = std::chrono::milliseconds(200);
  for (int attempt = 0; attempt < std::max(1, options_.attempts); ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
    }
    got = client_->FindSchema(static_cast<int>(id));
    if (got.ok()) break;
  }
  if (!got.ok()) {
    return {Kind::kUnavailable, nullptr,
            fmt::format("schema id {}: {} (after {} attempts)", id, got.status().message(),
                        options_.attempts)};
  }
  if (!got.value()) return {Kind::kUnknown, nullptr, "the registry does not know it (40403)"};
  auto parsed = spate::AvroSchema::Parse(*got.value());
  if (!parsed.ok()) {
    // The registry validated it, so avro-c and the registry disagree: not ours in any case.
    return {Kind::kOther, nullptr, parsed.status().message()};
  }
  const auto& schema = parsed.value();
  if (schema->SameEncoding(*transaction_)) return {Kind::kTransaction, schema, ""};
  if (schema->SameEncoding(*transaction_v1_)) {
    return {Kind::kTransaction, schema, "", AvroVersion::kV1};
  }
  return {Kind::kOther, schema,
          schema->name() == transaction_->name()
              ? "a different version of " + schema->name()
              : schema->name() + ", not " + transaction_->name()};
}

namespace {

class RegistryDecoder final : public Decoder {
 public:
  RegistryDecoder(std::shared_ptr<SchemaResolver> resolver, const RecordFormat& format)
      : resolver_(std::move(resolver)),
        format_(format),
        expected_(NewAvroDecoder(resolver_->transaction_id(), AvroVersion::kV2, format)) {}

  DecodeError Decode(std::string_view msg, size_t readable, Transaction* tx,
                     std::string* reason) override {
    // Not a frame: the fast decoder says why (bad_avro).
    uint32_t id = 0;
    if (!ReadConfluentHeader(msg, &id)) return expected_->Decode(msg, readable, tx, reason);
    if (id == resolver_->transaction_id() && id != 0) {
      return expected_->Decode(msg, readable, tx, reason);
    }
    if (auto it = same_.find(id); it != same_.end()) {
      return it->second->Decode(msg, readable, tx, reason);
    }
    SchemaResolver::Resolved r = resolver_->Resolve(id);
    switch (r.kind) {
      case SchemaResolver::Kind::kTransaction: {
        auto& d = same_[id];
        d = NewAvroDecoder(id, r.version, format_);
        return d->Decode(msg, readable, tx, reason);
      }
      case SchemaResolver::Kind::kOther:
        *reason = fmt::format("schema id {} is {}: the pipeline reads {} only", id, r.why,
                              resolver_->transaction_schema().name());
        return DecodeError::kSchemaMismatch;
      case SchemaResolver::Kind::kUnknown:
        *reason = fmt::format("schema id {} is not registered: {}", id, r.why);
        return DecodeError::kUnknownSchema;
      case SchemaResolver::Kind::kUnavailable:
        *reason = r.why;
        return DecodeError::kSchemaUnavailable;
    }
    return DecodeError::kSchemaUnavailable;
  }

 private:
  std::shared_ptr<SchemaResolver> resolver_;
  const RecordFormat format_;
  std::unique_ptr<Decoder> expected_;
  std::map<uint32_t, std::unique_ptr<Decoder>> same_;  // other ids of the same schema
};

}  // namespace

std::unique_ptr<Decoder> NewRegistryDecoder(std::shared_ptr<SchemaResolver> resolver,
                                            const RecordFormat& format) {
  return std::make_unique<RegistryDecoder>(std::move(resolver), format);
}

}  // namespace spate::registry
