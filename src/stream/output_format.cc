#include "stream/output_format.h"

#include <absl/strings/escaping.h>
#include <fmt/format.h>
#include <openssl/evp.h>

namespace spate {
namespace {

// An integer's digits: fmt::format_int writes them into its own buffer. format_to through a
// string's back_inserter grew the string through fmt's iterator buffer, about 4% of JSON
// decode + aggregate on the realistic profile (perf).
void Int(int64_t v, std::string* out) {
  const fmt::format_int f(v);
  out->append(f.data(), f.size());
}

void Money(Sum minor, Currency c, std::string* out) {
  char buf[kMaxAmountText];
  out->append(buf, FormatAmount(buf, minor, MinorDigits(c)));
}

// The group key's field and the currency, in the order of schemas/aggregate.avsc's key fields
// (merchantId, userId, location, currency, paymentMethod), so that an Avro result read in its
// plain JSON form is the JSON line.
void KeyAndCurrency(GroupBy g, std::string_view key, Currency c, std::string* out) {
  bool first = true;
  for (GroupBy k : {GroupBy::kMerchantId, GroupBy::kUserId, GroupBy::kLocation, GroupBy::kCurrency,
                    GroupBy::kPaymentMethod}) {
    if (k != g && k != GroupBy::kCurrency) continue;
    if (!first) out->push_back(',');
    first = false;
    out->push_back('"');
    out->append(GroupByField(k));
    out->append("\":");
    AppendJsonString(k == g ? key : CurrencyCode(c), out);
  }
}

}  // namespace

void AppendAggregateLine(GroupBy g, int64_t start, int64_t end, std::string_view key, Currency c,
                         const WindowAgg& a, bool update, std::string* out) {
  out->append(R"({"windowStart":)");
  Int(start, out);
  out->append(R"(,"windowEnd":)");
  Int(end, out);
  out->push_back(',');
  KeyAndCurrency(g, key, c, out);
  out->append(R"(,"transactionCount":)");
  Int(a.count, out);
  out->append(R"(,"totalAmount":)");
  if (a.overflow) {
    out->append("null");
  } else {
    Money(a.sum, c, out);
  }
  out->append(R"(,"minAmount":)");
  Money(a.min, c, out);
  out->append(R"(,"maxAmount":)");
  Money(a.max, c, out);
  out->append(R"(,"purchaseCount":)");
  Int(a.purchases, out);
  out->append(R"(,"refundCount":)");
  Int(a.refunds, out);
  if (update) out->append(R"(,"emit":"update")");
  if (a.overflow) out->append(R"(,"overflow":true)");
  out->append("}\n");
}

void AppendTotalLine(GroupBy g, std::string_view key, Currency c, const TotalsStore::Total& t,
                     std::string* out) {
  out->push_back('{');
  KeyAndCurrency(g, key, c, out);
  out->append(R"(,"totalAmount":)");
  if (t.overflow) {
    out->append("null");
  } else {
    Money(t.sum, c, out);
  }
  out->append(R"(,"transactionCount":)");
  Int(t.count, out);
  if (t.overflow) out->append(R"(,"overflow":true)");
  out->append("}\n");
}

void AppendAnomalyLine(const Anomaly& a, const RuleConfig& rules, std::string* out) {
  const Currency c = a.tx.currency;
  fmt::format_to(std::back_inserter(*out), R"({{"rule":"{}","userId":)", RuleName(a.rule));
  AppendJsonString(a.tx.user, out);
  out->append(R"(,"transactionId":)");
  AppendJsonString(a.tx.transaction_id, out);
  fmt::format_to(std::back_inserter(*out), R"(,"transactionTime":{},"amount":)", a.tx.time_ms);
  Money(a.tx.amount, c, out);
  fmt::format_to(std::back_inserter(*out), R"(,"sequence":{},"evidence":)", a.sequence);
  switch (a.rule) {
    case Rule::kHighAmount:
    case Rule::kInternationalHigh:
      out->append(R"({"threshold":)");
      Money(a.threshold, c, out);
      out->append("}");
      break;
    case Rule::kVelocityCount:
    case Rule::kVelocityAmount:
      fmt::format_to(std::back_inserter(*out), R"({{"count":{},"totalAmount":)", a.count);
      Money(a.sum, c, out);
      fmt::format_to(std::back_inserter(*out), R"(,"spanMs":{},"countLimit":{},"amountLimit":)",
                     rules.velocity_span_ms, rules.velocity_count);
      Money(rules.velocity_amount.Minor(c), c, out);
      out->append("}");
      break;
  }
  // Last, as schemas/anomaly.avsc added it.
  out->append(R"(,"currency":")");
  out->append(CurrencyCode(c));
  out->append("\"}\n");
}

void AppendLateLine(const SourcePosition& pos, int64_t watermark,
                    const std::vector<int64_t>& missed_starts, bool partial, const Transaction& tx,
                    std::string* out) {
  fmt::format_to(
      std::back_inserter(*out),
      R"({{"sequence":{},"partition":{},"offset":{},"watermark":{},"missedWindows":[{}],)"
      R"("partial":{},"record":)",
      pos.sequence, pos.partition, pos.offset, watermark, fmt::join(missed_starts, ","), partial);
  EncodeJson(tx, out);
  out->append("}\n");
}

namespace {

// OpenSSL's SHA-256, in hex.
std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1) return "";
  std::string hex;
  hex.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) fmt::format_to(std::back_inserter(hex), "{:02x}", md[i]);
  return hex;
}

