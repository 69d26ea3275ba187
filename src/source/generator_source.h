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
#include "source/chunk_source.h"

namespace spate {

class GeneratorSource final : public ChunkSource {
 public:
  GeneratorSource(const Generator& gen, SourceOptions opts);
  ~GeneratorSource();
  GeneratorSource(const GeneratorSource&) = delete;
  GeneratorSource& operator=(const GeneratorSource&) = delete;

  // The next chunk in order, or nullptr when the input is exhausted (record count reached,
  // duration elapsed or Stop() called). Called from one consumer thread. The last chunk may be
  // cut short by the duration; the records released are always a prefix of the sequence.
  std::unique_ptr<Chunk> Next() override;
  // Ends the input at the next chunk boundary (any thread; e.g. from a signal watcher).
  void Stop() override;
  uint64_t released() const override { return gate_.released(); }

 private:
  void Work();
  bool Range(uint64_t chunk, uint64_t* first, uint64_t* count) const;
  void Fill(uint64_t chunk, Chunk* c);

  const Generator& gen_;
  SourceOptions opts_;
  uint64_t chunks_per_batch_;
  std::atomic<uint64_t> next_chunk_{0};
  std::atomic<bool> stopped_{false};
  // Payload bytes per record of the last chunk filled, in 1/16ths (the room each new chunk's
  // bytes reserve): a chunk kept while its records are in flight (spate produce) then holds
  // about what it uses, where a typical size too small made its buffer double.
  std::atomic<uint64_t> sixteenths_per_record_;
  std::mutex mu_;
  std::condition_variable produced_, consumed_;
  std::vector<std::unique_ptr<Chunk>> ring_;
  uint64_t next_out_ = 0;  // guarded by mu_
  ReleaseGate gate_;
  std::vector<std::thread> threads_;
};

}  // namespace spate
