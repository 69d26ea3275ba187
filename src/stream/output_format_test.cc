// Dead letters: the record's key and value in base64, cut to a bound with the original size and
// a SHA-256 of the whole when they pass it.

#include "stream/output_format.h"

#include <absl/strings/escaping.h>
#include <gtest/gtest.h>
#include <simdjson.h>

namespace spate {
namespace {

simdjson::dom::element Parse(simdjson::dom::parser& p, const std::string& line) {
  auto doc = p.parse(line);
  EXPECT_FALSE(doc.error()) << line.substr(0, 200);
  return doc.value();
}

std::string Unbase64(std::string_view s) {
  std::string out;
  EXPECT_TRUE(absl::Base64Unescape(absl::string_view(s.data(), s.size()), &out));
  return out;
}

TEST(DeadLetter, SmallRecordKeepsItsBytesAndGainsNoFields) {
  std::string line;
  EXPECT_FALSE(AppendDeadLetterLine({7, 1, 42}, DecodeError::kInvalidJson, "not JSON", "key1",
                                    "{broken", &line));
  ASSERT_EQ(line.back(), '\n');
  simdjson::dom::parser p;
  auto d = Parse(p, line);
  EXPECT_EQ(uint64_t(d["sequence"]), 7u);
  EXPECT_EQ(uint64_t(d["partition"]), 1u);
  EXPECT_EQ(uint64_t(d["offset"]), 42u);
  EXPECT_EQ(Unbase64(std::string_view(d["key"])), "key1");
  EXPECT_EQ(Unbase64(std::string_view(d["payload"])), "{broken");
  EXPECT_EQ(d["payloadBytes"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(d["keySha256"].error(), simdjson::NO_SUCH_FIELD);
}

TEST(DeadLetter, OversizedPayloadIsCutWithSizeAndSha256) {
  const std::string payload(100000, 'x');
  std::string line;
  EXPECT_TRUE(
      AppendDeadLetterLine({1, 0, 1}, DecodeError::kInvalidJson, "too big", "k", payload, &line));
  EXPECT_LT(line.size(), kDeadLetterMaxBytes * 4 / 3 + 1024);
  simdjson::dom::parser p;
  auto d = Parse(p, line);
  EXPECT_EQ(Unbase64(std::string_view(d["payload"])), payload.substr(0, kDeadLetterMaxBytes));
  EXPECT_EQ(uint64_t(d["payloadBytes"]), 100000u);
  // python3 -c "import hashlib; print(hashlib.sha256(b'x'*100000).hexdigest())"
  EXPECT_EQ(std::string_view(d["payloadSha256"]),
            "d69e68988157833272305aaf21f453c800346e8a3640db6578e260215542e5d4");
  EXPECT_EQ(Unbase64(std::string_view(d["key"])), "k");
  EXPECT_EQ(d["keyBytes"].error(), simdjson::NO_SUCH_FIELD);
}

TEST(DeadLetter, OversizedKeyIsCutAndSoIsItsMessageKey) {
  const std::string key(70000, 'k');
  std::string line;
  EXPECT_TRUE(AppendSinkDeadLetterLine({3, 2, 3}, "aggs", "mapping", "refused", key, "{}", &line));
  simdjson::dom::parser p;
  auto d = Parse(p, line);
  EXPECT_EQ(std::string_view(d["topic"]), "aggs");
  EXPECT_EQ(Unbase64(std::string_view(d["key"])).size(), kDeadLetterMaxBytes);
  EXPECT_EQ(uint64_t(d["keyBytes"]), 70000u);
  EXPECT_EQ(std::string_view(d["keySha256"]),
            "c614ece319c994eec033ffa1dbb71751b72eebdd75f5146832f329a1d2367980");
  EXPECT_EQ(Unbase64(std::string_view(d["payload"])), "{}");
  EXPECT_EQ(DeadLetterKey(key).size(), kDeadLetterMaxBytes);
  EXPECT_EQ(DeadLetterKey("short"), "short");
}

}  // namespace
}  // namespace spate
