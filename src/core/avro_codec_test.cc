// The hand-specialised Avro codec: byte layout against an independent writer, round trips of
// generated records against the JSON codec, every malformed variant with its code, truncation
// at every offset, agreement with avro-c's generic validation, and version 1's frames.

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

// A transaction datum of schemas/transaction.avsc built field by field with the independent
// writer: each field given as it goes on the wire, so a test can put any (wrong) value in any
// field. Version 2 by default; v1 leaves out the union branches.
struct Datum {
  bool v1 = false;
  uint8_t magic = 0;
  uint32_t schema_id = 1;
  std::string transaction_id = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b";
  std::string user = "user_17";
  int64_t amount_branch = 0;                                // bytes, scale 2
  std::string amount = std::string("\x00\xbc\x61\x4e", 4);  // 123456.78
  int64_t time = 1'767'225'600'123;
  std::string merchant = "merchant3";
  int64_t type_branch = 0;  // the writer's choice for a symbol
  int64_t type = 1;         // v1: refund
  std::string type_text = "refund";
  std::string location = "location 42";
  int64_t method_branch = 0;
  int64_t payment_method = 2;  // v1: bank_transfer
  std::string method_text = "bank_transfer";
  uint8_t international = 1;
  int64_t currency_branch = 0;
  int64_t currency = 1;  // v1: EU
  std::string currency_text = "EU";

  static void Long(int64_t v, std::string* out) { test::AvroLong(v, out); }
  static void Str(std::string_view s, std::string* out) { test::AvroString(s, out); }
  std::string Frame() const {
    std::string o;
    o.push_back(static_cast<char>(magic));
    for (int shift = 24; shift >= 0; shift -= 8) o.push_back(static_cast<char>(schema_id >> shift));
    return o;
  }
  void EnumOrString(int64_t branch, int64_t index, std::string_view text, std::string* o) const {
    if (!v1) Long(branch, o);
    if (v1 || branch == 0) {
      Long(index, o);
    } else {
      Str(text, o);
    }
  }
  std::string Record() const {
    std::string o;
    Str(transaction_id, &o);
    Str(user, &o);
    if (!v1) Long(amount_branch, &o);
    if (amount_branch == 1 && !v1) {
      o += amount;  // fixed[16]
    } else {
      Str(amount, &o);
    }
    Long(time, &o);
    Str(merchant, &o);
    EnumOrString(type_branch, type, type_text, &o);
    Str(location, &o);
    EnumOrString(method_branch, payment_method, method_text, &o);
    o.push_back(static_cast<char>(international));
    EnumOrString(currency_branch, currency, currency_text, &o);
    return o;
  }
  std::string Bytes() const { return Frame() + Record(); }
};

TransactionData Sample() { return test::SampleTransaction(); }

DecodeError Decode(std::string_view msg, TransactionData* tx = nullptr,
                   std::string* reason = nullptr, AvroVersion version = AvroVersion::kV2) {
  auto d = NewAvroDecoder(1, version, RecordFormat());
  Transaction t;
  std::string r;
  DecodeError e = d->Decode(msg, msg.size(), &t, reason ? reason : &r);
  if (e != DecodeError::kNone && reason == nullptr) {
    EXPECT_FALSE(r.empty());
  }
  if (tx && e == DecodeError::kNone) *tx = TransactionData::From(t);
  return e;
}

bool Same(const TransactionData& a, const TransactionData& b) { return a.View() == b.View(); }

// 16 bytes, big-endian two's complement.
std::string Fixed16(Sum v) {
  std::string s;
  for (int i = 15; i >= 0; --i) s.push_back(static_cast<char>(static_cast<USum>(v) >> (8 * i)));
  return s;
}

TEST(AvroCodec, WritesTheSchemasBinaryEncodingInAConfluentFrame) {
  std::string out = "prefix";
  EncodeAvro(Sample().View(), 42, &out);
  Datum d;
  d.schema_id = 42;
  EXPECT_EQ(out, "prefix" + d.Bytes());
  const std::string_view avro = std::string_view(out).substr(6);
  EXPECT_EQ(avro.substr(0, 5), std::string_view("\x00\x00\x00\x00\x2a", 5));
  EXPECT_EQ(avro[5], 72);  // zigzag(36), then the UUID's text
  // amount: union branch 0, decimal 123456.78 in 4 bytes, big-endian two's complement of
  // 12345678 (0xbc614e needs a leading 0x00 to stay positive); then transactionTime.
  EXPECT_NE(
      avro.find(std::string_view("user_17\x00\x08\x00\xbc\x61\x4e\xf6\xa1\xd5\xed\xee\x66", 19)),
      std::string_view::npos);
}

