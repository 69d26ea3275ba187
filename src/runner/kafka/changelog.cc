#include "runner/kafka/changelog.h"

#include <charconv>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "core/bytes.h"
#include "kafka/errors.h"
#include "obs/log.h"

namespace spate {

namespace {
constexpr int kEmptyQueryTimeoutMs = 5000;  // per partition, asking whether it is empty
}  // namespace

std::string ChangelogFingerprint(const AggregateConfig& c, int input_partitions) {
  const auto& e = c.engine;
  const auto& r = e.rules;
  std::string names;
  for (int i = 0; i < kRoleCount; ++i)
    names += (names.empty() ? "" : ",") + c.wire.record.name(static_cast<Role>(i));
  return fmt::format(
      "v5 partitions={} window={} hop={} lateness={} group={} rules={}:{},{},{},{},{} "
      "totals={} format={} time={} fields={} max-id={}",
      input_partitions, e.window.size_ms, e.window.hop_ms, e.lateness_ms, GroupByField(e.group_by),
      r.enabled ? "on" : "off", r.high_amount.ToString(), r.intl_amount.ToString(),
      r.velocity_span_ms, r.velocity_count, r.velocity_amount.ToString(), e.totals ? "on" : "off",
      WireFormatName(c.wire.format), TimeFormatName(c.wire.record.time), names,
      c.wire.record.max_id_bytes);
}

void PutI64(std::string* out, int64_t v) { PutLe(out, static_cast<uint64_t>(v), 8); }

int64_t GetI64(std::string_view s, size_t i) { return static_cast<int64_t>(GetLe(s, i * 8, 8)); }

void PutSum(std::string* out, Sum v) { PutSumLe(out, v); }

Sum GetSum(std::string_view s, size_t i) { return GetSumLe(s, i * 8); }

std::string SnapshotChunkKey(int64_t i) { return "r" + std::to_string(i); }
std::string ChangesKey(int64_t n) { return "d" + std::to_string(n); }
bool ParseKeyNumber(std::string_view key, int64_t* n) {
  const char* end = key.data() + key.size();
  return key.size() >= 2 && key[1] != '-' && std::from_chars(key.data() + 1, end, *n).ptr == end;
}
std::string SourceKey(uint32_t source) { return "s" + std::to_string(source); }
std::string WindowKey(int64_t start, Currency c, std::string_view key) {
  return fmt::format("w{}:{}:{}", start, CurrencyCode(c), key);
}
std::string TotalKey(Currency c, std::string_view key) {
  return fmt::format("t{}:{}", CurrencyCode(c), key);
}

namespace {

// "<CUR>:<key>" (the rest of a window or total key).
bool ParseCurrencyAndKey(std::string_view s, Currency* c, std::string_view* key) {
  if (s.size() < 4 || s[3] != ':') return false;
  auto parsed = ParseCurrency(s.substr(0, 3));
  if (!parsed) return false;
  *c = *parsed;
  *key = s.substr(4);
  return true;
}

}  // namespace

bool ParseWindowKey(std::string_view key, int64_t* start, Currency* c,
                    std::string_view* group_key) {
  const size_t colon = key.find(':');
  if (key.size() < 2 || key[0] != 'w' || colon == std::string_view::npos) return false;
  const auto digits = key.substr(1, colon - 1);
  if (std::from_chars(digits.data(), digits.data() + digits.size(), *start).ptr !=
      digits.data() + digits.size()) {
    return false;
  }
  return ParseCurrencyAndKey(key.substr(colon + 1), c, group_key);
}

bool ParseTotalKey(std::string_view key, Currency* c, std::string_view* group_key) {
  return !key.empty() && key[0] == 't' && ParseCurrencyAndKey(key.substr(1), c, group_key);
}

Status ReadChangelog(kafka::Consumer& restorer, const kafka::Client& prober,
                     const std::string& topic, const std::vector<int32_t>& partitions,
                     const RestoreHooks& hooks,
                     const std::function<Status(const ChangelogEntry&)>& apply) {
  // A partition with nothing in it (high watermark at the low one) is not read: reading it to
  // its end waits for a fetch that returns nothing, and for a just-created topic's metadata
  // first (2 s for a new group's 12 empty partitions). After a failed query, the rest are read.
  // The prober reads uncommitted: the restorer would be told the last stable offset, which is
  // the low watermark while the partition's first transaction is open, and a transaction whose
  // commit has returned stays open until the coordinator has written its markers. Taking that
  // partition for empty lost the state its previous owner had just committed.
  std::vector<int32_t> to_read;
  bool query = true;
  for (int32_t p : partitions) {
    if (hooks.stop && hooks.stop()) return Status::Error("stopped while restoring " + topic);
    if (query) {
      auto marks = prober.QueryWatermarks(topic, p, kEmptyQueryTimeoutMs);
      query = marks.ok();
      if (marks.ok() && marks.value().high <= marks.value().low) continue;  // empty
    }
    to_read.push_back(p);
  }
  if (to_read.empty()) {
    if (hooks.progress) hooks.progress(0, 0);
    return Status::Ok();
  }
  if (Status s = restorer.Assign(topic, to_read, kafka::kOffsetBeginning); !s.ok()) return s;
  std::set<int32_t> pending(to_read.begin(), to_read.end()), blocked;
  uint64_t entries = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto next_report = t0 + std::chrono::seconds(10);
  while (!pending.empty()) {
    if (hooks.stop && hooks.stop()) return Status::Error("stopped while restoring " + topic);
    if (const auto now = std::chrono::steady_clock::now(); now >= next_report) {
      next_report = now + std::chrono::seconds(10);
      Logger("runner/kafka")
          .info("restoring from {}: {} entries in {:.0f} s, {} of {} partitions left{}", topic,
                entries, std::chrono::duration<double>(now - t0).count(), pending.size(),
                to_read.size(), blocked.empty() ? "" : " (behind an open transaction)");
      if (hooks.progress) hooks.progress(entries, pending.size());
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
                  "{} [{}]: waiting for the transaction open at offset {} (below the high "
                  "watermark {}) to end",
                  topic, m.partition(), m.offset(), marks->high);
        }
        continue;
      }
      pending.erase(m.partition());
      continue;
    }
    if (m.err() && kafka::Classify(m.err()) == kafka::ErrorClass::kRetriable) continue;
    if (m.err()) return Status::Error("reading " + topic + ": " + kafka::ErrorText(m.err()));
    ++entries;
    if (Status s = apply({m.partition(), m.key(), m.payload(), m.tombstone()}); !s.ok()) return s;
  }
  if (hooks.progress) hooks.progress(entries, 0);
  return restorer.Assign(topic, {}, 0);
}

}  // namespace spate
