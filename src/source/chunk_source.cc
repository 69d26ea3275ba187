#include "source/chunk_source.h"

#include <algorithm>

#include "core/partitioner.h"

namespace spate {

ReleaseGate::ReleaseGate(const SourceOptions& o)
    : limiter_(o.rate, static_cast<double>(std::max<uint64_t>(o.chunk_size, 1))),
      duration_ms_(o.duration_ms),
      deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(o.duration_ms)) {}

bool ReleaseGate::Pass(const Chunk& c) {
  limiter_.Acquire(c.size());
  if (duration_ms_ > 0 && std::chrono::steady_clock::now() >= deadline_) return false;
  released_ += c.size();
  return true;
}

void Chunk::EndRecord(std::string_view key, uint32_t partitions) {
  const uint64_t seq = first_seq + size();
  bytes.push_back('\n');
  key_offsets.push_back(static_cast<uint32_t>(keys.size()));
  keys.append(key);
  partition.push_back(
      static_cast<uint16_t>(key.empty() ? seq % partitions : PartitionForKey(key, partitions)));
}

void Chunk::Seal() {
  offsets.push_back(static_cast<uint32_t>(bytes.size()));
  key_offsets.push_back(static_cast<uint32_t>(keys.size()));
  bytes.append(kDecodePadding, '\0');
  created = std::chrono::steady_clock::now();
}

}  // namespace spate
