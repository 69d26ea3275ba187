// Avro encodings of the engine's outputs, written by hand for schemas/aggregate.avsc and
// schemas/anomaly.avsc (field order as in the schemas).

#include "core/avro_write.h"
#include "stream/output_format.h"

namespace spate {

void AppendAggregateAvro(GroupBy g, int64_t start, int64_t end, std::string_view key, Currency c,
                         const WindowAgg& a, bool update, uint32_t schema_id, std::string* out) {
  using namespace avro;  // NOLINT: the writers only
  const int digits = MinorDigits(c);
  AppendConfluentHeader(schema_id, out);
  AppendLong(start, out);
  AppendLong(end, out);
  // The five nullable key fields, in schema order: branch 1 (string) for the --group-by one, and
  // the currency always.
  for (GroupBy k : {GroupBy::kMerchantId, GroupBy::kUserId, GroupBy::kLocation, GroupBy::kCurrency,
                    GroupBy::kPaymentMethod}) {
    if (k == g || k == GroupBy::kCurrency) {
      AppendLong(1, out);
      AppendString(k == g ? key : CurrencyCode(c), out);
    } else {
      AppendLong(0, out);
    }
  }
  AppendLong(a.count, out);
  AppendMoney(a.sum, digits, out);
  AppendMoney(a.min, digits, out);
  AppendMoney(a.max, digits, out);
  AppendLong(a.purchases, out);
  AppendLong(a.refunds, out);
  if (update) {
    AppendLong(1, out);
    AppendString("update", out);
  } else {
    AppendLong(0, out);
  }
  if (a.overflow) {
    AppendLong(1, out);
    out->push_back(1);
  } else {
    AppendLong(0, out);
  }
}

void AppendAnomalyAvro(const Anomaly& a, const RuleConfig& rules, uint32_t schema_id,
                       std::string* out) {
  using namespace avro;  // NOLINT: the writers only
  const Currency c = a.tx.currency;
  const int digits = MinorDigits(c);
  AppendConfluentHeader(schema_id, out);
  AppendLong(static_cast<int64_t>(a.rule), out);  // enum Rule: symbols in Rule's order
  AppendString(a.tx.user, out);
  AppendString(a.tx.transaction_id, out);
  AppendLong(a.tx.time_ms, out);
  AppendMoney(a.tx.amount, digits, out);
  AppendLong(static_cast<int64_t>(a.sequence), out);
  switch (a.rule) {
    case Rule::kHighAmount:
    case Rule::kInternationalHigh:
      AppendLong(0, out);  // AmountEvidence
      AppendMoney(a.threshold, digits, out);
      break;
    case Rule::kVelocityCount:
    case Rule::kVelocityAmount:
      AppendLong(1, out);  // VelocityEvidence
      AppendLong(a.count, out);
      AppendMoney(a.sum, digits, out);
      AppendLong(rules.velocity_span_ms, out);
      AppendLong(rules.velocity_count, out);
      AppendMoney(rules.velocity_amount.Minor(c), digits, out);
      break;
  }
  AppendLong(1, out);  // currency: string
  AppendString(CurrencyCode(c), out);
}

}  // namespace spate
