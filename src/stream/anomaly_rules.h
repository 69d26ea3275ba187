#pragma once
// Anomaly rules, evaluated per record in arrival order per user (docs/semantics.md):
// high_amount, international_high, velocity_count and velocity_amount over a sliding span.
// One AnomalyDetector per worker; all records of a user must reach the same detector.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/transaction.h"

namespace spate {

struct RuleConfig {
  int64_t high_amount_cents = 25'000'000;  // 250,000.00
  int64_t intl_amount_cents = 15'000'000;  // 150,000.00
  int64_t velocity_span_ms = 10'000;
  uint32_t velocity_count = 10;
  int64_t velocity_amount_cents = 100'000'000;  // 1,000,000.00
};

enum class Rule : uint8_t { kHighAmount, kInternationalHigh, kVelocityCount, kVelocityAmount };
inline constexpr int kRuleCount = 4;
std::string_view RuleName(Rule r);

struct Anomaly {
  Rule rule;
  uint64_t sequence;
  Transaction tx;
  int64_t threshold_cents = 0;  // amount rules
  uint32_t count = 0;           // velocity rules: records in (t - span, t]
  int64_t sum_cents = 0;        // velocity rules: their amount sum
};

// Appends the anomalies.jsonl line for a (without newline).
void FormatAnomaly(const Anomaly& a, const RuleConfig& rules, std::string* out);

class AnomalyDetector {
 public:
  AnomalyDetector(RuleConfig rules, int64_t lateness_ms)
      : rules_(rules), lateness_ms_(lateness_ms) {}

  // Evaluates every rule for tx; appends what fires to *out.
  void Check(const Transaction& tx, uint64_t sequence, std::vector<Anomaly>* out);

  size_t tracked_users() const { return users_.size(); }

  // Checkpointing (the Kafka aggregator's changelog). With tracking on, Check() remembers each
  // user it touched; TakeDirtyUsers() returns and forgets them.
  void TrackDirtyUsers() { track_dirty_ = true; }
  std::vector<uint32_t> TakeDirtyUsers();
  // A user's state as bytes, and back: little-endian int64s (max time, then time and amount of
  // each retained record).
  void ExportUser(uint32_t user, std::string* out) const;
  bool ImportUser(uint32_t user, std::string_view data);

 private:
  struct Entry {
    int64_t time_ms;
    int64_t amount_cents;
    int64_t cum_cents;  // running sum of amounts up to and including this entry
  };
  // A user's retained records, sorted by time, live in entries[head..). Evicting advances
  // head (compacted now and then); prefix sums make each range query two binary searches, so
  // a hot user with thousands of records in the span costs O(log n), not O(n), per record.
  struct UserState {
    int64_t max_time_ms = INT64_MIN;
    size_t head = 0;
    std::vector<Entry> entries;
    bool dirty = false;
  };

  RuleConfig rules_;
  int64_t lateness_ms_;
  absl::flat_hash_map<uint32_t, UserState> users_;
  bool track_dirty_ = false;
  std::vector<uint32_t> dirty_;
};

}  // namespace spate
