#include "core/partitioner.h"

#include <cstring>

namespace spate {

// Written here rather than taken from librdkafka: its rd_murmur2 is internal, not public API.
int32_t Murmur2(std::string_view key) {
  const uint32_t seed = 0x9747b28c;
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  const size_t length = key.size();
  uint32_t h = seed ^ static_cast<uint32_t>(length);
  size_t length4 = length / 4;
  for (size_t i = 0; i < length4; ++i) {
    size_t i4 = i * 4;
    uint32_t k = static_cast<uint32_t>(data[i4]) | static_cast<uint32_t>(data[i4 + 1]) << 8 |
                 static_cast<uint32_t>(data[i4 + 2]) << 16 |
                 static_cast<uint32_t>(data[i4 + 3]) << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  size_t tail = length & ~size_t{3};
  switch (length % 4) {
    case 3: h ^= static_cast<uint32_t>(data[tail + 2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(data[tail + 1]) << 8; [[fallthrough]];
    case 1: h ^= static_cast<uint32_t>(data[tail]); h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

}  // namespace spate
