#include "stream/output_format.h"

#include <absl/strings/escaping.h>
#include <fmt/format.h>

namespace spate {

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      fmt::format_to(std::back_inserter(*out), "\\u{:04x}", u);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void AppendAggregateLine(GroupBy g, int64_t start, int64_t end, uint32_t key, const WindowAgg& a,
                         bool update, std::string* out) {
  fmt::format_to(std::back_inserter(*out),
                 R"({{"windowStart":{},"windowEnd":{},"{}":"{}","transactionCount":{},)"
                 R"("totalAmount":{},"minAmount":{},"maxAmount":{},"purchaseCount":{},)"
                 R"("refundCount":{}{}}})"
                 "\n",
                 start, end, GroupByField(g), GroupKeyString(g, key), a.count,
                 AmountString(a.sum_cents), AmountString(a.min_cents), AmountString(a.max_cents),
                 a.purchases, a.refunds, update ? R"(,"emit":"update")" : "");
}

void AppendTotalLine(GroupBy g, uint32_t key, int64_t count, int64_t sum_cents, std::string* out) {
  fmt::format_to(std::back_inserter(*out),
                 R"({{"{}":"{}","totalAmount":{},"transactionCount":{}}})"
                 "\n",
                 GroupByField(g), GroupKeyString(g, key), AmountString(sum_cents), count);
}

void AppendAnomalyLine(const Anomaly& a, const RuleConfig& rules, std::string* out) {
  FormatAnomaly(a, rules, out);
  out->push_back('\n');
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

void AppendKeyAndPayload(std::string_view key, std::string_view payload, std::string* out) {
  out->append(R"(,"key":")");
  out->append(absl::Base64Escape(absl::string_view(key.data(), key.size())));
  out->append(R"(","payload":")");
  out->append(absl::Base64Escape(absl::string_view(payload.data(), payload.size())));
  out->append("\"}\n");
}

}  // namespace

void AppendDeadLetterLine(const SourcePosition& pos, DecodeError error, std::string_view reason,
                          std::string_view key, std::string_view payload, std::string* out) {
  fmt::format_to(std::back_inserter(*out),
                 R"({{"sequence":{},"partition":{},"offset":{},"error":"{}","reason":)",
                 pos.sequence, pos.partition, pos.offset, DecodeErrorName(error));
  AppendJsonString(reason, out);
  AppendKeyAndPayload(key, payload, out);
}

void AppendSinkDeadLetterLine(const SourcePosition& pos, std::string_view topic,
                              std::string_view error, std::string_view reason, std::string_view key,
                              std::string_view payload, std::string* out) {
  fmt::format_to(std::back_inserter(*out), R"({{"sequence":{},"topic":)", pos.sequence);
  AppendJsonString(topic, out);
  fmt::format_to(std::back_inserter(*out), R"(,"partition":{},"offset":{},"error":)", pos.partition,
                 pos.offset);
  AppendJsonString(error, out);
  out->append(R"(,"reason":)");
  AppendJsonString(reason, out);
  AppendKeyAndPayload(key, payload, out);
}

}  // namespace spate
