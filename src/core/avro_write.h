#pragma once
// Writers of Avro's binary encoding (the spec's "Binary Encoding") and of the Confluent frame,
// shared by the hand-written encoders of our schemas. The Put* functions write at p and return
// the end; the caller provides the room (a long takes at most kMaxAvroLongSize bytes, a
// decimal of up to 64 bits at most 9, the frame kConfluentHeaderSize).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spate::avro {

inline constexpr size_t kMaxAvroLongSize = 10;

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

inline void AppendConfluentHeader(uint32_t schema_id, std::string* out) {
  char b[5];
  out->append(b, static_cast<size_t>(PutConfluentHeader(b, schema_id) - b));
}

}  // namespace spate::avro
