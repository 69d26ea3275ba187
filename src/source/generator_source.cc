#include "source/generator_source.h"

namespace spate {

GeneratorSource::GeneratorSource(const Generator& gen, SourceOptions opts)
    : gen_(gen), opts_(opts), gate_(opts) {
  if (opts_.chunk_size == 0 || opts_.chunk_size > opts_.batch_size)
    opts_.chunk_size = opts_.batch_size;
  if (opts_.threads == 0) opts_.threads = 1;
  chunks_per_batch_ = (opts_.batch_size + opts_.chunk_size - 1) / opts_.chunk_size;
  sixteenths_per_record_.store((TypicalEncodedSize(opts_.wire.format) + 1) * 16);  // and '\n'
  ring_.resize(opts_.threads * 2 + 2);
  for (uint32_t t = 0; t < opts_.threads; ++t) threads_.emplace_back([this] { Work(); });
}

void GeneratorSource::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_.store(true);
  }
  produced_.notify_all();
  consumed_.notify_all();
}

GeneratorSource::~GeneratorSource() {
  Stop();
  for (auto& t : threads_) t.join();
}

bool GeneratorSource::Range(uint64_t chunk, uint64_t* first, uint64_t* count) const {
  uint64_t batch = chunk / chunks_per_batch_, j = chunk % chunks_per_batch_;
  uint64_t begin = batch * opts_.batch_size + j * opts_.chunk_size;
  uint64_t end = std::min(begin + opts_.chunk_size, (batch + 1) * opts_.batch_size);
  if (opts_.records > 0) {
    if (begin >= opts_.records) return false;
    end = std::min(end, opts_.records);
  }
  *first = begin;
  *count = end - begin;
  return true;
}

void GeneratorSource::Fill(uint64_t chunk, Chunk* c) {
  uint64_t first, count;
  Range(chunk, &first, &count);
  c->index = chunk;
  c->batch = chunk / chunks_per_batch_;
  uint64_t batch_end = (c->batch + 1) * opts_.batch_size;
  c->last_in_batch =
      first + count == batch_end || (opts_.records > 0 && first + count == opts_.records);
  c->first_seq = first;
  // The last chunk's size per record, plus 1/16: records vary little in size on average over
  // a chunk, so the buffer seldom grows, and never by doubling much unused room.
  const uint64_t sixteenths = sixteenths_per_record_.load(std::memory_order_relaxed);
  c->bytes.reserve(count * sixteenths * 17 / 256 + kDecodePadding);
  c->offsets.reserve(count + 1);
  c->key_offsets.reserve(count + 1);
  c->partition.reserve(count);
  GeneratedRecord r;
  for (uint64_t k = 0; k < count; ++k) {
    gen_.Make(first + k, &r);
    c->BeginRecord();
    gen_.AppendPayload(r, opts_.wire, &c->bytes);
    std::string_view key;
    switch (opts_.key) {
      case KeyField::kUserId: key = r.tx.user; break;
      case KeyField::kMerchantId: key = r.tx.merchant; break;
      case KeyField::kTransactionId: key = r.tx.transaction_id; break;
      case KeyField::kNone: break;
    }
    c->EndRecord(key, opts_.partitions);
    if (r.injected != Injected::kNone)
      c->injected.emplace_back(static_cast<uint32_t>(k), r.injected);
  }
  c->Seal();
  if (count > 0) {
    sixteenths_per_record_.store((c->bytes.size() - kDecodePadding) * 16 / count,
                                 std::memory_order_relaxed);
  }
}

void GeneratorSource::Work() {
  const uint64_t slots = ring_.size();
  for (;;) {
    uint64_t chunk = next_chunk_.fetch_add(1);
    uint64_t first, count;
    if (!Range(chunk, &first, &count)) break;
    {
      std::unique_lock<std::mutex> lock(mu_);
      consumed_.wait(lock, [&] { return stopped_.load() || chunk < next_out_ + slots; });
      if (stopped_.load()) break;
    }
    auto c = std::make_unique<Chunk>();
    Fill(chunk, c.get());
    {
      std::lock_guard<std::mutex> lock(mu_);
      ring_[chunk % slots] = std::move(c);
    }
    produced_.notify_all();
  }
  produced_.notify_all();
}

std::unique_ptr<Chunk> GeneratorSource::Next() {
  std::unique_ptr<Chunk> c;
  {
    std::unique_lock<std::mutex> lock(mu_);
    uint64_t first, count;
    if (stopped_.load() || !Range(next_out_, &first, &count)) return nullptr;
    auto& slot = ring_[next_out_ % ring_.size()];
    produced_.wait(lock, [&] { return stopped_.load() || slot != nullptr; });
    if (!slot) return nullptr;
    c = std::move(slot);
    ++next_out_;
  }
  consumed_.notify_all();
  if (!gate_.Pass(*c)) {
    Stop();
    return nullptr;
  }
  return c;
}

}  // namespace spate
