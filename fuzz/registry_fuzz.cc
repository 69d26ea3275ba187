// The schema registry's request handlers (registry/server/routes.h: every route of the REST
// API over a Registry, without the HTTP around them) on any requests, after any log. The
// input, read with FuzzedDataProvider: up to 8 (key, value) records that the log holds when
// the registry opens (what a `_schemas` topic shared with other registries may hold), then
// requests: a method, a flag (the query's deleted, defaultToGlobal and verbose all "true"), a
// path (%xx decoded as the server does) and a body each. A path that is not valid UTF-8 is
// skipped: the server refuses it (422) before any route. Besides not crashing or throwing:
// every reply has a 2xx or 4xx status, never a 5xx (the log in memory cannot fail), is a JSON
// document (but a schema served as itself), and an error reply has Confluent's error shape.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include "core/transaction.h"
#include "fuzz/fuzz_check.h"
#include "registry/server/registry.h"
#include "registry/server/routes.h"

namespace spate::registry {
namespace {

// A log that holds the fuzzer's records when it opens, and applies appends at once.
class FuzzLog final : public SchemaLog {
 public:
  explicit FuzzLog(std::vector<std::pair<std::string, std::string>> records)
      : records_(std::move(records)) {}
  Status Open(Apply apply) override {
    apply_ = std::move(apply);
    for (const auto& [k, v] : records_) apply_(k, v);
    return Status::Ok();
  }
  Status Append(const std::string& key, const std::string& value) override {
    apply_(key, value);
    return Status::Ok();
  }
  std::string Describe() const override { return "fuzz"; }

 private:
  std::vector<std::pair<std::string, std::string>> records_;
  Apply apply_;
};

// raw: GET .../versions/{v}/schema, which answers with the schema itself: a schema kept opaque
// (PROTOBUF, say) is its own text, as in Confluent's registry, not JSON.
void CheckReply(const Reply& r, bool raw) {
  FUZZ_CHECK(r.status >= 200 && r.status < 500,
             "status " + std::to_string(r.status) + ": " + r.body);
  if (raw && r.status == 200) return;
  const auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!j.is_discarded(), "a reply that is not JSON: " + r.body);
  if (r.status >= 400) {
    FUZZ_CHECK(j.is_object() && j.contains("error_code") && j["error_code"].is_number_integer() &&
                   j.contains("message") && j["message"].is_string(),
               "an error reply without error_code and message: " + r.body);
  }
}

}  // namespace
}  // namespace spate::registry

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate::registry;
  static const char* const kMethods[] = {"GET", "POST", "PUT", "DELETE", "HEAD"};
  FuzzedDataProvider in(data, size);
  std::vector<std::pair<std::string, std::string>> records;
  for (int n = in.ConsumeIntegralInRange(0, 8); n > 0; --n) {
    std::string k = in.ConsumeRandomLengthString(256);
    records.emplace_back(std::move(k), in.ConsumeRandomLengthString(16384));
  }
  auto opened = Registry::Open(std::make_unique<FuzzLog>(std::move(records)));
  FUZZ_CHECK(opened.ok(), "the registry does not open");
  auto registry = std::move(opened).value();
  while (in.remaining_bytes() > 0) {
    ApiRequest q;
    q.method = kMethods[in.ConsumeIntegralInRange(0, 4)];
    if (in.ConsumeBool()) {
      q.query = {{"deleted", "true"}, {"defaultToGlobal", "true"}, {"verbose", "true"}};
    }
    q.path = PercentDecode(in.ConsumeRandomLengthString(256));
    q.body = in.ConsumeRandomLengthString(65536);
    if (!spate::IsValidUtf8(q.path)) continue;
    const bool raw = q.path.size() > 7 && q.path.ends_with("/schema");
    CheckReply(RouteRequest(registry.get(), q), raw);
  }
  return 0;
}
