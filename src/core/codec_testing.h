#pragma once
// Shared by the codec tests: a sample record, and an Avro binary writer of the primitives,
// independent of avro_codec.cc, so tests can build any datum (valid or not) field by field.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/transaction.h"

namespace spate::test {

// Every field away from its default: 123456.78 EU, a refund by bank transfer, international.
inline Transaction SampleTransaction() {
  Transaction t;
  t.transaction_id = *ParseUuid("1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b");
  t.user = 17;
  t.amount_cents = 12'345'678;
  t.time_ms = 1'767'225'600'123;
  t.merchant = 3;
  t.type = TxType::kRefund;
  t.location = 42;
  t.payment_method = PaymentMethod::kBankTransfer;
  t.international = true;
  t.currency = Currency::kEu;
  return t;
}

// long / int / enum index / union branch / block count: zigzag varint.
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
