#include "core/currency.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include <unicode/ucurr.h>
#include <unicode/uenum.h>

namespace spate {
namespace {

struct Entry {
  char code[3];
  uint8_t digits;
};

// Three uppercase ASCII letters as a number below 26^3; -1 for anything else.
int Slot(std::string_view code) {
  if (code.size() != 3) return -1;
  int n = 0;
  for (char c : code) {
    if (c < 'A' || c > 'Z') return -1;
    n = n * 26 + (c - 'A');
  }
  return n;
}

class Table {
 public:
  Table() {
    slot_.fill(kNone);
    // Circulating currencies, then the uncommon current ones (funds, metals, testing codes):
    // two enumerations, since ICU's flags select the intersection, not the union.
    for (int selection :
         {UCURR_COMMON | UCURR_NON_DEPRECATED, UCURR_UNCOMMON | UCURR_NON_DEPRECATED}) {
      UErrorCode status = U_ZERO_ERROR;
      UEnumeration* e = ucurr_openISOCurrencies(static_cast<uint32_t>(selection), &status);
      if (U_FAILURE(status)) continue;
      int32_t len = 0;
      for (const char* c; (c = uenum_next(e, &len, &status)) != nullptr && U_SUCCESS(status);) {
        Add(std::string_view(c, static_cast<size_t>(len)));
      }
      uenum_close(e);
    }
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return std::string_view(a.code, 3) < std::string_view(b.code, 3);
    });
    for (size_t i = 0; i < entries_.size(); ++i) {
      slot_[static_cast<size_t>(Slot(std::string_view(entries_[i].code, 3)))] =
          static_cast<uint16_t>(i);
    }
  }

  std::optional<Currency> Find(std::string_view code) const {
    Currency c;
    if (!Find(code, &c)) return std::nullopt;
    return c;
  }
  bool Find(std::string_view code, Currency* out) const {
    const bool alias = code.size() == 2 && code[0] == 'E' && code[1] == 'U';  // EUR's alias
    const int s = Slot(alias ? std::string_view("EUR") : code);
    if (s < 0 || slot_[static_cast<size_t>(s)] == kNone) return false;
    const uint16_t i = slot_[static_cast<size_t>(s)];
    *out = Currency{i, entries_[i].digits, alias};
    return true;
  }
  const Entry& Get(Currency c) const { return entries_[c.index]; }
  Currency At(size_t i) const {
    return Currency{static_cast<uint16_t>(i), entries_[i].digits, false};
  }
  size_t size() const { return entries_.size(); }

 private:
  static constexpr uint16_t kNone = 0xffff;

  void Add(std::string_view code) {
    if (Slot(code) < 0) return;
    for (const Entry& e : entries_) {
      if (std::string_view(e.code, 3) == code) return;
    }
    UChar u[4] = {static_cast<UChar>(code[0]), static_cast<UChar>(code[1]),
                  static_cast<UChar>(code[2]), 0};
    UErrorCode status = U_ZERO_ERROR;
    const int32_t digits = ucurr_getDefaultFractionDigits(u, &status);
    if (U_FAILURE(status) || digits < 0 || digits > kMaxMinorDigits) return;
    entries_.push_back({{code[0], code[1], code[2]}, static_cast<uint8_t>(digits)});
  }

  std::vector<Entry> entries_;
  std::array<uint16_t, 26 * 26 * 26> slot_;
};

const Table& Currencies() {
  static const Table table;
  return table;
}

}  // namespace

std::optional<Currency> ParseCurrency(std::string_view code) { return Currencies().Find(code); }

bool ParseCurrency(std::string_view code, Currency* out) {
  static const Table& table = Currencies();
  return table.Find(code, out);
}

std::string_view CurrencyCode(Currency c) { return std::string_view(Currencies().Get(c).code, 3); }

size_t CurrencyCount() { return Currencies().size(); }

Currency CurrencyAt(size_t i) { return Currencies().At(i); }

int64_t Pow10(int digits) {
  static constexpr std::array<int64_t, 19> kPow = [] {
    std::array<int64_t, 19> p{};
    p[0] = 1;
    for (size_t i = 1; i < p.size(); ++i) p[i] = p[i - 1] * 10;
    return p;
  }();
  return kPow[static_cast<size_t>(digits)];
}

}  // namespace spate
