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

void MalformJson(const Transaction& tx, const RecordFormat& f, int kind, std::string* out) {
  std::string j;
  EncodeJson(tx, &j, f);
  const std::string& amount = f.name(Role::kAmount);
  size_t b, e;
  switch (kind) {
    case 0: j = "this is not JSON: transaction " + std::string(tx.transaction_id); break;
    case 1: j.resize(j.size() / 2); break;
    case 2:  // missing amount
      FindValue(j, amount, &b, &e);
      j.erase(b - amount.size() - 3, e + 1 - (b - amount.size() - 3));  // '"name":' and ','
      break;
    case 3: {  // the reference producer's misspelling: "amout" for "amount"
      const std::string quoted = "\"" + amount + "\"";
      std::string wrong = amount;
      wrong.erase(wrong.size() >= 2 ? wrong.size() - 2 : 0, 1);
      j.replace(j.find(quoted), quoted.size(), "\"" + wrong + "\"");
      break;
    }
    case 4:  // amount as a string
      FindValue(j, amount, &b, &e);
      j.insert(e, "\"");
      j.insert(b, "\"");
      break;
    case 5: ReplaceValue(&j, f.name(Role::kCurrency), "\"XYZ\""); break;
    case 6:  // one decimal more than the currency has
      FindValue(j, amount, &b, &e);
      j.insert(e, j.substr(b, e - b).find('.') == std::string::npos ? ".5" : "5");
      break;
    case 7: ReplaceValue(&j, amount, "1e19"); break;  // 19 digits and more
    case 8: ReplaceValue(&j, f.name(Role::kTransactionId), "\"\""); break;
    case 9:  // the reference's unit bug: seconds where milliseconds are expected (and
             // milliseconds where seconds or microseconds are)
      ReplaceValue(&j, f.name(Role::kTransactionTime),
                   std::to_string(f.time == TimeFormat::kEpochS || f.time == TimeFormat::kEpochUs
                                      ? tx.time_ms
                                      : tx.time_ms / 1000));
      break;
    case 10: ReplaceValue(&j, f.name(Role::kIsInternational), "\"yes\""); break;
    case 11: ReplaceValue(&j, f.name(Role::kUserId), "12345"); break;  // a number, not a string
    case 12: j += " {}"; break;
    case 13:  // duplicate field
      j.insert(1, "\"" + amount + "\":1.00,");
      break;
    default:  // an array instead of an object
      j = "[\"transaction\",\"" + std::string(tx.transaction_id) + "\"]";
      break;
  }
  out->append(j);
}

void MalformBinary(const Transaction& tx, int kind, std::string* out) {
  std::string b;
  Transaction t = tx;
  if (kind == 4) t.user = "";
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
  if (kind == 4) t.user = "";           // empty
  if (kind == 6) t.amount = INT64_MAX;  // more than 18 digits
  EncodeAvro(t, kind == 2 ? schema_id + 1 : schema_id, &b);
  switch (kind) {
    case 0: b.resize(b.size() - 5); break;  // truncated
    case 1: b[0] = 0x01; break;             // not the Confluent magic byte
    case 3: b.push_back('\0'); break;
    case 5: {  // the currency's union branch 2 of 0..1: it is the record's last union, written
               // as the enum's branch (2 bytes) for its symbols USD, EU, GBP, else as a string
      const std::string_view code = CurrencySpelling(t.currency);
      const bool symbol = code == "USD" || code == "EU" || code == "GBP";
      b[b.size() - (symbol ? 2 : code.size() + 2)] = 4;  // zigzag 2
      break;
    }
    default: break;
  }
  out->append(b);
}

}  // namespace

void Generator::AppendPayload(const GeneratedRecord& r, const WireSpec& w, std::string* out) const {
  if (r.malformed_kind < 0) return Encode(w, r.tx, out);
  switch (w.format) {
    case WireFormat::kJson:
      return MalformJson(r.tx, w.record, r.malformed_kind % kJsonMalformedKinds, out);
    case WireFormat::kBinary:
      return MalformBinary(r.tx, r.malformed_kind % kBinaryMalformedKinds, out);
    case WireFormat::kAvro:
      return MalformAvro(r.tx, w.schema_id, r.malformed_kind % kAvroMalformedKinds, out);
  }
}

}  // namespace spate
