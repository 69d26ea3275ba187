// Invalid payloads for dead-letter tests: each kind is a mistake seen in real producers,
// including the reference producer's own (misspelled field, time in seconds).

#include <string>

#include "gen/generator.h"

namespace spate {
namespace {

// Finds the raw value of "name": in a JSON text we wrote: [begin, end) of the value.
bool FindValue(const std::string& json, std::string_view name, size_t* begin, size_t* end) {
  std::string pattern = "\"" + std::string(name) + "\":";
  size_t k = json.find(pattern);
  if (k == std::string::npos) return false;
  *begin = k + pattern.size();
  size_t e = *begin;
  if (json[e] == '"') {
    e = json.find('"', e + 1) + 1;
  } else {
    while (e < json.size() && json[e] != ',' && json[e] != '}') ++e;
  }
  *end = e;
  return true;
}

void ReplaceValue(std::string* json, std::string_view name, std::string_view value) {
  size_t b, e;
  if (FindValue(*json, name, &b, &e)) json->replace(b, e - b, value);
}

void MalformJson(const Transaction& tx, int kind, std::string* out) {
  std::string j;
  EncodeJson(tx, &j);
  size_t b, e;
  switch (kind) {
    case 0: j = "this is not JSON: transaction " + UuidString(tx.transaction_id); break;
    case 1: j.resize(j.size() / 2); break;
    case 2:  // missing amount
      FindValue(j, field::kAmount, &b, &e);
      j.erase(b - std::string_view("\"amount\":").size(), e + 1 - (b - 9));
      break;
    case 3:  // the reference producer's misspelling
      j.replace(j.find("\"amount\""), 8, "\"amout\"");
      break;
    case 4:  // amount as a string
      FindValue(j, field::kAmount, &b, &e);
      j.insert(e, "\"");
      j.insert(b, "\"");
      break;
    case 5: ReplaceValue(&j, field::kCurrency, "\"XYZ\""); break;
    case 6:  // three decimals
      FindValue(j, field::kAmount, &b, &e);
      j.insert(e, "5");
      break;
    case 7:
      FindValue(j, field::kAmount, &b, &e);
      j.insert(b, "-");
      break;
    case 8:
      ReplaceValue(&j, field::kTransactionId, "\"not-a-uuid-" + std::to_string(tx.user) + "\"");
      break;
    case 9:  // the reference's unit bug: seconds instead of milliseconds
      ReplaceValue(&j, field::kTransactionTime, std::to_string(tx.time_ms / 1000));
      break;
    case 10: ReplaceValue(&j, field::kIsInternational, tx.international ? "true" : "false"); break;
    case 11: ReplaceValue(&j, field::kUserId, "\"user_x\""); break;
    case 12: j += " {}"; break;
    case 13:  // duplicate field
      j.insert(1, "\"amount\":1.00,");
      break;
    default:  // an array instead of an object
      j = "[\"transaction\",\"" + UuidString(tx.transaction_id) + "\"]";
      break;
  }
  out->append(j);
}

void MalformBinary(const Transaction& tx, int kind, std::string* out) {
  std::string b;
  Transaction t = tx;
  if (kind == 4) t.user = 0;
  EncodeBinary(t, &b);
  switch (kind) {
    case 0: b.resize(b.size() - 5); break;
    case 1: b[0] = 0x01; break;
    case 2: b.back() = static_cast<char>(0xFF); break;
    case 3: b.push_back('\0'); break;
    default: break;
  }
  out->append(b);
}

// Codes: 0, 1, 5 bad_avro; 2 unknown_schema; 3 trailing_content; 4 bad_value; 6 out_of_range.
void MalformAvro(const Transaction& tx, uint32_t schema_id, int kind, std::string* out) {
  std::string b;
  Transaction t = tx;
  if (kind == 4) t.user = 0;                        // "user_0"
  if (kind == 6) t.amount_cents = -t.amount_cents;  // a negative decimal
  EncodeAvro(t, kind == 2 ? schema_id + 1 : schema_id, &b);
  switch (kind) {
    case 0: b.resize(b.size() - 5); break;  // truncated
    case 1: b[0] = 0x01; break;             // not the Confluent magic byte
    case 3: b.push_back('\0'); break;
    case 5: b.back() = static_cast<char>(2 * kCurrencyCount); break;  // enum index 3 of 0..2
    default: break;
  }
  out->append(b);
}

}  // namespace

void Generator::AppendPayload(const GeneratedRecord& r, const WireSpec& w, std::string* out) const {
  if (r.malformed_kind < 0) return Encode(w, r.tx, out);
  switch (w.format) {
    case WireFormat::kJson: return MalformJson(r.tx, r.malformed_kind % kJsonMalformedKinds, out);
    case WireFormat::kBinary:
      return MalformBinary(r.tx, r.malformed_kind % kBinaryMalformedKinds, out);
    case WireFormat::kAvro:
      return MalformAvro(r.tx, w.schema_id, r.malformed_kind % kAvroMalformedKinds, out);
  }
}

}  // namespace spate
