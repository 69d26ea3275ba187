// The Avro encodings of aggregates and anomalies are valid datums of schemas/*.avsc, with the
// values of the JSON lines (checked through avro-c's generic reader and its JSON form).

#include <algorithm>

#include <gtest/gtest.h>

#include "core/avro_schema.h"
#include "core/codec.h"
#include "stream/output_format.h"

namespace spate {
namespace {

// avro-c's JSON form of the framed datum, without spaces; fails the test if invalid.
std::string Read(std::string_view avsc, const std::string& msg, uint32_t want_id) {
  auto schema = AvroSchema::Parse(avsc);
  EXPECT_TRUE(schema.ok());
  if (!schema.ok()) return "";
  uint32_t id = 0;
  std::string json;
  Status s = ValidateConfluent(*schema.value(), msg, &id, &json);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(id, want_id);
  json.erase(std::remove(json.begin(), json.end(), ' '), json.end());
  return json;
}

TEST(OutputAvro, AggregateIsAValidDatumWithTheGroupKeyAndCurrencySet) {
  WindowAgg a;
  a.Add(1'050, TxKind::kPurchase);
  a.Add(20'000, TxKind::kRefund);
  a.Add(7, TxKind::kPurchase);
  const Currency usd = *ParseCurrency("USD"), gbp = *ParseCurrency("GBP");
  for (bool update : {false, true}) {
    std::string m;
    AppendAggregateAvro(GroupBy::kMerchantId, 60'000, 120'000, "merchant3", usd, a, update, 4, &m);
    std::string json = Read(AggregateAvsc(), m, 4);
    EXPECT_NE(
        json.find(
            R"("windowStart":60000,"windowEnd":120000,"merchantId":{"string":"merchant3"},"userId":null,"location":null,"currency":{"string":"USD"},"paymentMethod":null,"transactionCount":3,)"),
        std::string::npos)
        << json;
    EXPECT_NE(json.find(R"("purchaseCount":2,"refundCount":1,)"), std::string::npos) << json;
    EXPECT_NE(json.find(update ? R"("emit":{"string":"update"})" : R"("emit":null)"),
              std::string::npos)
        << json;
  }
  std::string m;
  AppendAggregateAvro(GroupBy::kCurrency, 0, 60'000, "GBP", gbp, a, false, 4, &m);
  std::string json = Read(AggregateAvsc(), m, 4);
  EXPECT_NE(
      json.find(R"("merchantId":null,"userId":null,"location":null,"currency":{"string":"GBP"})"),
      std::string::npos)
      << json;
}

Anomaly SampleAnomaly(std::string_view currency) {
  Anomaly a{};
  a.tx.transaction_id = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b";
  a.tx.user = "user_5";
  a.tx.time_ms = 1'767'225'600'000;
  a.tx.currency = *ParseCurrency(currency);
  a.tx.amount = 30'000'005;
  a.sequence = 99;
  a.count = 11;
  a.sum = 200'000'000;
  return a;
}

TEST(OutputAvro, AnomalyIsAValidDatumWithItsEvidence) {
  RuleConfig rules;
  Anomaly a = SampleAnomaly("USD");
  a.rule = Rule::kHighAmount;
  a.threshold = rules.high_amount.Minor(a.tx.currency);
  std::string m;
  AppendAnomalyAvro(a, rules, 2, &m);
  std::string json = Read(AnomalyAvsc(), m, 2);
  EXPECT_NE(
      json.find(
          R"({"rule":"high_amount","userId":"user_5","transactionId":"1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b","transactionTime":1767225600000,)"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"(AmountEvidence":{"threshold":)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("currency":{"string":"USD"})"), std::string::npos) << json;
  a.rule = Rule::kVelocityAmount;
  m.clear();
  AppendAnomalyAvro(a, rules, 2, &m);
  json = Read(AnomalyAvsc(), m, 2);
  EXPECT_NE(json.find(R"("rule":"velocity_amount")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("count":11,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("spanMs":10000,"countLimit":10,)"), std::string::npos) << json;
}

// The plain JSON form of a framed datum (AvroJson::kPlain).
std::string Plain(std::string_view avsc, const std::string& msg) {
  auto schema = AvroSchema::Parse(avsc);
  EXPECT_TRUE(schema.ok());
  if (!schema.ok()) return "";
  uint32_t id = 0;
  std::string json;
  Status s = ValidateConfluent(*schema.value(), msg, &id, &json, AvroJson::kPlain);
  EXPECT_TRUE(s.ok()) << s.message();
  return json;
}

std::string Line(std::string s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// What `spate index --format avro` relies on: an Avro output, read in the plain form, is its
// JSON line, byte for byte, for currencies of two decimals. (Others are written at scale 0 in
// the line and at scale 2 or 4 in Avro: "1200" and "1200.00" JPY, the same number.)
TEST(OutputAvro, PlainFormOfAnAggregateIsItsJsonLine) {
  WindowAgg a;
  a.Add(1'050, TxKind::kPurchase);
  a.Add(20'000, TxKind::kRefund);
  a.Add(-7, TxKind::kPurchase);
  a.Add(123'456'789'012, TxKind::kOther);
  const Currency usd = *ParseCurrency("USD");
  for (GroupBy g : {GroupBy::kMerchantId, GroupBy::kUserId, GroupBy::kCurrency,
                    GroupBy::kPaymentMethod, GroupBy::kLocation}) {
    const std::string key = g == GroupBy::kCurrency ? "USD" : "Café \"Zoë\" 東京";
    for (bool update : {false, true}) {
      std::string avro, line;
      AppendAggregateAvro(g, 60'000, 120'000, key, usd, a, update, 4, &avro);
      AppendAggregateLine(g, 60'000, 120'000, key, usd, a, update, &line);
      EXPECT_EQ(Plain(AggregateAvsc(), avro), Line(line));
    }
  }
}

TEST(OutputAvro, PlainFormOfAnAnomalyIsItsJsonLine) {
  RuleConfig rules;
  Anomaly a = SampleAnomaly("EUR");
  a.threshold = rules.high_amount.Minor(a.tx.currency);
  for (Rule r :
       {Rule::kHighAmount, Rule::kInternationalHigh, Rule::kVelocityCount, Rule::kVelocityAmount}) {
    a.rule = r;
    std::string avro, line;
    AppendAnomalyAvro(a, rules, 2, &avro);
    AppendAnomalyLine(a, rules, &line);
    EXPECT_EQ(Plain(AnomalyAvsc(), avro), Line(line));
  }
}

}  // namespace
}  // namespace spate
