#include "stream/anomaly_rules.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace spate {

std::string_view RuleName(Rule r) {
  switch (r) {
    case Rule::kHighAmount: return "high_amount";
    case Rule::kInternationalHigh: return "international_high";
    case Rule::kVelocityCount: return "velocity_count";
    case Rule::kVelocityAmount: return "velocity_amount";
  }
  return "unknown";
}

void AnomalyDetector::Check(const Transaction& tx, uint64_t sequence, std::vector<Anomaly>* out) {
  if (tx.amount_cents > rules_.high_amount_cents) {
    out->push_back({Rule::kHighAmount, sequence, tx, rules_.high_amount_cents});
  }
  if (tx.international && tx.amount_cents > rules_.intl_amount_cents) {
    out->push_back({Rule::kInternationalHigh, sequence, tx, rules_.intl_amount_cents});
  }

  UserState& u = users_[tx.user];
  if (track_dirty_ && !u.dirty) {
    u.dirty = true;
    dirty_.push_back(tx.user);
  }
  u.max_time_ms = std::max(u.max_time_ms, tx.time_ms);
  const int64_t keep_after = u.max_time_ms - rules_.velocity_span_ms - lateness_ms_;
  auto& v = u.entries;
  auto by_time = [](const Entry& e, int64_t t) { return e.time_ms <= t; };
  // Evict entries at or before keep_after.
  u.head = static_cast<size_t>(
      std::partition_point(v.begin() + static_cast<ptrdiff_t>(u.head), v.end(),
                           [&](const Entry& e) { return by_time(e, keep_after); }) -
      v.begin());
  if (u.head > 0 && u.head * 2 >= v.size()) {
    v.erase(v.begin(), v.begin() + static_cast<ptrdiff_t>(u.head));
    u.head = 0;
  }
  const auto live = v.begin() + static_cast<ptrdiff_t>(u.head);
  // Insert tx (unless it is already older than the retention bound) at its time position.
  auto pos =
      std::partition_point(live, v.end(), [&](const Entry& e) { return by_time(e, tx.time_ms); });
  // Running sums start from `base`, the sum of everything erased before v.front().
  const int64_t base = v.empty() ? 0 : v.front().cum_cents - v.front().amount_cents;
  bool retained = tx.time_ms > keep_after;
  if (retained) {
    int64_t before = pos == v.begin() ? base : (pos - 1)->cum_cents;
    pos = v.insert(pos, Entry{tx.time_ms, tx.amount_cents, before + tx.amount_cents});
    for (auto it = pos + 1; it != v.end(); ++it) it->cum_cents += tx.amount_cents;
    ++pos;  // one past the last entry with time <= t
  }
  const auto live2 = v.begin() + static_cast<ptrdiff_t>(u.head);
  const int64_t from = tx.time_ms - rules_.velocity_span_ms;  // exclusive
  auto lo = std::partition_point(live2, pos, [&](const Entry& e) { return by_time(e, from); });
  uint32_t count = static_cast<uint32_t>(pos - lo);
  int64_t sum = 0;
  if (count > 0) {
    sum = (pos - 1)->cum_cents - (lo == v.begin() ? base : (lo - 1)->cum_cents);
  }
  if (!retained) {  // not stored, but it still counts for its own evaluation
    ++count;
    sum += tx.amount_cents;
  }
  if (count > rules_.velocity_count) {
    out->push_back({Rule::kVelocityCount, sequence, tx, 0, count, sum});
  }
  if (sum > rules_.velocity_amount_cents) {
    out->push_back({Rule::kVelocityAmount, sequence, tx, 0, count, sum});
  }
}

std::vector<uint32_t> AnomalyDetector::TakeDirtyUsers() {
  for (uint32_t user : dirty_) users_[user].dirty = false;
  return std::exchange(dirty_, {});
}

namespace {
void PutI64(std::string* out, int64_t v) {
  for (int i = 0; i < 8; ++i)
    out->push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
}
int64_t GetI64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<int64_t>(v);
}
}  // namespace

void AnomalyDetector::ExportUser(uint32_t user, std::string* out) const {
  auto it = users_.find(user);
  if (it == users_.end()) return;
  const UserState& u = it->second;
  PutI64(out, u.max_time_ms);
  for (size_t i = u.head; i < u.entries.size(); ++i) {
    PutI64(out, u.entries[i].time_ms);
    PutI64(out, u.entries[i].amount_cents);
  }
}

bool AnomalyDetector::ImportUser(uint32_t user, std::string_view data) {
  if (data.size() < 8 || (data.size() - 8) % 16 != 0) return false;
  UserState u;
  u.max_time_ms = GetI64(data.data());
  int64_t cum = 0;
  for (size_t off = 8; off < data.size(); off += 16) {
    Entry e{GetI64(data.data() + off), GetI64(data.data() + off + 8), 0};
    cum += e.amount_cents;
    e.cum_cents = cum;
    u.entries.push_back(e);
  }
  users_[user] = std::move(u);
  return true;
}

void FormatAnomaly(const Anomaly& a, const RuleConfig& rules, std::string* out) {
  auto it = std::back_inserter(*out);
  fmt::format_to(it, R"({{"rule":"{}","userId":"{}","transactionId":"{}","transactionTime":{},)",
                 RuleName(a.rule), IdString(kUserPrefix, a.tx.user),
                 UuidString(a.tx.transaction_id), a.tx.time_ms);
  fmt::format_to(it, R"("amount":{},"sequence":{},"evidence":)", AmountString(a.tx.amount_cents),
                 a.sequence);
  switch (a.rule) {
    case Rule::kHighAmount:
    case Rule::kInternationalHigh:
      fmt::format_to(it, R"({{"threshold":{}}}}})", AmountString(a.threshold_cents));
      break;
    case Rule::kVelocityCount:
    case Rule::kVelocityAmount:
      fmt::format_to(
          it, R"({{"count":{},"totalAmount":{},"spanMs":{},"countLimit":{},"amountLimit":{}}}}})",
          a.count, AmountString(a.sum_cents), rules.velocity_span_ms, rules.velocity_count,
          AmountString(rules.velocity_amount_cents));
      break;
  }
}

}  // namespace spate
