// Generic Avro validation through avro-c: our three schemas and a few others.

#include "core/avro_schema.h"

#include <cstring>

#include <gtest/gtest.h>

#include "core/avro_schema_testing.h"
#include "core/codec.h"
#include "core/codec_testing.h"
#include "gen/generator.h"

namespace spate {
namespace {

std::shared_ptr<const AvroSchema> MustParse(std::string_view json) {
  auto s = AvroSchema::Parse(json);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.status().message()) << "\n" << json;
  if (!s.ok()) return nullptr;
  return s.value();
}

using test::AvroLong;
using test::AvroString;
using test::NestedArrays;
using test::ReferenceChain;

TEST(AvroSchema, ParsesTheRepositorysSchemas) {
  auto t = MustParse(TransactionAvsc());
  auto a = MustParse(AggregateAvsc());
  auto n = MustParse(AnomalyAvsc());
  ASSERT_TRUE(t && a && n);
  EXPECT_EQ(t->name(), "dev.spate.Transaction");
  EXPECT_EQ(a->name(), "dev.spate.WindowAggregate");
  EXPECT_EQ(n->name(), "dev.spate.Anomaly");
  EXPECT_NE(t->json().find("transactionId"), std::string::npos);
}

TEST(AvroSchema, RejectsInvalidSchemasWithAReason) {
  for (std::string_view bad : {R"(not json)", R"({"type":"record"})", R"({"type":"nosuchtype"})",
                               R"({"type":"enum","name":"E"})", R"("")"}) {
    auto s = AvroSchema::Parse(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.status().message().find("invalid Avro schema"), std::string::npos);
  }
}

TEST(AvroSchema, ValidatesEveryEncodedTransaction) {
  auto schema = MustParse(TransactionAvsc());
  ASSERT_TRUE(schema);
  Generator gen(GeneratorConfig{});
  GeneratedRecord r;
  for (uint64_t i = 0; i < 2000; ++i) {
    gen.Make(i, &r);
    std::string m;
    EncodeAvro(r.tx, 5, &m);
    uint32_t id = 0;
    std::string json;
    Status s = ValidateConfluent(*schema, m, &id, i < 10 ? &json : nullptr);
    ASSERT_TRUE(s.ok()) << i << ": " << s.message();
    EXPECT_EQ(id, 5u);
    if (i < 10) {
      EXPECT_NE(json.find(std::string(r.tx.transaction_id)), std::string::npos) << json;
      EXPECT_NE(json.find(std::string(r.tx.user)), std::string::npos) << json;
    }
  }
}

TEST(AvroSchema, EveryTruncationAndTrailingBytesAreErrors) {
  auto schema = MustParse(TransactionAvsc());
  ASSERT_TRUE(schema);
  Generator gen(GeneratorConfig{});
  GeneratedRecord r;
  gen.Make(3, &r);
  std::string m;
  EncodeAvro(r.tx, 1, &m);
  const std::string datum = m.substr(kConfluentHeaderSize);
  for (size_t n = 0; n < datum.size(); ++n) {
    std::unique_ptr<char[]> copy(new char[n + 1]);
    std::memcpy(copy.get(), datum.data(), n);
    Status s = schema->Validate(std::string_view(copy.get(), n));
    EXPECT_FALSE(s.ok()) << "cut at " << n;
  }
  Status s = schema->Validate(datum + "ab");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "2 trailing byte(s) after the dev.spate.Transaction datum");
  uint32_t id;
  EXPECT_FALSE(ValidateConfluent(*schema, "\x01\x00\x00\x00\x01" + datum, &id).ok());
  EXPECT_FALSE(ValidateConfluent(*schema, std::string("\x00\x00", 2), &id).ok());
  // The failed reads above freed what avro-c lost, and nothing the schema still uses.
  EXPECT_TRUE(schema->Validate(datum).ok());
}

TEST(AvroSchema, ValidatesOtherSchemas) {
  auto lng = MustParse(R"("long")");
  ASSERT_TRUE(lng);
  EXPECT_EQ(lng->name(), "long");
  std::string json;
  ASSERT_TRUE(lng->Validate("\x03", &json).ok());  // zigzag -2
  EXPECT_EQ(json, "-2");
  EXPECT_FALSE(lng->Validate("\x80").ok());  // unterminated varint
  EXPECT_FALSE(lng->Validate("").ok());

  auto arr = MustParse(R"({"type":"array","items":"int"})");
  ASSERT_TRUE(arr);
  ASSERT_TRUE(arr->Validate(std::string("\x04\x02\x04\x00", 4), &json).ok());  // [1, 2]
  EXPECT_EQ(json, "[1, 2]");
  EXPECT_FALSE(arr->Validate(std::string("\x04\x02", 2)).ok());  // one item missing

  auto rec = MustParse(R"({"type":"record","name":"P","namespace":"x.y","fields":[
      {"name":"name","type":"string"},
      {"name":"tags","type":{"type":"map","values":"long"}},
      {"name":"opt","type":["null","double"]},
      {"name":"id","type":{"type":"fixed","name":"Id","size":4}}]})");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->name(), "x.y.P");
  std::string d;
  AvroString("ann", &d);
  AvroLong(1, &d);  // one map entry
  AvroString("k", &d);
  AvroLong(7, &d);
  AvroLong(0, &d);  // end of map
  AvroLong(0, &d);  // union branch null
  d += "abcd";
  ASSERT_TRUE(rec->Validate(d, &json).ok()) << rec->Validate(d).message();
  EXPECT_NE(json.find("\"ann\""), std::string::npos) << json;
  std::string bad_union = d;
  bad_union[bad_union.size() - 5] = 0x06;  // branch 3 of a 2-branch union
  EXPECT_FALSE(rec->Validate(bad_union).ok());
  EXPECT_FALSE(rec->Validate(d.substr(0, d.size() - 1)).ok());  // fixed cut short
}

