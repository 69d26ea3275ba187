#include "sinks/elasticsearch/bulk_response.h"

#include <gtest/gtest.h>

#include "sinks/elasticsearch/backoff.h"

namespace spate::es {
namespace {

// A 200 whose items partly failed: Elasticsearch says so only in "errors" and per item.
constexpr const char* kPartial = R"({"took":3,"errors":true,"items":[
 {"index":{"_index":"i","_id":"1","_version":1,"result":"created","status":201}},
 {"index":{"_index":"i","_id":"2","status":400,"error":{"type":"mapper_parsing_exception",
   "reason":"failed to parse field [transactionCount] of type [long]",
   "caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"many\""}}}},
 {"index":{"_index":"i","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception",
   "reason":"rejected execution"}}},
 {"index":{"_index":"i","_id":"4","status":409,"error":{"type":"version_conflict_engine_exception",
   "reason":"[4]: version conflict, current version [7] is higher or equal"}}},
 {"index":{"_index":"i","_id":"5","status":503,"error":{"type":"unavailable_shards_exception",
   "reason":"primary shard is not active"}}},
 {"index":{"_index":"i","_id":"6","_version":2,"result":"updated","status":200}}]})";

TEST(BulkResponse, EveryItemOfAPartialFailureIsRead) {
  std::vector<ItemResult> r;
  ASSERT_TRUE(ParseBulkResponse(kPartial, 6, &r).ok());
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].status, 201);
  EXPECT_EQ(r[1].status, 400);
  EXPECT_EQ(r[1].error_type, "mapper_parsing_exception");
  EXPECT_EQ(r[1].error_reason,
            "failed to parse field [transactionCount] of type [long]: For input string: \"many\"");
  EXPECT_EQ(ClassifyItem(r[0]), ItemAction::kDone);
  EXPECT_EQ(ClassifyItem(r[1]), ItemAction::kDeadLetter);
  EXPECT_EQ(ClassifyItem(r[2]), ItemAction::kRetry);
  EXPECT_EQ(ClassifyItem(r[3]), ItemAction::kDone);  // a newer version is already indexed
  EXPECT_EQ(ClassifyItem(r[4]), ItemAction::kRetry);
  EXPECT_EQ(ClassifyItem(r[5]), ItemAction::kDone);
}

TEST(BulkResponse, FilteredResponseAndMismatchedCounts) {
  // With filter_path=errors,items.*.status,items.*.error only these fields come back.
  std::vector<ItemResult> r;
  const char* filtered =
      R"({"errors":false,"items":[{"index":{"status":201}},{"index":{"status":200}}]})";
  ASSERT_TRUE(ParseBulkResponse(filtered, 2, &r).ok());
  EXPECT_EQ(r[1].status, 200);
  EXPECT_FALSE(ParseBulkResponse(filtered, 3, &r).ok());
  EXPECT_FALSE(ParseBulkResponse("<html>502 Bad Gateway</html>", 1, &r).ok());
  EXPECT_FALSE(ParseBulkResponse(R"({"error":"x"})", 1, &r).ok());
}

TEST(BulkResponse, RequestOutcomes) {
  EXPECT_EQ(ClassifyRequest(200), RequestAction::kRead);
  EXPECT_EQ(ClassifyRequest(0), RequestAction::kRetry);  // connection refused, timeout
  EXPECT_EQ(ClassifyRequest(429), RequestAction::kRetry);
  EXPECT_EQ(ClassifyRequest(502), RequestAction::kRetry);
  EXPECT_EQ(ClassifyRequest(503), RequestAction::kRetry);
  EXPECT_EQ(ClassifyRequest(401), RequestAction::kFatal);
  EXPECT_EQ(ClassifyRequest(413), RequestAction::kFatal);
}

TEST(Backoff, ExponentialCappedWithFullJitter) {
  Backoff b(100, 30'000, 7);
  EXPECT_EQ(b.Ceiling(0), 100);
  EXPECT_EQ(b.Ceiling(1), 200);
  EXPECT_EQ(b.Ceiling(5), 3200);
  EXPECT_EQ(b.Ceiling(9), 30'000);
  EXPECT_EQ(b.Ceiling(60), 30'000);  // no overflow
  int64_t lo = 1 << 30, hi = 0;
  for (int i = 0; i < 2000; ++i) {
    int64_t d = b.Delay(3);
    ASSERT_GE(d, 1);
    ASSERT_LE(d, 800);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 100);  // spread over the whole range, not clustered at the ceiling
  EXPECT_GT(hi, 700);
}

}  // namespace
}  // namespace spate::es
