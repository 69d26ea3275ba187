#pragma once
// Which offsets `spate index` may commit. A partition's offset is committed only up to the
// first record whose document is not yet acknowledged (or dead-lettered), so a crash replays
// from there, onto the same _ids.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sinks/elasticsearch/batch.h"

namespace spate::es {

// Per partition, the offsets read and not yet finished (indexed or dead-lettered), in order:
// the committable position is the first unfinished offset, or the next one to read.
class OffsetTracker {
 public:
  struct Partition {
    std::string topic;
    int32_t partition = 0;
    uint64_t epoch = 0;  // bumped on every (re)assignment: older items are ignored
    bool assigned = false;
    bool at_end = false;                        // read to its end (-e)
    std::deque<std::pair<int64_t, bool>> open;  // offset, finished
    int64_t next = -1;                          // offset after the last one read
    int64_t committed = -1;
  };

  // By the topic's name as librdkafka has it: no string is made for a partition already known.
  int Find(std::string_view topic, int32_t partition) {
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (parts_[i].partition == partition && parts_[i].topic == topic) return static_cast<int>(i);
    }
    Partition p;
    p.topic = std::string(topic);
    p.partition = partition;
    parts_.push_back(std::move(p));
    return static_cast<int>(parts_.size() - 1);
  }
  void Assign(int tp) {
    Partition& p = parts_[tp];
    ++p.epoch;
    p.assigned = true;
    p.at_end = false;
    p.open.clear();
    p.next = p.committed = -1;
  }
  void Revoke(int tp) {
    parts_[tp].assigned = false;
    parts_[tp].at_end = false;
    parts_[tp].open.clear();
  }
  void Read(int tp, int64_t offset) {
    parts_[tp].open.emplace_back(offset, false);
    parts_[tp].next = offset + 1;
    parts_[tp].at_end = false;
  }
  // At the partition's end, `end` (the offset librdkafka reports there). It is the committable
  // position once everything read is finished, so that a partition read to its end shows no
  // lag: with transactions, the end is past the last record (a commit marker follows it).
  void ReadToEnd(int tp, int64_t end) {
    parts_[tp].at_end = true;
    if (parts_[tp].assigned && end > parts_[tp].next) parts_[tp].next = end;
  }
  // Marks the item's offset finished; false if it was not open (read under an earlier
  // assignment of its partition, since revoked).
  bool Finish(const Item& it) {
    Partition& p = parts_[it.tp];
    if (!p.assigned || p.epoch != it.epoch) return false;
    auto pos = std::lower_bound(p.open.begin(), p.open.end(), std::make_pair(it.offset, false));
    if (pos == p.open.end() || pos->first != it.offset || pos->second) return false;
    pos->second = true;
    while (!p.open.empty() && p.open.front().second) p.open.pop_front();
    return true;
  }
  // Offsets to commit for the assigned partitions (-1: nothing new).
  int64_t Committable(int tp) const {
    const Partition& p = parts_[tp];
    if (!p.assigned || p.next < 0) return -1;
    int64_t c = p.open.empty() ? p.next : p.open.front().first;
    return c > p.committed ? c : -1;
  }
  std::vector<Partition>& parts() { return parts_; }
  size_t AtEnd() const {
    return static_cast<size_t>(std::count_if(
        parts_.begin(), parts_.end(), [](const Partition& p) { return p.assigned && p.at_end; }));
  }

 private:
  std::vector<Partition> parts_;
};

}  // namespace spate::es
