#pragma once
// Strings to dense ids and back, so that the engine's state is keyed by fixed-size numbers
// whatever the keys look like, and allocates nothing per record: each distinct string is
// copied once, into blocks that never move. Ids are local to one Interner (one worker or
// task): whatever leaves the process carries the strings.
//
// Erase() frees an id for reuse (state that expired). Its bytes stay in their block until the
// dead bytes outweigh the live ones; then every live string is copied into fresh blocks (ids
// and views change place, not value), so memory follows what is live at an amortised O(1) a
// string. Hand-written: absl's and the standard containers have no arena with reusable ids.
//
// The index is a KeyTable from each string's 64-bit hash to where its bytes are and its id, so
// that a caller who knows its next strings can fetch, one stage after the other, the slot, the
// entry and the bytes a lookup will read (WindowStep::AddAll), and hash each string once.
// Strings whose hashes are equal are told apart by their bytes: the first keeps the table's
// entry, the others go to a map of their own (with 64 bits, practically never). Not
// thread-safe.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/bytes.h"
#include "stream/key_table.h"

namespace spate {

// The bytes' hash: XXH3 (Debian's libxxhash-dev), inlined. abseil's string hash calls
// LowLevelHash in a shared library for strings over 16 bytes (UUIDs, merchant names): with its
// mixing, 4% of decode + aggregate on the realistic profile (perf).
struct BytesHash {
  uint64_t operator()(std::string_view s) const { return XXH3_64bits(s.data(), s.size()); }
};

template <typename Hash = BytesHash>
class BasicInterner {
 public:
  static uint64_t HashOf(std::string_view s) { return TableKey(Hash{}(s)); }

  // The id of s, a new one (or a freed one) if s is not interned. h: HashOf(s).
  uint32_t Intern(std::string_view s) { return Intern(s, HashOf(s)); }
  uint32_t Intern(std::string_view s, uint64_t h) {
    if (const int64_t id = Find(s, h); id >= 0) return static_cast<uint32_t>(id);
    const uint32_t id = NewId(s);
    Index(id, h);
    return id;
  }
  // The id of s, or -1 if it is not interned.
  int64_t Find(std::string_view s) const { return Find(s, HashOf(s)); }

  // Hints for a caller that knows its next strings, h = HashOf(s), called in this order with
  // time in between: each fetches what the next one, or Intern(s, h), reads.
  void PrefetchSlot(uint64_t h) const { table_.PrefetchKey(h); }
  void PrefetchEntry(uint64_t h) const { table_.PrefetchValue(h); }
  void PrefetchBytes(uint64_t h) const {
    if (const Entry* e = table_.find(h)) PrefetchLine(e->data);
  }

  std::string_view Get(uint32_t id) const { return strings_[id]; }
  // Forgets id's string; a later Intern() may return id for another one. The views that Get()
  // returned may move at the next Erase().
  void Erase(uint32_t id) {
    const std::string_view s = strings_[id];
    const uint64_t h = HashOf(s);
    if (const Entry* e = table_.find(h); e != nullptr && e->id == id) {
      table_.erase(h);
      Promote(h);
    } else {
      collided_.erase(s);
    }
    strings_[id] = {};
    free_.push_back(id);
    live_bytes_ -= s.size();
    dead_bytes_ += s.size();
    if (dead_bytes_ > kBlock && dead_bytes_ > live_bytes_) Compact();
  }
  // Ids handed out and not erased.
  size_t size() const { return strings_.size() - free_.size(); }
  // One past the largest id ever handed out (the size a table indexed by id needs).
  size_t id_limit() const { return strings_.size(); }
  // Bytes held: the strings' blocks, the index and the table of views.
  size_t memory() const {
    return blocks_.size() * kBlock + table_.capacity() * (sizeof(uint64_t) + sizeof(Entry)) +
           collided_.capacity() * (sizeof(std::string_view) + 5) +
           strings_.capacity() * sizeof(std::string_view) + free_.capacity() * sizeof(uint32_t);
  }

 private:
  static constexpr size_t kBlock = 64 * 1024;

