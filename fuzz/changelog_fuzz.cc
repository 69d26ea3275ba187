// Restoring tasks from the changelog (runner/kafka/changelog.h) on any entries: the input is
// a sequence of (flags, key, value) read with FuzzedDataProvider; flags bit 0 sends the entry
// to a window task instead of a source task, bit 1 makes it a tombstone. Both tasks then
// finish their restore. Besides not crashing:
//  - a key that parses as a window or total key parses the same once written back;
//  - a user's rule state that imports exports to bytes that import and export to the same
//    bytes again, and the restored user can be checked against a record: the states a
//    frame of rule changes ("d" entries) makes, and any "u<user>" entry's value taken as one
//    (the tasks write no such key; it tries ImportUser on its own).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz/fuzz_check.h"
#include "runner/kafka/changelog.h"
#include "runner/kafka/tasks.h"
#include "stream/anomaly_rules.h"

namespace spate {
namespace {

void CheckKeys(std::string_view key) {
  int64_t start;
  Currency c;
  std::string_view k;
  if (ParseWindowKey(key, &start, &c, &k)) {
    const std::string again = WindowKey(start, c, k);
    int64_t start2;
    Currency c2;
    std::string_view k2;
    FUZZ_CHECK(ParseWindowKey(again, &start2, &c2, &k2), "a written window key does not parse");
    FUZZ_CHECK(start2 == start && c2 == c && k2 == k, "a window key parses differently");
  }
  if (ParseTotalKey(key, &c, &k)) {
    const std::string again = TotalKey(c, k);
    Currency c2;
    std::string_view k2;
    FUZZ_CHECK(ParseTotalKey(again, &c2, &k2), "a written total key does not parse");
    FUZZ_CHECK(c2 == c && k2 == k, "a total key parses differently");
  }
}

// A user's state through ImportUser and ExportUser, twice: the second export must equal the
// first. Then a record of that user goes through the rules.
void CheckUserState(std::string_view user, std::string_view data, int64_t amount) {
  AnomalyDetector first(RuleConfig{}, 5'000);
  if (user.empty() || !first.ImportUser(user, 0, data)) return;
  std::string exported;
  first.ExportUser(0, &exported);
  AnomalyDetector second(RuleConfig{}, 5'000);
  FUZZ_CHECK(second.ImportUser(user, 0, exported), "an exported user state does not import");
  std::string again;
  second.ExportUser(0, &again);
  FUZZ_CHECK(again == exported, "a user state exports differently once imported");

  Transaction tx;
  tx.user = user;
  tx.transaction_id = tx.merchant = tx.location = tx.type = tx.payment_method = "x";
  tx.currency = ParseCurrency("USD").value();
  tx.amount = amount;
  tx.time_ms = static_cast<int64_t>(static_cast<uint64_t>(GetI64(data, 0)) + 1000);
  std::vector<Anomaly> out;
  second.Check(tx, 0, 0, &out);
  second.Expire([](std::string_view) {});
}

}  // namespace
}  // namespace spate

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate;
  FuzzedDataProvider in(data, size);
  static const AggregateConfig config;
  PipelineStats stats;
  SourceTask source(0, config, &stats);
  WindowTask window(1, config, /*sources=*/3, &stats);
  bool any = false;
  while (in.remaining_bytes() > 0) {
    const auto flags = in.ConsumeIntegral<uint8_t>();
    const std::string key = in.ConsumeRandomLengthString(64);
    const std::string value = in.ConsumeRandomLengthString(4096);
    const ChangelogEntry e{flags & 1 ? 1 : 0, key, value, (flags & 2) != 0};
    (flags & 1 ? (void)window.Apply(e) : (void)source.Apply(e));
    any = true;
    CheckKeys(key);
    if (!e.tombstone && key.size() > 1 && key[0] == 'u' && value.size() >= 8) {
      CheckUserState(std::string_view(key).substr(1), value, static_cast<int64_t>(flags) * 1000);
    }
    if (!e.tombstone && !key.empty() && key[0] == 'd') {
      AnomalyDetector d(RuleConfig{}, 5'000);
      if (d.ApplyChanges(value, 0)) {
        d.ExportAll([&](std::string_view user, std::string_view state) {
          CheckUserState(user, state, static_cast<int64_t>(flags) * 1000);
        });
      }
    }
  }
  source.Restored(any);
  window.Restored(any);
  return 0;
}
