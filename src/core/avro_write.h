#pragma once
// Writers of Avro's binary encoding (the spec's "Binary Encoding") and of the Confluent frame,
// shared by the hand-written encoders of our schemas. The Put* functions write at p and return
// the end; the caller provides the room (a long takes at most kMaxAvroLongSize bytes, a
// decimal of up to 64 bits at most 9, the frame kConfluentHeaderSize).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/money.h"

namespace spate::avro {

inline constexpr size_t kMaxAvroLongSize = 10;

// 10^d for d in 0..4.
constexpr int64_t Pow10Small(int d) { return d <= 0 ? 1 : 10 * Pow10Small(d - 1); }

// long, int, enum index, union branch, lengths: zigzag, then a little-endian base-128 varint.
inline char* PutLong(char* p, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    *p++ = static_cast<char>(z | 0x80);
    z >>= 7;
  }
  *p++ = static_cast<char>(z);
  return p;
}

// A decimal as bytes: the unscaled value in big-endian two's complement, in the fewest bytes
// (as Java's BigInteger.toByteArray and fastavro write it), after its length.
inline char* PutDecimal(char* p, int64_t unscaled) {
  int n = 1;
  while (n < 8 &&
         (unscaled < -(int64_t{1} << (8 * n - 1)) || unscaled >= (int64_t{1} << (8 * n - 1)))) {
    ++n;
  }
  *p++ = static_cast<char>(n << 1);
  for (int i = n - 1; i >= 0; --i)
    *p++ = static_cast<char>(static_cast<uint64_t>(unscaled) >> (8 * i));
  return p;
}

// Magic byte 0, then the schema id as 4 bytes big-endian.
inline char* PutConfluentHeader(char* p, uint32_t schema_id) {
  *p++ = 0;
  for (int shift = 24; shift >= 0; shift -= 8) *p++ = static_cast<char>(schema_id >> shift);
  return p;
}

inline void AppendLong(int64_t v, std::string* out) {
  char b[kMaxAvroLongSize];
  out->append(b, static_cast<size_t>(PutLong(b, v) - b));
}

inline void AppendString(std::string_view s, std::string* out) {
  AppendLong(static_cast<int64_t>(s.size()), out);
  out->append(s);
}

inline void AppendDecimal(int64_t unscaled, std::string* out) {
  char b[9];
  out->append(b, static_cast<size_t>(PutDecimal(b, unscaled) - b));
}

// A decimal of up to 128 bits as bytes (the fewest, as PutDecimal).
inline void AppendDecimal128(Sum unscaled, std::string* out) {
  int n = 1;
  while (n < 16 && (unscaled < -(Sum{1} << (8 * n - 1)) || unscaled >= (Sum{1} << (8 * n - 1)))) {
    ++n;
  }
  AppendLong(n, out);
  for (int i = n - 1; i >= 0; --i) {
    out->push_back(static_cast<char>(static_cast<USum>(unscaled) >> (8 * i)));
  }
}

// An amount of `digits` decimals as spate's money union, [bytes decimal(18, 2), fixed[16]
// decimal(38, 4)] (schemas/transaction.avsc): branch 0 when the currency has at most two
// decimals and the value at scale 2 has at most 18 digits (the first branch's precision),
// branch 1 (the unscaled value at scale 4, 16 bytes) otherwise.
inline void AppendMoney(Sum minor, int digits, std::string* out) {
  constexpr Sum kLimit = Sum{1'000'000'000'000'000'000};  // 10^18
  Sum at2;
  if (digits <= 2 &&
      !__builtin_mul_overflow(minor, static_cast<Sum>(Pow10Small(2 - digits)), &at2) &&
      at2 > -kLimit && at2 < kLimit) {
    AppendLong(0, out);
    AppendDecimal128(at2, out);
    return;
  }
  Sum at4 = 0;
  (void)__builtin_mul_overflow(minor, static_cast<Sum>(Pow10Small(4 - digits)), &at4);
  AppendLong(1, out);
  for (int i = 15; i >= 0; --i)
    out->push_back(static_cast<char>(static_cast<USum>(at4) >> (8 * i)));
}

inline void AppendConfluentHeader(uint32_t schema_id, std::string* out) {
  char b[5];
  out->append(b, static_cast<size_t>(PutConfluentHeader(b, schema_id) - b));
}

}  // namespace spate::avro
