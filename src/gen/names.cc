#include "gen/names.h"

#include <iterator>

namespace spate {
namespace {

// Words of many scripts and spellings, so that keys exercise UTF-8, spaces and punctuation.
constexpr std::string_view kFirst[] = {
    "Café",    "Zoë's",      "Müller",    "Ōsaka",    "São",     "Björk",   "L'Étoile",
    "Crêpe",   "Ünal",       "Ñandú",     "Golden",   "Blue",    "Corner",  "Royal",
    "Little",  "Green",      "Northern",  "Old Town", "Sunrise", "Maple",   "Harbor",
    "Cedar",   "Silver",     "Lucky",     "Urban",    "Čapek",   "Łukasz",  "Ørsted",
    "Þór",     "Ἀθηνᾶ",      "Москва",    "東京",     "서울",    "القاهرة", "Smith & Jones",
    "O'Brien", "Saint-Éloi", "Doña Rosa", "Hôtel",    "Fjärd"};
constexpr std::string_view kSecond[] = {
    "Bakery",   "Books",       "Garage",     "Pharmacy",   "Market",   "Bistro",   "Electronics",
    "Florist",  "Tailors",     "Hardware",   "Coffee",     "Grocery",  "Pizzeria", "Travel",
    "Optics",   "Jewellers",   "Sports",     "Toys",       "Wines",    "Cinema",   "Salon",
    "Bicycles", "Records",     "Deli",       "Gallery",    "Bookshop", "Ramen",    "Kebab",
    "Apotheke", "Boulangerie", "Fromagerie", "Librería",   "Ресторан", "喫茶店",   "마트",
    "Cycles",   "Studio",      "Supplies",   "Outfitters", "Kitchen"};
constexpr std::string_view kThird[] = {"Ltd.",     "GmbH",       "& Sons",   "S.A.", "K.K.",
                                       "Co.",      "(Downtown)", "- Outlet", "Inc.", "S.r.l.",
                                       "B.V.",     "AB",         "Oy",       "A/S",  "Sp. z o.o.",
                                       "s.r.o.",   "Kft.",       "Pty Ltd",  "LLC",  "SARL",
                                       "& Co. KG", "#1",         "Express",  "Plus", "24/7"};

constexpr std::string_view kCities[] = {
    "São Paulo",    "Zürich",       "Kraków",        "Reykjavík",
    "Malmö",        "Québec",       "Düsseldorf",    "Ciudad de México",
    "İstanbul",     "Łódź",         "東京",          "Москва",
    "القاهرة",      "서울",         "New York",      "London",
    "Paris",        "Berlin",       "Madrid",        "Rome",
    "Amsterdam",    "Brussels",     "Vienna",        "Prague",
    "Budapest",     "Warsaw",       "Stockholm",     "Oslo",
    "Copenhagen",   "Helsinki",     "Dublin",        "Lisbon",
    "Athens",       "Bucharest",    "Sofia",         "Belgrade",
    "Zagreb",       "Ljubljana",    "Bratislava",    "Tallinn",
    "Riga",         "Vilnius",      "Kyiv",          "Tbilisi",
    "Yerevan",      "Baku",         "Tel Aviv",      "Dubai",
    "Abu Dhabi",    "Doha",         "Manama",        "Kuwait City",
    "Muscat",       "Riyadh",       "Amman",         "Beirut",
    "Tunis",        "Casablanca",   "Lagos",         "Nairobi",
    "Johannesburg", "Cape Town",    "Cairo",         "Addis Ababa",
    "Accra",        "Mumbai",       "Delhi",         "Bengaluru",
    "Chennai",      "Kolkata",      "Karachi",       "Dhaka",
    "Colombo",      "Kathmandu",    "Bangkok",       "Hà Nội",
    "Hồ Chí Minh",  "Kuala Lumpur", "Singapore",     "Jakarta",
    "Manila",       "Hong Kong",    "Taipei",        "Shanghai",
    "Beijing",      "Shenzhen",     "大阪",          "Sapporo",
    "Busan",        "Sydney",       "Melbourne",     "Auckland",
    "Wellington",   "Toronto",      "Montréal",      "Vancouver",
    "Chicago",      "Los Angeles",  "San Francisco", "Seattle",
    "Boston",       "Miami",        "Bogotá",        "Lima",
    "Santiago",     "Buenos Aires", "Montevideo",    "Asunción",
    "La Paz",       "Quito",        "Caracas",       "Panamá",
    "San José",     "Guatemala",    "Reims",         "Nîmes",
    "Besançon",     "Genève",       "Köln",          "Nürnberg",
    "Göteborg",     "Tromsø",       "Århus",         "Jyväskylä",
    "Cluj-Napoca",  "Plovdiv"};

// 32 currencies: no decimals (JPY, KRW, CLP, ISK), three (BHD, KWD, JOD, OMR, TND), two.
constexpr std::string_view kCurrencies[] = {"USD", "EUR", "GBP", "JPY", "CNY", "INR", "BRL", "CAD",
                                            "AUD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF",
                                            "MXN", "ZAR", "KRW", "SGD", "HKD", "NZD", "TRY", "ILS",
                                            "AED", "BHD", "KWD", "JOD", "OMR", "TND", "CLP", "ISK"};

constexpr std::string_view kMethods[] = {
    "credit_card",       "debit_card", "paypal", "apple_pay",  "google_pay", "bank_transfer",
    "sepa_direct_debit", "klarna",     "alipay", "wechat_pay", "ideal",      "cash"};

}  // namespace

void AppendMerchantName(uint32_t index, std::string* out) {
  constexpr uint32_t a = std::size(kFirst), b = std::size(kSecond), c = std::size(kThird);
  // A bijection of index onto (first, second, third, round): consecutive indices differ in
  // every word, and names repeat only with a different round number.
  const uint32_t i = index - 1;
  out->append(kFirst[i % a]);
  out->push_back(' ');
  out->append(kSecond[(i / a) % b]);
  out->push_back(' ');
  out->append(kThird[(i / (a * b)) % c]);
  if (const uint32_t round = i / (a * b * c); round > 0) {
    out->append(" No. ");
    out->append(std::to_string(round + 1));
  }
}

void AppendCityName(uint32_t index, std::string* out) {
  const uint32_t i = index - 1, n = static_cast<uint32_t>(std::size(kCities));
  out->append(kCities[i % n]);
  if (i >= n) {  // more locations than cities: "Zürich 2", ...
    out->push_back(' ');
    out->append(std::to_string(i / n + 1));
  }
}
size_t CityCount() { return std::size(kCities); }

std::span<const std::string_view> RealisticCurrencies() { return kCurrencies; }
std::span<const std::string_view> RealisticPaymentMethods() { return kMethods; }

}  // namespace spate
