#pragma once
// The JSON decoder's fast path (json_codec.cc): records in the canonical form that EncodeJson
// writes, read without simdjson. Internal to the JSON codec.

#include <cstdint>
#include <cstring>
#include <string_view>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/bytes.h"
#include "core/currency.h"
#include "core/money.h"
#include "core/transaction.h"

namespace spate::json_internal {

// Fast path for the canonical form EncodeJson writes (the reference's names in its order, no
// whitespace, no escapes, epoch milliseconds). It accepts a strict subset of what the general
// decoder accepts, with the same values; anything else returns false and goes to the general
// decoder, which classifies the error.
class Canonical {
 public:
  Canonical(std::string_view m, size_t max_id)
      : begin_(m.data()), p_(m.data()), end_(m.data() + m.size()), max_(max_id) {}

  bool Parse(Transaction* tx) {
    std::string_view amount;
    if (!Lit(R"({"transactionId":")") || !Str(&tx->transaction_id)) return false;
    if (!Lit(R"(,"userId":")") || !Str(&tx->user)) return false;
    if (!Lit(R"(,"amount":)") || !Number(&amount)) return false;
    if (!Lit(R"(,"transactionTime":)") || !Time(&tx->time_ms)) return false;
    if (!Lit(R"(,"merchantId":")") || !Str(&tx->merchant)) return false;
    if (!Lit(R"(,"transactionType":")") || !Str(&tx->type)) return false;
    if (!Lit(R"(,"location":")") || !Str(&tx->location)) return false;
    if (!Lit(R"(,"paymentMethod":")") || !Str(&tx->payment_method)) return false;
    if (!Lit(R"(,"isInternational":")")) return false;
    if (Lit(R"(True")")) {
      tx->international = true;
    } else if (Lit(R"(False")")) {
      tx->international = false;
    } else {
      return false;
    }
    if (!Lit(R"(,"currency":")")) return false;
    std::string_view code;
    if (!Str(&code) || !ParseCurrency(code, &tx->currency)) return false;
    if (!Lit("}")) return false;
    for (; p_ < end_; ++p_) {  // JSON whitespace only after the object
      if (*p_ != ' ' && *p_ != '\n' && *p_ != '\r' && *p_ != '\t') return false;
    }
    if (utf8_begin_ != nullptr && !IsValidUtf8(Utf8Span())) return false;
    return ParseAmount(amount, MinorDigits(tx->currency), &tx->amount) == AmountError::kNone &&
           tx->amount >= -kMaxAmount && tx->amount <= kMaxAmount;
  }

 private:
  // The next bytes are the literal's. Compared as 8- or 4-byte words (the last one overlapping),
  // whose literal side the compiler folds to constants: memcmp was a call per literal, about 10%
  // of decode + aggregate in perf.
  template <size_t N>
  __attribute__((always_inline)) bool Lit(const char (&lit)[N]) {
    constexpr size_t n = N - 1;
    if (static_cast<size_t>(end_ - p_) < n) return false;
    if constexpr (n >= 8) {
      uint64_t diff = 0;
      for (size_t i = 0; i + 8 <= n; i += 8) diff |= Load64(p_ + i) ^ Load64(lit + i);
      if constexpr (n % 8 != 0) diff |= Load64(p_ + n - 8) ^ Load64(lit + n - 8);
      if (diff != 0) return false;
    } else if constexpr (n >= 4) {
      if ((Load32(p_) ^ Load32(lit)) | (Load32(p_ + n - 4) ^ Load32(lit + n - 4))) return false;
    } else {
      for (size_t i = 0; i < n; ++i) {
        if (p_[i] != lit[i]) return false;
      }
    }
    p_ += n;
    return true;
  }
  // The bytes to check as UTF-8: every byte of 0x80 and above in a record of this form is in a
  // string, so any span of the record that holds the strings that have them checks the record
  // (the bytes around them are ASCII). simdjson checks 64 bytes at a time in place, but copies
  // a shorter tail to the stack and reads it back in 32-byte loads: a stalled store forwarding,
  // 40% of the call (perf annotate), which was 4% of decode + aggregate on the realistic
  // profile. So the span is widened to a multiple of 64 bytes where the record allows.
  std::string_view Utf8Span() const {
    const size_t n = (static_cast<size_t>(utf8_end_ - utf8_begin_) + 63) & ~size_t{63};
    const size_t all = static_cast<size_t>(end_ - begin_);
    if (all < n) return std::string_view(begin_, all);
    const char* from = utf8_begin_;
    if (static_cast<size_t>(end_ - from) < n) from = end_ - n;
    return std::string_view(from, n);
  }
  static bool IsDigit(char c) { return static_cast<unsigned>(c - '0') < 10; }
  // The rest of a string after its opening quote, up to and past its closing one: no escape, no
  // control character, 1 to max_ bytes. A string with a byte of 0x80 or above widens the span
  // that Parse checks as UTF-8 at the end.
  __attribute__((always_inline)) bool Str(std::string_view* out) {
    const char* q = p_;
    bool found = false;
#ifdef __SSE2__
    // Sixteen bytes at a time: one mask of the bytes that end the fast path ('"', '\\', or a
    // control character), whose lowest bit is the exact place. perf put the 8-byte SWAR scan,
    // with its byte loop after a flagged word, at a quarter of decode + aggregate.
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    const __m128i control = _mm_set1_epi8(0x1f);
    unsigned highs = 0;
    while (end_ - q >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
      const __m128i stop =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                       _mm_cmpeq_epi8(_mm_min_epu8(v, control), v));  // v <= 0x1f
      const unsigned stops = static_cast<unsigned>(_mm_movemask_epi8(stop));
      const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(v));
      if (stops != 0) {
        const int at = __builtin_ctz(stops);
        highs |= high & ((1u << at) - 1);
        q += at;
        found = true;
        break;
      }
      highs |= high;
      q += 16;
    }
    unsigned char high = highs != 0 ? 0x80 : 0;
#else
    // Eight bytes at a time while none of them is '"', '\\' or a control character (the
    // classic SWAR tests: each flags a byte whose high bit the subtraction borrows into; a
    // flagged word, true or false positive, goes to the exact loop below).
    constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
    uint64_t highs = 0;
    while (end_ - q >= 8) {
      uint64_t w;
      std::memcpy(&w, q, 8);
      const uint64_t quote = w ^ (kOnes * '"'), slash = w ^ (kOnes * '\\');
      const uint64_t special =
          ((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash) | ((w - kOnes * 0x20) & ~w);
      if (special & kHighs) break;
      highs |= w;
      q += 8;
    }
    unsigned char high = (highs & kHighs) ? 0x80 : 0;
#endif
    if (!found) {
      while (q < end_) {
        const auto u = static_cast<unsigned char>(*q);
        if (u == '"') break;
        if (u == '\\' || u < 0x20) return false;
        high |= u;
        ++q;
      }
    }
    if (q == end_ || *q != '"') return false;  // an escape or a control character stopped it
    const size_t n = static_cast<size_t>(q - p_);
    if (n == 0 || n > max_) return false;
    if (high & 0x80) {
      if (utf8_begin_ == nullptr) utf8_begin_ = p_;
      utf8_end_ = q;
    }
    *out = std::string_view(p_, n);
    p_ = q + 1;
    return true;
  }
  // A number's text: what ParseAmount takes is checked there.
  bool Number(std::string_view* out) {
    const char* q = p_;
    while (q < end_ &&
           (IsDigit(*q) || *q == '-' || *q == '.' || *q == 'e' || *q == 'E' || *q == '+')) {
      ++q;
    }
    if (q == p_) return false;
    *out = std::string_view(p_, static_cast<size_t>(q - p_));
    p_ = q;
    return true;
  }
  bool Time(int64_t* out) {
    const char* q = p_;
    uint64_t ms = 0;
    // Eight digits at once (SWAR), then one at a time.
    while (end_ - q >= 8) {
      uint64_t w;
      std::memcpy(&w, q, 8);
      if ((w & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull ||
          ((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull) {
        break;
      }
      w = ((w & 0x0F0F0F0F0F0F0F0Full) * 2561) >> 8;
      w = ((w & 0x00FF00FF00FF00FFull) * 6553601) >> 16;
      w = ((w & 0x0000FFFF0000FFFFull) * 42949672960001ull) >> 32;
      ms = ms * 100'000'000 + w;
      q += 8;
      if (q - p_ > 13) return false;
    }
    while (q < end_ && IsDigit(*q)) ms = ms * 10 + static_cast<uint64_t>(*q++ - '0');
    const size_t len = static_cast<size_t>(q - p_);
    if (len == 0 || len > 13 || (len > 1 && *p_ == '0')) return false;
    if (static_cast<int64_t>(ms) < kMinTimeMs || static_cast<int64_t>(ms) > kMaxTimeMs)
      return false;
    p_ = q;
    *out = static_cast<int64_t>(ms);
    return true;
  }

  const char* const begin_;
  const char* p_;
  const char* end_;
  const size_t max_;
  const char* utf8_begin_ = nullptr;  // the strings with bytes of 0x80 and above span these
  const char* utf8_end_ = nullptr;
};

}  // namespace spate::json_internal
