#include "runner/kafka/repartition.h"

#include <cstring>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "gen/generator.h"

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
