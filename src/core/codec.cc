#include "core/codec.h"

namespace spate {

std::unique_ptr<Decoder> NewJsonDecoder(const RecordFormat& f);    // json_codec.cc
std::unique_ptr<Decoder> NewBinaryDecoder(const RecordFormat& f);  // binary_codec.cc

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

RecordFormat::RecordFormat() {
  for (int r = 0; r < kRoleCount; ++r)
    names_[static_cast<size_t>(r)] = RoleName(static_cast<Role>(r));
}

Status RecordFormat::SetField(std::string_view role_eq_name) {
  const size_t eq = role_eq_name.find('=');
  if (eq == std::string_view::npos) {
    return Status::Error("expected ROLE=NAME (e.g. amount=amout), got '" +
                         std::string(role_eq_name) + "'");
  }
  const std::string_view role = role_eq_name.substr(0, eq), name = role_eq_name.substr(eq + 1);
  auto r = ParseRole(role);
  if (!r) {
    std::string roles;
    for (int i = 0; i < kRoleCount; ++i) {
      roles += (i ? ", " : "") + std::string(RoleName(static_cast<Role>(i)));
    }
    return Status::Error("unknown role '" + std::string(role) + "' (one of " + roles + ")");
  }
  if (name.empty()) return Status::Error("empty field name for " + std::string(role));
  for (int i = 0; i < kRoleCount; ++i) {
    if (i != static_cast<int>(*r) && names_[static_cast<size_t>(i)] == name) {
      return Status::Error("field name '" + std::string(name) + "' is already the name of " +
                           std::string(RoleName(static_cast<Role>(i))));
    }
  }
  names_[static_cast<size_t>(*r)] = std::string(name);
  renamed_ = false;
  for (int i = 0; i < kRoleCount; ++i) {
    if (names_[static_cast<size_t>(i)] != RoleName(static_cast<Role>(i))) renamed_ = true;
  }
  return Status::Ok();
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
    case WireFormat::kJson: return EncodeJson(tx, out, w.record);
    case WireFormat::kBinary: return EncodeBinary(tx, out);
    case WireFormat::kAvro: return EncodeAvro(tx, w.schema_id, out);
  }
}

std::unique_ptr<Decoder> NewDecoder(const WireSpec& w) {
  switch (w.format) {
    case WireFormat::kJson: return NewJsonDecoder(w.record);
    case WireFormat::kBinary: return NewBinaryDecoder(w.record);
    case WireFormat::kAvro: return NewAvroDecoder(w.schema_id, AvroVersion::kV2, w.record);
  }
  return nullptr;
}

}  // namespace spate
