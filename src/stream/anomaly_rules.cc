#include "stream/anomaly_rules.h"

#include <algorithm>

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
  auto pos = std::partition_point(live, v.end(), [&](const Entry& e) { return by_time(e, tx.time_ms); });
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
      fmt::format_to(it,
                     R"({{"count":{},"totalAmount":{},"spanMs":{},"countLimit":{},"amountLimit":{}}}}})",
                     a.count, AmountString(a.sum_cents), rules.velocity_span_ms,
                     rules.velocity_count, AmountString(rules.velocity_amount_cents));
      break;
  }
}

}  // namespace spate
