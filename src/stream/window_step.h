#pragma once
// The engine's second step, once per valid record: add it to every event-time window that
// contains it and is still open at the watermark, and to its key's all-time total, both under
// (group key, currency): money in different currencies is never added together. A record that
// missed some or all of its windows (they had closed: end <= watermark) is emitted to the late
// output with the windows it missed.
//
// Then, at the points the runner chooses (a batch boundary, the end of the input):
//   - CloseUpTo / CloseAll close windows; in final mode each (window, key) result is emitted;
//   - DrainWindowChanges / DrainTotalChanges hand over what changed since the last drain
//     (emitted as updates when asked: emit-changes mode, and the Kafka runner's totals);
//   - EmitTotals emits every all-time total (the embedded runner's end of input).
// Each of them also tells the caller which entries closed or changed (as StateKeys, whose key
// string and currency KeyString and KeyCurrency give), which is how the Kafka runner keeps its
// changelog. Everything is handed back in (start, key string, currency) order. All of a group
// key's records must reach the same WindowStep.

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/transaction.h"
#include "stream/engine_config.h"
#include "stream/interner.h"
#include "stream/output.h"
#include "stream/output_format.h"
#include "stream/partial.h"
#include "stream/stats.h"
#include "stream/totals.h"
#include "stream/window_store.h"

namespace spate {

// Callbacks for a caller with nothing to do when an entry closes or changes.
inline Status IgnoreClosed(int64_t, uint64_t) { return Status::Ok(); }
inline Status IgnoreWindowChange(int64_t, uint64_t, const WindowAgg&) { return Status::Ok(); }
inline Status IgnoreTotalChange(uint64_t, const TotalsStore::Total&) { return Status::Ok(); }

class WindowStep {
 public:
  // track_changes: DrainWindowChanges() is used (emit-changes mode, or a changelog).
  // Counts into *stats, which must outlive the step.
  WindowStep(const EngineConfig& e, const OutputEncoding& enc, PipelineStats* stats,
             bool track_changes);
  // Its stores' KeyOrder reads its keys: it stays where it was made.
  WindowStep(const WindowStep&) = delete;
  WindowStep& operator=(const WindowStep&) = delete;

  Status Add(const Transaction& tx, const SourcePosition& pos, int64_t watermark, StepOutput& out) {
    return AddKeyed(tx, KeyOf(tx), pos, watermark, out);
  }

