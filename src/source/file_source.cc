#include "source/file_source.h"

#include <algorithm>
#include <cstring>

#include <simdjson.h>

namespace spate {
namespace {

constexpr size_t kReadBlock = 4 << 20;
// A chunk is handed over at chunk_size records or this many bytes, whichever comes first
// (its offsets are 32-bit).
constexpr size_t kMaxChunkBytes = 256 << 20;
// {"transactionId":"  and  ","userId":"
constexpr size_t kCanonicalPrefix = 18 + 12;

bool Blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

Role KeyRole(KeyField k) {
  switch (k) {
    case KeyField::kMerchantId: return Role::kMerchantId;
    case KeyField::kTransactionId: return Role::kTransactionId;
    case KeyField::kUserId:
    case KeyField::kNone: break;
  }
  return Role::kUserId;
}

}  // namespace

Result<std::unique_ptr<FileSource>> FileSource::Open(const SourceOptions& opts) {
  auto reader = ByteReader::Open(opts.input);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<FileSource>(new FileSource(opts, std::move(reader).value()));
}

FileSource::FileSource(const SourceOptions& opts, std::unique_ptr<ByteReader> reader)
    : opts_(opts), reader_(std::move(reader)), gate_(opts) {
  if (opts_.batch_size == 0) opts_.batch_size = 32'768;
  if (opts_.chunk_size == 0 || opts_.chunk_size > opts_.batch_size)
    opts_.chunk_size = opts_.batch_size;
  if (opts_.partitions == 0) opts_.partitions = 1;
  if (opts_.wire.format == WireFormat::kJson) {
    json_key_ = opts_.wire.record.name(KeyRole(opts_.key));
    canonical_key_ = !opts_.wire.record.renamed() && opts_.key == KeyField::kUserId;
  } else {
    decoder_ = NewDecoder(opts_.wire);
  }
  thread_ = std::thread([this] { Read(); });
}

FileSource::~FileSource() {
  Stop();
  thread_.join();
}

void FileSource::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_.store(true);
  }
  produced_.notify_all();
  consumed_.notify_all();
}

Status FileSource::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

std::unique_ptr<Chunk> FileSource::Next() {
  std::unique_ptr<Chunk> c;
  {
    std::unique_lock<std::mutex> lock(mu_);
    produced_.wait(lock, [&] { return stopped_.load() || finished_ || !queue_.empty(); });
    if (stopped_.load() || queue_.empty()) return nullptr;
    c = std::move(queue_.front());
    queue_.pop_front();
  }
  consumed_.notify_all();
  if (!gate_.Pass(*c)) {
    Stop();
    return nullptr;
  }
  return c;
}

bool FileSource::Push(std::unique_ptr<Chunk> c) {
  std::unique_lock<std::mutex> lock(mu_);
  consumed_.wait(lock, [&] { return stopped_.load() || queue_.size() < 4; });
  if (stopped_.load()) return false;
  queue_.push_back(std::move(c));
  lock.unlock();
  produced_.notify_all();
  return true;
}

std::unique_ptr<Chunk> FileSource::NewChunk(uint64_t first_seq) {
  auto c = std::make_unique<Chunk>();
  c->index = chunks_++;
  c->first_seq = first_seq;
  c->batch = first_seq / opts_.batch_size;
  c->offsets.reserve(opts_.chunk_size + 1);
  c->key_offsets.reserve(opts_.chunk_size + 1);
  c->partition.reserve(opts_.chunk_size);
  // Room for about as many bytes as the last chunk had: grown by doubling instead, a chunk's
  // bytes were copied once more on the way, onto fresh pages the kernel zeroes each time
  // (`spate run --input` on 10M reference records: 20% more wall time, the reader the limit).
  if (last_bytes_ > 0) c->bytes.reserve(last_bytes_ + last_bytes_ / 8 + kDecodePadding);
  if (last_keys_ > 0) c->keys.reserve(last_keys_ + last_keys_ / 8);
  return c;
}

std::string_view FileSource::KeyOf(std::string_view payload, size_t readable) {
  if (opts_.key == KeyField::kNone) return {};
  if (!decoder_) {
    // JSON: the key field's string, read as far as needed and no further (the engine judges
    // the record): the canonical layout directly, any other with simdjson On-Demand. A
    // record that is not valid JSON has its key when it can be read before the damage.
    if (canonical_key_ && payload.size() > kCanonicalPrefix + 36 &&
        payload.substr(0, 18) == R"({"transactionId":")") {
      const size_t q = payload.find('"', 18);  // the end of the transactionId
      if (q != std::string_view::npos && payload.substr(q, 12) == R"(","userId":")") {
        const size_t b = q + 12, e = payload.find('"', b);
        if (e != std::string_view::npos &&
            payload.substr(b, e - b).find('\\') == std::string_view::npos &&
            payload.substr(0, b).find('\\') == std::string_view::npos) {
          return payload.substr(b, e - b);
        }
      }
    }
    simdjson::ondemand::document doc;
    if (od_.iterate(payload.data(), payload.size(), readable).get(doc)) return {};
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj)) return {};
    std::string_view v;
    if (obj.find_field_unordered(json_key_).get_string().get(v)) return {};
    key_scratch_.assign(v);
    return key_scratch_;
  }
  Transaction tx;
  std::string reason;
  if (decoder_->Decode(payload, readable, &tx, &reason) != DecodeError::kNone) return {};
  std::string_view v = opts_.key == KeyField::kMerchantId      ? tx.merchant
                       : opts_.key == KeyField::kTransactionId ? tx.transaction_id
                                                               : tx.user;
  key_scratch_.assign(v);
  return key_scratch_;
}

