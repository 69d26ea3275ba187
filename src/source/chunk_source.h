#pragma once
// The pipeline's first stage hands the engine chunks of records: consecutive records as they
// would sit in Kafka (payload bytes, message key, partition), in sequence order. A chunk
// never straddles a batch (the watermark advances only between batches, docs/semantics.md).
// Two sources make them: the generator (generator_source.h) and files (file_source.h).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/codec.h"
#include "core/status.h"
#include "gen/generator.h"
#include "gen/rate_limiter.h"

namespace spate {

// Consecutive records [first_seq, first_seq + size()). Payloads sit back to back in `bytes`,
// each followed by '\n' (so a JSON chunk is JSON lines as is), with kDecodePadding spare bytes
// at the end for zero-copy decoding.
struct Chunk {
  uint64_t index = 0;  // chunk number
  uint64_t batch = 0;  // the batch (watermark epoch) this chunk belongs to
  bool last_in_batch = false;
  uint64_t first_seq = 0;
  std::string bytes;
  std::vector<uint32_t> offsets;      // size()+1 entries; payload i is [off[i], off[i+1]-1)
  std::string keys;                   // message keys back to back
  std::vector<uint32_t> key_offsets;  // size()+1 entries
  std::vector<uint16_t> partition;    // Kafka's default partition of the key
  std::vector<std::pair<uint32_t, Injected>> injected;  // generator: (index in chunk, rule)
  std::chrono::steady_clock::time_point created;

  size_t size() const { return partition.size(); }
  std::string_view key(size_t i) const {
    return std::string_view(keys).substr(key_offsets[i], key_offsets[i + 1] - key_offsets[i]);
  }
  std::string_view payload(size_t i) const {
    return std::string_view(bytes).substr(offsets[i], offsets[i + 1] - offsets[i] - 1);
  }
  // Bytes readable from payload i's start (for Decoder::Decode).
  size_t readable(size_t i) const { return bytes.size() - offsets[i]; }
  uint64_t payload_bytes() const { return offsets.back() - offsets.front() - size(); }

  // Appends a record: its payload, its key and the key's partition (keyless records go
  // round-robin by sequence, as a sticky partitioner would spread them).
  void Append(std::string_view payload, std::string_view key, uint32_t partitions) {
    BeginRecord();
    bytes.append(payload);
    EndRecord(key, partitions);
  }
  // The same in two steps, for a writer that appends the payload to `bytes` itself.
  void BeginRecord() { offsets.push_back(static_cast<uint32_t>(bytes.size())); }
  void EndRecord(std::string_view key, uint32_t partitions);
  // After the last Append: closes the offset tables and adds the decode padding.
  void Seal();
};

// Which field becomes the message key (userId, as in the reference producer, by default).
enum class KeyField : uint8_t { kUserId, kMerchantId, kTransactionId, kNone };

struct SourceOptions {
  uint64_t records = 0;          // 0 = unbounded (then duration, the input's end or Stop() ends it)
  int64_t duration_ms = 0;       // 0 = no time limit
  double rate = 0;               // records/s, 0 = unlimited
  uint32_t threads = 1;          // generator threads
  uint64_t batch_size = 32'768;  // chunks never straddle batches
  uint64_t chunk_size = 32'768;  // records per chunk (<= batch_size)
  WireSpec wire;                 // wire format (JSON by default) and its Avro schema id
  uint32_t partitions = 1;
  KeyField key = KeyField::kUserId;
  std::string input;  // a file to read instead of generating ("-": stdin); file_source.h
};

// What a source may release and when: --rate (records/s) and --duration. Called by the one
// thread that releases chunks.
class ReleaseGate {
 public:
  explicit ReleaseGate(const SourceOptions& o);
  // Waits for c's turn under the rate; false once the duration is over (c is not released).
  bool Pass(const Chunk& c);
  uint64_t released() const { return released_; }

 private:
  RateLimiter limiter_;
  int64_t duration_ms_;
  std::chrono::steady_clock::time_point deadline_;
  uint64_t released_ = 0;
};

// Where chunks come from. Next() is called from one consumer thread; Stop() from any.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // The next chunk in sequence order, or nullptr when the input is exhausted or stopped (or
  // failed: then status() says why).
  virtual std::unique_ptr<Chunk> Next() = 0;
  // Ends the input at the next chunk boundary.
  virtual void Stop() = 0;
  // Records released so far.
  virtual uint64_t released() const = 0;
  // Why the input ended early, if it failed (a file that cannot be read or decompressed).
  virtual Status status() const { return Status::Ok(); }
};

}  // namespace spate
