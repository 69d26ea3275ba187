#pragma once
// Word-sized loads at any alignment (memcpy, which the compiler makes one instruction), for
// the hand-written comparisons of the hot paths; and little-endian fixed-width integers and
// LEB128 varints, for spate's own internal formats (repartition frames, changelog values).

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/money.h"

namespace spate {

inline uint64_t Load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
inline uint32_t Load32(const char* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// a == b without a call to memcmp for up to 16 bytes: two overlapping loads a side.
inline bool EqualBytes(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char *x = a.data(), *y = b.data();
  if (n > 16) return std::memcmp(x, y, n) == 0;
  if (n >= 8) return ((Load64(x) ^ Load64(y)) | (Load64(x + n - 8) ^ Load64(y + n - 8))) == 0;
  if (n >= 4) return ((Load32(x) ^ Load32(y)) | (Load32(x + n - 4) ^ Load32(y + n - 4))) == 0;
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

// Appends the low `bytes` bytes (1 to 8) of v, least significant first.
inline void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
// Reads what PutLe wrote at byte `at`; the caller has checked that s holds it.
inline uint64_t GetLe(std::string_view s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(s[at + static_cast<size_t>(i)])) << (8 * i);
  }
  return v;
}
// A Sum in 16 bytes: its low 64 bits, then its high 64 bits, each as PutLe.
inline void PutSumLe(std::string* out, Sum v) {
  PutLe(out, static_cast<uint64_t>(static_cast<USum>(v)), 8);
  PutLe(out, static_cast<uint64_t>(static_cast<USum>(v) >> 64), 8);
}
inline Sum GetSumLe(std::string_view s, size_t at) {
  return static_cast<Sum>(static_cast<USum>(GetLe(s, at, 8)) |
                          static_cast<USum>(GetLe(s, at + 8, 8)) << 64);
}

// Appends n as a LEB128 varint.
inline void PutVarint(std::string* out, uint64_t n) {
  for (; n >= 0x80; n >>= 7) out->push_back(static_cast<char>(n | 0x80));
  out->push_back(static_cast<char>(n));
}
// Reads a varint at *at into *n and moves *at past it; false if it is cut or longer than 10
// bytes.
inline bool GetVarint(std::string_view s, size_t* at, uint64_t* n) {
  *n = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (*at >= s.size()) return false;
    const auto b = static_cast<uint8_t>(s[(*at)++]);
    *n |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}
// Signed integers as varints: small either side of 0 stays short.
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t u) {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

}  // namespace spate
