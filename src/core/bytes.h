#pragma once
// Word-sized loads at any alignment (memcpy, which the compiler makes one instruction), for
// the hand-written comparisons of the hot paths.

#include <cstdint>
#include <cstring>
#include <string_view>

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

}  // namespace spate
