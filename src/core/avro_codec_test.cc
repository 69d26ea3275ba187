// The hand-specialised Avro codec: byte layout against an independent writer, round trips of
// generated records against the JSON codec, every malformed variant with its code, truncation
// at every offset, and agreement with avro-c's generic validation.

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/avro_schema.h"
#include "core/codec.h"
#include "core/codec_testing.h"
#include "gen/generator.h"

namespace spate {
namespace {

// A transaction datum built field by field with the independent writer: each field given as
// it goes on the wire, so a test can put any (wrong) value in any field.
struct Datum {
  uint8_t magic = 0;
  uint32_t schema_id = 1;
  std::string transaction_id = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b";
  std::string user = "user_17";
  std::string amount = std::string("\x00\xbc\x61\x4e", 4);  // 123456.78
  int64_t time = 1'767'225'600'123;
  std::string merchant = "merchant3";
  int64_t type = 1;  // refund
  std::string location = "location 42";
  int64_t payment_method = 2;  // bank_transfer
  uint8_t international = 1;
  int64_t currency = 1;  // EU

  static void Long(int64_t v, std::string* out) { test::AvroLong(v, out); }
  static void Str(std::string_view s, std::string* out) { test::AvroString(s, out); }
  std::string Frame() const {
    std::string o;
    o.push_back(static_cast<char>(magic));
    for (int shift = 24; shift >= 0; shift -= 8) o.push_back(static_cast<char>(schema_id >> shift));
    return o;
  }
  std::string Record() const {
    std::string o;
    Str(transaction_id, &o);
    Str(user, &o);
    Str(amount, &o);
    Long(time, &o);
    Str(merchant, &o);
    Long(type, &o);
    Str(location, &o);
    Long(payment_method, &o);
    o.push_back(static_cast<char>(international));
    Long(currency, &o);
    return o;
  }
  std::string Bytes() const { return Frame() + Record(); }
};

Transaction Sample() { return test::SampleTransaction(); }

DecodeError Decode(std::string_view msg, Transaction* tx = nullptr, std::string* reason = nullptr,
                   uint32_t schema_id = 1) {
  auto d = NewDecoder(WireSpec(WireFormat::kAvro, schema_id));
  Transaction t;
  std::string r;
  DecodeError e = d->Decode(msg, msg.size(), tx ? tx : &t, reason ? reason : &r);
  if (e != DecodeError::kNone && reason == nullptr) {
    EXPECT_FALSE(r.empty());
  }
  return e;
}

TEST(AvroCodec, WritesTheSchemasBinaryEncodingInAConfluentFrame) {
  std::string out = "prefix";
  EncodeAvro(Sample(), 42, &out);
  Datum d;
  d.schema_id = 42;
  EXPECT_EQ(out, "prefix" + d.Bytes());
  const std::string_view avro = std::string_view(out).substr(6);
  EXPECT_EQ(avro.substr(0, 5), std::string_view("\x00\x00\x00\x00\x2a", 5));
  EXPECT_EQ(avro[5], 72);  // zigzag(36), then the UUID's text
  // decimal 123456.78: 4 bytes, big-endian two's complement of 12345678 (0xbc614e needs a
  // leading 0x00 to stay positive); then transactionTime as a zigzag varint.
  EXPECT_NE(avro.find(std::string_view("user_17\x08\x00\xbc\x61\x4e\xf6\xa1\xd5\xed\xee\x66", 18)),
            std::string_view::npos);
  EXPECT_EQ(avro.size(), 87u);
}

TEST(AvroCodec, DecimalTakesTheFewestBytes) {
  struct Case {
    int64_t cents;
    std::string bytes;
  };
  for (const Case& c : {Case{1, "\x01"}, Case{127, "\x7f"}, Case{128, std::string("\x00\x80", 2)},
                        Case{32'767, "\x7f\xff"}, Case{32'768, std::string("\x00\x80\x00", 3)},
                        Case{kMaxAmountCents, std::string("\x02\x54\x0b\xe4\x00", 5)}}) {
    Transaction t = Sample();
    t.amount_cents = c.cents;
    std::string got;
    EncodeAvro(t, 1, &got);
    Datum d;
    d.amount = c.bytes;
    EXPECT_EQ(got, d.Bytes()) << c.cents;
    Transaction back;
    ASSERT_EQ(Decode(got, &back), DecodeError::kNone) << c.cents;
    EXPECT_EQ(back, t);
  }
}

TEST(AvroCodec, RoundTripsGeneratedRecordsLikeTheJsonCodec) {
  GeneratorConfig config;
  config.skew = Skew::kZipf;
  config.anomalies = 0.01;  // large amounts too
  config.out_of_order = 0.1;
  Generator gen(config);
  auto avro = NewDecoder(WireFormat::kAvro);
  auto json = NewDecoder(WireFormat::kJson);
  GeneratedRecord r;
  std::string a, j, reason;
  Transaction from_avro, from_json;
  size_t total = 0;
  for (uint64_t i = 0; i < 100'000; ++i) {
    gen.Make(i, &r);
    a.clear();
    j.clear();
    EncodeAvro(r.tx, kDefaultAvroSchemaId, &a);
    EncodeJson(r.tx, &j);
    total += a.size();
    ASSERT_LE(a.size(), kMaxEncodedSize);
    ASSERT_EQ(avro->Decode(a, a.size(), &from_avro, &reason), DecodeError::kNone)
        << i << ": " << reason;
    ASSERT_EQ(json->Decode(j, j.size(), &from_json, &reason), DecodeError::kNone)
        << i << ": " << reason;
    ASSERT_EQ(from_avro, r.tx) << i;
    ASSERT_EQ(from_avro, from_json) << i;
  }
  EXPECT_LT(total / 100'000, TypicalEncodedSize(WireFormat::kAvro));
}

TEST(AvroCodec, RejectsEveryMalformedVariantWithItsCode) {
  struct Case {
    const char* what;
    std::string bytes;
    DecodeError want;
  };
  std::vector<Case> cases;
  auto with = [&](const char* what, DecodeError want, auto change) {
    Datum d;
    change(d);
    cases.push_back({what, d.Bytes(), want});
  };
  const Datum good;
  cases.push_back({"empty", "", DecodeError::kBadAvro});
  cases.push_back({"header only, 4 bytes", good.Bytes().substr(0, 4), DecodeError::kBadAvro});
  cases.push_back({"frame without a record", good.Frame(), DecodeError::kBadAvro});
  cases.push_back({"JSON", R"({"transactionId":"x"})", DecodeError::kBadAvro});
  cases.push_back({"trailing byte", good.Bytes() + "x", DecodeError::kTrailingContent});
  with("magic byte 1", DecodeError::kBadAvro, [](Datum& d) { d.magic = 1; });
  with("other schema id", DecodeError::kUnknownSchema, [](Datum& d) { d.schema_id = 2; });
  with("schema id with the high byte", DecodeError::kUnknownSchema,
       [](Datum& d) { d.schema_id = 0x01000001; });
  with("bad uuid", DecodeError::kBadValue, [](Datum& d) { d.transaction_id = "not-a-uuid"; });
  with("uuid with \\n", DecodeError::kBadValue,
       [](Datum& d) { d.transaction_id = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633\n"; });
  with("user_0", DecodeError::kBadValue, [](Datum& d) { d.user = "user_0"; });
  with("user without prefix", DecodeError::kBadValue, [](Datum& d) { d.user = "17"; });
  with("merchant with leading zero", DecodeError::kBadValue,
       [](Datum& d) { d.merchant = "merchant03"; });
  with("location too large", DecodeError::kBadValue,
       [](Datum& d) { d.location = "location 2147483648"; });
  with("amount 0", DecodeError::kOutOfRange, [](Datum& d) { d.amount = std::string("\x00", 1); });
  with("amount -0.01", DecodeError::kOutOfRange, [](Datum& d) { d.amount = "\xff"; });
  with("amount above the maximum", DecodeError::kOutOfRange,
       [](Datum& d) { d.amount = "\x02\x54\x0b\xe4\x01"; });
  with("amount wider than 64 bits", DecodeError::kOutOfRange,
       [](Datum& d) { d.amount = std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x01", 9); });
  with("empty decimal", DecodeError::kBadAvro, [](Datum& d) { d.amount = ""; });
  with("time in seconds", DecodeError::kOutOfRange, [](Datum& d) { d.time = 1'767'225'600; });
  with("time negative", DecodeError::kOutOfRange, [](Datum& d) { d.time = -1; });
  with("transactionType index 2", DecodeError::kBadAvro, [](Datum& d) { d.type = 2; });
  with("paymentMethod index -1", DecodeError::kBadAvro, [](Datum& d) { d.payment_method = -1; });
  with("currency index 3", DecodeError::kBadAvro, [](Datum& d) { d.currency = 3; });
  with("boolean 2", DecodeError::kBadAvro, [](Datum& d) { d.international = 2; });
  {
    // A negative string length, and one longer than the message.
    std::string b = good.Frame();
    Datum::Long(-1, &b);
    cases.push_back({"negative length", b, DecodeError::kBadAvro});
    b = good.Frame();
    Datum::Long(1000, &b);
    b += "abc";
    cases.push_back({"length past the end", b, DecodeError::kBadAvro});
    // A varint of 11 bytes, and a 10-byte one whose last byte overflows 64 bits.
    b = good.Frame() + std::string(10, '\x80') + '\x01';
    cases.push_back({"11-byte varint", b, DecodeError::kBadAvro});
    b = good.Frame() + std::string(9, '\xff') + '\x02';
    cases.push_back({"varint over 64 bits", b, DecodeError::kBadAvro});
  }
  for (const Case& c : cases) {
    std::string reason;
    EXPECT_EQ(Decode(c.bytes, nullptr, &reason), c.want) << c.what << ": got " << reason;
    EXPECT_FALSE(reason.empty()) << c.what;
  }
}

TEST(AvroCodec, ReasonsNameTheProblem) {
  std::string reason;
  Datum d;
  d.schema_id = 9;
  EXPECT_EQ(Decode(d.Bytes(), nullptr, &reason), DecodeError::kUnknownSchema);
  EXPECT_EQ(reason, "schema id 9, expected 1 (dev.spate.Transaction)");
  EXPECT_EQ(Decode(R"({"a":1})", nullptr, &reason), DecodeError::kBadAvro);
  EXPECT_NE(reason.find("magic byte 0x7b"), std::string::npos) << reason;
  d = Datum();
  d.user = std::string("us\x01r", 4);
  EXPECT_EQ(Decode(d.Bytes(), nullptr, &reason), DecodeError::kBadValue);
  EXPECT_EQ(reason, R"(userId: "us\x01r" is not of the form user_<n>)");
  d = Datum();
  d.currency = 5;
  EXPECT_EQ(Decode(d.Bytes(), nullptr, &reason), DecodeError::kBadAvro);
  EXPECT_EQ(reason, "currency: enum index 5 outside 0..2");
}

TEST(AvroCodec, AcceptsOtherWritersValidEncodings) {
  // Non-minimal varints and padded decimals are valid Avro: accepted, same values.
  Datum d;
  d.amount = std::string("\x00\x00\x00\x00\x00\x00\x00\x00\x00\xbc\x61\x4e", 12);
  Transaction t;
  ASSERT_EQ(Decode(d.Bytes(), &t), DecodeError::kNone);
  EXPECT_EQ(t, Sample());
  std::string b = d.Frame() + std::string("\xc8\x00", 2) +  // 36 as a two-byte varint
                  d.Record().substr(1);
  ASSERT_EQ(Decode(b, &t), DecodeError::kNone);
  EXPECT_EQ(t, Sample());
}

TEST(AvroCodec, EveryTruncationIsRejected) {
  Generator gen(GeneratorConfig{});
  GeneratedRecord r;
  auto dec = NewDecoder(WireFormat::kAvro);
  Transaction tx;
  std::string reason;
  for (uint64_t i = 0; i < 200; ++i) {
    gen.Make(i, &r);
    std::string full;
    EncodeAvro(r.tx, 1, &full);
    for (size_t n = 0; n < full.size(); ++n) {
      // An exact-size heap copy, so ASan sees any read past the end.
      std::unique_ptr<char[]> copy(new char[n + 1]);
      std::memcpy(copy.get(), full.data(), n);
      DecodeError e = dec->Decode(std::string_view(copy.get(), n), n, &tx, &reason);
      ASSERT_NE(e, DecodeError::kNone) << "record " << i << " cut at " << n;
      ASSERT_TRUE(e == DecodeError::kBadAvro)
          << "record " << i << " cut at " << n << ": " << reason;
    }
  }
}

TEST(AvroCodec, CorruptBytesNeverCrashAndAcceptedOnesAreValidForAvroC) {
  // Every byte of a record replaced by several values: the decoder must not crash, and what it
  // accepts must be valid under schemas/transaction.avsc by avro-c's generic reader (the fast
  // path accepts a subset of the schema's datums).
  auto schema = AvroSchema::Parse(TransactionAvsc());
  ASSERT_TRUE(schema.ok()) << schema.status().message();
  Generator gen(GeneratorConfig{});
  GeneratedRecord r;
  auto dec = NewDecoder(WireFormat::kAvro);
  Transaction tx;
  std::string reason;
  uint64_t accepted = 0;
  for (uint64_t i = 0; i < 20; ++i) {
    gen.Make(i, &r);
    std::string full;
    EncodeAvro(r.tx, 1, &full);
    for (size_t pos = 0; pos < full.size(); ++pos) {
      for (int v : {0x00, 0x01, 0x02, 0x30, 0x7f, 0x80, 0xfe, 0xff}) {
        std::string m = full;
        m[pos] = static_cast<char>(v);
        if (dec->Decode(m, m.size(), &tx, &reason) == DecodeError::kNone) {
          ++accepted;
          uint32_t id = 0;
          Status s = ValidateConfluent(*schema.value(), m, &id);
          ASSERT_TRUE(s.ok()) << "pos " << pos << " value " << v << ": " << s.message();
          ASSERT_GE(tx.amount_cents, kMinAmountCents);
          ASSERT_LE(tx.time_ms, kMaxTimeMs);
        }
      }
    }
  }
  EXPECT_GT(accepted, 0u);  // e.g. other digits in the UUID
}

}  // namespace
}  // namespace spate
