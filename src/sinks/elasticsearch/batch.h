#pragma once
// The records on their way to the index: an Item per record, Batches of them with the `_bulk`
// body they are written in.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/message.h"

namespace spate::es {

using Clock = std::chrono::steady_clock;

// A record on its way to the index: where it came from (to commit and to dead-letter it) and
// where its `_bulk` lines are in its batch's body. The librdkafka message itself is kept for
// the dead letters (key and value), so the record is never copied; the document is written
// once, straight into the body that is sent.
struct Item {
  int tp = 0;          // index into OffsetTracker's partitions
  uint64_t epoch = 0;  // the assignment it was read under
  int64_t offset = 0;
  int attempts = 0;
  int refusals = 0;  // 429/5xx items in _bulk replies (SinkConfig::max_item_retries)
  kafka::Message msg;
  size_t begin = 0, size = 0;  // its action and source lines in Batch::body

  std::string_view key() const { return msg.key(); }
  std::string_view value() const { return msg.payload(); }
};

// A batch: its items and the `_bulk` body they are written in (handed to the HTTP client
// while the request runs, and back with its response).
struct Batch {
  std::vector<Item> items;
  std::string body;
  Clock::time_point first;
  Clock::time_point ready;  // retries: not before

  // Appends the item's lines, taken from another batch's body.
  void Take(Item it, std::string_view from) {
    std::string_view lines = from.substr(it.begin, it.size);
    it.begin = body.size();
    body.append(lines);
    items.push_back(std::move(it));
  }
};

}  // namespace spate::es