  // Where a string's bytes are, and its id: what a lookup reads after the table's key.
  struct Entry {
    const char* data = nullptr;
    uint32_t size = 0;
    uint32_t id = 0;
    static Entry Of(std::string_view s, uint32_t id) {
      return Entry{s.data(), static_cast<uint32_t>(s.size()), id};
    }
    std::string_view view() const { return std::string_view(data, size); }
  };

  int64_t Find(std::string_view s, uint64_t h) const {
    const Entry* e = table_.find(h);
    if (e == nullptr) return -1;
    if (EqualBytes(e->view(), s)) return e->id;
    auto it = collided_.find(s);
    return it == collided_.end() ? int64_t{-1} : int64_t{it->second};
  }

  // Puts id's string (of hash h) in the index: the table's entry for h, or collided_ when
  // another string holds it.
  void Index(uint32_t id, uint64_t h) {
    if (table_.find(h) == nullptr) {
      table_[h] = Entry::Of(strings_[id], id);
    } else {
      collided_.emplace(strings_[id], id);
    }
  }

  // KeyTable's keys are any number but ~0.
  static uint64_t TableKey(uint64_t h) { return h == KeyTable<Entry>::kEmpty ? 0 : h; }

  uint32_t NewId(std::string_view s) {
    const std::string_view kept = Keep(s);
    uint32_t id;
    if (free_.empty()) {
      id = static_cast<uint32_t>(strings_.size());
      strings_.push_back(kept);
    } else {
      id = free_.back();
      free_.pop_back();
      strings_[id] = kept;
    }
    live_bytes_ += s.size();
    return id;
  }

  // After the table's entry for h went: a string of the same hash waiting in collided_ takes
  // its place, so that the table keeps one entry for every hash that has strings.
  void Promote(uint64_t h) {
    for (auto it = collided_.begin(); it != collided_.end(); ++it) {
      if (HashOf(it->first) == h) {
        table_[h] = Entry::Of(it->first, it->second);
        collided_.erase(it);
        return;
      }
    }
  }

  std::string_view Keep(std::string_view s) {
    if (s.size() > kBlock / 4) {  // a long string gets a block of its own
      big_.push_back(std::make_unique<char[]>(s.size()));
      std::memcpy(big_.back().get(), s.data(), s.size());
      return std::string_view(big_.back().get(), s.size());
    }
    if (blocks_.empty() || used_ + s.size() > kBlock) {
      blocks_.push_back(std::make_unique<char[]>(kBlock));
      used_ = 0;
    }
    char* p = blocks_.back().get() + used_;
    std::memcpy(p, s.data(), s.size());
    used_ += s.size();
    return std::string_view(p, s.size());
  }

  // Copies the live strings into new blocks and rebuilds the index; ids keep their values.
  void Compact() {
    auto old_blocks = std::move(blocks_);
    auto old_big = std::move(big_);
    blocks_.clear();
    big_.clear();
    used_ = 0;
    table_ = KeyTable<Entry>();
    collided_.clear();
    std::vector<bool> is_free(strings_.size(), false);
    for (uint32_t id : free_) is_free[id] = true;
    for (size_t id = 0; id < strings_.size(); ++id) {
      if (is_free[id]) continue;
      strings_[id] = Keep(strings_[id]);
      Index(static_cast<uint32_t>(id), HashOf(strings_[id]));
    }
    dead_bytes_ = 0;
  }

  // perf showed memcmp's call at 5-7% of decode + aggregate; most ids are 16 bytes or less.
  struct BytesEq {
    bool operator()(std::string_view a, std::string_view b) const { return EqualBytes(a, b); }
  };
  struct ViewHash {
    size_t operator()(std::string_view s) const { return Hash{}(s); }
  };
  KeyTable<Entry> table_;  // HashOf(s) -> s's bytes and id, for the first string of each hash
  absl::flat_hash_map<std::string_view, uint32_t, ViewHash, BytesEq> collided_;  // the others
  std::vector<std::string_view> strings_;
  std::vector<uint32_t> free_;  // erased ids, reused first
  std::vector<std::unique_ptr<char[]>> blocks_, big_;
  size_t used_ = 0;
  size_t live_bytes_ = 0, dead_bytes_ = 0;
};

using Interner = BasicInterner<>;

}  // namespace spate
