#pragma once
// Open windows and their per-key aggregates for the keys one worker owns. Keys are numbers
// (StateKey: a group key's id and a currency); the order in which they are handed back is the
// caller's, given as a KeyOrder (the group keys' strings, then the currencies' codes), so that
// outputs do not depend on the order ids were given out in. Not thread-safe: each worker or
// task owns one WindowStore.

#include <cstdint>
#include <vector>

#include "stream/key_table.h"
#include "stream/window.h"

namespace spate {

class WindowStore {
 public:
  WindowStore(WindowSpec spec, bool track_changes, KeyOrder order = NumericOrder)
      : spec_(spec), track_changes_(track_changes), order_(std::move(order)) {}

  struct AddResult {
    int windows = 0;  // windows containing t
    int missed = 0;   // of which already closed (end <= watermark)
  };

  // Adds the record to every window containing t whose end is after the watermark; appends the
  // starts of the windows it missed to *missed.
  AddResult Add(int64_t t, uint64_t key, int64_t amount, TxKind kind, int64_t watermark,
                std::vector<int64_t>* missed) {
    AddResult r;
    spec_.ForEach(t, [&](int64_t start) {
      ++r.windows;
      if (start + spec_.size_ms <= watermark) {
        ++r.missed;
        missed->push_back(start);
        return;
      }
      SlotFor(start, key).Add(amount, kind);
    });
    return r;
  }

  // Hints for a caller that knows its next records (KeyTable's): fetch what Add(t, key, ...)
  // will read in the windows already open; PrefetchKey first, PrefetchValue some time later.
  void PrefetchKey(int64_t t, uint64_t key) const {
    ForEachOpen(t, [&](const Window& w) { w.keys.PrefetchKey(key); });
  }
  void PrefetchValue(int64_t t, uint64_t key) const {
    ForEachOpen(t, [&](const Window& w) { w.keys.PrefetchValue(key); });
  }

  // Adds a partial aggregate to window `start` for the key; the caller has made sure that the
  // window is still open (end > watermark).
  void Merge(int64_t start, uint64_t key, const WindowAgg& agg) { SlotFor(start, key).Merge(agg); }

  // Closes every window whose end <= watermark: fn(start, key, agg) in (start, key) order.
  template <typename Fn>
  void CloseUpTo(int64_t watermark, Fn&& fn) {
    CloseWhile([&](const Window& w) { return w.start + spec_.size_ms <= watermark; }, fn);
  }
  template <typename Fn>
  void CloseAll(Fn&& fn) {
    CloseWhile([](const Window&) { return true; }, fn);
  }

  // Changes mode: fn(start, key, agg) for every (window, key) changed since the last call, in
  // (start, key) order.
  template <typename Fn>
  void DrainChanges(Fn&& fn) {
    for (Window& w : windows_) {
      order_(&w.dirty);
      for (uint64_t key : w.dirty) {
        Slot& s = *w.keys.find(key);
        s.dirty = false;
        fn(w.start, key, static_cast<const WindowAgg&>(s));
      }
      w.dirty.clear();
    }
  }

  // Puts back a (window, key) aggregate from a checkpoint.
  void Restore(int64_t start, uint64_t key, const WindowAgg& agg) {
    static_cast<WindowAgg&>(WindowFor(start).keys[key]) = agg;
  }

  // Removes a (window, key) aggregate (a checkpoint's tombstone); a window left empty goes.
  void Forget(int64_t start, uint64_t key) {
    const size_t i = After(start);
    if (i == 0 || windows_[i - 1].start != start) return;
    Window& w = windows_[i - 1];
    w.keys.erase(key);
    if (w.keys.empty()) {
      windows_.erase(windows_.begin() + static_cast<ptrdiff_t>(i - 1));
      last_ = SIZE_MAX;
    }
  }

  size_t open_windows() const { return windows_.size(); }
  // The end of the oldest open window (INT64_MAX when none is open).
  int64_t first_end() const {
    return windows_.empty() ? INT64_MAX : windows_.front().start + spec_.size_ms;
  }
  // (window, key) entries over every open window.
  size_t entries() const {
    size_t n = 0;
    for (const Window& w : windows_) n += w.keys.size();
    return n;
  }
  const WindowSpec& spec() const { return spec_; }

 private:
  // The flag sits in the aggregate's tail padding: 64 bytes a slot (static_assert below).
  // Aligned to its size: a slot is one cache line, fetched ahead with one prefetch.
  struct alignas(64) Slot : WindowAgg {
    bool dirty = false;
  };
  struct Window {
    int64_t start;
    KeyTable<Slot> keys;
    std::vector<uint64_t> dirty;
  };

  // The key's slot in window `start` (made if new), marked changed.
  Slot& SlotFor(int64_t start, uint64_t key) {
    Window& w = WindowFor(start);
    Slot& s = w.keys[key];
    if (track_changes_ && !s.dirty) {
      s.dirty = true;
      w.dirty.push_back(key);
    }
    return s;
  }

  // windows_ is sorted by start; there are few open windows (size/hop + lateness/hop), and
  // records mostly hit the newest, so a search from the back is the fast path. After(start):
  // the index of the first window that starts after `start` (the window starting at `start`,
  // if open, is the one before it).
  size_t After(int64_t start) const {
    size_t i = windows_.size();
    while (i > 0 && windows_[i - 1].start > start) --i;
    return i;
  }
  Window& WindowFor(int64_t start) {
    if (last_ < windows_.size() && windows_[last_].start == start) return windows_[last_];
    const size_t i = After(start);
    if (i == 0 || windows_[i - 1].start != start) {
      windows_.insert(windows_.begin() + static_cast<ptrdiff_t>(i), Window{start, {}, {}});
      last_ = i;
    } else {
      last_ = i - 1;
    }
    return windows_[last_];
  }

  // fn(window) for each open window that contains t.
  template <typename Fn>
  void ForEachOpen(int64_t t, Fn&& fn) const {
    spec_.ForEach(t, [&](int64_t start) {
      const size_t i = After(start);
      if (i > 0 && windows_[i - 1].start == start) fn(windows_[i - 1]);
    });
  }

  template <typename Pred, typename Fn>
  void CloseWhile(Pred&& closes, Fn&& fn) {
    size_t n = 0;
    std::vector<uint64_t> keys;
    for (; n < windows_.size() && closes(windows_[n]); ++n) {
      Window& w = windows_[n];
      keys.clear();
      keys.reserve(w.keys.size());
      w.keys.ForEach([&](uint64_t k, const Slot&) { keys.push_back(k); });
      order_(&keys);
      // In key order the slots are read at random: each is fetched ahead, its key's line 16
      // keys early and the slot 8 keys early (each key's result is formatted in between).
      for (size_t i = 0; i < keys.size(); ++i) {
        if (i + 16 < keys.size()) w.keys.PrefetchKey(keys[i + 16]);
        if (i + 8 < keys.size()) w.keys.PrefetchValue(keys[i + 8]);
        fn(w.start, keys[i], static_cast<const WindowAgg&>(*w.keys.find(keys[i])));
      }
    }
    windows_.erase(windows_.begin(), windows_.begin() + static_cast<ptrdiff_t>(n));
    last_ = SIZE_MAX;
  }

  static_assert(sizeof(Slot) == 64, "a slot is one cache line's worth");

  WindowSpec spec_;
  bool track_changes_;
  KeyOrder order_;
  std::vector<Window> windows_;
  size_t last_ = SIZE_MAX;
};

}  // namespace spate