  // Add() for each of `in`'s records in order (each has .tx and .pos), with the same results;
  // returns the first error, after adding every record. Once the state outgrows the caches
  // (kFetchAheadEntries), a record's key, window and total are cache misses one after the
  // other, so each record's state is then fetched ahead of its turn, in stages kAhead records
  // apart: the group key's slot, entry and bytes in the interner (BasicInterner); then its id,
  // and the keys of its window and total entries; then those entries (bench/README.md,
  // "fetching ahead"). A small state is in the caches already, and the extra lookups would
  // only cost time.
  template <typename Records>
  Status AddAll(const Records& in, int64_t watermark, StepOutput& out) {
    Status first;
    const size_t n = std::size(in);
    const GroupBy g = engine_.group_by;
    if (windows_.entries() + totals_.size() < fetch_ahead_entries_) {
      // The state is in the caches, but the group keys' bytes, which the source step decoded
      // a chunk ago, are not: hashing them was 7% of `spate run --input` on the reference
      // profile (perf), most of it that cache miss. Each is fetched 8 records ahead.
      constexpr size_t kKeyAhead = 8;
      for (size_t j = 0; j < n; ++j) {
        if (j + kKeyAhead < n) PrefetchLine(GroupKeyOf(in[j + kKeyAhead].tx, g).data());
        Status st = Add(in[j].tx, in[j].pos, watermark, out);
        if (!st.ok() && first.ok()) first = std::move(st);
      }
      return first;
    }
    constexpr size_t kAhead = 2, kRing = 16;  // kRing > 6 * kAhead, a power of two
    uint64_t hashes[kRing], keys[kRing];      // record j's at [j % kRing]
    // Stage k works on record s - (k + 1) * kAhead; stage -1 fetches the group key's bytes,
    // which the source step decoded a chunk ago (out of the L2 cache by now).
    const auto stage = [&](size_t k, size_t s, auto&& fn) {
      if (s >= (k + 1) * kAhead && s - (k + 1) * kAhead < n) fn(s - (k + 1) * kAhead);
    };
    for (size_t s = 0; s < n + 6 * kAhead; ++s) {
      if (s < n) PrefetchLine(GroupKeyOf(in[s].tx, g).data());
      stage(0, s, [&](size_t j) {
        hashes[j % kRing] = Interner::HashOf(GroupKeyOf(in[j].tx, g));
        keys_.PrefetchSlot(hashes[j % kRing]);
      });
      stage(1, s, [&](size_t j) { keys_.PrefetchEntry(hashes[j % kRing]); });
      stage(2, s, [&](size_t j) { keys_.PrefetchBytes(hashes[j % kRing]); });
      stage(3, s, [&](size_t j) {
        const Transaction& tx = in[j].tx;
        keys[j % kRing] = KeyOf(tx, hashes[j % kRing]);
        windows_.PrefetchKey(tx.time_ms, keys[j % kRing]);
        if (engine_.totals) totals_.PrefetchKey(keys[j % kRing]);
      });
      stage(4, s, [&](size_t j) {
        windows_.PrefetchValue(in[j].tx.time_ms, keys[j % kRing]);
        if (engine_.totals) totals_.PrefetchValue(keys[j % kRing]);
      });
      stage(5, s, [&](size_t j) {
        Status st = AddKeyed(in[j].tx, keys[j % kRing], in[j].pos, watermark, out);
        if (!st.ok() && first.ok()) first = std::move(st);
      });
    }
    return first;
  }

  // Entries (windows' and totals') from which AddAll fetches ahead: by default 16,384, whose
  // 64-byte slots fill a 1 MiB L2 cache. Tests and benchmarks set it to take either path.
  static constexpr size_t kFetchAheadEntries = 16'384;
  void FetchAheadFrom(size_t entries) { fetch_ahead_entries_ = entries; }

  // Adds what a batch's records of one key and currency added up to at their source
  // (stream/partial.h): each of its windows must still be open at the watermark, which the
  // sender has made sure of; a partial for a closed window is refused (an error), never
  // added to a result already emitted.
  Status AddPartial(std::string_view group_key, Currency c, const PartialAgg& p, int64_t watermark);

  // Closes every window with end <= watermark (CloseAll: every window). In final mode each
  // (window, key) result is emitted; closed(start, key) is called for each either way.
  // Callbacks return a Status: the first error stops the emitting and is returned.
  template <typename Fn>
  Status CloseUpTo(int64_t watermark, StepOutput& out, Fn&& closed) {
    Status st;
    windows_.CloseUpTo(watermark, [&](int64_t start, uint64_t key, const WindowAgg& a) {
      st = OnClose(st, start, key, a, out, closed);
    });
    return st;
  }
  template <typename Fn>
  Status CloseAll(StepOutput& out, Fn&& closed) {
    Status st;
    windows_.CloseAll([&](int64_t start, uint64_t key, const WindowAgg& a) {
      st = OnClose(st, start, key, a, out, closed);
    });
    return st;
  }

  // Every (window, key) changed since the last call: emitted as an update when `emit`, and
  // changed(start, key, agg) either way.
  template <typename Fn>
  Status DrainWindowChanges(bool emit, StepOutput& out, Fn&& changed) {
    Status st;
    windows_.DrainChanges([&](int64_t start, uint64_t key, const WindowAgg& a) {
      if (!st.ok()) return;
      if (emit) st = EmitAggregate(start, key, a, true, out);
      if (st.ok()) st = changed(start, key, a);
    });
    return st;
  }
  // Every total changed since the last call: emitted when `emit`, and changed(key, total)
  // either way.
  template <typename Fn>
  Status DrainTotalChanges(bool emit, StepOutput& out, Fn&& changed) {
    Status st;
    totals_.DrainChanges([&](uint64_t key, const TotalsStore::Total& t) {
      if (!st.ok()) return;
      if (emit) st = EmitTotal(key, t, out);
      if (st.ok()) st = changed(key, t);
    });
    return st;
  }
  // Every all-time total.
  Status EmitTotals(StepOutput& out);

