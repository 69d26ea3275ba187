#pragma once
// The values of the realistic profile (generator.h): merchant names, cities, currencies and
// payment methods. Word lists written here, as a workload's data; the engine depends on none
// of them.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace spate {

// Merchant n (1-based): three words of several scripts with spaces and punctuation
// ("Café Bakery Ltd."), distinct for every n (a round number is added past 40,000).
void AppendMerchantName(uint32_t index, std::string* out);
// Location n (1-based): a city's name ("São Paulo", "東京"), distinct for every n.
void AppendCityName(uint32_t index, std::string* out);
size_t CityCount();
// ISO 4217 codes of the profile, payment methods.
std::span<const std::string_view> RealisticCurrencies();
std::span<const std::string_view> RealisticPaymentMethods();

}  // namespace spate
