#include "core/transaction.h"

#include <array>
#include <charconv>
#include <cstring>

namespace spate {

std::string_view TxTypeName(TxType t) {
  switch (t) {
    case TxType::kPurchase: return "purchase";
    case TxType::kRefund: return "refund";
  }
  return "?";
}

std::string_view PaymentMethodName(PaymentMethod p) {
  switch (p) {
    case PaymentMethod::kCreditCard: return "credit_card";
    case PaymentMethod::kPaypal: return "paypal";
    case PaymentMethod::kBankTransfer: return "bank_transfer";
  }
  return "?";
}

std::string_view CurrencyName(Currency c) {
  switch (c) {
    case Currency::kUsd: return "USD";
    case Currency::kEu: return "EU";
    case Currency::kGbp: return "GBP";
  }
  return "?";
}

std::optional<TxType> ParseTxType(std::string_view s) {
  if (s == "purchase") return TxType::kPurchase;
  if (s == "refund") return TxType::kRefund;
  return std::nullopt;
}

std::optional<PaymentMethod> ParsePaymentMethod(std::string_view s) {
  if (s == "credit_card") return PaymentMethod::kCreditCard;
  if (s == "paypal") return PaymentMethod::kPaypal;
  if (s == "bank_transfer") return PaymentMethod::kBankTransfer;
  return std::nullopt;
}

std::optional<Currency> ParseCurrency(std::string_view s) {
  if (s == "USD") return Currency::kUsd;
  if (s == "EU") return Currency::kEu;
  if (s == "GBP") return Currency::kGbp;
  return std::nullopt;
}

std::optional<uint32_t> ParseId(std::string_view s, std::string_view prefix) {
  if (s.size() <= prefix.size() || s.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = s.substr(prefix.size());
  if (digits.size() > 10 || digits[0] == '0') return std::nullopt;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0 || n > kMaxId) return std::nullopt;
  return static_cast<uint32_t>(n);
}

size_t FormatId(char* out, std::string_view prefix, uint32_t n) {
  std::memcpy(out, prefix.data(), prefix.size());
  auto r = std::to_chars(out + prefix.size(), out + prefix.size() + 10, n);
  return static_cast<size_t>(r.ptr - out);
}

std::string IdString(std::string_view prefix, uint32_t n) {
  char buf[32];
  return std::string(buf, FormatId(buf, prefix, n));
}

namespace {
constexpr char kHex[] = "0123456789abcdef";
// Hex digit value, or 0xff for any other byte: a table lookup instead of compare chains, whose
// branches mispredict on random hex.
constexpr std::array<uint8_t, 256> kHexValue = [] {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<uint8_t>(c);
  for (int c = 0; c < 6; ++c) {
    t['a' + c] = static_cast<uint8_t>(10 + c);
    t['A' + c] = static_cast<uint8_t>(10 + c);
  }
  return t;
}();
// Offsets of the 16 byte pairs in the 8-4-4-4-12 text form.
constexpr uint8_t kUuidPairAt[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
}  // namespace

std::optional<Uuid> ParseUuid(std::string_view s) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') {
    return std::nullopt;
  }
  Uuid u;
  uint8_t bad = 0;
  for (size_t b = 0; b < 16; ++b) {
    const uint8_t hi = kHexValue[static_cast<uint8_t>(s[kUuidPairAt[b]])];
    const uint8_t lo = kHexValue[static_cast<uint8_t>(s[kUuidPairAt[b] + 1])];
    bad |= static_cast<uint8_t>(hi | lo);
    u.bytes[b] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (bad & 0xf0) return std::nullopt;
  return u;
}

void FormatUuid(const Uuid& u, char out[36]) {
  size_t o = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[u.bytes[i] >> 4];
    out[o++] = kHex[u.bytes[i] & 0xf];
  }
}

std::string UuidString(const Uuid& u) {
  char buf[36];
  FormatUuid(u, buf);
  return std::string(buf, 36);
}

std::optional<int64_t> ParseAmount(std::string_view s) {
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 12) return std::nullopt;
  if (whole.size() > 1 && whole[0] == '0') return std::nullopt;  // JSON forbids leading zeros
  if (dot != std::string_view::npos && (frac.empty() || frac.size() > 2)) return std::nullopt;
  int64_t cents = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    cents = cents * 10 + (c - '0');
  }
  int64_t f = 0;
  for (size_t i = 0; i < 2; ++i) {
    char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return std::nullopt;
    f = f * 10 + (c - '0');
  }
  cents = cents * 100 + f;
  return negative ? -cents : cents;
}

size_t FormatAmount(char* out, int64_t cents) {
  char* p = out;
  uint64_t v;
  if (cents < 0) {
    *p++ = '-';
    v = static_cast<uint64_t>(-(cents + 1)) + 1;
  } else {
    v = static_cast<uint64_t>(cents);
  }
  auto r = std::to_chars(p, p + 21, v / 100);
  p = r.ptr;
  unsigned f = static_cast<unsigned>(v % 100);
  *p++ = '.';
  *p++ = static_cast<char>('0' + f / 10);
  *p++ = static_cast<char>('0' + f % 10);
  return static_cast<size_t>(p - out);
}

std::string AmountString(int64_t cents) {
  char buf[32];
  return std::string(buf, FormatAmount(buf, cents));
}

}  // namespace spate