  // The group key and currency of a StateKey this step handed out.
  std::string_view KeyString(uint64_t key) const { return keys_.Get(KeyIdOf(key)); }
  Currency KeyCurrency(uint64_t key) const { return CurrencyAt(CurrencyIndexOf(key)); }

  // Restoring from a checkpoint: puts entries back, then forgets them as changes.
  void RestoreWindow(int64_t start, std::string_view key, Currency c, const WindowAgg& a) {
    windows_.Restore(start, StateKey(keys_.Intern(key), c), a);
  }
  void RestoreTotal(std::string_view key, Currency c, int64_t count, Sum sum) {
    totals_.Restore(StateKey(keys_.Intern(key), c), count, sum);
  }
  void ForgetWindow(int64_t start, std::string_view key, Currency c) {
    if (const int64_t id = keys_.Find(key); id >= 0) {
      windows_.Forget(start, StateKey(static_cast<uint32_t>(id), c));
    }
  }
  void ForgetChanges();

  size_t open_windows() const { return windows_.open_windows(); }
  int64_t first_window_end() const { return windows_.first_end(); }
  size_t totals() const { return totals_.size(); }
  const EngineConfig& engine() const { return engine_; }

 private:
  template <typename Fn>
  Status OnClose(const Status& st, int64_t start, uint64_t key, const WindowAgg& a, StepOutput& out,
                 Fn& closed) {
    if (!st.ok()) return st;
    if (engine_.emit == EmitMode::kFinal) {
      if (Status s = EmitAggregate(start, key, a, false, out); !s.ok()) return s;
    }
    return closed(start, key);
  }

  // Puts StateKeys in output order: key strings, then currency codes (the stores' KeyOrder).
  void SortKeys(std::vector<uint64_t>* keys);
  // tx's StateKey; hash: Interner::HashOf(its group key).
  uint64_t KeyOf(const Transaction& tx, uint64_t hash) {
    return StateKey(keys_.Intern(GroupKeyOf(tx, engine_.group_by), hash), tx.currency);
  }
  uint64_t KeyOf(const Transaction& tx) {
    return KeyOf(tx, Interner::HashOf(GroupKeyOf(tx, engine_.group_by)));
  }
  Status AddKeyed(const Transaction& tx, uint64_t key, const SourcePosition& pos, int64_t watermark,
                  StepOutput& out) {
    missed_.clear();
    const WindowStore::AddResult r =
        windows_.Add(tx.time_ms, key, tx.amount, tx.kind(), watermark, &missed_);
    if (engine_.totals) totals_.Add(key, tx.amount);
    if (r.missed == 0) {
      ++stats_->aggregated;
      return Status::Ok();
    }
    return EmitLate(tx, pos, watermark, r, out);
  }
  Status EmitLate(const Transaction& tx, const SourcePosition& pos, int64_t watermark,
                  const WindowStore::AddResult& r, StepOutput& out);
  Status EmitAggregate(int64_t start, uint64_t key, const WindowAgg& a, bool update,
                       StepOutput& out);
  Status EmitTotal(uint64_t key, const TotalsStore::Total& t, StepOutput& out);

  const EngineConfig engine_;
  const OutputEncoding enc_;
  PipelineStats* stats_;
  Interner keys_;  // group keys (before the stores, whose KeyOrder reads it)
  WindowStore windows_;
  TotalsStore totals_;
  size_t fetch_ahead_entries_ = kFetchAheadEntries;
  // Scratch space reused across records.
  std::vector<int64_t> missed_;
  std::string record_;
  struct Ordered {
    uint64_t prefix;  // the string's first 8 bytes (PrefixOf)
    uint64_t key;
    std::string_view string;
  };
  std::vector<Ordered> order_;
};

}  // namespace spate
