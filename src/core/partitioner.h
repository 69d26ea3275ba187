#pragma once
// Kafka's default partitioner for keyed records (the Java client's murmur2, also librdkafka's
// "murmur2_random"), so that spate places a key where every Kafka client would.

#include <cstdint>
#include <string_view>

namespace spate {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit value.
int32_t Murmur2(std::string_view key);

inline uint32_t PartitionForKey(std::string_view key, uint32_t partitions) {
  return (static_cast<uint32_t>(Murmur2(key)) & 0x7fffffffu) % partitions;
}

}  // namespace spate
