#include "runner/kafka/repartition.h"

#include "core/bytes.h"

namespace spate {
namespace {

constexpr char kRecordTag = 'R';
constexpr char kStampedRecordTag = 'S';  // a record with its input's Kafka timestamp
constexpr char kMarkerTag = 'W';
constexpr char kPartialTag = 'P';
constexpr uint8_t kPartialOverflow = 1, kPartialStamps = 2;
constexpr size_t kWindowBytes = 8 + 8 + 16 + 8 * 4 + 1;
constexpr char kFrameTag = 'F';
constexpr size_t kHeader = 1 + 4 + 8;

bool DecodePartial(std::string_view data, RepartitionMessage* out) {
  if (data.size() < kHeader + 1 + 3) return false;
  const auto flags = static_cast<uint8_t>(data[kHeader]);
  if (out->value < 1 || (flags & ~(kPartialOverflow | kPartialStamps)) != 0 ||
      !ParseCurrency(data.substr(kHeader + 1, 3), &out->currency)) {
    return false;
  }
  size_t at = kHeader + 4;
  uint64_t n;
  if (!GetVarint(data, &at, &n) || n == 0 || n > data.size() - at) return false;
  out->key = data.substr(at, n);
  at += n;
  PartialAgg& p = out->partial;
  p.Clear();
  p.records = out->value;
  p.overflow = flags & kPartialOverflow;
  if (data.size() - at < 16) return false;
  p.sum = GetSumLe(data, at);
  at += 16;
  if (!GetVarint(data, &at, &n) || n == 0 || n > (data.size() - at) / kWindowBytes) return false;
  for (uint64_t i = 0; i < n; ++i, at += kWindowBytes) {
    WindowAgg a;
    const int64_t start = static_cast<int64_t>(GetLe(data, at, 8));
    a.count = static_cast<int64_t>(GetLe(data, at + 8, 8));
    a.sum = GetSumLe(data, at + 16);
    a.min = static_cast<int64_t>(GetLe(data, at + 32, 8));
    a.max = static_cast<int64_t>(GetLe(data, at + 40, 8));
    a.purchases = static_cast<int64_t>(GetLe(data, at + 48, 8));
    a.refunds = static_cast<int64_t>(GetLe(data, at + 56, 8));
    a.overflow = data[at + 64] != 0;
    if (start < 0 || a.count < 1 || a.count > p.records || a.min > a.max) return false;
    p.windows.emplace_back(start, a);
  }
  const size_t stamps = flags & kPartialStamps ? static_cast<size_t>(p.records) : 0;
  if ((data.size() - at) / 8 != stamps || (data.size() - at) % 8 != 0) return false;
  for (size_t i = 0; i < stamps; ++i) {
    p.stamps.push_back(static_cast<int64_t>(GetLe(data, at + 8 * i, 8)));
    if (p.stamps.back() < 0) return false;
  }
  out->kind = RepartitionMessage::Kind::kPartial;
  return true;
}

void PutHeader(char tag, uint32_t partition, int64_t value, std::string* out) {
  out->push_back(tag);
  PutLe(out, partition, 4);
  PutLe(out, static_cast<uint64_t>(value), 8);
}

}  // namespace

void EncodeRepartitionRecord(uint32_t source_partition, int64_t offset, const Transaction& tx,
                             std::string* out, int64_t ingest_ms) {
  PutHeader(ingest_ms >= 0 ? kStampedRecordTag : kRecordTag, source_partition, offset, out);
  if (ingest_ms >= 0) PutLe(out, static_cast<uint64_t>(ingest_ms), 8);
  EncodeBinary(tx, out);
}

void EncodeRepartitionMarker(uint32_t source_partition, int64_t max_time, SourceState state,
                             std::string* out) {
  PutHeader(kMarkerTag, source_partition, max_time, out);
  out->push_back(static_cast<char>(state));
}

void EncodeRepartitionPartial(uint32_t source_partition, std::string_view key, Currency c,
                              const PartialAgg& p, std::string* out) {
  PutHeader(kPartialTag, source_partition, p.records, out);
  const bool stamped = !p.stamps.empty();
  out->push_back(
      static_cast<char>((p.overflow ? kPartialOverflow : 0) | (stamped ? kPartialStamps : 0)));
  out->append(CurrencyCode(c));
  PutVarint(out, key.size());
  out->append(key);
  PutSumLe(out, p.sum);
  PutVarint(out, p.windows.size());
  for (const auto& [start, a] : p.windows) {
    for (int64_t v : {start, a.count}) PutLe(out, static_cast<uint64_t>(v), 8);
    PutSumLe(out, a.sum);
    for (int64_t v : {a.min, a.max, a.purchases, a.refunds}) {
      PutLe(out, static_cast<uint64_t>(v), 8);
    }
    out->push_back(a.overflow ? 1 : 0);
  }
  for (int64_t t : p.stamps) PutLe(out, static_cast<uint64_t>(t), 8);
}

bool DecodeRepartition(std::string_view data, Decoder* binary_decoder, RepartitionMessage* out) {
  if (data.size() < kHeader) return false;
  out->source_partition = static_cast<uint32_t>(GetLe(data, 1, 4));
  out->value = static_cast<int64_t>(GetLe(data, 5, 8));
  if (data[0] == kMarkerTag) {
    // The size first: a marker cut after its header read one byte past it (fuzz/).
    if (data.size() != kHeader + 1) return false;
    const auto state = static_cast<uint8_t>(data[kHeader]);
    if (state > static_cast<uint8_t>(SourceState::kIdle)) return false;
    out->kind = RepartitionMessage::Kind::kMarker;
    out->state = static_cast<SourceState>(state);
    return true;
  }
  if (data[0] == kPartialTag) return DecodePartial(data, out);
  if (data[0] != kRecordTag && data[0] != kStampedRecordTag) return false;
  out->kind = RepartitionMessage::Kind::kRecord;
  size_t header = kHeader;
  out->ingest_ms = -1;
  if (data[0] == kStampedRecordTag) {
    if (data.size() < kHeader + 8) return false;
    out->ingest_ms = static_cast<int64_t>(GetLe(data, kHeader, 8));
    if (out->ingest_ms < 0) return false;
    header += 8;
  }
  std::string reason;
  std::string_view body = data.substr(header);
  return binary_decoder->Decode(body, body.size(), &out->tx, &reason) == DecodeError::kNone;
}

void AppendToFrame(std::string_view entry, std::string* frame) {
  if (frame->empty()) frame->push_back(kFrameTag);
  PutVarint(frame, entry.size());
  frame->append(entry);
}

bool ForEachInFrame(std::string_view frame, const std::function<bool(std::string_view)>& fn) {
  if (frame.empty() || frame[0] != kFrameTag) return false;
  size_t i = 1;
  while (i < frame.size()) {
    uint64_t n;
    if (!GetVarint(frame, &i, &n) || n > frame.size() - i) return false;
    if (!fn(frame.substr(i, n))) return false;
    i += n;
  }
  return true;
}

}  // namespace spate
