#pragma once
// The documents `spate index` writes: one per Kafka record of the aggregates, totals,
// anomalies or transactions topics (the JSON lines of docs/semantics.md), with a
// deterministic _id so that a retry or a replay overwrites instead of adding:
//   aggregate   <windowStart>-<windowEnd>-<keyField>-<key>   (one per window and key)
//   total       <keyField>-<key>                             (update mode: the latest wins)
//   anomaly     <transactionId>-<rule>                       (a record can fire several rules)
//   transaction <transactionId>
// Each amount field (decimal with two places) gains an exact integer twin in cents
// ("totalAmount" -> "totalAmountCents"), parsed from the number's text, never via a double.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace spate::es {

enum class DocKind { kAggregate, kTotal, kAnomaly, kTransaction };
std::string_view DocKindName(DocKind k);

struct Document {
  DocKind kind = DocKind::kAggregate;
  std::string id;
  std::string source;  // the JSON object sent as _source (one line, no newline)
};

// Builds the document of one JSON line. An error (not JSON, not an object, no field to derive
// an _id from) means the record can never be indexed: it goes to the dead letters with the
// message as reason.
Status MakeDocument(std::string_view json, Document* out);

// Appends one `_bulk` action and its source: {"index":{"_index":..,"_id":..,"version":..,
// "version_type":"external"}} + newline + source + newline. The version is the record's Kafka
// offset, so an older record of the same _id (a replay, or a request retried after a newer one
// went through) can never overwrite a newer one: Elasticsearch answers 409, which the sink
// counts as already indexed.
void AppendBulkIndex(std::string_view index, const Document& doc, int64_t version,
                     std::string* out);

}  // namespace spate::es
