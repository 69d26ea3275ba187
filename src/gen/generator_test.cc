#include "gen/generator.h"

#include <set>

#include <gtest/gtest.h>

#include "gen/source.h"

namespace spate {
namespace {

GeneratorConfig Config() {
  GeneratorConfig c;
  c.seed = 7;
  c.users = 1000;
  c.merchants = 50;
  c.out_of_order = 0.1;
  c.late = 0.01;
  c.malformed = 0.05;
  c.anomalies = 0.01;
  return c;
}

TEST(Generator, SameSeedSameRecordsAnyInstance) {
  Generator a(Config()), b(Config());
  GeneratorConfig other = Config();
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

TEST(Generator, RecordsStayInTheirDomains) {
  GeneratorConfig cfg = Config();
  cfg.anomalies = 0;
  Generator g(cfg);
  GeneratedRecord r;
  std::set<std::string> ids;
  for (uint64_t i = 0; i < 20'000; ++i) {
    g.Make(i, &r);
    EXPECT_GE(r.tx.user, 1u);
    EXPECT_LE(r.tx.user, cfg.users);
    EXPECT_GE(r.tx.merchant, 1u);
    EXPECT_LE(r.tx.merchant, cfg.merchants);
    EXPECT_GE(r.tx.amount_cents, 5'000'000);
    EXPECT_LE(r.tx.amount_cents, 15'000'000);
    EXPECT_LE(r.tx.time_ms, g.BaseTimeMs(i));
    EXPECT_EQ(r.tx.transaction_id.bytes[6] >> 4, 4);  // UUID version 4
    ids.insert(UuidString(r.tx.transaction_id));
  }
  EXPECT_EQ(ids.size(), 20'000u);
}

TEST(Generator, EveryMalformedKindIsRejectedAndEveryValidRecordDecodes) {
  Generator g(Config());
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

TEST(Generator, InjectsEachAnomalyKind) {
  GeneratorConfig cfg = Config();
  cfg.malformed = 0;
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

std::string Drain(const Generator& g, SourceOptions o) {
  GeneratorSource s(g, o);
  std::string all;
  uint64_t expect_seq = 0;
  while (auto c = s.Next()) {
    EXPECT_EQ(c->first_seq, expect_seq);
    expect_seq += c->size();
    all.append(c->bytes.data(), c->offsets.back());
  }
  return all;
}

TEST(GeneratorSource, SameBytesWhateverTheThreadCountAndChunking) {
  Generator g(Config());
  SourceOptions o;
  o.records = 50'001;
  o.batch_size = 10'000;
  o.chunk_size = 10'000;
  o.threads = 1;
  std::string one = Drain(g, o);
  o.threads = 4;
  o.chunk_size = 999;
  std::string four = Drain(g, o);
  EXPECT_EQ(one, four);
  EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 50'001);
}

TEST(GeneratorSource, ChunksNeverStraddleBatches) {
  Generator g(Config());
  SourceOptions o;
  o.records = 2500;
  o.batch_size = 1000;
  o.chunk_size = 300;
  o.threads = 3;
  o.partitions = 4;
  GeneratorSource s(g, o);
  uint64_t batches_ended = 0;
  while (auto c = s.Next()) {
    EXPECT_EQ(c->first_seq / 1000, (c->first_seq + c->size() - 1) / 1000);
    EXPECT_EQ(c->batch, c->first_seq / 1000);
    batches_ended += c->last_in_batch;
    for (auto p : c->partition) EXPECT_LT(p, 4);
  }
  EXPECT_EQ(batches_ended, 3u);
  EXPECT_EQ(s.released(), 2500u);
}

}  // namespace
}  // namespace spate