TEST(AvroSchema, HostileLengthsAreErrorsNotAllocations) {
  auto str = MustParse(R"("string")");
  ASSERT_TRUE(str);
  std::string d;
  AvroLong(int64_t{1} << 60, &d);  // a string of 2^60 bytes, claimed
  d += "abc";
  EXPECT_FALSE(str->Validate(d).ok());
  auto arr = MustParse(R"({"type":"array","items":"null"})");
  ASSERT_TRUE(arr);
  d.clear();
  AvroLong(int64_t{1} << 40, &d);  // 2^40 nulls take no bytes: bounded by the allocator
  EXPECT_FALSE(arr->Validate(d).ok());
}

// Found by fuzz/avro_schema_fuzz.cc: avro-c 1.11 refuses a union of two fixed types of one
// name but leaks the first. The leak checker of the sanitizer build fails this test if the
// blocks avro-c lost are not freed.
TEST(AvroSchema, FailedParsesLeakNothing) {
  auto s = AvroSchema::Parse(
      R"({"type":"record","name":"a","fields":[{"name":"f","type":[)"
      R"({"type":"fixed","name":"F","size":0},{"type":"fixed","name":"F","size":6}]}]})");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("invalid Avro schema"), std::string::npos);
  EXPECT_TRUE(MustParse(R"({"type":"fixed","name":"F","size":6})"));  // the thread still parses
}

// avro-c accepts two fields of one name, with which a schema cannot even read its own data
// (found by fuzz/avro_schema_fuzz.cc), and an enum symbol twice: both are invalid Avro.
TEST(AvroSchema, DuplicateFieldsAndSymbolsAreRefused) {
  for (const char* bad :
       {R"({"type":"record","name":"a","fields":[{"name":"c","type":["long"]},)"
        R"({"name":"c","type":["string"]}]})",
        R"({"type":"record","name":"a","fields":[{"name":"r","type":{"type":"record",)"
        R"("name":"b","fields":[{"name":"x","type":"int"},{"name":"x","type":"int"}]}}]})",
        R"({"type":"array","items":{"type":"enum","name":"E","symbols":["A","B","A"]}})"}) {
    auto s = AvroSchema::Parse(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.status().message().find("twice"), std::string::npos) << s.status().message();
  }
}

// Every walk over a schema recurses per level: a deep one is refused with a reason, never
// followed off the stack (issue 17: 50,000 levels crashed `spate registry`).
TEST(AvroSchema, TooDeepSchemasAreRefused) {
  const std::string deep_json = std::string(50'000, '[') + R"("int")" + std::string(50'000, ']');
  auto s = AvroSchema::Parse(deep_json);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("nested deeper than 256 levels of JSON"), std::string::npos)
      << s.status().message();
  // Brackets inside strings are text, not nesting.
  EXPECT_TRUE(CheckSchemaJsonDepth(R"({"doc":")" + std::string(1000, '[') + R"("})").ok());
  EXPECT_TRUE(CheckSchemaJsonDepth(R"({"doc":"\"[[["})").ok());  // an escaped quote
  EXPECT_FALSE(CheckSchemaJsonDepth(std::string(kMaxSchemaJsonDepth + 1, '{')).ok());

  EXPECT_TRUE(MustParse(NestedArrays(kMaxSchemaDepth)));
  s = AvroSchema::Parse(NestedArrays(kMaxSchemaDepth + 1));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("types nested deeper than 64 levels"), std::string::npos)
      << s.status().message();
  // The same depth reached through references to named types, in JSON only four levels deep.
  EXPECT_TRUE(MustParse(ReferenceChain(kMaxSchemaDepth - 2)));
  EXPECT_FALSE(AvroSchema::Parse(ReferenceChain(kMaxSchemaDepth - 1)).ok());
  EXPECT_FALSE(AvroSchema::Parse(ReferenceChain(5'000)).ok());
  // A recursive type is not deep: its reference to itself ends the path.
  EXPECT_TRUE(MustParse(R"({"type":"record","name":"Node","fields":[{"name":"v","type":"int"},)"
                        R"({"name":"next","type":["null","Node"]}]})"));
}

TEST(AvroSchema, ValidatesAnAnomalyDatum) {
  auto schema = MustParse(AnomalyAvsc());
  ASSERT_TRUE(schema);
  std::string d;
  AvroLong(2, &d);  // velocity_count
  AvroString("user_5", &d);
  AvroString("1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b", &d);
  AvroLong(1'767'225'600'000, &d);
  AvroLong(0, &d);         // amount: the scale-2 branch
  AvroString("\x01", &d);  // 0.01
  AvroLong(99, &d);        // sequence
  AvroLong(1, &d);         // evidence: VelocityEvidence
  AvroLong(11, &d);
  AvroLong(0, &d);
  AvroString("\x27\x10", &d);  // 100.00
  AvroLong(10'000, &d);
  AvroLong(10, &d);
  AvroLong(0, &d);
  AvroString(std::string("\x05\xf5\xe1\x00", 4), &d);  // 1000000.00
  AvroLong(1, &d);                                     // currency: string
  AvroString("USD", &d);
  std::string json;
  ASSERT_TRUE(schema->Validate(d, &json).ok()) << schema->Validate(d).message();
  EXPECT_NE(json.find("velocity_count"), std::string::npos) << json;
}

}  // namespace
}  // namespace spate
