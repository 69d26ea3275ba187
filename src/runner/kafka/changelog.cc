#include "runner/kafka/changelog.h"

#include <chrono>
#include <set>

#include <fmt/format.h>

#include "kafka/errors.h"
#include "obs/log.h"

namespace spate {

std::string ChangelogFingerprint(const AggregateConfig& c, int input_partitions) {
  const auto& e = c.engine;
  return fmt::format(
      "v2 partitions={} window={} hop={} lateness={} group={} rules={},{},{},{},{} format={}",
      input_partitions, e.window.size_ms, e.window.hop_ms, e.lateness_ms, GroupByField(e.group_by),
      e.rules.high_amount_cents, e.rules.intl_amount_cents, e.rules.velocity_span_ms,
      e.rules.velocity_count, e.rules.velocity_amount_cents, WireFormatName(c.wire.format));
}

void PutI64(std::string* out, int64_t v) {
  for (int i = 0; i < 8; ++i) {
    out->push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
  }
}

int64_t GetI64(std::string_view s, size_t i) {
  uint64_t v = 0;
  for (int b = 0; b < 8; ++b) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(s[i * 8 + static_cast<size_t>(b)])) << (8 * b);
  }
  return static_cast<int64_t>(v);
}

std::string UserKey(uint32_t user) { return "u" + std::to_string(user); }
std::string SourceKey(uint32_t source) { return "s" + std::to_string(source); }
std::string WindowKey(int64_t start, uint32_t key) { return fmt::format("w{}:{}", start, key); }
std::string TotalKey(uint32_t key) { return "t" + std::to_string(key); }

void ParseWindowKey(std::string_view key, int64_t* start, uint32_t* group_key) {
  const size_t colon = key.find(':');
  *start = std::stoll(std::string(key.substr(1, colon - 1)));
  *group_key = static_cast<uint32_t>(std::stoul(std::string(key.substr(colon + 1))));
}

Status ReadChangelog(kafka::Consumer& restorer, const std::string& topic,
                     const std::vector<int32_t>& partitions, std::map<int32_t, TaskState>* state) {
  if (partitions.empty()) return Status::Ok();
  if (Status s = restorer.Assign(topic, partitions, kafka::kOffsetBeginning); !s.ok()) return s;
  std::set<int32_t> pending(partitions.begin(), partitions.end()), blocked;
  // The reading itself takes seconds; an open transaction may take the transaction timeout
  // (30 s by default) plus the coordinator's abort sweep (10 s) to end.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!pending.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Error("reading " + topic + ": timed out" +
                           (blocked.empty() ? "" : " behind a transaction that stays open"));
    }
    kafka::Message m = restorer.Poll(500);
    if (!m) continue;
    if (m.partition_eof()) {
      auto marks = restorer.CachedWatermarks(topic, m.partition());
      if (marks && marks->high > m.offset()) {
        // An open transaction at m.offset(): another end-of-partition follows once it is
        // committed or aborted.
        if (blocked.insert(m.partition()).second) {
          Logger("runner/kafka")
              .info(
                  "{} [{}]: waiting for the transaction open at offset {} (up to the high "
                  "watermark "
                  "{}) to end",
                  topic, m.partition(), m.offset(), marks->high);
        }
        continue;
      }
      pending.erase(m.partition());
      continue;
    }
    if (m.err() && kafka::Classify(m.err()) == kafka::ErrorClass::kRetriable) continue;
    if (m.err()) return Status::Error("reading " + topic + ": " + kafka::ErrorText(m.err()));
    TaskState& kv = (*state)[m.partition()];
    if (m.tombstone()) {
      kv.erase(std::string(m.key()));
    } else {
      kv[std::string(m.key())].assign(m.payload());
    }
  }
  return restorer.Assign(topic, {}, 0);
}

}  // namespace spate
