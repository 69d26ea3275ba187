#include "runner/kafka/repartition.h"

#include <cstring>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "gen/generator.h"
#include "stream/window.h"

namespace spate {
namespace {

TEST(Repartition, RecordsAndMarkersRoundTrip) {
  auto decoder = NewDecoder(WireFormat::kBinary);
  GeneratorConfig gc;
  Generator gen(gc);
  for (uint64_t i = 0; i < 100; ++i) {
    GeneratedRecord r;
    gen.Make(i, &r);
    const Transaction& tx = r.tx;
    std::string buf;
    // Odd records carry their input's Kafka timestamp ('S'), even ones do not ('R').
    const int64_t ingest = i % 2 ? 1'767'225'600'000LL + static_cast<int64_t>(i) : -1;
    EncodeRepartitionRecord(5, 1'000'000'000'000LL + static_cast<int64_t>(i), tx, &buf, ingest);
    EXPECT_EQ(buf[0], i % 2 ? 'S' : 'R');
    RepartitionMessage m;
    ASSERT_TRUE(DecodeRepartition(buf, decoder.get(), &m));
    EXPECT_EQ(m.kind, RepartitionMessage::Kind::kRecord);
    EXPECT_EQ(m.source_partition, 5u);
    EXPECT_EQ(m.value, 1'000'000'000'000LL + static_cast<int64_t>(i));
    EXPECT_EQ(m.ingest_ms, ingest);
    std::string a, b;
    EncodeJson(tx, &a);
    EncodeJson(m.tx, &b);
    EXPECT_EQ(a, b);
  }
  for (int64_t t : {INT64_MIN, int64_t{0}, int64_t{1'700'000'000'123}}) {
    for (SourceState st : {SourceState::kActive, SourceState::kAtEnd, SourceState::kIdle}) {
      std::string buf;
      EncodeRepartitionMarker(0xfffffffe, t, st, &buf);
      RepartitionMessage m;
      ASSERT_TRUE(DecodeRepartition(buf, decoder.get(), &m));
      EXPECT_EQ(m.kind, RepartitionMessage::Kind::kMarker);
      EXPECT_EQ(m.source_partition, 0xfffffffeu);
      EXPECT_EQ(m.value, t);
      EXPECT_EQ(m.state, st);
    }
  }
}

// A batch's records of one key, combined: a window-spanning set, back as it went.
TEST(Repartition, PartialsRoundTrip) {
  auto decoder = NewDecoder(WireFormat::kBinary);
  const WindowSpec hopping{60'000, 30'000};
  for (bool stamped : {false, true}) {
    PartialAgg p;
    Transaction tx;
    tx.currency = *ParseCurrency("JPY");
    for (int64_t i = 0; i < 7; ++i) {
      tx.time_ms = 1'767'225'600'000LL + i * 20'000;
      tx.amount = (i % 2 ? -1 : 1) * (1'000'000'000'000'000LL + i);
      tx.type = i % 3 ? "purchase" : "refund";
      p.Add(tx, hopping);
      if (stamped) p.stamps.push_back(1'767'225'700'000LL + i);
    }
    ASSERT_EQ(p.windows.size(), 6u);
    const std::string key = "caf\xc3\xa9 \"Z\"\n";
    std::string buf;
    EncodeRepartitionPartial(9, key, tx.currency, p, &buf);
    EXPECT_EQ(buf[0], 'P');
    RepartitionMessage m;
    ASSERT_TRUE(DecodeRepartition(buf, decoder.get(), &m));
    EXPECT_EQ(m.kind, RepartitionMessage::Kind::kPartial);
    EXPECT_EQ(m.source_partition, 9u);
    EXPECT_EQ(m.value, 7);
    EXPECT_EQ(m.key, key);
    EXPECT_EQ(CurrencyCode(m.currency), "JPY");
    EXPECT_EQ(m.partial.records, 7);
    EXPECT_TRUE(m.partial.sum == p.sum);
    EXPECT_EQ(m.partial.stamps, p.stamps);
    ASSERT_EQ(m.partial.windows.size(), p.windows.size());
    for (size_t i = 0; i < p.windows.size(); ++i) {
      const auto& [s1, a] = p.windows[i];
      const auto& [s2, b] = m.partial.windows[i];
      EXPECT_EQ(s1, s2);
      EXPECT_EQ(a.count, b.count);
      EXPECT_TRUE(a.sum == b.sum);
      EXPECT_EQ(a.min, b.min);
      EXPECT_EQ(a.max, b.max);
      EXPECT_EQ(a.purchases, b.purchases);
      EXPECT_EQ(a.refunds, b.refunds);
    }
    // Cut anywhere, or one byte longer: not a partial.
    for (size_t n = 0; n < buf.size(); ++n) {
      EXPECT_FALSE(DecodeRepartition(std::string_view(buf).substr(0, n), decoder.get(), &m)) << n;
    }
    EXPECT_FALSE(DecodeRepartition(buf + "x", decoder.get(), &m));
  }
}

TEST(Repartition, RejectsForeignBytes) {
  auto decoder = NewDecoder(WireFormat::kBinary);
  RepartitionMessage m;
  std::string marker;
  EncodeRepartitionMarker(1, 2, SourceState::kAtEnd, &marker);
  for (std::string_view bad :
       {std::string_view(""), std::string_view("{\"amount\":1}"),
        std::string_view(marker).substr(0, 13), std::string_view("R123456789012garbage"),
        std::string_view("S1234567890121234567")}) {
    EXPECT_FALSE(DecodeRepartition(bad, decoder.get(), &m)) << bad;
  }
  // A marker cut after its header, in a buffer of exactly that size: the sanitizer build
  // catches a read past it (found by fuzz/repartition_fuzz.cc).
  auto cut = std::make_unique<char[]>(13);
  std::memcpy(cut.get(), marker.data(), 13);
  EXPECT_FALSE(DecodeRepartition(std::string_view(cut.get(), 13), decoder.get(), &m));
  marker.back() = 3;  // the state must be 0, 1 or 2
  EXPECT_FALSE(DecodeRepartition(marker, decoder.get(), &m));
}

TEST(Repartition, FramesCarryEntriesInOrder) {
  std::string frame;
  std::vector<std::string> entries = {"a", std::string(200, 'b'), "", std::string(70000, 'c')};
  for (const auto& e : entries) AppendToFrame(e, &frame);
  std::vector<std::string> got;
  ASSERT_TRUE(ForEachInFrame(frame, [&](std::string_view e) {
    got.emplace_back(e);
    return true;
  }));
  EXPECT_EQ(got, entries);
  // Truncated anywhere inside the last entry: rejected, never read past the end.
  EXPECT_FALSE(ForEachInFrame(std::string_view(frame).substr(0, frame.size() - 1),
                              [](std::string_view) { return true; }));
  EXPECT_FALSE(ForEachInFrame("", [](std::string_view) { return true; }));
  EXPECT_FALSE(ForEachInFrame("R", [](std::string_view) { return true; }));
  // The callback can stop the walk.
  int n = 0;
  EXPECT_FALSE(ForEachInFrame(frame, [&](std::string_view) { return ++n < 2; }));
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace spate
