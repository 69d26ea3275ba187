#include "core/codec.h"

namespace spate {

std::unique_ptr<Decoder> NewJsonDecoder();    // json_codec.cc
std::unique_ptr<Decoder> NewBinaryDecoder();  // binary_codec.cc

std::string_view DecodeErrorName(DecodeError e) {
  switch (e) {
    case DecodeError::kNone: return "none";
    case DecodeError::kInvalidJson: return "invalid_json";
    case DecodeError::kMissingField: return "missing_field";
    case DecodeError::kDuplicateField: return "duplicate_field";
    case DecodeError::kWrongType: return "wrong_type";
    case DecodeError::kOutOfRange: return "out_of_range";
    case DecodeError::kBadValue: return "bad_value";
    case DecodeError::kTrailingContent: return "trailing_content";
    case DecodeError::kBadBinary: return "bad_binary";
  }
  return "unknown";
}

std::string_view WireFormatName(WireFormat f) {
  switch (f) {
    case WireFormat::kJson: return "json";
    case WireFormat::kBinary: return "binary";
  }
  return "unknown";
}

void Encode(WireFormat f, const Transaction& tx, std::string* out) {
  switch (f) {
    case WireFormat::kJson: return EncodeJson(tx, out);
    case WireFormat::kBinary: return EncodeBinary(tx, out);
  }
}

std::unique_ptr<Decoder> NewDecoder(WireFormat f) {
  switch (f) {
    case WireFormat::kJson: return NewJsonDecoder();
    case WireFormat::kBinary: return NewBinaryDecoder();
  }
  return nullptr;
}

}  // namespace spate
