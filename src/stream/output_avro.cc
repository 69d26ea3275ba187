// Avro encodings of the engine's outputs, written by hand for schemas/aggregate.avsc and
// schemas/anomaly.avsc (field order as in the schemas).

#include "core/avro_write.h"
#include "stream/output_format.h"

namespace spate {

void AppendAggregateAvro(GroupBy g, int64_t start, int64_t end, uint32_t key, const WindowAgg& a,
                         bool update, uint32_t schema_id, std::string* out) {
  using namespace avro;  // NOLINT: the writers only
  AppendConfluentHeader(schema_id, out);
  AppendLong(start, out);
  AppendLong(end, out);
  // The five nullable key fields, in schema order: branch 1 (string) for the --group-by one.
  for (GroupBy k : {GroupBy::kMerchantId, GroupBy::kUserId, GroupBy::kLocation, GroupBy::kCurrency,
                    GroupBy::kPaymentMethod}) {
    if (k == g) {
      AppendLong(1, out);
      AppendString(GroupKeyString(g, key), out);
    } else {
      AppendLong(0, out);
    }
  }
  AppendLong(a.count, out);
  AppendDecimal(a.sum_cents, out);
  AppendDecimal(a.min_cents, out);
  AppendDecimal(a.max_cents, out);
  AppendLong(a.purchases, out);
  AppendLong(a.refunds, out);
  if (update) {
    AppendLong(1, out);
    AppendString("update", out);
  } else {
    AppendLong(0, out);
  }
}

void AppendAnomalyAvro(const Anomaly& a, const RuleConfig& rules, uint32_t schema_id,
                       std::string* out) {
  using namespace avro;  // NOLINT: the writers only
  AppendConfluentHeader(schema_id, out);
  AppendLong(static_cast<int64_t>(a.rule), out);  // enum Rule: symbols in Rule's order
  AppendString(IdString(kUserPrefix, a.tx.user), out);
  AppendString(UuidString(a.tx.transaction_id), out);
  AppendLong(a.tx.time_ms, out);
  AppendDecimal(a.tx.amount_cents, out);
  AppendLong(static_cast<int64_t>(a.sequence), out);
  switch (a.rule) {
    case Rule::kHighAmount:
    case Rule::kInternationalHigh:
      AppendLong(0, out);  // AmountEvidence
      AppendDecimal(a.threshold_cents, out);
      break;
    case Rule::kVelocityCount:
    case Rule::kVelocityAmount:
      AppendLong(1, out);  // VelocityEvidence
      AppendLong(a.count, out);
      AppendDecimal(a.sum_cents, out);
      AppendLong(rules.velocity_span_ms, out);
      AppendLong(rules.velocity_count, out);
      AppendDecimal(rules.velocity_amount_cents, out);
      break;
  }
}

}  // namespace spate