bool FileSource::Add(std::string_view payload, size_t readable) {
  if (opts_.records > 0 && seq_ >= opts_.records) return false;
  if (held_) {  // a record follows: the held chunk ends its batch iff the batch is full
    held_->last_in_batch = seq_ % opts_.batch_size == 0;
    if (!Push(std::move(held_))) return false;
  }
  if (!building_) building_ = NewChunk(seq_);
  const std::string_view key = KeyOf(payload, readable);
  building_->Append(payload, key, opts_.partitions);
  ++seq_;
  if (building_->size() >= opts_.chunk_size || seq_ % opts_.batch_size == 0 ||
      building_->bytes.size() >= kMaxChunkBytes) {
    Seal(building_.get());
    held_ = std::move(building_);
  }
  return true;
}

void FileSource::Seal(Chunk* c) {
  c->Seal();
  last_bytes_ = c->bytes.size();
  last_keys_ = c->keys.size();
}

void FileSource::Read() {
  Status st = ReadAll();
  if (st.ok() && !stopped_.load()) {
    // The end of the input: the last chunk ends its batch.
    if (building_) {
      Seal(building_.get());
      if (held_) {
        held_->last_in_batch = false;
        Push(std::move(held_));
      }
      held_ = std::move(building_);
    }
    if (held_) {
      held_->last_in_batch = true;
      Push(std::move(held_));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    status_ = st;
  }
  produced_.notify_all();
}

Status FileSource::ReadAll() {
  // buf holds unconsumed bytes [start, end) and spare room for reading and decode padding.
  std::string buf(kReadBlock + kDecodePadding, '\0');
  size_t start = 0, end = 0;
  bool eof = false;
  uint64_t offset = 0;  // of buf[start] in the decompressed stream
  const bool json = opts_.wire.format == WireFormat::kJson;
  for (;;) {
    // Cut the complete records in [start, end).
    for (;;) {
      if (json) {
        const char* nl =
            static_cast<const char*>(std::memchr(buf.data() + start, '\n', end - start));
        if (!nl && !(eof && end > start)) break;
        const size_t stop = nl ? static_cast<size_t>(nl - buf.data()) : end;
        std::string_view line(buf.data() + start, stop - start);
        const size_t consumed = stop - start + (nl ? 1 : 0);
        if (Blank(line)) {
          blank_lines_.fetch_add(1, std::memory_order_relaxed);
        } else if (!Add(line, buf.size() - start)) {
          return Status::Ok();
        }
        start += consumed;
        offset += consumed;
      } else {
        if (end - start < 4) {
          // A file cut inside a length prefix: the bytes left are a record (a dead letter).
          if (eof && end > start) {
            Add(std::string_view(buf.data() + start, end - start), buf.size() - start);
            return Status::Ok();
          }
          break;
        }
        const auto* p = reinterpret_cast<const unsigned char*>(buf.data() + start);
        const size_t len = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
        if (len > kMaxFileRecord) {
          return Status::Error(opts_.input + ": a record of " + std::to_string(len) +
                               " bytes at byte " + std::to_string(offset) +
                               " (more than 64 MiB: is the file --format " +
                               std::string(WireFormatName(opts_.wire.format)) + "?)");
        }
        if (end - start - 4 < len) {
          // A file cut inside the last record: what there is of it is a record (its decoder
          // calls it truncated: a dead letter).
          if (eof) {
            Add(std::string_view(buf.data() + start + 4, end - start - 4), buf.size() - start - 4);
            return Status::Ok();
          }
          break;
        }
        if (!Add(std::string_view(buf.data() + start + 4, len), buf.size() - start - 4)) {
          return Status::Ok();
        }
        start += 4 + len;
        offset += 4 + len;
      }
    }
    if (eof || stopped_.load()) return Status::Ok();
    // Move the partial record to the front; grow the buffer for a long one.
    if (start > 0) {
      std::memmove(buf.data(), buf.data() + start, end - start);
      end -= start;
      start = 0;
    }
    if (buf.size() - kDecodePadding - end < kReadBlock / 2) {
      if (end > kMaxFileRecord) {
        return Status::Error(opts_.input + ": a line longer than 64 MiB at byte " +
                             std::to_string(offset) + " (is the file --format json?)");
      }
      buf.resize(buf.size() * 2);
    }
    auto got = reader_->Read(buf.data() + end, buf.size() - kDecodePadding - end);
    if (!got.ok()) return got.status();
    bytes_in_.store(reader_->bytes_in(), std::memory_order_relaxed);
    if (got.value() == 0) {
      eof = true;
    } else {
      end += got.value();
    }
    std::memset(buf.data() + end, 0, std::min(kDecodePadding, buf.size() - end));
  }
}

}  // namespace spate
