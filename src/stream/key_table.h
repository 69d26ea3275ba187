#pragma once
// A hash table from 64-bit keys to fixed-size values, for the window and totals stores
// (StateKeys) and the interner's index (string hashes): open addressing with linear probing,
// the keys in one array and the values in another, so that where a key and its value live is
// known before the table is read.
//
// Hand-written because the engine feeds its next records' keys ahead of time (WindowStep::
// AddAll) and needs the cache lines a key's lookup will read fetched early. Debian's abseil
// (20220623) can prefetch only the start of a key's probe group: with 72-byte slots the slot
// a key lands in is up to 15 slots (1 KiB) further on, and perf showed WindowStore::Add at
// 26% of decode + aggregate on the realistic profile with absl's prefetch in place
// (bench/README.md, "Fetching ahead"). Here PrefetchKey() fetches the line of keys a lookup
// starts at, and PrefetchValue() (once that line is in) the value itself.
//
// Keys are any 64-bit number but ~0 (kEmpty), which no StateKey is (the interner maps that
// hash to another). Values are reset to V{}
// when their key is inserted. Erase shifts the entries after it back (no tombstones). A
// reference to a value stays valid until the next insertion or erase. Not thread-safe.

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace spate {

// __builtin_prefetch(p), kept: GCC (C++, -ffinite-loops) deletes a loop whose only use is a
// prefetch, and the prefetch with it; the empty asm makes the address a used value.
inline void PrefetchLine(const void* p) {
  asm volatile("" : : "r"(p));
  __builtin_prefetch(p);
}

template <typename V>
class KeyTable {
 public:
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  // The value of key, inserted as V{} if the key is new.
  V& operator[](uint64_t key) {
    assert(key != kEmpty);
    if ((size_ + 1) * 4 > keys_.size() * 3) Grow();
    size_t i = Home(key);
    while (keys_[i] != key) {
      if (keys_[i] == kEmpty) {
        keys_[i] = key;
        values_[i] = V{};
        ++size_;
        break;
      }
      i = (i + 1) & mask_;
    }
    return values_[i];
  }

  // The value of key, or nullptr.
  V* find(uint64_t key) {
    const size_t i = IndexOf(key);
    return i == kNone ? nullptr : &values_[i];
  }
  const V* find(uint64_t key) const { return const_cast<KeyTable*>(this)->find(key); }

  // Removes key; false if it was not there.
  bool erase(uint64_t key) {
    size_t hole = IndexOf(key);
    if (hole == kNone) return false;
    // Backward shift: an entry after the hole moves into it unless its home lies after the
    // hole (cyclically), so every key stays reachable from its home without gaps.
    for (size_t i = (hole + 1) & mask_; keys_[i] != kEmpty; i = (i + 1) & mask_) {
      if (((i - Home(keys_[i])) & mask_) >= ((i - hole) & mask_)) {
        keys_[hole] = keys_[i];
        values_[hole] = std::move(values_[i]);
        hole = i;
      }
    }
    keys_[hole] = kEmpty;
    --size_;
    return true;
  }

  // Hints for a caller that knows its next keys: PrefetchKey starts fetching the keys a lookup
  // of `key` reads first; PrefetchValue, later, reads them and fetches key's value (or the
  // slot it would be inserted in).
  void PrefetchKey(uint64_t key) const {
    if (!keys_.empty()) PrefetchLine(&keys_[Home(key)]);
  }
  void PrefetchValue(uint64_t key) const {
    if (keys_.empty()) return;
    size_t i = Home(key);
    while (keys_[i] != key && keys_[i] != kEmpty) i = (i + 1) & mask_;
    PrefetchLine(&values_[i]);
  }

  // fn(key, value) for every entry, in table order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] != kEmpty) fn(keys_[i], values_[i]);
    }
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Slots allocated (the table grows when it is 3/4 full).
  size_t capacity() const { return keys_.size(); }

 private:
  static constexpr size_t kNone = ~size_t{0};

  static constexpr size_t kMinCapacity = 16;

  // Fibonacci hashing: a multiply spreads dense ids over the table; the top bits index it.
  size_t Home(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  size_t IndexOf(uint64_t key) const {
    if (keys_.empty()) return kNone;
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return i;
      if (keys_[i] == kEmpty) return kNone;
    }
  }

  void Grow() {
    const size_t cap = keys_.empty() ? kMinCapacity : keys_.size() * 2;
    std::vector<uint64_t> old_keys(cap, kEmpty);
    std::vector<V> old_values(cap);
    old_keys.swap(keys_);
    old_values.swap(values_);
    mask_ = cap - 1;
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(cap));
    for (size_t j = 0; j < old_keys.size(); ++j) {
      if (old_keys[j] == kEmpty) continue;
      size_t i = Home(old_keys[j]);
      while (keys_[i] != kEmpty) i = (i + 1) & mask_;
      keys_[i] = old_keys[j];
      values_[i] = std::move(old_values[j]);
    }
  }

  std::vector<uint64_t> keys_;  // kEmpty where no entry is
  std::vector<V> values_;       // values_[i] is keys_[i]'s
  size_t size_ = 0;
  size_t mask_ = 0;
  unsigned shift_ = 64;
};

}  // namespace spate
