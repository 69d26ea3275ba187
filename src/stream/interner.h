#pragma once
// Strings to dense ids (0, 1, 2, ... in order of first sight) and back, so that the engine's
// state is keyed by fixed-size numbers whatever the keys look like, and allocates nothing per
// record: each distinct string is copied once, into blocks that never move. Ids are local to
// one Interner (one worker or task): whatever leaves the process carries the strings.
// Not thread-safe.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

namespace spate {

class Interner {
 public:
  // The id of s, a new one if s was not seen before.
  uint32_t Intern(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const std::string_view kept = Keep(s);  // the map's key points at the copy
    const auto id = static_cast<uint32_t>(strings_.size());
    ids_.emplace(kept, id);
    strings_.push_back(kept);
    return id;
  }
  // The id of s, or -1 if it was never interned.
  int64_t Find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? -1 : it->second;
  }
  std::string_view Get(uint32_t id) const { return strings_[id]; }
  size_t size() const { return strings_.size(); }
  // Bytes held: the strings' blocks, the id map and the table of views.
  size_t memory() const {
    return blocks_.size() * kBlock + ids_.capacity() * (sizeof(std::string_view) + 5) +
           strings_.capacity() * sizeof(std::string_view);
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

  absl::flat_hash_map<std::string_view, uint32_t> ids_;
  std::vector<std::string_view> strings_;
  std::vector<std::unique_ptr<char[]>> blocks_, big_;
  size_t used_ = 0;
};

}  // namespace spate
