#include "sinks/elasticsearch/document.h"

#include <gtest/gtest.h>

namespace spate::es {
namespace {

TEST(Document, AggregateIdIsWindowAndKeyAndAmountsGainExactCents) {
  Document d;
  ASSERT_TRUE(MakeDocument(R"({"windowStart":1767225600000,"windowEnd":1767225660000,)"
                           R"("merchantId":"merchant7","transactionCount":3,"totalAmount":0.30,)"
                           R"("minAmount":0.10,"maxAmount":999999999999.99,"purchaseCount":2,)"
                           R"("refundCount":1})",
                           &d)
                  .ok());
  EXPECT_EQ(d.kind, DocKind::kAggregate);
  EXPECT_EQ(d.id, "1767225600000-1767225660000-merchantId-merchant7");
  // Cents from the number's text, the largest amount the parser takes included.
  EXPECT_NE(d.source.find(R"("totalAmountCents":30,)"), std::string::npos) << d.source;
  EXPECT_NE(d.source.find(R"("minAmountCents":10,)"), std::string::npos);
  EXPECT_NE(d.source.find(R"("maxAmountCents":99999999999999})"), std::string::npos);
}

TEST(Document, TotalsAnomaliesAndTransactions) {
  Document d;
  ASSERT_TRUE(MakeDocument(R"({"location":"location 5","totalAmount":12.5,"transactionCount":1})"
                           "\n",
                           &d)
                  .ok());
  EXPECT_EQ(d.kind, DocKind::kTotal);
  EXPECT_EQ(d.id, "location-location 5");
  EXPECT_EQ(d.source.back(), '}');  // the newline is not part of the source
  EXPECT_NE(d.source.find(R"("totalAmountCents":1250})"), std::string::npos) << d.source;

  ASSERT_TRUE(MakeDocument(R"({"rule":"high_amount","userId":"user_1","transactionId":"t-1",)"
                           R"("transactionTime":5,"amount":300000.00,"sequence":9,)"
                           R"("evidence":{"threshold":250000.00}})",
                           &d)
                  .ok());
  EXPECT_EQ(d.kind, DocKind::kAnomaly);
  EXPECT_EQ(d.id, "t-1-high_amount");  // one transaction may fire several rules
  EXPECT_NE(d.source.find(R"("amountCents":30000000})"), std::string::npos) << d.source;

  ASSERT_TRUE(MakeDocument(R"({"transactionId":"t-2","userId":"user_1","amount":1.05})", &d).ok());
  EXPECT_EQ(d.kind, DocKind::kTransaction);
  EXPECT_EQ(d.id, "t-2");
}

TEST(Document, UnindexableRecordsAreErrors) {
  Document d;
  EXPECT_FALSE(MakeDocument("not json", &d).ok());
  EXPECT_FALSE(MakeDocument("[1,2]", &d).ok());
  Status s = MakeDocument(R"({"hello":"world"})", &d);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no document id"), std::string::npos);
}

TEST(Document, AWrongTypeIsLeftForTheMappingToRefuse) {
  // The id needs only the window and key; a count that is not a number is the index's call.
  Document d;
  ASSERT_TRUE(MakeDocument(R"({"windowStart":1,"windowEnd":2,"merchantId":"merchant1",)"
                           R"("transactionCount":"many","totalAmount":"lots"})",
                           &d)
                  .ok());
  EXPECT_EQ(d.source.find("Cents"), std::string::npos);
}

TEST(Document, BulkActionCarriesIndexIdAndOffsetAsExternalVersion) {
  Document d;
  d.id = "a\"b";
  d.source = R"({"x":1})";
  std::string out;
  AppendBulkIndex("spate-aggs", d, 42, &out);
  EXPECT_EQ(
      out,
      R"({"index":{"_index":"spate-aggs","_id":"a\"b","version":42,"version_type":"external"}})"
      "\n"
      R"({"x":1})"
      "\n");
}

}  // namespace
}  // namespace spate::es
