#pragma once
// GeneratorSource: generator threads fill chunks of consecutive records (encoded as on the wire
// and routed to their partition), and hand them to one consumer strictly in sequence order,
// paced by an optional rate and bounded by a record count or a wall-clock duration.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/codec.h"
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
  std::vector<std::pair<uint32_t, Injected>> injected;  // (index in chunk, rule)
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
};

// Which field becomes the message key (userId, as in the reference producer, by default).
enum class KeyField : uint8_t { kUserId, kMerchantId, kTransactionId, kNone };

struct SourceOptions {
  uint64_t records = 0;     // 0 = unbounded (then duration or Stop() ends it)
  int64_t duration_ms = 0;  // 0 = no time limit
  double rate = 0;          // records/s, 0 = unlimited
  uint32_t threads = 1;
  uint64_t batch_size = 32'768;  // chunks never straddle batches
  uint64_t chunk_size = 32'768;  // records per chunk (<= batch_size)
  WireSpec wire;                 // wire format (JSON by default) and its Avro schema id
  uint32_t partitions = 1;
  KeyField key = KeyField::kUserId;
};

class GeneratorSource {
 public:
  GeneratorSource(const Generator& gen, SourceOptions opts);
  ~GeneratorSource();
  GeneratorSource(const GeneratorSource&) = delete;
  GeneratorSource& operator=(const GeneratorSource&) = delete;

  // The next chunk in order, or nullptr when the input is exhausted (record count reached,
  // duration elapsed or Stop() called). Called from one consumer thread. The last chunk may be
  // cut short by the duration; the records released are always a prefix of the sequence.
  std::unique_ptr<Chunk> Next();
  // Ends the input at the next chunk boundary (any thread; e.g. from a signal watcher).
  void Stop();
  uint64_t released() const { return released_; }

 private:
  void Work();
  bool Range(uint64_t chunk, uint64_t* first, uint64_t* count) const;
  void Fill(uint64_t chunk, Chunk* c) const;

  const Generator& gen_;
  SourceOptions opts_;
  uint64_t chunks_per_batch_;
  std::atomic<uint64_t> next_chunk_{0};
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable produced_, consumed_;
  std::vector<std::unique_ptr<Chunk>> ring_;
  uint64_t next_out_ = 0;  // guarded by mu_
  uint64_t released_ = 0;
  RateLimiter limiter_;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<std::thread> threads_;
};

}  // namespace spate
