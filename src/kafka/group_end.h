#pragma once
// `-e` (exit at the end of the input) for a member of a consumer group. A member that has
// read its own partitions to their end is done only when every other partition of its
// topics is too: the group's committed offset at or past the end that partition had when
// this member first got to the end of its own. Checking its own partitions alone, a member
// that shares the group stops with part of the input unread: another member's share, or a
// zombie's, one that the coordinator counts until its session times out. librdkafka 2.0.2
// leaves such zombies: closed while a join is under way, it sends no LeaveGroup (seen after a
// full outage of the cluster, tests/aggregate_faults_test.py). Waiting for those partitions
// means waiting for their owner to finish them, or for the rebalance that hands them over.

#include <chrono>
#include <string>
#include <vector>

#include "kafka/consumer.h"

namespace spate::kafka {

class GroupEnd {
 public:
  GroupEnd(const Consumer* consumer, std::vector<std::string> topics)
      : consumer_(consumer), topics_(std::move(topics)) {}

  // Call while this member's own partitions are all read to their end: true when the other
  // partitions are too. Asks the brokers at most once a second (partition counts and
  // watermarks the first time, then the group's committed offsets); false in between and
  // on errors, which are described by waiting().
  bool OthersDone();
  // What the last check found missing ("transaction_aggregates [1] committed 0 of 1402, ..."
  // or an error), empty when nothing.
  const std::string& waiting() const { return waiting_; }

 private:
  const Consumer* consumer_;
  std::vector<std::string> topics_;
  std::vector<TopicPartition> ends_;  // offset: the end, for the partitions with records
  std::chrono::steady_clock::time_point next_check_;
  std::string waiting_;
};

}  // namespace spate::kafka
