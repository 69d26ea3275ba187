#pragma once
// ByteReader: the bytes of a file or of stdin, decompressed when they are gzip (zlib) or
// Zstandard (libzstd). The compression is recognised by the stream's magic bytes, not by the
// file name, so pipes and misnamed files work too; concatenated gzip members and zstd frames
// read as one stream, as gzip -d and zstd -d read them.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>
#include <zstd.h>

#include "core/status.h"

namespace spate {

class ByteReader {
 public:
  // Opens path ("-": stdin). An error names the path and the system's reason.
  static Result<std::unique_ptr<ByteReader>> Open(const std::string& path);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // Up to n decompressed bytes into buf; 0 at the end. An error names the path and what is
  // wrong (a truncated or corrupt compressed stream, a read error).
  Result<size_t> Read(char* buf, size_t n);
  // "gzip", "zstd" or "none".
  std::string_view compression() const;
  // Bytes read from the file so far (compressed), and its size (0 if unknown: a pipe).
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t file_size() const { return file_size_; }

 private:
  enum class Kind : uint8_t { kNone, kGzip, kZstd };
  ByteReader() = default;
  // Refills in_ from the file when it is used up; false at the end of the file.
  Result<bool> Fill();
  Result<size_t> ReadGzip(char* buf, size_t n);
  Result<size_t> ReadZstd(char* buf, size_t n);
  Status Corrupt(const std::string& what) const;

  std::string path_;
  std::FILE* f_ = nullptr;
  bool close_ = false;  // not stdin
  Kind kind_ = Kind::kNone;
  std::vector<char> in_;
  size_t in_pos_ = 0, in_len_ = 0;
  bool eof_ = false;
  z_stream z_{};
  bool z_init_ = false;
  bool member_ended_ = false;  // a gzip member ended; another may follow
  ZSTD_DStream* zs_ = nullptr;
  size_t zs_last_ = 1;  // ZSTD_decompressStream's last result: 0 when a frame is complete
  bool done_ = false;
  uint64_t bytes_in_ = 0;
  uint64_t file_size_ = 0;
};

}  // namespace spate