TEST(AvroCodec, AmountsOfEveryCurrencyAreExact) {
  struct Case {
    const char* currency;
    int64_t minor;
    Datum datum;
  };
  auto bytes2 = [](std::string s) {
    Datum d;
    d.amount = std::move(s);
    return d;
  };
  auto fixed4 = [](Sum unscaled) {
    Datum d;
    d.amount_branch = 1;
    d.amount = Fixed16(unscaled);
    return d;
  };
  const std::vector<Case> cases = {
      {"USD", 1, bytes2("\x01")},
      {"USD", 127, bytes2("\x7f")},
      {"USD", 128, bytes2(std::string("\x00\x80", 2))},
      {"USD", -1, bytes2("\xff")},
      {"USD", 0, bytes2(std::string("\x00", 1))},
      {"JPY", 1200, bytes2(std::string("\x01\xd4\xc0", 3))},  // 1200.00 at scale 2
      {"BHD", 1234, fixed4(12340)},                           // 1.2340 at scale 4
      {"CLF", -56789, fixed4(-56789)},
      {"USD", kMaxAmount, bytes2("\x0d\xe0\xb6\xb3\xa7\x63\xff\xff")},
      {"JPY", kMaxAmount, fixed4(Sum{kMaxAmount} * 10'000)},  // 20 digits at scale 2
      {"JPY", 9'999'999'999'999'999, bytes2("\x0d\xe0\xb6\xb3\xa7\x63\xff\x9c")},
      {"JPY", 10'000'000'000'000'000, fixed4(Sum{10'000'000'000'000'000} * 10'000)},
  };
  for (const Case& c : cases) {
    TransactionData t = Sample();
    t.amount = c.minor;
    t.currency = *ParseCurrency(c.currency);
    std::string got;
    EncodeAvro(t.View(), 1, &got);
    Datum d = c.datum;
    d.currency_text = c.currency;
    d.currency_branch = d.currency_text == "USD" ? 0 : 1;  // USD is the enum's symbol 0
    d.currency = 0;
    EXPECT_EQ(got, d.Bytes()) << c.currency << " " << c.minor;
    TransactionData back;
    ASSERT_EQ(Decode(got, &back), DecodeError::kNone) << c.minor;
    EXPECT_TRUE(Same(back, t)) << c.currency << " " << c.minor;
  }
  // JPY at scale 4, and BHD at scale 2: any writer's choice of branch reads the same.
  Datum d = fixed4(12'000'000);
  d.currency_branch = 1;
  d.currency_text = "JPY";
  TransactionData back;
  ASSERT_EQ(Decode(d.Bytes(), &back), DecodeError::kNone);
  EXPECT_EQ(back.amount, 1200);
  d = bytes2("\x7b");  // 1.23 BHD
  d.currency_branch = 1;
  d.currency_text = "BHD";
  ASSERT_EQ(Decode(d.Bytes(), &back), DecodeError::kNone);
  EXPECT_EQ(back.amount, 1230);
  // More decimals than the currency has: a dead letter.
  d = bytes2("\x01");  // 0.01 JPY
  d.currency_branch = 1;
  d.currency_text = "JPY";
  std::string reason;
  EXPECT_EQ(Decode(d.Bytes(), nullptr, &reason), DecodeError::kBadValue);
  EXPECT_NE(reason.find("more decimals than JPY"), std::string::npos) << reason;
}

TEST(AvroCodec, ReadsVersion1Frames) {
  Datum d;
  d.v1 = true;
  TransactionData t;
  std::string reason;
  ASSERT_EQ(Decode(d.Bytes(), &t, &reason, AvroVersion::kV1), DecodeError::kNone) << reason;
  EXPECT_TRUE(Same(t, Sample()));
  EXPECT_EQ(t.type, "refund");
  EXPECT_EQ(t.payment_method, "bank_transfer");
  EXPECT_EQ(CurrencySpelling(t.currency), "EU");
  // Version 2's string branches read the same values.
  Datum e;
  e.type_branch = e.method_branch = e.currency_branch = 1;
  ASSERT_EQ(Decode(e.Bytes(), &t, &reason), DecodeError::kNone) << reason;
  EXPECT_TRUE(Same(t, Sample()));
}

TEST(AvroCodec, RoundTripsGeneratedRecordsLikeTheJsonCodec) {
  for (Profile profile : {Profile::kReference, Profile::kRealistic}) {
    GeneratorConfig config;
    config.profile = profile;
    config.skew = Skew::kZipf;
    config.anomalies = 0.01;  // large amounts too
    config.out_of_order = 0.1;
    Generator gen(config);
    auto avro = NewDecoder(WireFormat::kAvro);
    auto json = NewDecoder(WireFormat::kJson);
    GeneratedRecord r;
    std::string a, j, reason;
    Transaction from_avro, from_json;
    for (uint64_t i = 0; i < 50'000; ++i) {
      gen.Make(i, &r);
      a.clear();
      j.clear();
      EncodeAvro(r.tx, kDefaultAvroSchemaId, &a);
      EncodeJson(r.tx, &j);
      ASSERT_EQ(avro->Decode(a, a.size(), &from_avro, &reason), DecodeError::kNone)
          << i << ": " << reason;
      ASSERT_EQ(from_avro, r.tx) << i;
      ASSERT_EQ(json->Decode(j, j.size(), &from_json, &reason), DecodeError::kNone)
          << i << ": " << reason;
      ASSERT_EQ(from_json, r.tx) << i;
    }
  }
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
  with("empty transactionId", DecodeError::kBadValue, [](Datum& d) { d.transaction_id = ""; });
  with("empty user", DecodeError::kBadValue, [](Datum& d) { d.user = ""; });
  with("user not UTF-8", DecodeError::kBadValue, [](Datum& d) { d.user = "us\xffr"; });
  with("user of 257 bytes", DecodeError::kBadValue,
       [](Datum& d) { d.user = std::string(257, 'u'); });
  with("amount above the maximum", DecodeError::kOutOfRange,
       [](Datum& d) { d.amount = std::string("\x0d\xe0\xb6\xb3\xa7\x64\x00\x00", 8); });
  with("amount wider than 128 bits", DecodeError::kOutOfRange,
       [](Datum& d) { d.amount = std::string("\x01") + std::string(16, '\0'); });
  with("empty decimal", DecodeError::kBadAvro, [](Datum& d) { d.amount = ""; });
  with("amount branch 2", DecodeError::kBadAvro, [](Datum& d) { d.amount_branch = 2; });
  with("time in seconds", DecodeError::kOutOfRange, [](Datum& d) { d.time = 1'767'225'600; });
  with("time negative", DecodeError::kOutOfRange, [](Datum& d) { d.time = -1; });
  with("transactionType index 2", DecodeError::kBadAvro, [](Datum& d) {
    d.type_branch = 0;
    d.type = 2;
  });
  with("paymentMethod branch -1", DecodeError::kBadAvro, [](Datum& d) { d.method_branch = -1; });
  with("currency branch 2", DecodeError::kBadAvro, [](Datum& d) { d.currency_branch = 2; });
  with("currency XYZ", DecodeError::kBadValue, [](Datum& d) {
    d.currency_branch = 1;
    d.currency_text = "XYZ";
  });
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
  d.user = std::string("us\xffr", 4);
  EXPECT_EQ(Decode(d.Bytes(), nullptr, &reason), DecodeError::kBadValue);
  EXPECT_EQ(reason, R"(userId: "us\xffr" is not UTF-8)");
  d = Datum();
  d.currency_branch = 0;
  d.currency = 5;
  EXPECT_EQ(Decode(d.Bytes(), nullptr, &reason), DecodeError::kBadAvro);
  EXPECT_EQ(reason, "currency: enum index 5 outside 0..2");
}

TEST(AvroCodec, AcceptsOtherWritersValidEncodings) {
  // Non-minimal varints and padded decimals are valid Avro: accepted, same values.
  Datum d;
  d.amount = std::string("\x00\x00\x00\x00\x00\x00\x00\x00\x00\xbc\x61\x4e", 12);
  TransactionData t;
  ASSERT_EQ(Decode(d.Bytes(), &t), DecodeError::kNone);
  EXPECT_TRUE(Same(t, Sample()));
  std::string b = d.Frame() + std::string("\xc8\x00", 2) +  // 36 as a two-byte varint
                  d.Record().substr(1);
  ASSERT_EQ(Decode(b, &t), DecodeError::kNone);
  EXPECT_TRUE(Same(t, Sample()));
}

TEST(AvroCodec, EveryTruncationIsRejected) {
  GeneratorConfig config;
  config.profile = Profile::kRealistic;
  Generator gen(config);
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
    }
  }
}

TEST(AvroCodec, CorruptBytesNeverCrashAndAcceptedOnesAreValidForAvroC) {
  // Every byte of a record replaced by several values: the decoder must not crash, and what it
  // accepts must be valid under schemas/transaction.avsc by avro-c's generic reader (the fast
  // path accepts a subset of the schema's datums).
  auto schema = AvroSchema::Parse(TransactionAvsc());
  ASSERT_TRUE(schema.ok()) << schema.status().message();
  GeneratorConfig config;
  config.profile = Profile::kRealistic;
  Generator gen(config);
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
          ASSERT_LE(tx.amount, kMaxAmount);
          ASSERT_GE(tx.amount, -kMaxAmount);
          ASSERT_LE(tx.time_ms, kMaxTimeMs);
        }
      }
    }
  }
  EXPECT_GT(accepted, 0u);  // e.g. other letters in the ids
}

}  // namespace
}  // namespace spate
