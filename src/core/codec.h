#pragma once
// Wire codecs for the transaction record: JSON (the reference's format, decoded with simdjson
// under strict validation) and a compact binary form. Both classify every failure with a
// DecodeError code (bounded, used as a metric label) and a human reason (for dead letters).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/transaction.h"

namespace spate {

enum class DecodeError : uint8_t {
  kNone = 0,
  kInvalidJson,
  kMissingField,
  kDuplicateField,
  kWrongType,
  kOutOfRange,
  kBadValue,
  kTrailingContent,
  kBadBinary,
};
inline constexpr int kDecodeErrorCount = 9;
std::string_view DecodeErrorName(DecodeError e);

enum class WireFormat : uint8_t { kJson, kBinary };
std::string_view WireFormatName(WireFormat f);

// Bytes that must be readable past the end of a message handed to a Decoder without a copy
// (simdjson reads ahead in 64-byte blocks). Buffers in spate reserve this much slack.
inline constexpr size_t kDecodePadding = 64;
// Upper bound of one encoded record, either format.
inline constexpr size_t kMaxEncodedSize = 320;

// Appends the encoding of tx to out. JSON field order is fixed; amounts have two decimals.
void EncodeJson(const Transaction& tx, std::string* out);
void EncodeBinary(const Transaction& tx, std::string* out);
void Encode(WireFormat f, const Transaction& tx, std::string* out);

// A Decoder holds per-thread parser state; use one per thread. Not thread-safe.
class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decodes msg into *tx. `readable` is how many bytes starting at msg.data() may be read
  // (>= msg.size()); when it is less than msg.size() + kDecodePadding the decoder copies.
  // On failure returns the code and sets *reason; *tx is then unspecified.
  virtual DecodeError Decode(std::string_view msg, size_t readable, Transaction* tx,
                             std::string* reason) = 0;
};

std::unique_ptr<Decoder> NewDecoder(WireFormat f);

}  // namespace spate
