#include "core/codec.h"

namespace spate {

std::unique_ptr<Decoder> NewJsonDecoder();                    // json_codec.cc
std::unique_ptr<Decoder> NewBinaryDecoder();                  // binary_codec.cc
std::unique_ptr<Decoder> NewAvroDecoder(uint32_t schema_id);  // avro_codec.cc

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
    case DecodeError::kBadAvro: return "bad_avro";
    case DecodeError::kUnknownSchema: return "unknown_schema";
    case DecodeError::kSchemaMismatch: return "schema_mismatch";
    case DecodeError::kSchemaUnavailable: return "schema_unavailable";
  }
  return "unknown";
}

std::string_view WireFormatName(WireFormat f) {
  switch (f) {
    case WireFormat::kJson: return "json";
    case WireFormat::kBinary: return "binary";
    case WireFormat::kAvro: return "avro";
  }
  return "unknown";
}

void Encode(const WireSpec& w, const Transaction& tx, std::string* out) {
  switch (w.format) {
    case WireFormat::kJson: return EncodeJson(tx, out);
    case WireFormat::kBinary: return EncodeBinary(tx, out);
    case WireFormat::kAvro: return EncodeAvro(tx, w.schema_id, out);
  }
}

std::unique_ptr<Decoder> NewDecoder(const WireSpec& w) {
  switch (w.format) {
    case WireFormat::kJson: return NewJsonDecoder();
    case WireFormat::kBinary: return NewBinaryDecoder();
    case WireFormat::kAvro: return NewAvroDecoder(w.schema_id);
  }
  return nullptr;
}

}  // namespace spate
