#include "core/codec.h"

#include <gtest/gtest.h>

#include "core/codec_testing.h"
#include "core/event_time.h"
#include "core/money.h"
#include "core/partitioner.h"
#include "core/transaction.h"

namespace spate {
namespace {

TransactionData Sample() { return test::SampleTransaction(); }

DecodeError DecodeJson(std::string_view s, TransactionData* tx = nullptr,
                       std::string* reason = nullptr, const RecordFormat& f = RecordFormat()) {
  WireSpec w(WireFormat::kJson);
  w.record = f;
  auto d = NewDecoder(w);
  Transaction t;
  std::string r;
  DecodeError e = d->Decode(s, s.size(), &t, reason ? reason : &r);
  if (tx && e == DecodeError::kNone) *tx = TransactionData::From(t);
  return e;
}

bool Same(const TransactionData& a, const TransactionData& b) { return a.View() == b.View(); }

Currency Cur(std::string_view code) { return *ParseCurrency(code); }

TEST(Currency, MinorUnitsComeFromIcu) {
  EXPECT_EQ(MinorDigits(Cur("JPY")), 0);
  EXPECT_EQ(MinorDigits(Cur("USD")), 2);
  EXPECT_EQ(MinorDigits(Cur("EUR")), 2);
  EXPECT_EQ(MinorDigits(Cur("BHD")), 3);
  EXPECT_EQ(MinorDigits(Cur("KWD")), 3);
  EXPECT_EQ(MinorDigits(Cur("CLF")), 4);
  EXPECT_GT(CurrencyCount(), 150u);
  EXPECT_FALSE(ParseCurrency("XYZ"));
  EXPECT_FALSE(ParseCurrency("usd"));
  EXPECT_FALSE(ParseCurrency("DEM"));  // withdrawn
  EXPECT_FALSE(ParseCurrency(""));
  // EU is the reference's spelling of EUR: the same currency, written back as it came.
  EXPECT_EQ(Cur("EU"), Cur("EUR"));
  EXPECT_EQ(CurrencyCode(Cur("EU")), "EUR");
  EXPECT_EQ(CurrencySpelling(Cur("EU")), "EU");
  EXPECT_EQ(CurrencySpelling(Cur("EUR")), "EUR");
  for (size_t i = 0; i < CurrencyCount(); ++i) {
    EXPECT_EQ(ParseCurrency(CurrencyCode(CurrencyAt(i)))->index, i);
  }
}

TEST(Amount, ParsesInTheCurrencysMinorUnits) {
  auto parse = [](std::string_view s, int digits) {
    int64_t v = 0;
    AmountError e = ParseAmount(s, digits, &v);
    return e == AmountError::kNone ? std::to_string(v)
                                   : "error " + std::to_string(static_cast<int>(e));
  };
  EXPECT_EQ(parse("123.45", 2), "12345");
  EXPECT_EQ(parse("123.4", 2), "12340");
  EXPECT_EQ(parse("123", 2), "12300");
  EXPECT_EQ(parse("0.01", 2), "1");
  EXPECT_EQ(parse("0", 2), "0");
  EXPECT_EQ(parse("-5.00", 2), "-500");
  EXPECT_EQ(parse("1200", 0), "1200");
  EXPECT_EQ(parse("1200.0", 0), "1200");  // zeros past the decimals are no precision
  EXPECT_EQ(parse("1.234", 3), "1234");
  EXPECT_EQ(parse("1.5e2", 2), "15000");
  EXPECT_EQ(parse("15E-1", 2), "150");
  EXPECT_EQ(parse("999999999999999999", 0), "999999999999999999");
  const std::string too_many =
      "error " + std::to_string(static_cast<int>(AmountError::kTooManyDecimals));
  const std::string range = "error " + std::to_string(static_cast<int>(AmountError::kOutOfRange));
  const std::string syntax = "error " + std::to_string(static_cast<int>(AmountError::kSyntax));
  EXPECT_EQ(parse("1.234", 2), too_many);  // three decimals on USD
  EXPECT_EQ(parse("12.5", 0), too_many);   // one decimal on JPY
  EXPECT_EQ(parse("1e-3", 2), too_many);
  EXPECT_EQ(parse("1000000000000000000", 0), range);  // 19 digits
  EXPECT_EQ(parse("10000000000000000", 2), range);    // 19 digits in cents
  EXPECT_EQ(parse("1e400", 2), range);
  EXPECT_EQ(parse("01.00", 2), syntax);
  EXPECT_EQ(parse("1.", 2), syntax);
  EXPECT_EQ(parse(".5", 2), syntax);
  EXPECT_EQ(parse("", 2), syntax);
  EXPECT_EQ(parse("1e", 2), syntax);
  EXPECT_EQ(parse("-", 2), syntax);
  EXPECT_EQ(parse("00", 0), syntax);
  EXPECT_EQ(parse("-0", 2), "0");
  EXPECT_EQ(parse("-0.07", 2), "-7");
  EXPECT_EQ(parse("99999999999999999.99", 2), range);  // 19 digits, fast path's limit
  EXPECT_EQ(parse("9999999999999999.99", 2), "999999999999999999");
}

TEST(Amount, FormatsWithTheCurrencysDecimals) {
  EXPECT_EQ(AmountString(12340, 2), "123.40");
  EXPECT_EQ(AmountString(5, 2), "0.05");
  EXPECT_EQ(AmountString(-105, 2), "-1.05");
  EXPECT_EQ(AmountString(1200, 0), "1200");
  EXPECT_EQ(AmountString(1234, 3), "1.234");
  EXPECT_EQ(AmountString(-7, 3), "-0.007");
  EXPECT_EQ(AmountString(0, 0), "0");
  EXPECT_EQ(AmountString(INT64_MIN, 2), "-92233720368547758.08");
  const Sum big = Sum{INT64_MAX} * 1000;
  EXPECT_EQ(AmountString(big, 2), "92233720368547758070.00");
  // Around 2^64, where the digits change from 128-bit to 64-bit arithmetic.
  const Sum two64 = Sum{1} << 64;
  EXPECT_EQ(AmountString(two64 - 1, 0), "18446744073709551615");
  EXPECT_EQ(AmountString(two64, 0), "18446744073709551616");
  EXPECT_EQ(AmountString(two64 + 1, 2), "184467440737095516.17");
  EXPECT_EQ(AmountString(-two64, 3), "-18446744073709551.616");
  EXPECT_EQ(AmountString(-(two64 - 1), 0), "-18446744073709551615");
  const Sum max128 = (Sum{1} << 126) + ((Sum{1} << 126) - 1);
  EXPECT_EQ(AmountString(max128, 0), "170141183460469231731687303715884105727");
  EXPECT_EQ(AmountString(-max128 - 1, 2), "-1701411834604692317316873037158841057.28");
  Sum s = (Sum{1} << 126) + ((Sum{1} << 126) - 1);  // INT128_MAX
  EXPECT_FALSE(AddChecked(s, 1, &s));
  EXPECT_TRUE(AddChecked(s, -1, &s));
}

TEST(EventTime, FormsAndRanges) {
  int64_t ms = 0;
  EXPECT_EQ(ParseEpoch("1767225600123", TimeFormat::kEpochMs, &ms), TimeError::kNone);
  EXPECT_EQ(ms, 1767225600123);
  EXPECT_EQ(ParseEpoch("1767225600", TimeFormat::kEpochS, &ms), TimeError::kNone);
  EXPECT_EQ(ms, 1767225600000);
  EXPECT_EQ(ParseEpoch("1767225600.1239", TimeFormat::kEpochS, &ms), TimeError::kNone);
  EXPECT_EQ(ms, 1767225600123);  // finer than a millisecond is dropped
  EXPECT_EQ(ParseEpoch("1767225600123456", TimeFormat::kEpochUs, &ms), TimeError::kNone);
  EXPECT_EQ(ms, 1767225600123);
  EXPECT_EQ(ParseEpoch("1767225600123.5", TimeFormat::kEpochMs, &ms), TimeError::kSyntax);
  EXPECT_EQ(ParseEpoch("-5", TimeFormat::kEpochMs, &ms), TimeError::kOutOfRange);
  EXPECT_EQ(ParseEpoch("1e12", TimeFormat::kEpochMs, &ms), TimeError::kSyntax);
  EXPECT_EQ(ParseRfc3339("2026-01-01T00:00:00Z", &ms), TimeError::kNone);
  EXPECT_EQ(ms, 1767225600000);
  EXPECT_EQ(ParseRfc3339("2026-01-01T01:00:00.123+01:00", &ms), TimeError::kNone);
  EXPECT_EQ(ms, 1767225600123);
  EXPECT_EQ(ParseRfc3339("2025-12-31t19:00:00.1234567-05:00", &ms), TimeError::kNone);
  EXPECT_EQ(ms, 1767225600123);
  EXPECT_EQ(ParseRfc3339("2024-02-29 12:00:00z", &ms), TimeError::kNone);
  EXPECT_EQ(ParseRfc3339("2023-02-29T12:00:00Z", &ms), TimeError::kSyntax);  // not a leap year
  EXPECT_EQ(ParseRfc3339("2026-01-01T00:00:00", &ms), TimeError::kSyntax);   // no offset
  EXPECT_EQ(ParseRfc3339("2026-13-01T00:00:00Z", &ms), TimeError::kSyntax);
  EXPECT_EQ(ParseRfc3339("2026-01-01T24:00:00Z", &ms), TimeError::kSyntax);
  EXPECT_EQ(ParseRfc3339("yesterday", &ms), TimeError::kSyntax);
  char buf[kMaxTimeText];
  EXPECT_EQ(std::string(buf, FormatTime(buf, 1767225600123, TimeFormat::kRfc3339)),
            "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(std::string(buf, FormatTime(buf, 1767225600123, TimeFormat::kEpochS)),
            "1767225600.123");
  EXPECT_EQ(std::string(buf, FormatTime(buf, 1767225600123, TimeFormat::kEpochUs)),
            "1767225600123000");
  for (int64_t t : {kMinTimeMs, int64_t{1767225600123}, int64_t{4102444799999}}) {
    EXPECT_EQ(ParseRfc3339(std::string(buf, FormatTime(buf, t, TimeFormat::kRfc3339)), &ms),
              TimeError::kNone);
    EXPECT_EQ(ms, t);
  }
}

TEST(JsonCodec, RoundTrip) {
  std::string s;
  EncodeJson(Sample().View(), &s);
  EXPECT_EQ(
      s, R"({"transactionId":"1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b","userId":"user_17",)"
         R"("amount":123456.78,"transactionTime":1767225600123,"merchantId":"merchant3",)"
         R"("transactionType":"refund","location":"location 42","paymentMethod":"bank_transfer",)"
         R"("isInternational":"True","currency":"EU"})");
  TransactionData t;
  ASSERT_EQ(DecodeJson(s, &t), DecodeError::kNone);
  EXPECT_TRUE(Same(t, Sample()));
}

TEST(JsonCodec, IdsAreAnyStringWrittenBackAsTheyCame) {
  TransactionData d = Sample();
  d.user = "c44da161-9d1e-4b3a-8f0e-2a6b1c3d4e5f";
  d.merchant = "Café \"Zoë\" & Söhne\\Co.\t東京";  // quote, backslash, tab: escaped
  d.location = "São Paulo";
  d.transaction_id = "tx-42";
  d.type = "chargeback";
  d.payment_method = "apple_pay";
  d.currency = Cur("JPY");
  d.amount = 1200;
  std::string s;
  EncodeJson(d.View(), &s);
  EXPECT_NE(s.find(R"("merchantId":"Café \"Zoë\" & Söhne\\Co.\u0009東京")"), std::string::npos)
      << s;
  EXPECT_NE(s.find(R"("amount":1200,)"), std::string::npos) << s;
  TransactionData t;
  ASSERT_EQ(DecodeJson(s, &t), DecodeError::kNone);
  EXPECT_TRUE(Same(t, d));
  // Escapes are decoded: the same bytes are the same key.
  std::string escaped = s;
  escaped.replace(escaped.find("São"), 4, "S\\u00e3o");
  ASSERT_EQ(DecodeJson(escaped, &t), DecodeError::kNone);
  EXPECT_EQ(t.location, "São Paulo");
}

TEST(JsonCodec, AcceptsAnyFieldOrderWhitespaceUnknownFieldsAndBooleans) {
  TransactionData t;
  std::string s =
      R"( { "currency" : "GBP", "isInternational":false,"paymentMethod":"paypal","location":"location 1",)"
      R"("transactionType":"purchase","merchantId":"merchant9","transactionTime":946684800000,)"
      R"("amount":50000,"userId":"user_1","extra":{"nested":[1,2]},"transactionId":"00000000-0000-4000-8000-000000000000"} )";
  ASSERT_EQ(DecodeJson(s, &t), DecodeError::kNone);
  EXPECT_EQ(t.amount, 5'000'000);
  EXPECT_EQ(CurrencyCode(t.currency), "GBP");
  EXPECT_FALSE(t.international);
  for (auto [text, want] : {std::pair{"true", true}, {"\"true\"", true}, {"\"False\"", false}}) {
    std::string v = s;
    v.replace(v.find("false"), 5, text);
    ASSERT_EQ(DecodeJson(v, &t), DecodeError::kNone) << v;
    EXPECT_EQ(t.international, want) << text;
  }
}

TEST(JsonCodec, ZeroAndNegativeAmountsAndTheCurrencysDecimals) {
  std::string good;
  EncodeJson(Sample().View(), &good);
  auto with = [&](std::string_view amount, std::string_view currency) {
    std::string s = good;
    s.replace(s.find("123456.78"), 9, amount);
    s.replace(s.find("\"EU\""), 4, "\"" + std::string(currency) + "\"");
    return s;
  };
  TransactionData t;
  ASSERT_EQ(DecodeJson(with("0", "USD"), &t), DecodeError::kNone);
  EXPECT_EQ(t.amount, 0);
  ASSERT_EQ(DecodeJson(with("-19.99", "USD"), &t), DecodeError::kNone);
  EXPECT_EQ(t.amount, -1999);
  ASSERT_EQ(DecodeJson(with("1500", "JPY"), &t), DecodeError::kNone);
  EXPECT_EQ(t.amount, 1500);
  ASSERT_EQ(DecodeJson(with("1.234", "BHD"), &t), DecodeError::kNone);
  EXPECT_EQ(t.amount, 1234);
  ASSERT_EQ(DecodeJson(with("99999999999.999", "KWD"), &t), DecodeError::kNone);
  EXPECT_EQ(t.amount, 99'999'999'999'999);
  std::string reason;
  EXPECT_EQ(DecodeJson(with("1.234", "USD"), nullptr, &reason), DecodeError::kBadValue);
  EXPECT_NE(reason.find("more decimals than USD has (2)"), std::string::npos) << reason;
  EXPECT_EQ(DecodeJson(with("12.5", "JPY"), nullptr, &reason), DecodeError::kBadValue);
  EXPECT_NE(reason.find("JPY has (0)"), std::string::npos) << reason;
  EXPECT_EQ(DecodeJson(with("1.2345", "BHD"), nullptr, &reason), DecodeError::kBadValue);
  EXPECT_EQ(DecodeJson(with("XYZ", "USD"), nullptr, &reason), DecodeError::kInvalidJson);
  EXPECT_EQ(DecodeJson(with("10", "ABC"), nullptr, &reason), DecodeError::kBadValue);
  EXPECT_NE(reason.find("ISO 4217"), std::string::npos) << reason;
  EXPECT_EQ(DecodeJson(with("10000000000000000", "USD"), nullptr, &reason),
            DecodeError::kOutOfRange);  // 10^18 cents
}

TEST(JsonCodec, FieldNamesTimeFormatsAndIdLength) {
  // The reference producer's own record: misspelt fields, time in epoch seconds.
  const std::string ref =
      R"({"transactionId":"a","userId":"user_3","amout":99.5,"transationTime":1767225600,)"
      R"("merchantID":"merchant2","transactionType":"purchase","location":"location 9",)"
      R"("paymentMethod":"paypal","isInternational":"False","currency":"EU"})";
  EXPECT_EQ(DecodeJson(ref), DecodeError::kMissingField);
  RecordFormat f;
  ASSERT_TRUE(f.SetField("amount=amout").ok());
  ASSERT_TRUE(f.SetField("transactionTime=transationTime").ok());
  ASSERT_TRUE(f.SetField("merchantId=merchantID").ok());
  f.time = TimeFormat::kEpochS;
  TransactionData t;
  std::string reason;
  ASSERT_EQ(DecodeJson(ref, &t, &reason, f), DecodeError::kNone) << reason;
  EXPECT_EQ(t.amount, 9950);
  EXPECT_EQ(t.time_ms, 1767225600000);
  EXPECT_EQ(t.merchant, "merchant2");
  EXPECT_EQ(DecodeJson(ref, nullptr, &reason, f), DecodeError::kNone);
  EXPECT_FALSE(f.SetField("amount").ok());
  EXPECT_FALSE(f.SetField("price=cost").ok());
  EXPECT_FALSE(f.SetField("userId=amout").ok());  // taken by amount
  // RFC 3339.
  RecordFormat r;
  r.time = TimeFormat::kRfc3339;
  std::string s;
  EncodeJson(Sample().View(), &s, TimeFormat::kRfc3339);
  EXPECT_NE(s.find(R"("transactionTime":"2026-01-01T00:00:00.123Z")"), std::string::npos) << s;
  ASSERT_EQ(DecodeJson(s, &t, &reason, r), DecodeError::kNone) << reason;
  EXPECT_EQ(t.time_ms, 1767225600123);
  std::string bad = s;
  bad.replace(bad.find("2026-01-01T"), 11, "2026-02-30T");
  EXPECT_EQ(DecodeJson(bad, nullptr, &reason, r), DecodeError::kBadValue);
  bad = s;
  bad.replace(bad.find("2026-01-01T"), 11, "1999-12-31T");
  EXPECT_EQ(DecodeJson(bad, nullptr, &reason, r), DecodeError::kOutOfRange);
  EXPECT_EQ(DecodeJson(s, nullptr, &reason), DecodeError::kWrongType);  // a string, not epoch ms
  // Ids: 1 to max_id_bytes after unescaping.
  RecordFormat small;
  small.max_id_bytes = 8;
  std::string good;
  EncodeJson(Sample().View(), &good);
  EXPECT_EQ(DecodeJson(good, nullptr, &reason, small), DecodeError::kBadValue);
  EXPECT_NE(reason.find("more than the 8 allowed"), std::string::npos) << reason;
  std::string empty = good;
  empty.replace(empty.find("\"user_17\""), 9, "\"\"");
  EXPECT_EQ(DecodeJson(empty, nullptr, &reason), DecodeError::kBadValue);
}

struct BadCase {
  const char* name;
  std::string json;
  DecodeError want;
};

TEST(JsonCodec, RejectsInvalidRecordsWithReasons) {
  std::string good;
  EncodeJson(Sample().View(), &good);
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  std::vector<BadCase> cases = {
      {"not json", "hello", DecodeError::kInvalidJson},
      {"empty", "", DecodeError::kInvalidJson},
      {"truncated", good.substr(0, good.size() / 2), DecodeError::kInvalidJson},
      {"array", "[1,2]", DecodeError::kWrongType},
      {"misspelled amount", replace("\"amount\"", "\"amout\""), DecodeError::kMissingField},
      {"merchantID", replace("\"merchantId\"", "\"merchantID\""), DecodeError::kMissingField},
      {"amount string", replace("123456.78", "\"123456.78\""), DecodeError::kWrongType},
      {"three decimals", replace("123456.78", "123456.789"), DecodeError::kBadValue},
      {"too large", replace("123456.78", "10000000000000000"), DecodeError::kOutOfRange},
      {"seconds", replace("1767225600123", "1767225600"), DecodeError::kOutOfRange},
      {"float time", replace("1767225600123", "1767225600123.5"), DecodeError::kBadValue},
      {"huge time", replace("1767225600123", "99999999999999999999"), DecodeError::kOutOfRange},
      {"time string", replace("1767225600123", "\"1767225600123\""), DecodeError::kWrongType},
      {"intl value", replace("\"True\"", "\"yes\""), DecodeError::kBadValue},
      {"intl number", replace("\"True\"", "1"), DecodeError::kWrongType},
      {"currency", replace("\"EU\"", "\"EURO\""), DecodeError::kBadValue},
      {"user number", replace("\"user_17\"", "17"), DecodeError::kWrongType},
      {"empty user", replace("\"user_17\"", "\"\""), DecodeError::kBadValue},
      {"null", replace("\"user_17\"", "null"), DecodeError::kWrongType},
      {"duplicate", "{\"amount\":1.00," + good.substr(1), DecodeError::kDuplicateField},
      {"trailing", good + " {}", DecodeError::kTrailingContent},
      {"trailing garbage", good + "x", DecodeError::kInvalidJson},
      {"bad utf8", replace("user_17", "user_\xff"), DecodeError::kInvalidJson},
      // Cut before its continuation byte: the closing quote cannot be one.
      {"utf8 cut at a string's end", replace("user_17", "user_\xc3"), DecodeError::kInvalidJson},
      {"overlong utf8", replace("user_17", "user_\xc0\xaf"), DecodeError::kInvalidJson},
      {"utf8 cut late in the record", replace("bank_transfer", "bank_\xe2\x82"),
       DecodeError::kInvalidJson},
      {"bad utf8 after good",
       [&] {
         std::string s = replace("user_17", "us\xc3\xa9r");
         return s.replace(s.find("bank_transfer"), 13, "\xff");
       }(),
       DecodeError::kInvalidJson},
      {"bad utf8 escape", replace("user_17", "user_\\udc00"), DecodeError::kInvalidJson},
  };
  for (const auto& c : cases) {
    std::string reason;
    DecodeError e = DecodeJson(c.json, nullptr, &reason);
    EXPECT_EQ(DecodeErrorName(e), DecodeErrorName(c.want)) << c.name << ": " << reason;
    EXPECT_FALSE(reason.empty()) << c.name;
  }
}

// The fast path scans strings 16 bytes at a time: a string of every length from 1 to 40 bytes,
// with a byte that ends or leaves the fast path at every place in it, in a field in the middle
// of the record and in one within 16 bytes of its end.
TEST(JsonCodec, StringsOfEveryLengthWithAnyByteAnywhere) {
  for (const bool last : {false, true}) {
    for (size_t n = 1; n <= 40; ++n) {
      for (size_t k = 0; k < n; ++k) {
        const std::string plain(n, 'm');
        auto with = [&](std::string_view at_k) {
          std::string v = plain;
          v.replace(k, 1, at_k);
          TransactionData d = Sample();
          d.payment_method = "card";
          (last ? d.payment_method : d.merchant) = "@";  // replaced below, as raw bytes
          std::string s;
          EncodeJson(d.View(), &s);
          s.replace(s.find("\"@\""), 3, "\"" + v + "\"");
          return s;
        };
        auto field = [&](const TransactionData& t) { return last ? t.payment_method : t.merchant; };
        const std::string where = (last ? "paymentMethod" : "merchantId") + std::string(" n=") +
                                  std::to_string(n) + " k=" + std::to_string(k);
        TransactionData t;
        ASSERT_EQ(DecodeJson(with("m"), &t), DecodeError::kNone) << where;
        EXPECT_EQ(field(t), plain) << where;
        ASSERT_EQ(DecodeJson(with("é"), &t), DecodeError::kNone) << where;
        EXPECT_EQ(field(t), std::string(plain).replace(k, 1, "é")) << where;
        ASSERT_EQ(DecodeJson(with("\\\""), &t), DecodeError::kNone) << where;
        EXPECT_EQ(field(t), std::string(plain).replace(k, 1, "\"")) << where;
        ASSERT_EQ(DecodeJson(with("\\\\"), &t), DecodeError::kNone) << where;
        EXPECT_EQ(field(t), std::string(plain).replace(k, 1, "\\")) << where;
        EXPECT_EQ(DecodeJson(with("\xff")), DecodeError::kInvalidJson) << where;
        EXPECT_EQ(DecodeJson(with("\xc3")), DecodeError::kInvalidJson) << where;  // cut short
        EXPECT_EQ(DecodeJson(with("\x01")), DecodeError::kInvalidJson) << where;
        EXPECT_EQ(DecodeJson(with("\x1f")), DecodeError::kInvalidJson) << where;
        ASSERT_EQ(DecodeJson(with("\x7f"), &t), DecodeError::kNone) << where;  // DEL is no control
      }
    }
  }
}

TEST(JsonCodec, ReasonNamesTheField) {
  std::string good, reason;
  EncodeJson(Sample().View(), &good);
  good.replace(good.find("\"EU\""), 4, "\"XYZ\"");
  EXPECT_EQ(DecodeJson(good, nullptr, &reason), DecodeError::kBadValue);
  EXPECT_NE(reason.find("currency"), std::string::npos) << reason;
  EXPECT_NE(reason.find("XYZ"), std::string::npos) << reason;
}

TEST(BinaryCodec, RoundTripAndValidation) {
  std::string b;
  TransactionData d = Sample();
  d.merchant = "Café Zoë";
  d.currency = Cur("BHD");
  d.amount = -1234;
  EncodeBinary(d.View(), &b);
  auto dec = NewDecoder(WireFormat::kBinary);
  Transaction t;
  std::string reason;
  ASSERT_EQ(dec->Decode(b, b.size(), &t, &reason), DecodeError::kNone) << reason;
  EXPECT_TRUE(Same(TransactionData::From(t), d));
  for (size_t cut = 0; cut < b.size(); ++cut) {
    EXPECT_NE(dec->Decode(std::string_view(b).substr(0, cut), cut, &t, &reason),
              DecodeError::kNone);
  }
  std::string trailing = b + "x";
  EXPECT_EQ(dec->Decode(trailing, trailing.size(), &t, &reason), DecodeError::kTrailingContent);
  std::string flags = b;
  flags.back() = static_cast<char>(0xFF);
  EXPECT_EQ(dec->Decode(flags, flags.size(), &t, &reason), DecodeError::kBadValue);
  // Version 1 (numeric ids, enums) still decodes, into the strings of its JSON form.
  const uint8_t v1[] = {0xB1, 0x1b, 0x4e, 0x28, 0xba, 0x2f, 0xa1, 0x4d, 0x3b, 0xa3, 0xf5,
                        0xef, 0x19, 0xb5, 0xa7, 0x63, 0x3b, 17,   3,    42,   0xce, 0xc2,
                        0xf1, 0x05, 0xfb, 0xd0, 0xea, 0xb6, 0xb7, 0x33, 0x1b};
  const std::string_view v1s(reinterpret_cast<const char*>(v1), sizeof(v1));
  ASSERT_EQ(dec->Decode(v1s, v1s.size(), &t, &reason), DecodeError::kNone) << reason;
  EXPECT_TRUE(Same(TransactionData::From(t), Sample()));
}

TEST(Partitioner, MatchesKafkaMurmur2) {
  // Vectors from Kafka's UtilsTest.
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
  EXPECT_LT(PartitionForKey("user_1", 6), 6u);
}

}  // namespace
}  // namespace spate
