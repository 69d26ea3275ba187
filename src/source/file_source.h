#pragma once
// FileSource: records from a file or stdin (`spate run --input`, `spate produce --input`),
// gzip or zstd compressed or not (byte_reader.h), cut into the chunks the generator makes:
//   - JSON (--format json): one record per line; blank lines are skipped; the last line needs
//     no newline;
//   - binary and Avro: each record preceded by its length, 4 bytes big-endian (what
//     `spate gen --format binary|avro` writes).
// Each record is keyed by its userId (or --key's field), read from the record itself, and
// placed in that key's partition as Kafka's default partitioner would; a record whose key
// cannot be read (it will be a dead letter) goes round-robin. A reader thread reads ahead.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <simdjson.h>

#include "core/codec.h"
#include "source/byte_reader.h"
#include "source/chunk_source.h"

namespace spate {

// The longest record a file may hold.
inline constexpr size_t kMaxFileRecord = 64 << 20;

class FileSource final : public ChunkSource {
 public:
  // Opens opts.input; an error (no such file, a directory) names it.
  static Result<std::unique_ptr<FileSource>> Open(const SourceOptions& opts);
  ~FileSource() override;

  std::unique_ptr<Chunk> Next() override;
  void Stop() override;
  uint64_t released() const override { return gate_.released(); }
  Status status() const override;

  // How far the reader is: bytes of the file read (compressed) and its size (0: unknown).
  uint64_t bytes_in() const { return bytes_in_.load(std::memory_order_relaxed); }
  uint64_t file_size() const { return reader_->file_size(); }
  uint64_t blank_lines() const { return blank_lines_.load(std::memory_order_relaxed); }

 private:
  FileSource(const SourceOptions& opts, std::unique_ptr<ByteReader> reader);
  void Read();  // the reader thread
  Status ReadAll();
  // Appends one record to the chunk being built, handing full chunks over.
  bool Add(std::string_view payload, size_t readable);
  bool Push(std::unique_ptr<Chunk> c);  // false once stopped
  std::unique_ptr<Chunk> NewChunk(uint64_t first_seq);
  void Seal(Chunk* c);  // Chunk::Seal, noting its sizes for the next chunk's room
  std::string_view KeyOf(std::string_view payload, size_t readable);

  SourceOptions opts_;
  std::unique_ptr<ByteReader> reader_;
  std::unique_ptr<Decoder> decoder_;  // binary and Avro: to read the key
  std::string json_key_;              // JSON: the key field's name
  std::string key_scratch_;
  bool canonical_key_ = false;     // JSON with spate's names, keyed by userId
  simdjson::ondemand::parser od_;  // JSON: to read the key
  uint64_t seq_ = 0;
  uint64_t chunks_ = 0;
  std::unique_ptr<Chunk> building_, held_;  // held_: full, waiting to know if it ends a batch
  size_t last_bytes_ = 0, last_keys_ = 0;   // the last sealed chunk's bytes and keys

  mutable std::mutex mu_;
  std::condition_variable produced_, consumed_;
  std::deque<std::unique_ptr<Chunk>> queue_;
  bool finished_ = false;
  Status status_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> blank_lines_{0};
  ReleaseGate gate_;
  std::thread thread_;
};

}  // namespace spate
