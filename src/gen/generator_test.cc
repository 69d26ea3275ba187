#include "gen/generator.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "gen/generator_testing.h"
#include "gen/names.h"

namespace spate {
namespace {

GeneratorConfig Config() { return test::GeneratorTestConfig(); }

TEST(Generator, SameSeedSameRecordsAnyInstance) {
  for (Profile profile : {Profile::kReference, Profile::kRealistic}) {
    GeneratorConfig cfg = Config();
    cfg.profile = profile;
    Generator a(cfg), b(cfg);
    GeneratorConfig other = cfg;
    other.seed = 8;
    Generator c(other);
    GeneratedRecord ra, rb, rc;
    int differ = 0;
    for (uint64_t i = 0; i < 10'000; ++i) {
      a.Make(i, &ra);
      b.Make(i, &rb);
      c.Make(i, &rc);
      ASSERT_EQ(ra.tx, rb.tx);
      ASSERT_EQ(ra.malformed_kind, rb.malformed_kind);
      differ += !(ra.tx == rc.tx);
    }
    EXPECT_GT(differ, 9'900);
  }
}

TEST(Generator, ReferenceRecordsStayInTheirDomains) {
  GeneratorConfig cfg = Config();
  cfg.anomalies = 0;
  Generator g(cfg);
  GeneratedRecord r;
  std::set<std::string> ids;
  for (uint64_t i = 0; i < 20'000; ++i) {
    g.Make(i, &r);
    EXPECT_GE(r.user_index, 1u);
    EXPECT_LE(r.user_index, cfg.users);
    EXPECT_EQ(r.tx.user, IdString(kUserPrefix, r.user_index));
    EXPECT_GE(r.merchant_index, 1u);
    EXPECT_LE(r.merchant_index, cfg.merchants);
    EXPECT_EQ(r.tx.merchant, IdString(kMerchantPrefix, r.merchant_index));
    EXPECT_GE(r.tx.amount, 5'000'000);
    EXPECT_LE(r.tx.amount, 15'000'000);
    EXPECT_LE(r.tx.time_ms, g.BaseTimeMs(i));
    const std::string_view code = CurrencySpelling(r.tx.currency);
    EXPECT_TRUE(code == "USD" || code == "EU" || code == "GBP") << code;
    EXPECT_EQ(r.tx.transaction_id.size(), 36u);
    EXPECT_EQ(r.tx.transaction_id[14], '4');  // UUID version 4
    ids.insert(std::string(r.tx.transaction_id));
  }
  EXPECT_EQ(ids.size(), 20'000u);
}

TEST(Generator, RealisticRecordsHaveRealWorldValues) {
  GeneratorConfig cfg = Config();
  cfg.profile = Profile::kRealistic;
  cfg.users = 1'000'000;
  cfg.merchants = 50'000;
  Generator g(cfg);
  GeneratedRecord r;
  std::set<std::string> currencies, non_ascii_merchants, methods;
  std::set<int> digits;
  std::map<uint32_t, std::string> user_ids;
  for (uint64_t i = 0; i < 50'000; ++i) {
    g.Make(i, &r);
    ASSERT_EQ(r.tx.user.size(), 36u);  // a UUID per user, the same in every record of the user
    auto [it, added] = user_ids.emplace(r.user_index, std::string(r.tx.user));
    ASSERT_EQ(it->second, r.tx.user);
    ASSERT_TRUE(IsValidUtf8(r.tx.merchant) && IsValidUtf8(r.tx.location));
    if (std::any_of(r.tx.merchant.begin(), r.tx.merchant.end(),
                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
      non_ascii_merchants.insert(std::string(r.tx.merchant));
    }
    currencies.insert(std::string(CurrencyCode(r.tx.currency)));
    digits.insert(MinorDigits(r.tx.currency));
    methods.insert(std::string(r.tx.payment_method));
  }
  EXPECT_GE(currencies.size(), 30u);
  EXPECT_TRUE(currencies.count("JPY") && currencies.count("BHD") && currencies.count("KWD"));
  EXPECT_EQ(digits, (std::set<int>{0, 2, 3}));
  EXPECT_GT(non_ascii_merchants.size(), 100u);
  EXPECT_GE(methods.size(), 10u);
  // Merchant names are distinct per merchant.
  std::set<std::string> names;
  for (uint32_t m = 1; m <= 50'000; ++m) {
    std::string n;
    AppendMerchantName(m, &n);
    names.insert(n);
  }
  EXPECT_EQ(names.size(), 50'000u);
}

TEST(Generator, EveryMalformedKindIsRejectedAndEveryValidRecordDecodes) {
  for (Profile profile : {Profile::kReference, Profile::kRealistic}) {
    GeneratorConfig cfg = Config();
    cfg.profile = profile;
    Generator g(cfg);
    for (WireFormat f : {WireFormat::kJson, WireFormat::kBinary, WireFormat::kAvro}) {
      auto dec = NewDecoder(f);
      int kinds = f == WireFormat::kJson     ? Generator::kJsonMalformedKinds
                  : f == WireFormat::kBinary ? Generator::kBinaryMalformedKinds
                                             : Generator::kAvroMalformedKinds;
      GeneratedRecord r;
      g.Make(1, &r);
      std::string reason;
      Transaction tx;
      for (int k = 0; k < kinds; ++k) {
        r.malformed_kind = k;
        std::string payload;
        g.AppendPayload(r, f, &payload);
        EXPECT_NE(dec->Decode(payload, payload.size(), &tx, &reason), DecodeError::kNone)
            << WireFormatName(f) << " kind " << k << ": " << payload;
        if (f == WireFormat::kJson) {
          EXPECT_EQ(payload.find('\n'), std::string::npos);
        }
      }
      for (uint64_t i = 0; i < 5000; ++i) {
        g.Make(i, &r);
        std::string payload;
        g.AppendPayload(r, f, &payload);
        DecodeError e = dec->Decode(payload, payload.size(), &tx, &reason);
        if (r.malformed_kind < 0) {
          ASSERT_EQ(e, DecodeError::kNone) << reason << ": " << payload;
          ASSERT_EQ(tx, r.tx);
        } else {
          ASSERT_NE(e, DecodeError::kNone) << payload;
        }
      }
    }
  }
}

TEST(Generator, InjectsEachAnomalyKind) {
  GeneratorConfig cfg = Config();
  cfg.malformed = 0;
  cfg.profile = Profile::kRealistic;
  Generator g(cfg);
  GeneratedRecord r;
  int counts[5] = {};
  for (uint64_t i = 0; i < 200'000; ++i) {
    g.Make(i, &r);
    counts[static_cast<int>(r.injected)]++;
  }
  for (int k = 1; k < 5; ++k) {
    EXPECT_GT(counts[k], 200'000 * 0.01 / 4 * 0.7) << k;
    EXPECT_LT(counts[k], 200'000 * 0.01 / 4 * 1.3) << k;
  }
}

}  // namespace
}  // namespace spate
