#pragma once
// Anomaly rules, evaluated per record in arrival order per user (docs/semantics.md):
//   high_amount          amount > the limit in the record's currency
//   international_high   isInternational and amount > its limit in the record's currency
//   velocity_count       more than velocity_count records of the user, any currency, in the
//                        span (t - velocity_span, t]
//   velocity_amount      the user's amounts in the record's currency over that span sum to more
//                        than the limit in that currency
// Amounts are never compared across currencies: every amount limit is set per currency, with
// one default for the currencies not named (AmountLimit).
// One AnomalyDetector per worker or task; all records of a user must reach the same detector.
//
// State expiry: a user's state is dropped once its partition's watermark (the largest time of
// the partition's valid records so far, minus the lateness) has passed the user's latest time
// plus the span. Dropped means forgotten: a record of that user then starts afresh. A record
// that is not behind that watermark would have seen none of it anyway; a late one may have.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/currency.h"
#include "core/money.h"
#include "core/status.h"
#include "core/transaction.h"
#include "stream/interner.h"

namespace spate {

// A limit on amounts, in each currency's own major units: `--high-amount 250000` is 250,000.00
// USD, 250,000 JPY and 250,000.000 BHD; `--high-amount JPY=30000000` sets JPY's alone. Kept
// with four decimals (the most any currency has); in a currency of fewer decimals it is cut to
// that currency's precision.
class AmountLimit {
 public:
  explicit AmountLimit(int64_t default_major = 0)
      : default_(default_major * Pow10(kMaxMinorDigits)) {}
  // "250000" (the default) or "JPY=30000000" (one currency's); an error says what is wrong.
  Status Set(std::string_view spec);
  // The limit in c's minor units.
  int64_t Minor(Currency c) const {
    auto it = per_currency_.find(c.index);
    const int64_t v = it == per_currency_.end() ? default_ : it->second;
    return v / Pow10(kMaxMinorDigits - MinorDigits(c));
  }
  // "250000.00;JPY=30000000" (the changelog's fingerprint, and messages).
  std::string ToString() const;

