#pragma once
// A Confluent Schema Registry client over libcurl: register a schema, look one up by id
// (cached: ids are immutable), check compatibility. Works against `spate registry` and
// Confluent's server alike. Thread-safe: each call uses its own curl handle; the cache is
// guarded.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace spate::registry {

struct ClientOptions {
  // "http://127.0.0.1:18081"; credentials may ride in the userinfo: http://user:pass@host:port
  std::string url;
  // "user:password" for HTTP basic auth; overrides the URL's userinfo when set.
  std::string basic_auth;
  long timeout_ms = 10'000;
};

// The subject of a topic's values under Confluent's default TopicNameStrategy ("{topic}-value";
// "{topic}-key" for keys).
std::string TopicNameStrategy(std::string_view topic, bool key = false);

class RegistryClient {
 public:
  // Fails on a URL that is not http(s)://host[:port].
  static Result<std::unique_ptr<RegistryClient>> Create(const ClientOptions& options);

  // POST /subjects/{subject}/versions: the schema's id (the same id for the same schema).
  // Errors carry the registry's error_code: "... (error_code 409): ...".
  Result<int> Register(const std::string& subject, const std::string& schema);
  // POST /subjects/{subject}: the id of the schema if it is registered under the subject;
  // nullopt when the registry answers 404 with 40401 (no such subject) or 40403 (not
  // registered under it).
  Result<std::optional<int>> Lookup(const std::string& subject, const std::string& schema);
  // GET /schemas/ids/{id}: the schema text; answered from the cache after the first call.
  Result<std::string> GetSchema(int id);
  // GetSchema, but an id the registry does not know (404 with error_code 40403) is
  // nullopt, not an error: an error
  // then means the registry could not answer (unreachable, timeout, 5xx, a reply not JSON).
  Result<std::optional<std::string>> FindSchema(int id);
  // POST /compatibility/subjects/{subject}/versions/{version}: would the subject accept it?
  Result<bool> CheckCompatibility(const std::string& subject, const std::string& schema,
                                  const std::string& version = "latest");

  // Requests sent so far (the tests use it to see the cache at work).
  uint64_t requests() const { return requests_; }

 private:
  RegistryClient() = default;
  struct Response {
    long status = 0;
    std::string body;
  };
  Result<Response> Call(const char* method, const std::string& path, const std::string& body);
  Result<int> IdOf(const Response& r, const char* what, const std::string& schema);

  std::string base_;  // scheme://host[:port][/prefix], no credentials, no trailing slash
  std::string user_, password_;
  long timeout_ms_ = 10'000;
  std::mutex mu_;
  std::map<int, std::string> cache_;
  std::atomic<uint64_t> requests_{0};
};

}  // namespace spate::registry
