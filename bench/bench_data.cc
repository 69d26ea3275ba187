#include "bench_data.h"

#include <cstdio>
#include <cstdlib>

namespace spate::bench {
namespace {

WireBuffer Build(WireFormat f) {
  WireBuffer b;
  const Generator& gen = DefaultGenerator();
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
  const auto& recs = Records();
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

const GeneratorConfig& DefaultGenConfig() {
  static const GeneratorConfig c;
  return c;
}

const Generator& DefaultGenerator() {
  static const Generator g(DefaultGenConfig());
  return g;
}

const std::vector<Transaction>& Records() {
  static const std::vector<Transaction> v = [] {
    std::vector<Transaction> out(kRecords);
    GeneratedRecord r;
    for (size_t i = 0; i < kRecords; ++i) {
      DefaultGenerator().Make(i, &r);
      out[i] = r.tx;
    }
    return out;
  }();
  return v;
}

const WireBuffer& JsonBuffer() {
  static const WireBuffer b = Build(WireFormat::kJson);
  return b;
}

const WireBuffer& BinaryBuffer() {
  static const WireBuffer b = Build(WireFormat::kBinary);
  return b;
}

const WireBuffer& AvroBuffer() {
  static const WireBuffer b = Build(WireFormat::kAvro);
  return b;
}

int64_t TimeSpanMs() {
  const Generator& g = DefaultGenerator();
  return g.BaseTimeMs(kRecords) - g.BaseTimeMs(0);
}

}  // namespace spate::bench
