#include "core/money.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "core/currency.h"
#include "core/transaction.h"

namespace spate {
namespace {

bool IsDigit(char c) { return static_cast<unsigned>(c - '0') < 10; }

}  // namespace

AmountError ParseAmount(std::string_view s, int digits, int64_t* minor) {
  // Fast path: a plain decimal ("-123.45") with at most `digits` decimals and at most 18
  // digits in all, in one pass. Anything else (exponents, zeros past the decimals, leading
  // zeros, errors) takes the general path below.
  {
    size_t i = s.size() > 0 && s[0] == '-' ? 1 : 0;
    const size_t int_start = i;
    uint64_t v = 0;
    while (i < s.size() && IsDigit(s[i])) v = v * 10 + static_cast<uint64_t>(s[i++] - '0');
    size_t nd = i - int_start, frac = 0;
    const bool lead_ok = nd == 1 || (nd > 1 && s[int_start] != '0');
    if (lead_ok && i < s.size() && s[i] == '.') {
      const size_t f0 = ++i;
      while (i < s.size() && IsDigit(s[i])) v = v * 10 + static_cast<uint64_t>(s[i++] - '0');
      frac = i - f0;
      nd += frac;
      if (frac == 0) i = 0;  // "1." is not a number: the general path says so
    }
    if (lead_ok && i == s.size() && frac <= static_cast<size_t>(digits) &&
        nd + (static_cast<size_t>(digits) - frac) <= 18) {
      v *= static_cast<uint64_t>(Pow10(digits - static_cast<int>(frac)));
      *minor = int_start ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
      return AmountError::kNone;
    }
  }
  size_t i = 0;
  const bool negative = i < s.size() && s[i] == '-';
  if (negative) ++i;
  // The significant digits of int and fraction, without leading zeros, and the power of ten
  // that scales them to minor units.
  char sig[40];
  size_t n = 0;
  int64_t scale = digits;
  size_t int_start = i;
  while (i < s.size() && IsDigit(s[i])) {
    if (n > 0 || s[i] != '0') {
      if (n == sizeof(sig)) return AmountError::kOutOfRange;
      sig[n++] = s[i];
    }
    ++i;
  }
  const size_t int_len = i - int_start;
  if (int_len == 0 || (int_len > 1 && s[int_start] == '0')) return AmountError::kSyntax;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t frac_start = i;
    while (i < s.size() && IsDigit(s[i])) {
      if (n > 0 || s[i] != '0') {
        if (n == sizeof(sig)) return AmountError::kTooManyDecimals;
        sig[n++] = s[i];
      }
      --scale;
      ++i;
    }
    if (i == frac_start) return AmountError::kSyntax;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool neg_exp = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg_exp = s[i++] == '-';
    const size_t exp_start = i;
    int64_t e = 0;
    while (i < s.size() && IsDigit(s[i])) {
      if (e < 100'000) e = e * 10 + (s[i] - '0');
      ++i;
    }
    if (i == exp_start) return AmountError::kSyntax;
    scale += neg_exp ? -e : e;
  }
  if (i != s.size()) return AmountError::kSyntax;
  // Zeros at the end of the significant digits only scale them.
  while (n > 0 && sig[n - 1] == '0') {
    --n;
    ++scale;
  }
  if (n == 0) {
    *minor = 0;
    return AmountError::kNone;
  }
  if (scale < 0) return AmountError::kTooManyDecimals;
  if (static_cast<int64_t>(n) + scale > 18) return AmountError::kOutOfRange;
  int64_t v = 0;
  for (size_t k = 0; k < n; ++k) v = v * 10 + (sig[k] - '0');
  v *= Pow10(static_cast<int>(scale));
  *minor = negative ? -v : v;
  return AmountError::kNone;
}

size_t FormatAmount(char* out, Sum minor, int digits) {
  // The digits of |minor|, least significant first.
  USum v = minor < 0 ? static_cast<USum>(-(minor + 1)) + 1 : static_cast<USum>(minor);
  char rev[44];
  size_t n = 0;
  // 128-bit division is a library call per digit; past the digits that need it, the rest (all
  // of them for any amount below 1.8 x 10^19) take 64-bit arithmetic, a multiply per digit.
  while (v > UINT64_MAX) {
    rev[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  }
  uint64_t w = static_cast<uint64_t>(v);
  do {
    rev[n++] = static_cast<char>('0' + static_cast<int>(w % 10));
    w /= 10;
  } while (w != 0);
  while (n <= static_cast<size_t>(digits)) rev[n++] = '0';  // at least one digit before the point
  char* p = out;
  if (minor < 0) *p++ = '-';
  for (size_t k = n; k-- > 0;) {
    *p++ = rev[k];
    if (k == static_cast<size_t>(digits) && digits > 0) *p++ = '.';
  }
  return static_cast<size_t>(p - out);
}

std::string AmountString(Sum minor, int digits) {
  char buf[kMaxAmountText];
  return std::string(buf, FormatAmount(buf, minor, digits));
}

}  // namespace spate
