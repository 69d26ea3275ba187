#pragma once
// Exact money: an amount is an integer in its currency's minor units, read from the text of a
// JSON number and written with the currency's decimals (JPY "1200", USD "12.00", BHD "1.200").
// Never through a double. Sums are 128-bit: with amounts of at most 18 digits they cannot
// overflow before 1.7 x 10^20 records, and the adders check anyway (AddChecked).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spate {

// __extension__: 128-bit integers are a GCC and Clang extension (-Wpedantic otherwise).
__extension__ typedef __int128 Sum;
__extension__ typedef unsigned __int128 USum;
// A Sum kept in state at 8-byte alignment, so that a window's or a total's aggregate packs
// into fewer cache lines (WindowAgg: 64 bytes rather than 80, plus 16 of padding in a map).
// Read it as a Sum; add to it with AddTo, never through a Sum*: that may assume 16 bytes.
__extension__ typedef __int128 PackedSum __attribute__((aligned(8)));

enum class AmountError : uint8_t { kNone, kSyntax, kTooManyDecimals, kOutOfRange };

// A JSON number's text (optional '-', digits without leading zeros, optional fraction,
// optional exponent) as an amount with `digits` decimals. Zeros past the currency's decimals
// are accepted ("12.50" for 12.5 USD, "1200.0" for JPY), other digits are not
// (kTooManyDecimals); more than 18 digits in minor units is kOutOfRange.
AmountError ParseAmount(std::string_view text, int digits, int64_t* minor);

// Writes the amount with exactly `digits` decimals ("-12.05"; no point when digits is 0);
// returns the bytes written. out must have kMaxAmountText bytes.
inline constexpr size_t kMaxAmountText = 48;
size_t FormatAmount(char* out, Sum minor, int digits);
std::string AmountString(Sum minor, int digits);

// a + b into *sum; false (and *sum unchanged) on overflow.
inline bool AddChecked(Sum a, Sum b, Sum* sum) {
  Sum r;
  if (__builtin_add_overflow(a, b, &r)) return false;
  *sum = r;
  return true;
}
// *sum += b; false (and *sum unchanged) on overflow.
inline bool AddTo(PackedSum* sum, Sum b) {
  Sum r = *sum;  // through an aligned Sum: AddChecked may store 16-byte aligned
  if (!AddChecked(r, b, &r)) return false;
  *sum = r;
  return true;
}

}  // namespace spate
