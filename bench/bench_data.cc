#include "bench_data.h"

#include <cstdio>
#include <cstdlib>

namespace spate::bench {
namespace {

WireBuffer Build(WireFormat f, Profile p) {
  WireBuffer b;
  const Generator& gen = DefaultGenerator(p);
  b.bytes.reserve(kRecords * TypicalEncodedSize(f) + kDecodePadding);
  b.offsets.reserve(kRecords + 1);
  GeneratedRecord r;
  for (size_t i = 0; i < kRecords; ++i) {
    gen.Make(i, &r);
    b.offsets.push_back(static_cast<uint32_t>(b.bytes.size()));
    gen.AppendPayload(r, f, &b.bytes);
    b.bytes.push_back('\n');
  }
  b.offsets.push_back(static_cast<uint32_t>(b.bytes.size()));
  b.payload_bytes = b.offsets.back() - b.offsets.front() - kRecords;
  b.bytes.append(kDecodePadding, '\0');
  // Sanity: every payload must decode (the default config has no malformed records).
  auto dec = NewDecoder(f);
  Transaction tx;
  std::string reason;
  const auto& recs = Records(p);
  for (size_t i = 0; i < kRecords; ++i) {
    if (dec->Decode(b.payload(i), b.readable(i), &tx, &reason) != DecodeError::kNone ||
        !(tx == recs[i])) {
      std::fprintf(stderr, "bench: record %zu does not round-trip (%s): %s\n", i,
                   std::string(WireFormatName(f)).c_str(), reason.c_str());
      std::abort();
    }
  }
  return b;
}

}  // namespace

const GeneratorConfig& DefaultGenConfig(Profile p) {
  static const GeneratorConfig reference;
  static const GeneratorConfig realistic = [] {
    GeneratorConfig c;
    c.profile = Profile::kRealistic;
    c.users = 1'000'000;
    c.merchants = 50'000;
    return c;
  }();
  return p == Profile::kReference ? reference : realistic;
}

const Generator& DefaultGenerator(Profile p) {
  static const Generator reference(DefaultGenConfig(Profile::kReference));
  static const Generator realistic(DefaultGenConfig(Profile::kRealistic));
  return p == Profile::kReference ? reference : realistic;
}

namespace {

struct Kept {
  std::vector<TransactionData> data;
  std::vector<Transaction> views;
};

Kept Keep(Profile p) {
  Kept k;
  k.data.reserve(kRecords);
  GeneratedRecord r;
  for (size_t i = 0; i < kRecords; ++i) {
    DefaultGenerator(p).Make(i, &r);
    k.data.push_back(TransactionData::From(r.tx));
  }
  for (const TransactionData& d : k.data) k.views.push_back(d.View());
  return k;
}

}  // namespace

const std::vector<Transaction>& Records(Profile p) {
  static const Kept reference = Keep(Profile::kReference);
  static const Kept realistic = Keep(Profile::kRealistic);
  return p == Profile::kReference ? reference.views : realistic.views;
}

const WireBuffer& JsonBuffer(Profile p) {
  static const WireBuffer reference = Build(WireFormat::kJson, Profile::kReference);
  static const WireBuffer realistic = Build(WireFormat::kJson, Profile::kRealistic);
  return p == Profile::kReference ? reference : realistic;
}

const WireBuffer& BinaryBuffer(Profile p) {
  static const WireBuffer reference = Build(WireFormat::kBinary, Profile::kReference);
  static const WireBuffer realistic = Build(WireFormat::kBinary, Profile::kRealistic);
  return p == Profile::kReference ? reference : realistic;
}

const WireBuffer& AvroBuffer(Profile p) {
  static const WireBuffer reference = Build(WireFormat::kAvro, Profile::kReference);
  static const WireBuffer realistic = Build(WireFormat::kAvro, Profile::kRealistic);
  return p == Profile::kReference ? reference : realistic;
}

int64_t TimeSpanMs() {
  const Generator& g = DefaultGenerator();
  return g.BaseTimeMs(kRecords) - g.BaseTimeMs(0);
}

}  // namespace spate::bench
