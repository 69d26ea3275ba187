#pragma once
// Inputs shared by the spate benchmarks, generated once (outside every timed loop) from the
// default GeneratorConfig: the same records `spate gen` / `spate run` produce.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/transaction.h"
#include "gen/generator.h"

namespace spate::bench {

// Records pre-generated per input set: 2^16 records, replayed in a loop. The JSON buffer is
// ~16 MiB: larger than L2 but within the L3, which is where a worker finds a chunk that a
// generator thread has just written (in `spate run` chunks are 8192 records, ~2 MiB). The
// per-user record rate is the same as in an endless stream (replays are shifted in time by
// TimeSpanMs()), so the anomaly detector keeps the same amount of per-user state.
inline constexpr size_t kRecords = size_t{1} << 16;

// Records laid out like a source Chunk: payloads back to back, each followed by '\n', with
// kDecodePadding zero bytes after the last one so every payload can be decoded in place.
struct WireBuffer {
  std::string bytes;
  std::vector<uint32_t> offsets;  // kRecords + 1 entries; payload i is [off[i], off[i+1]-1)
  size_t payload_bytes = 0;       // sum of payload sizes (without the '\n' separators)

  std::string_view payload(size_t i) const {
    return std::string_view(bytes).substr(offsets[i], offsets[i + 1] - offsets[i] - 1);
  }
  size_t readable(size_t i) const { return bytes.size() - offsets[i]; }
  // Bytes of the payload region (separators included), i.e. what a chunk copy would move.
  size_t region_bytes() const { return offsets.back() - offsets.front(); }
};

// The default generator of a profile: the reference workload (spate gen's default), or the
// realistic one (UUID users, merchant names, 32 currencies; 1,000,000 users, 50,000 merchants).
const GeneratorConfig& DefaultGenConfig(Profile p = Profile::kReference);
const Generator& DefaultGenerator(Profile p = Profile::kReference);
// Records 0..kRecords-1 of the profile's sequence, decoded form (their strings are kept for
// the program's lifetime).
const std::vector<Transaction>& Records(Profile p = Profile::kReference);
const WireBuffer& JsonBuffer(Profile p = Profile::kReference);
const WireBuffer& BinaryBuffer(Profile p = Profile::kReference);
// Confluent frames with schema id kDefaultAvroSchemaId.
const WireBuffer& AvroBuffer(Profile p = Profile::kReference);
// Event time covered by Records(): adding k * TimeSpanMs() to record i's time gives a
// non-decreasing sequence when the records are replayed k times, so windows keep closing.
int64_t TimeSpanMs();

}  // namespace spate::bench