 private:
  int64_t default_;                           // at four decimals
  std::map<uint16_t, int64_t> per_currency_;  // currency index -> at four decimals
};

struct RuleConfig {
  AmountLimit high_amount{250'000};
  AmountLimit intl_amount{150'000};
  int64_t velocity_span_ms = 10'000;
  uint32_t velocity_count = 10;
  AmountLimit velocity_amount{1'000'000};
  bool enabled = true;  // --rules off: no rule is evaluated, no state kept
};

enum class Rule : uint8_t { kHighAmount, kInternationalHigh, kVelocityCount, kVelocityAmount };
inline constexpr int kRuleCount = 4;
std::string_view RuleName(Rule r);

struct Anomaly {
  Rule rule;
  uint64_t sequence;
  Transaction tx;         // its strings are the record's: valid while the record is
  int64_t threshold = 0;  // amount rules: the limit, in the currency's minor units
  uint32_t count = 0;     // velocity rules: the user's records in (t - span, t]
  Sum sum = 0;            // velocity rules: their amounts in the record's currency
};

class AnomalyDetector {
 public:
  AnomalyDetector(RuleConfig rules, int64_t lateness_ms)
      : rules_(std::move(rules)), lateness_ms_(lateness_ms) {}

  // Evaluates every rule for tx, read from input partition `partition`; appends what fires to
  // *out.
  void Check(const Transaction& tx, uint64_t sequence, uint32_t partition,
             std::vector<Anomaly>* out);

  // Drops every user whose state has expired (above), calling on_drop(user) first for each.
  // When it runs changes no result: Check() treats an expired state as dropped already.
  template <typename F>
  void Expire(F&& on_drop) {
    for (size_t p = 0; p < queues_.size(); ++p) {
      for (int64_t id; (id = NextExpired(p)) >= 0;) {
        const std::string_view user = users_.Get(static_cast<uint32_t>(id));
        on_drop(user);
        if (record_changes_) AppendChange(user, kChangeDrop, nullptr);
        Drop(static_cast<uint32_t>(id));
      }
    }
  }
  // Forgets a user at once (a tombstone read back).
  void Forget(std::string_view user) {
    if (const int64_t id = users_.Find(user); id >= 0) Drop(static_cast<uint32_t>(id));
  }
  // Forgets every user (a snapshot of the state is read back next).
  void Clear();
  // The largest time of partition p's valid records (a restored task's).
  void SetPartitionMax(uint32_t p, int64_t t);

  size_t tracked_users() const { return users_.size(); }
  const RuleConfig& rules() const { return rules_; }

  // Checkpointing (the Kafka runner's changelog), as what changed rather than whole states.
  // With RecordChanges() on, each change to the state is appended, in order: each record
  // Check() added to a user's state (saying whether it emptied an expired state first), and
  // each user Expire() dropped. On a detector holding the state as it was before them,
  // ApplyChanges() makes the same state again: the same histories, evictions and expiries.
  // The changes come in frames of about kChangeFrameBytes at most, cut between changes:
  //   change: varint user length | user | u8 kind (kChangeRecord, kChangeRecordOnEmptied,
  //           kChangeDrop) | for a record: zigzag varint time - the frame's previous record's
  //           time (0 for its first), zigzag varint amount, 3-byte currency code
  // TakeChanges() hands them over and starts afresh.
  static constexpr size_t kChangeFrameBytes = 256 * 1024;
  void RecordChanges() { record_changes_ = true; }
  std::vector<std::string> TakeChanges() { return std::exchange(changes_, {}); }
  // False when the frame is not well formed (the changes before the fault stay applied).
  bool ApplyChanges(std::string_view frame, uint32_t partition);
  // Every user's state, for a snapshot: fn(user, ExportUser's bytes).
  template <typename F>
  void ExportAll(F&& fn) const {
    std::string bytes;
    for (uint32_t id = 0; id < states_.size(); ++id) {
      if (states_[id].max_time_ms == INT64_MIN) continue;  // no user (dropped)
      bytes.clear();
      ExportUser(id, &bytes);
      fn(users_.Get(id), std::string_view(bytes));
    }
  }
  // A user's state as bytes, and back: little-endian int64 max time, a byte with the number of
  // currencies, then per currency its ISO code (3 bytes), a u32 count and that many (time,
  // amount) int64 pairs.
  void ExportUser(uint32_t id, std::string* out) const;
  // A user's state (of a record of `partition`) back from ExportUser's bytes.
  bool ImportUser(std::string_view user, uint32_t partition, std::string_view data);

 private:
  static constexpr uint8_t kChangeRecord = 0, kChangeRecordOnEmptied = 1, kChangeDrop = 2;
  struct Entry {
    int64_t time_ms;
    int64_t amount;  // minor units
    Sum cum;         // running sum of amounts up to and including this entry
  };
  // A user's retained records in one currency, sorted by time, in entries[head..). Evicting
  // advances head (compacted now and then); prefix sums make each range query two binary
  // searches, so a hot user with thousands of records in the span costs O(log n), not O(n).
  struct History {
    Currency currency;
    size_t head = 0;
    std::vector<Entry> entries;
  };
  struct UserState {
    int64_t max_time_ms = INT64_MIN;
    std::vector<History> histories;  // one per currency the user paid in (usually one)
    uint32_t partition = 0;          // of the user's latest record
    bool queued = false;             // has an entry in queues_[partition]
  };
  using Expiry = std::pair<int64_t, uint32_t>;  // (time it expires at, user id)

  // The user's state for a record of `partition`, created or (expired) emptied (*emptied).
  UserState& StateFor(std::string_view user, uint32_t partition, uint32_t* id,
                      bool* emptied = nullptr);
  void AddPartition(uint32_t p);
  // Adds a record to user id's state u (its partition set): evicts what the span no longer
  // needs, stores it, and counts the user's records in (t - span, t] and their sum in c.
  void AddRecord(UserState& u, uint32_t id, int64_t t, int64_t amount, Currency c, uint32_t* count,
                 Sum* sum);
  void AppendChange(std::string_view user, uint8_t kind, const Transaction* tx);
  // When u expires: its partition's watermark at or past this.
  int64_t ExpiresAt(const UserState& u) const;
  void Enqueue(uint32_t id);
  // The id of a user in partition p's queue whose state has expired, or -1 if none has.
  int64_t NextExpired(size_t p);
  void Drop(uint32_t id);

  // Drops h's entries at or before keep_after; inserts (t, amount) unless it is that old
  // itself. Returns the records in (from, t] and their sum (tx included, stored or not).
  void Update(History& h, int64_t keep_after, int64_t t, int64_t amount, int64_t from,
              uint32_t* count, Sum* sum);
  // Records in (from, t] of a history that tx does not belong to.
  static uint32_t CountIn(const History& h, int64_t from, int64_t t);

  RuleConfig rules_;
  int64_t lateness_ms_;
  Interner users_;
  std::vector<UserState> states_;            // by user id
  std::vector<int64_t> partition_max_;       // largest valid time per partition, INT64_MIN if none
  std::vector<std::vector<Expiry>> queues_;  // per partition: min-heaps on expiry time
  bool record_changes_ = false;
  std::vector<std::string> changes_;  // frames
  int64_t last_change_time_ = 0;      // of the last record in changes_.back()
};

}  // namespace spate
