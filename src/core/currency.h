#pragma once
// ISO 4217 currencies and their minor units, from ICU's currency data (Debian's libicu): every
// code ICU lists as current, common or not (the 157 circulating currencies, funds and metals;
// withdrawn codes are unknown), each with ICU's default fraction digits: JPY 0, USD 2, BHD 3,
// CLF 4. Not a hand-written table: ICU maintains it.
//
// The reference design's "EU" is accepted as an alias of EUR: both are the same Currency, and
// outputs write "EUR".

#include <cstdint>
#include <optional>
#include <string_view>

namespace spate {

// An index into ICU's table (in code order), with the currency's minor digits beside it so
// that the per-record path needs no lookup, and whether the record spelt it "EU". Compares as
// its index: EU and EUR are the same currency.
struct Currency {
  uint16_t index = 0;
  uint8_t digits = 2;
  bool eu_alias = false;
  bool operator==(const Currency& o) const { return index == o.index; }
  bool operator<(const Currency& o) const { return index < o.index; }
};

// The largest number of minor digits any currency has.
inline constexpr int kMaxMinorDigits = 4;

// The currency with this code ("USD", "usd" is not one; "EU" is EUR), if ICU knows it.
std::optional<Currency> ParseCurrency(std::string_view code);
// The same into *out (false if unknown), for the per-record path.
bool ParseCurrency(std::string_view code, Currency* out);
// The ISO code: "USD", "EUR" (for EU too). What the outputs write.
std::string_view CurrencyCode(Currency c);
// As the record spelt it: "EU" for the alias, else the ISO code. What a record's re-encoding
// writes, so that it reads as it came.
inline std::string_view CurrencySpelling(Currency c) {
  return c.eu_alias ? std::string_view("EU") : CurrencyCode(c);
}
// Its minor units: 0 (JPY), 2 (USD), 3 (BHD), 4 (CLF).
inline int MinorDigits(Currency c) { return c.digits; }
// How many currencies there are, and the i-th in code order.
size_t CurrencyCount();
Currency CurrencyAt(size_t i);

// 10^digits, for digits in 0..18.
int64_t Pow10(int digits);

}  // namespace spate
