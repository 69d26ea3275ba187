#pragma once
// JSON lines for the engine's outputs (docs/semantics.md lists every field), and their Avro
// encodings for the aggregates and anomalies (output_avro.cc). Each JSON function appends one
// line with its trailing newline. Amounts are written with their currency's decimals; strings
// (ids, keys) as the record had them, escaped as JSON needs.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "stream/anomaly_rules.h"
#include "stream/group_key.h"
#include "stream/totals.h"
#include "stream/window.h"

namespace spate {

void AppendAggregateLine(GroupBy g, int64_t start, int64_t end, std::string_view key, Currency c,
                         const WindowAgg& a, bool update, std::string* out);
void AppendTotalLine(GroupBy g, std::string_view key, Currency c, const TotalsStore::Total& t,
                     std::string* out);
void AppendAnomalyLine(const Anomaly& a, const RuleConfig& rules, std::string* out);

struct SourcePosition {
  uint64_t sequence = 0;
  uint32_t partition = 0;
  uint64_t offset = 0;
};

void AppendLateLine(const SourcePosition& pos, int64_t watermark,
                    const std::vector<int64_t>& missed_starts, bool partial, const Transaction& tx,
                    std::string* out);
// A dead letter keeps at most kDeadLetterMaxBytes of the record's key and of its value, so that
// it stays well below any output's size limit (Kafka's default is 1 MB; base64 adds a third):
// one oversized record never fails the batch that carries its dead letter. A cut field keeps
// its first bytes and gains "keyBytes"/"payloadBytes" (the original size) and
// "keySha256"/"payloadSha256" (hex, of the whole original). The Append*DeadLetterLine functions
// return true when they cut.
inline constexpr size_t kDeadLetterMaxBytes = 64 * 1024;
// The Kafka message key of a dead letter: the record's key, cut to the same bound.
inline std::string_view DeadLetterKey(std::string_view key) {
  return key.substr(0, kDeadLetterMaxBytes);
}

bool AppendDeadLetterLine(const SourcePosition& pos, DecodeError error, std::string_view reason,
                          std::string_view key, std::string_view payload, std::string* out);
// The same line for a record a sink could not deliver (`spate index`: Elasticsearch refused
// the document), with the record's topic added and the sink's error code ("mapping", ...).
bool AppendSinkDeadLetterLine(const SourcePosition& pos, std::string_view topic,
                              std::string_view error, std::string_view reason, std::string_view key,
                              std::string_view payload, std::string* out);

// Avro encodings of the aggregate and anomaly lines (schemas/aggregate.avsc,
// schemas/anomaly.avsc: the same fields), each a Confluent frame with the given schema id.
void AppendAggregateAvro(GroupBy g, int64_t start, int64_t end, std::string_view key, Currency c,
                         const WindowAgg& a, bool update, uint32_t schema_id, std::string* out);
void AppendAnomalyAvro(const Anomaly& a, const RuleConfig& rules, uint32_t schema_id,
                       std::string* out);

}  // namespace spate
