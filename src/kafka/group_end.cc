#include "kafka/group_end.h"

#include <algorithm>

#include <fmt/format.h>

namespace spate::kafka {

bool GroupEnd::OthersDone() {
  constexpr int kTimeoutMs = 5000;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return false;
  next_check_ = now + std::chrono::seconds(1);
  if (ends_.empty()) {
    std::vector<TopicPartition> ends;
    for (const std::string& topic : topics_) {
      auto n = consumer_->PartitionCount(topic, kTimeoutMs);
      if (!n.ok()) {
        waiting_ = n.status().message();
        return false;
      }
      for (int32_t p = 0; p < n.value(); ++p) {
        auto w = consumer_->QueryWatermarks(topic, p, kTimeoutMs);
        if (!w.ok()) {
          waiting_ = w.status().message();
          return false;
        }
        if (w.value().high > w.value().low) ends.push_back({topic, p, w.value().high});
      }
    }
    if (ends.empty()) return true;  // no partition holds a record
    ends_ = std::move(ends);
  }
  auto mine = consumer_->Assignment();
  if (!mine.ok()) {
    waiting_ = mine.status().message();
    return false;
  }
  std::vector<TopicPartition> others;
  for (const TopicPartition& e : ends_) {
    bool held = std::any_of(mine.value().begin(), mine.value().end(), [&](const TopicPartition& m) {
      return m.partition == e.partition && m.topic == e.topic;
    });
    if (!held) others.push_back(e);
  }
  if (others.empty()) return true;
  auto committed = consumer_->Committed(others, kTimeoutMs);
  if (!committed.ok()) {
    waiting_ = committed.status().message();
    return false;
  }
  waiting_.clear();
  for (size_t i = 0; i < others.size(); ++i) {
    const int64_t at = committed.value()[i].offset;
    if (at >= others[i].offset) continue;
    waiting_ +=
        fmt::format("{}{} [{}] committed {} of {}", waiting_.empty() ? "" : ", ", others[i].topic,
                    others[i].partition, at < 0 ? "nothing" : std::to_string(at), others[i].offset);
  }
  return waiting_.empty();
}

}  // namespace spate::kafka
