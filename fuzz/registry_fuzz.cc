// The schema registry's request handlers (registry/server/registry.h: every route of the REST
// API, without the HTTP around them) on any requests, after any log. The input, read with
// FuzzedDataProvider: up to 8 (key, value) records that the log holds when the registry opens
// (what a `_schemas` topic shared with other registries may hold), then requests: an
// operation, a subject, a version, a body and a flag each. Subjects and versions that are
// not valid UTF-8 are skipped, as the server refuses them (422) before any handler. Besides
// not crashing or throwing: every reply has a 2xx or 4xx status, never a 5xx (the log in
// memory cannot fail), is a JSON document (but a schema served as itself), and an error reply
// has Confluent's error shape.

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
void CheckReply(const Reply& r, bool raw = false) {
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
  FuzzedDataProvider in(data, size);
  std::vector<std::pair<std::string, std::string>> records;
  for (int n = in.ConsumeIntegralInRange(0, 8); n > 0; --n) {
    std::string k = in.ConsumeRandomLengthString(256);
    records.emplace_back(std::move(k), in.ConsumeRandomLengthString(16384));
  }
  auto opened = Registry::Open(std::make_unique<FuzzLog>(std::move(records)));
  FUZZ_CHECK(opened.ok(), "the registry does not open");
  auto registry = std::move(opened).value();
  Registry& r = *registry;
  while (in.remaining_bytes() > 0) {
    const int op = in.ConsumeIntegralInRange(0, 11);
    const bool flag = in.ConsumeBool();
    const std::string subject = in.ConsumeRandomLengthString(64);
    const std::string version = in.ConsumeRandomLengthString(16);
    const std::string body = in.ConsumeRandomLengthString(65536);
    if (!spate::IsValidUtf8(subject) || !spate::IsValidUtf8(version)) continue;
    switch (op) {
      case 0: CheckReply(r.Register(subject, body)); break;
      case 1: CheckReply(r.ListVersions(subject)); break;
      case 2: CheckReply(r.GetVersion(subject, version, flag), flag); break;
      case 3: CheckReply(r.Lookup(subject, body)); break;
      case 4: CheckReply(r.DeleteSubject(subject)); break;
      case 5: CheckReply(r.DeleteVersion(subject, version)); break;
      case 6: CheckReply(r.GetSchemaById(version, flag)); break;
      case 7: CheckReply(r.GetConfig(flag ? "" : subject, flag)); break;
      case 8: CheckReply(r.PutConfig(flag ? "" : subject, body)); break;
      case 9: CheckReply(r.DeleteConfig(subject)); break;
      case 10: CheckReply(r.TestCompatibility(subject, flag ? "" : version, body, flag)); break;
      default: CheckReply(r.ListSubjects(flag)); break;
    }
  }
  return 0;
}
