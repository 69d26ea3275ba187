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
// Not thread-safe.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>
#include <absl/strings/string_view.h>

#include "core/bytes.h"

namespace spate {

class Interner {
 public:
  // The id of s, a new one (or a freed one) if s is not interned.
  uint32_t Intern(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const std::string_view kept = Keep(s);  // the map's key points at the copy
    uint32_t id;
    if (free_.empty()) {
      id = static_cast<uint32_t>(strings_.size());
      strings_.push_back(kept);
    } else {
      id = free_.back();
      free_.pop_back();
      strings_[id] = kept;
    }
    ids_.emplace(kept, id);
    live_bytes_ += s.size();
    return id;
  }
  // Starts fetching the memory that Intern(s) will read: a hint, for a caller that knows its
  // next strings (the table is larger than the caches when the keys are many).
  void Prefetch(std::string_view s) const { ids_.prefetch(s); }
  // The id of s, or -1 if it is not interned.
  int64_t Find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? int64_t{-1} : int64_t{it->second};
  }
  std::string_view Get(uint32_t id) const { return strings_[id]; }
  // Forgets id's string; a later Intern() may return id for another one. The views that Get()
  // returned may move at the next Erase().
  void Erase(uint32_t id) {
    const std::string_view s = strings_[id];
    ids_.erase(s);
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
  // Bytes held: the strings' blocks, the id map and the table of views.
  size_t memory() const {
    return blocks_.size() * kBlock + ids_.capacity() * (sizeof(std::string_view) + 5) +
           strings_.capacity() * sizeof(std::string_view) + free_.capacity() * sizeof(uint32_t);
  }

 private:
  static constexpr size_t kBlock = 64 * 1024;

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

  // Copies the live strings into new blocks and rebuilds the map; ids keep their values.
  void Compact() {
    auto old_blocks = std::move(blocks_);
    auto old_big = std::move(big_);
    blocks_.clear();
    big_.clear();
    used_ = 0;
    ids_.clear();
    std::vector<bool> is_free(strings_.size(), false);
    for (uint32_t id : free_) is_free[id] = true;
    for (size_t id = 0; id < strings_.size(); ++id) {
      if (is_free[id]) continue;
      strings_[id] = Keep(strings_[id]);
      ids_.emplace(strings_[id], static_cast<uint32_t>(id));
    }
    dead_bytes_ = 0;
  }

  // absl's hash of the bytes. Debian's abseil has a string_view type of its own, and for a
  // std::string_view key absl::Hash falls back to std::hash (std::_Hash_bytes), which perf
  // showed at 3% of decode + aggregate.
  struct BytesHash {
    size_t operator()(std::string_view s) const {
      return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
    }
  };
  // perf showed memcmp's call at 5-7% of decode + aggregate; most ids are 16 bytes or less.
  struct BytesEq {
    bool operator()(std::string_view a, std::string_view b) const { return EqualBytes(a, b); }
  };
  absl::flat_hash_map<std::string_view, uint32_t, BytesHash, BytesEq> ids_;
  std::vector<std::string_view> strings_;
  std::vector<uint32_t> free_;  // erased ids, reused first
  std::vector<std::unique_ptr<char[]>> blocks_, big_;
  size_t used_ = 0;
  size_t live_bytes_ = 0, dead_bytes_ = 0;
};

}  // namespace spate
