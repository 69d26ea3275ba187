#include "sinks/elasticsearch/document.h"

#include <array>

#include <fmt/format.h>
#include <simdjson.h>

#include "core/codec.h"
#include "core/currency.h"
#include "core/money.h"
#include "core/transaction.h"

namespace spate::es {
namespace {

constexpr std::array<std::string_view, 5> kKeyFields = {"merchantId", "userId", "location",
                                                        "currency", "paymentMethod"};
constexpr std::array<std::string_view, 4> kAmountFields = {"totalAmount", "minAmount", "maxAmount",
                                                           "amount"};

// A string's content without quotes.
std::string_view Text(simdjson::dom::element e) {
  return e.is_string() ? std::string_view(e.get_string().value_unsafe()) : std::string_view();
}

// A scalar as text for an _id: a string's content, anything else minified.
std::string IdPart(simdjson::dom::element e) {
  return e.is_string() ? std::string(Text(e)) : simdjson::to_string(e);
}

}  // namespace

std::string_view DocKindName(DocKind k) {
  switch (k) {
    case DocKind::kAggregate: return "aggregate";
    case DocKind::kTotal: return "total";
    case DocKind::kAnomaly: return "anomaly";
    case DocKind::kTransaction: return "transaction";
  }
  return "?";
}

Status MakeDocument(std::string_view json, Document* out) {
  // The DOM parser keeps each number's value only, so amounts are re-read from the text below;
  // one parser per thread is reused (it keeps its buffers).
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return Status::Error(std::string("not JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return Status::Error("not a JSON object");

  std::string_view key_field, key;
  for (std::string_view f : kKeyFields) {
    simdjson::dom::element v;
    if (!obj[f].get(v) && v.is_string()) {
      key_field = f;
      key = Text(v);
      break;
    }
  }
  out->id.clear();
  // Room for the cents twins too, so that appending them does not move the source again.
  out->source.reserve(json.size() + kAmountFields.size() * 32);
  out->source.assign(json);
  while (!out->source.empty() &&
         (out->source.back() == '\n' || out->source.back() == '\r' || out->source.back() == ' ')) {
    out->source.pop_back();
  }
  // Money in different currencies is never the same document: the currency is part of the _id
  // of aggregates and totals (unless it is their group key), and sets the twins' minor units.
  simdjson::dom::element cur;
  std::string_view currency = !obj["currency"].get(cur) && cur.is_string() ? Text(cur) : "";
  const std::string id_currency =
      key_field != "currency" && !currency.empty() ? "-" + std::string(currency) : "";
  simdjson::dom::element ws, we, tid, rule;
  bool has_window = !obj["windowStart"].get(ws) && !obj["windowEnd"].get(we);
  bool has_tid = !obj["transactionId"].get(tid) && tid.is_string();
  bool has_rule = !obj["rule"].get(rule) && rule.is_string();
  if (has_window && !key.empty()) {
    out->kind = DocKind::kAggregate;
    out->id = fmt::format("{}-{}-{}-{}{}", IdPart(ws), IdPart(we), key_field, key, id_currency);
  } else if (has_tid && has_rule) {
    out->kind = DocKind::kAnomaly;
    out->id = fmt::format("{}-{}", Text(tid), Text(rule));
  } else if (has_tid) {
    out->kind = DocKind::kTransaction;
    out->id.assign(Text(tid));
  } else if (!key.empty() && !obj["totalAmount"].error()) {
    out->kind = DocKind::kTotal;
    out->id = fmt::format("{}-{}{}", key_field, key, id_currency);
  } else {
    return Status::Error(
        "no document id: expected an aggregate (windowStart, windowEnd, a key field), a total "
        "(a key field, totalAmount), an anomaly (transactionId, rule) or a transaction "
        "(transactionId)");
  }
  // The exact amount in minor units of the currency (cents for USD, yen for JPY, fils for BHD;
  // two decimals without a currency) beside each decimal amount: "totalAmountCents".
  // simdjson's DOM keeps numbers as doubles only, so the digits are taken from the line itself:
  // the value's position is found by the field name.
  const auto parsed = ParseCurrency(currency);
  const int digits = parsed ? MinorDigits(*parsed) : 2;
  if (out->source.empty() || out->source.back() != '}') return Status::Error("not a JSON object");
  std::string extra;
  for (std::string_view f : kAmountFields) {
    simdjson::dom::element v;
    if (obj[f].get(v) || !v.is_number()) continue;
    std::string needle = fmt::format("\"{}\":", f);
    size_t at = json.find(needle);
    if (at == std::string_view::npos) continue;  // written with spaces: no twin, still indexed
    size_t b = at + needle.size();
    size_t e = b;
    while (e < json.size() && json[e] != ',' && json[e] != '}' && json[e] != ' ') ++e;
    int64_t minor;
    if (ParseAmount(json.substr(b, e - b), digits, &minor) == AmountError::kNone) {
      fmt::format_to(std::back_inserter(extra), ",\"{}Cents\":{}", f, minor);
    }
  }
  if (!extra.empty()) {
    out->source.pop_back();
    out->source += extra;
    out->source.push_back('}');
  }
  return Status::Ok();
}

void AppendBulkIndex(std::string_view index, const Document& doc, int64_t version,
                     std::string* out) {
  out->append(R"({"index":{"_index":)");
  AppendJsonString(index, out);
  out->append(R"(,"_id":)");
  AppendJsonString(doc.id, out);
  fmt::format_to(std::back_inserter(*out), R"(,"version":{},"version_type":"external"}}}})",
                 version);
  out->push_back('\n');
  out->append(doc.source);
  out->push_back('\n');
}

}  // namespace spate::es
