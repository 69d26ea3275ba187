#include "runner/kafka/repartition.h"

namespace spate {
namespace {

constexpr char kRecordTag = 'R';
constexpr char kStampedRecordTag = 'S';  // a record with its input's Kafka timestamp
constexpr char kMarkerTag = 'W';
constexpr char kFrameTag = 'F';
constexpr size_t kHeader = 1 + 4 + 8;

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetLe(std::string_view s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(s[at + static_cast<size_t>(i)])) << (8 * i);
  }
  return v;
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
  uint64_t n = entry.size();
  while (n >= 0x80) {  // LEB128 length
    frame->push_back(static_cast<char>(n | 0x80));
    n >>= 7;
  }
  frame->push_back(static_cast<char>(n));
  frame->append(entry);
}

bool ForEachInFrame(std::string_view frame, const std::function<bool(std::string_view)>& fn) {
  if (frame.empty() || frame[0] != kFrameTag) return false;
  size_t i = 1;
  while (i < frame.size()) {
    uint64_t n = 0;
    int shift = 0;
    for (;;) {
      if (i >= frame.size() || shift > 28) return false;
      const auto b = static_cast<uint8_t>(frame[i++]);
      n |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
    if (n > frame.size() - i) return false;
    if (!fn(frame.substr(i, n))) return false;
    i += n;
  }
  return true;
}

}  // namespace spate
