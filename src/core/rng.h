#pragma once
// Counter-based randomness for the generator: record i's values are a pure function of
// (seed, i), so any thread can generate any record and the output is the same whatever the
// thread count. SplitMix64 (Steele, Lea, Flood 2014) is written here because std:: and absl
// distributions are not specified to be identical across library versions.

#include <cstdint>

namespace spate {

// The high 64 bits of a * b: a uniform draw scaled to [0, b) without division (Lemire).
__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang extension, fine under -pedantic
inline uint64_t MulHi64(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<Uint128>(a) * b) >> 64);
}

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t stream, uint64_t index)
      : state_(SplitMix64(seed ^ SplitMix64(stream * 0x632be59bd9b4e019ull + index))) {}

  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the tiny bias is irrelevant here and the result
  // is deterministic).
  uint64_t Below(uint64_t n) { return MulHi64(Next(), n); }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return p > 0 && Unit() < p; }

 private:
  uint64_t state_;
};

}  // namespace spate