// ,"<name>":"<base64 of at most kDeadLetterMaxBytes>" and, when cut, the original size and
// SHA-256. Returns true when it cut.
bool AppendBounded(std::string_view name, std::string_view bytes, std::string* out) {
  const bool cut = bytes.size() > kDeadLetterMaxBytes;
  const std::string_view kept = bytes.substr(0, kDeadLetterMaxBytes);
  fmt::format_to(std::back_inserter(*out), R"(,"{}":")", name);
  out->append(absl::Base64Escape(absl::string_view(kept.data(), kept.size())));
  out->push_back('"');
  if (cut) {
    fmt::format_to(std::back_inserter(*out), R"(,"{}Bytes":{},"{}Sha256":"{}")", name, bytes.size(),
                   name, Sha256Hex(bytes));
  }
  return cut;
}

bool AppendKeyAndPayload(std::string_view key, std::string_view payload, std::string* out) {
  const bool key_cut = AppendBounded("key", key, out);
  const bool payload_cut = AppendBounded("payload", payload, out);
  out->append("}\n");
  return key_cut || payload_cut;
}

}  // namespace

bool AppendDeadLetterLine(const SourcePosition& pos, DecodeError error, std::string_view reason,
                          std::string_view key, std::string_view payload, std::string* out) {
  fmt::format_to(std::back_inserter(*out),
                 R"({{"sequence":{},"partition":{},"offset":{},"error":"{}","reason":)",
                 pos.sequence, pos.partition, pos.offset, DecodeErrorName(error));
  AppendJsonString(reason, out);
  return AppendKeyAndPayload(key, payload, out);
}

bool AppendSinkDeadLetterLine(const SourcePosition& pos, std::string_view topic,
                              std::string_view error, std::string_view reason, std::string_view key,
                              std::string_view payload, std::string* out) {
  fmt::format_to(std::back_inserter(*out), R"({{"sequence":{},"topic":)", pos.sequence);
  AppendJsonString(topic, out);
  fmt::format_to(std::back_inserter(*out), R"(,"partition":{},"offset":{},"error":)", pos.partition,
                 pos.offset);
  AppendJsonString(error, out);
  out->append(R"(,"reason":)");
  AppendJsonString(reason, out);
  return AppendKeyAndPayload(key, payload, out);
}

}  // namespace spate
