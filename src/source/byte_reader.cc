#include "source/byte_reader.h"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>

namespace spate {
namespace {

constexpr size_t kInputBuffer = 1 << 20;

}  // namespace

Result<std::unique_ptr<ByteReader>> ByteReader::Open(const std::string& path) {
  std::unique_ptr<ByteReader> r(new ByteReader());
  r->path_ = path == "-" ? "stdin" : path;
  if (path == "-") {
    r->f_ = stdin;
  } else {
    r->f_ = std::fopen(path.c_str(), "rb");
    if (!r->f_) return Status::Error("cannot open " + path + ": " + std::strerror(errno));
    r->close_ = true;
    struct stat st;
    if (fstat(fileno(r->f_), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::Error(path + " is a directory");
      if (S_ISREG(st.st_mode)) r->file_size_ = static_cast<uint64_t>(st.st_size);
    }
  }
  r->in_.resize(kInputBuffer);
  // Sniff the compression from the first bytes (kept in in_, so nothing is lost).
  while (r->in_len_ < 4 && !r->eof_) {
    const size_t got = std::fread(r->in_.data() + r->in_len_, 1, 4 - r->in_len_, r->f_);
    if (got == 0) {
      if (std::ferror(r->f_))
        return Status::Error("cannot read " + r->path_ + ": " + std::strerror(errno));
      r->eof_ = true;
    }
    r->in_len_ += got;
    r->bytes_in_ += got;
  }
  const auto* m = reinterpret_cast<const unsigned char*>(r->in_.data());
  if (r->in_len_ >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
    r->kind_ = Kind::kGzip;
    if (inflateInit2(&r->z_, 15 + 16) != Z_OK) return Status::Error("zlib: inflateInit2 failed");
    r->z_init_ = true;
  } else if (r->in_len_ >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
    r->kind_ = Kind::kZstd;
    r->zs_ = ZSTD_createDStream();
    if (!r->zs_) return Status::Error("zstd: cannot create a decompression stream");
  }
  return r;
}

ByteReader::~ByteReader() {
  if (z_init_) inflateEnd(&z_);
  if (zs_) ZSTD_freeDStream(zs_);
  if (close_ && f_) std::fclose(f_);
}

std::string_view ByteReader::compression() const {
  switch (kind_) {
    case Kind::kGzip: return "gzip";
    case Kind::kZstd: return "zstd";
    case Kind::kNone: break;
  }
  return "none";
}

Status ByteReader::Corrupt(const std::string& what) const {
  return Status::Error(path_ + ": " + what + " (" + std::string(compression()) + ", after " +
                       std::to_string(bytes_in_) + " bytes of the file)");
}

Result<bool> ByteReader::Fill() {
  if (in_pos_ < in_len_) return true;
  in_pos_ = in_len_ = 0;
  if (eof_) return false;
  const size_t got = std::fread(in_.data(), 1, in_.size(), f_);
  if (got == 0) {
    if (std::ferror(f_)) return Status::Error("cannot read " + path_ + ": " + std::strerror(errno));
    eof_ = true;
    return false;
  }
  in_len_ = got;
  bytes_in_ += got;
  return true;
}

Result<size_t> ByteReader::Read(char* buf, size_t n) {
  if (n == 0 || done_) return size_t{0};
  switch (kind_) {
    case Kind::kGzip: return ReadGzip(buf, n);
    case Kind::kZstd: return ReadZstd(buf, n);
    case Kind::kNone: break;
  }
  auto more = Fill();
  if (!more.ok()) return more.status();
  if (!more.value()) {
    done_ = true;
    return size_t{0};
  }
  const size_t k = std::min(n, in_len_ - in_pos_);
  std::memcpy(buf, in_.data() + in_pos_, k);
  in_pos_ += k;
  return k;
}

Result<size_t> ByteReader::ReadGzip(char* buf, size_t n) {
  z_.next_out = reinterpret_cast<Bytef*>(buf);
  z_.avail_out = static_cast<uInt>(std::min<size_t>(n, UINT32_MAX));
  const uInt want = z_.avail_out;
  while (z_.avail_out == want) {  // until some output, or the end
    auto more = Fill();
    if (!more.ok()) return more.status();
    if (member_ended_) {
      if (!more.value()) {
        done_ = true;
        break;
      }
      // Another member follows (concatenated gzip files read as one).
      if (inflateReset(&z_) != Z_OK) return Corrupt("zlib: inflateReset failed");
      member_ended_ = false;
    }
    if (!more.value()) return Corrupt("truncated gzip stream");
    z_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
    z_.avail_in = static_cast<uInt>(in_len_ - in_pos_);
    const int rc = inflate(&z_, Z_NO_FLUSH);
    in_pos_ = in_len_ - z_.avail_in;
    if (rc == Z_STREAM_END) {
      member_ended_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Corrupt(std::string("corrupt gzip stream: ") + (z_.msg ? z_.msg : "inflate failed"));
    }
  }
  return static_cast<size_t>(want - z_.avail_out);
}

Result<size_t> ByteReader::ReadZstd(char* buf, size_t n) {
  ZSTD_outBuffer out{buf, n, 0};
  while (out.pos < out.size) {
    auto more = Fill();
    if (!more.ok()) return more.status();
    if (!more.value()) {
      // The end of the file: complete if the last frame was (0: decoded and flushed), else
      // the decoder may still hold output of it.
      if (zs_last_ == 0) {
        done_ = true;
        break;
      }
      ZSTD_inBuffer empty{nullptr, 0, 0};
      const size_t before = out.pos;
      const size_t rc = ZSTD_decompressStream(zs_, &out, &empty);
      if (ZSTD_isError(rc))
        return Corrupt(std::string("corrupt zstd stream: ") + ZSTD_getErrorName(rc));
      zs_last_ = rc;
      if (out.pos > before) continue;
      if (rc != 0) return Corrupt("truncated zstd stream");
      done_ = true;
      break;
    }
    ZSTD_inBuffer in{in_.data() + in_pos_, in_len_ - in_pos_, 0};
    const size_t rc = ZSTD_decompressStream(zs_, &out, &in);
    in_pos_ += in.pos;
    if (ZSTD_isError(rc))
      return Corrupt(std::string("corrupt zstd stream: ") + ZSTD_getErrorName(rc));
    zs_last_ = rc;
  }
  return out.pos;
}

}  // namespace spate
