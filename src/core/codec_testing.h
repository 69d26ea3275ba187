#pragma once
// Shared by the codec tests: a sample record, and an Avro binary writer of the primitives,
// independent of avro_codec.cc, so tests can build any datum (valid or not) field by field.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/transaction.h"

namespace spate::test {

// Every field away from its default: 123456.78 EU, a refund by bank transfer, international.
inline TransactionData SampleTransaction() {
  TransactionData t;
  t.transaction_id = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b";
  t.user = "user_17";
  t.amount = 12'345'678;
  t.time_ms = 1'767'225'600'123;
  t.merchant = "merchant3";
  t.type = "refund";
  t.location = "location 42";
  t.payment_method = "bank_transfer";
  t.international = true;
  t.currency = *ParseCurrency("EU");
  return t;
}

// long / int / enum index / union branch / block count: zigzag varint.
inline void AvroLong(int64_t v, std::string* out);
inline void AvroString(std::string_view s, std::string* out);

// A record of the first version of schemas/transaction.avsc (transaction-v1.avsc) in a
// Confluent frame: the amount as decimal(18, 2) bytes, the type, method and currency as enums
// (of the reference's values only).
inline std::string AvroV1Frame(uint32_t schema_id, const TransactionData& t) {
  std::string o(1, '\0');
  for (int shift = 24; shift >= 0; shift -= 8) o.push_back(static_cast<char>(schema_id >> shift));
  AvroString(t.transaction_id, &o);
  AvroString(t.user, &o);
  std::string amount;
  for (int i = 7; i >= 0; --i)
    amount.push_back(static_cast<char>(static_cast<uint64_t>(t.amount) >> (8 * i)));
  while (amount.size() > 1 &&
         ((amount[0] == 0 && !(amount[1] & 0x80)) || (amount[0] == '\xff' && (amount[1] & 0x80)))) {
    amount.erase(0, 1);
  }
  AvroString(amount, &o);
  AvroLong(t.time_ms, &o);
  AvroString(t.merchant, &o);
  AvroLong(t.type == "refund" ? 1 : 0, &o);
  AvroString(t.location, &o);
  AvroLong(t.payment_method == "paypal" ? 1 : t.payment_method == "bank_transfer" ? 2 : 0, &o);
  o.push_back(t.international ? 1 : 0);
  const std::string_view c = CurrencySpelling(t.currency);
  AvroLong(c == "EU" ? 1 : c == "GBP" ? 2 : 0, &o);
  return o;
}
inline void AvroLong(int64_t v, std::string* out) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out->push_back(static_cast<char>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  out->push_back(static_cast<char>(z));
}

// string / bytes: the length as a long, then the bytes.
inline void AvroString(std::string_view s, std::string* out) {
  AvroLong(static_cast<int64_t>(s.size()), out);
  out->append(s);
}

}  // namespace spate::test
