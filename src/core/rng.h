#pragma once
// Counter-based randomness for the generator: record i's values are a pure function of
// (seed, i), so any thread can generate any record and the output is the same whatever the
// thread count. SplitMix64 (Steele, Lea, Flood 2014) is written here because std:: and absl
// distributions are not specified to be identical across library versions.

#include <cstdint>

namespace spate {

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
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return p > 0 && Unit() < p; }

 private:
  uint64_t state_;
};

}  // namespace spate
