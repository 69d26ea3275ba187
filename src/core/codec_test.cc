#include "core/codec.h"

#include <gtest/gtest.h>

#include "core/codec_testing.h"
#include "core/partitioner.h"
#include "core/transaction.h"

namespace spate {
namespace {

Transaction Sample() { return test::SampleTransaction(); }

DecodeError DecodeJson(std::string_view s, Transaction* tx = nullptr,
                       std::string* reason = nullptr) {
  auto d = NewDecoder(WireFormat::kJson);
  Transaction t;
  std::string r;
  DecodeError e = d->Decode(s, s.size(), tx ? tx : &t, reason ? reason : &r);
  return e;
}

TEST(Amount, ParsesAndFormatsExactly) {
  EXPECT_EQ(ParseAmount("123.45"), 12345);
  EXPECT_EQ(ParseAmount("123.4"), 12340);
  EXPECT_EQ(ParseAmount("123"), 12300);
  EXPECT_EQ(ParseAmount("0.01"), 1);
  EXPECT_EQ(ParseAmount("-5.00"), -500);
  EXPECT_FALSE(ParseAmount("1.234"));
  EXPECT_FALSE(ParseAmount("1e5"));
  EXPECT_FALSE(ParseAmount("01.00"));
  EXPECT_FALSE(ParseAmount("1."));
  EXPECT_FALSE(ParseAmount(".5"));
  EXPECT_FALSE(ParseAmount(""));
  EXPECT_EQ(AmountString(12340), "123.40");
  EXPECT_EQ(AmountString(5), "0.05");
  EXPECT_EQ(AmountString(-105), "-1.05");
  EXPECT_EQ(AmountString(INT64_MIN), "-92233720368547758.08");
}

TEST(Ids, StrictPatterns) {
  EXPECT_EQ(ParseId("user_17", kUserPrefix), 17u);
  EXPECT_EQ(ParseId("merchant1", kMerchantPrefix), 1u);
  EXPECT_EQ(ParseId("location 50", kLocationPrefix), 50u);
  EXPECT_FALSE(ParseId("user_017", kUserPrefix));
  EXPECT_FALSE(ParseId("user_0", kUserPrefix));
  EXPECT_FALSE(ParseId("user_", kUserPrefix));
  EXPECT_FALSE(ParseId("user_x", kUserPrefix));
  EXPECT_FALSE(ParseId("user_2147483648", kUserPrefix));
  EXPECT_EQ(ParseId("user_2147483647", kUserPrefix), 2147483647u);
  EXPECT_FALSE(ParseId("merchantID1", kMerchantPrefix));
  EXPECT_EQ(IdString(kLocationPrefix, 7), "location 7");
}

TEST(Uuid, RoundTrip) {
  auto u = ParseUuid("1B4E28BA-2FA1-4D3B-A3F5-EF19B5A7633B");
  ASSERT_TRUE(u);
  EXPECT_EQ(UuidString(*u), "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b");
  EXPECT_FALSE(ParseUuid("1b4e28ba2fa14d3ba3f5ef19b5a7633b"));
  EXPECT_FALSE(ParseUuid("1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633g"));
}

TEST(JsonCodec, RoundTrip) {
  std::string s;
  EncodeJson(Sample(), &s);
  EXPECT_EQ(
      s, R"({"transactionId":"1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b","userId":"user_17",)"
         R"("amount":123456.78,"transactionTime":1767225600123,"merchantId":"merchant3",)"
         R"("transactionType":"refund","location":"location 42","paymentMethod":"bank_transfer",)"
         R"("isInternational":"True","currency":"EU"})");
  Transaction t;
  ASSERT_EQ(DecodeJson(s, &t), DecodeError::kNone);
  EXPECT_EQ(t, Sample());
}

TEST(JsonCodec, AcceptsAnyFieldOrderWhitespaceAndUnknownFields) {
  Transaction t;
  std::string s =
      R"( { "currency" : "GBP", "isInternational":"False","paymentMethod":"paypal","location":"location 1",)"
      R"("transactionType":"purchase","merchantId":"merchant9","transactionTime":946684800000,)"
      R"("amount":50000,"userId":"user_1","extra":{"nested":[1,2]},"transactionId":"00000000-0000-4000-8000-000000000000"} )";
  ASSERT_EQ(DecodeJson(s, &t), DecodeError::kNone);
  EXPECT_EQ(t.amount_cents, 5'000'000);
  EXPECT_EQ(t.currency, Currency::kGbp);
}

struct BadCase {
  const char* name;
  std::string json;
  DecodeError want;
};

TEST(JsonCodec, RejectsInvalidRecordsWithReasons) {
  std::string good;
  EncodeJson(Sample(), &good);
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
      {"exponent", replace("123456.78", "1.2e5"), DecodeError::kBadValue},
      {"negative", replace("123456.78", "-1.00"), DecodeError::kOutOfRange},
      {"zero", replace("123456.78", "0"), DecodeError::kOutOfRange},
      {"too large", replace("123456.78", "100000000.01"), DecodeError::kOutOfRange},
      {"seconds", replace("1767225600123", "1767225600"), DecodeError::kOutOfRange},
      {"float time", replace("1767225600123", "1767225600123.5"), DecodeError::kWrongType},
      {"huge time", replace("1767225600123", "99999999999999999999"), DecodeError::kOutOfRange},
      {"bool intl", replace("\"True\"", "true"), DecodeError::kWrongType},
      {"intl value", replace("\"True\"", "\"yes\""), DecodeError::kBadValue},
      {"currency", replace("\"EU\"", "\"EUR\""), DecodeError::kBadValue},
      {"type", replace("\"refund\"", "\"chargeback\""), DecodeError::kBadValue},
      {"payment", replace("\"bank_transfer\"", "\"cash\""), DecodeError::kBadValue},
      {"user", replace("\"user_17\"", "\"user17\""), DecodeError::kBadValue},
      {"user number", replace("\"user_17\"", "17"), DecodeError::kWrongType},
      {"location", replace("\"location 42\"", "\"location_42\""), DecodeError::kBadValue},
      {"uuid", replace("1b4e28ba-2fa1", "1b4e28ba_2fa1"), DecodeError::kBadValue},
      {"null", replace("\"user_17\"", "null"), DecodeError::kWrongType},
      {"duplicate", "{\"amount\":1.00," + good.substr(1), DecodeError::kDuplicateField},
      {"trailing", good + " {}", DecodeError::kTrailingContent},
      {"trailing garbage", good + "x", DecodeError::kInvalidJson},
      {"bad utf8", replace("user_17", "user_\xff"), DecodeError::kInvalidJson},
  };
  for (const auto& c : cases) {
    std::string reason;
    DecodeError e = DecodeJson(c.json, nullptr, &reason);
    EXPECT_EQ(DecodeErrorName(e), DecodeErrorName(c.want)) << c.name << ": " << reason;
    EXPECT_FALSE(reason.empty()) << c.name;
  }
}

TEST(JsonCodec, ReasonNamesTheField) {
  std::string good, reason;
  EncodeJson(Sample(), &good);
  good.replace(good.find("\"EU\""), 4, "\"XYZ\"");
  EXPECT_EQ(DecodeJson(good, nullptr, &reason), DecodeError::kBadValue);
  EXPECT_NE(reason.find("currency"), std::string::npos) << reason;
  EXPECT_NE(reason.find("XYZ"), std::string::npos) << reason;
}

TEST(BinaryCodec, RoundTripAndValidation) {
  std::string b;
  EncodeBinary(Sample(), &b);
  EXPECT_LT(b.size(), 40u);
  auto d = NewDecoder(WireFormat::kBinary);
  Transaction t;
  std::string reason;
  ASSERT_EQ(d->Decode(b, b.size(), &t, &reason), DecodeError::kNone) << reason;
  EXPECT_EQ(t, Sample());
  for (size_t cut = 0; cut < b.size(); ++cut) {
    EXPECT_NE(d->Decode(std::string_view(b).substr(0, cut), cut, &t, &reason), DecodeError::kNone);
  }
  std::string trailing = b + "x";
  EXPECT_EQ(d->Decode(trailing, trailing.size(), &t, &reason), DecodeError::kTrailingContent);
  std::string flags = b;
  flags.back() = static_cast<char>(0xFF);
  EXPECT_EQ(d->Decode(flags, flags.size(), &t, &reason), DecodeError::kBadValue);
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
