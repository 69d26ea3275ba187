// Wire codec throughput, single-threaded, on the default generator's records, and a memcpy
// baseline over the same JSON bytes. Every benchmark handles one record per iteration (except
// BM_Memcpy_JsonBuffer: the whole buffer per iteration) and reports items/s (records) and
// bytes/s (the wire bytes read or written).

#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_data.h"
#include "core/avro_schema.h"
#include "core/codec.h"
#include "registry/client/schema_resolver.h"
#include "registry/server/registry.h"
#include "registry/server/server.h"
#include "registry/server/store.h"

namespace spate::bench {
namespace {

void EncodeLoop(benchmark::State& state, WireFormat f) {
  const auto& recs = Records();
  std::string out;
  out.reserve(1024);
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    Encode(f, recs[i], &out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    bytes += static_cast<int64_t>(out.size());
    if (++i == kRecords) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}

void DecodeLoop(benchmark::State& state, const WireBuffer& buf, std::unique_ptr<Decoder> dec) {
  Transaction tx;
  std::string reason;
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    const std::string_view msg = buf.payload(i);
    // readable >= size + kDecodePadding for every payload: the decoder works in place.
    if (dec->Decode(msg, buf.readable(i), &tx, &reason) != DecodeError::kNone) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(tx);
    bytes += static_cast<int64_t>(msg.size());
    if (++i == kRecords) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
void DecodeLoop(benchmark::State& state, const WireBuffer& buf, WireFormat f) {
  DecodeLoop(state, buf, NewDecoder(f));
}

void BM_EncodeJson(benchmark::State& state) { EncodeLoop(state, WireFormat::kJson); }
void BM_DecodeJson(benchmark::State& state) { DecodeLoop(state, JsonBuffer(), WireFormat::kJson); }
void BM_EncodeBinary(benchmark::State& state) { EncodeLoop(state, WireFormat::kBinary); }
void BM_DecodeBinary(benchmark::State& state) {
  DecodeLoop(state, BinaryBuffer(), WireFormat::kBinary);
}
// Avro (schemas/transaction.avsc) in the Confluent frame, the hand-specialised codec.
void BM_EncodeAvro(benchmark::State& state) { EncodeLoop(state, WireFormat::kAvro); }
void BM_DecodeAvro(benchmark::State& state) { DecodeLoop(state, AvroBuffer(), WireFormat::kAvro); }
// The same payloads through the registry's decoder (`--schema-registry`: a spate registry in
// this process; the frames carry the id it gave the schema): the id check in front of the
// same fast decoder, no request per record.
void BM_DecodeAvroRegistry(benchmark::State& state) {
  auto reg = registry::Registry::Open(registry::NewMemoryLog());
  auto server = registry::RegistryServer::Start(reg.value().get(), "127.0.0.1:0");
  if (!server.ok()) {
    state.SkipWithError(server.status().message().c_str());
    return;
  }
  registry::ResolverOptions o;
  o.client.url = "http://127.0.0.1:" + std::to_string(server.value()->port());
  o.subject = "financial_transactions-value";
  o.register_schema = true;
  auto resolver = registry::SchemaResolver::Create(o);
  if (!resolver.ok() || resolver.value()->transaction_id() != kDefaultAvroSchemaId) {
    state.SkipWithError("the registry did not give the schema id the buffer's frames carry");
    return;
  }
  DecodeLoop(state, AvroBuffer(), registry::NewRegistryDecoder(resolver.value()));
}
// The same Avro payloads validated generically by avro-c against the parsed schema (the path
// for schemas the fast codec does not know): a value tree per record.
void BM_ValidateAvroGeneric(benchmark::State& state) {
  const WireBuffer& buf = AvroBuffer();
  auto schema = AvroSchema::Parse(TransactionAvsc());
  if (!schema.ok()) {
    state.SkipWithError(schema.status().message().c_str());
    return;
  }
  const AvroSchema& s = *schema.value();
  size_t i = 0;
  int64_t bytes = 0;
  uint32_t id = 0;
  for (auto _ : state) {
    const std::string_view msg = buf.payload(i);
    if (!ValidateConfluent(s, msg, &id).ok()) {
      state.SkipWithError("validation failed");
      break;
    }
    bytes += static_cast<int64_t>(msg.size());
    if (++i == kRecords) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
// Wire bytes per record of each format, as counters (no timing).
void BM_WireBytesPerRecord(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(state.iterations());
  const auto per = [](const WireBuffer& b) {
    return static_cast<double>(b.payload_bytes) / static_cast<double>(kRecords);
  };
  state.counters["json"] = per(JsonBuffer());
  state.counters["binary"] = per(BinaryBuffer());
  state.counters["avro"] = per(AvroBuffer());
}

// Baseline 1: one memcpy of the whole JSON buffer (all kRecords payloads and their '\n'
// separators) per iteration. items/s is the record rate this copy speed would sustain.
void BM_Memcpy_JsonBuffer(benchmark::State& state) {
  const WireBuffer& buf = JsonBuffer();
  const size_t n = buf.region_bytes();
  std::string dst(n, '\0');
  for (auto _ : state) {
    std::memcpy(dst.data(), buf.bytes.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kRecords));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}

// Baseline 2: the same bytes copied one record at a time into a small scratch buffer, the
// per-record loop shape of BM_DecodeJson with the decoding replaced by a memcpy.
void BM_Memcpy_JsonPerRecord(benchmark::State& state) {
  const WireBuffer& buf = JsonBuffer();
  char dst[4096];
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    const std::string_view msg = buf.payload(i);
    std::memcpy(dst, msg.data(), msg.size());
    benchmark::DoNotOptimize(dst);
    benchmark::ClobberMemory();
    bytes += static_cast<int64_t>(msg.size());
    if (++i == kRecords) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}

BENCHMARK(BM_EncodeJson);
BENCHMARK(BM_DecodeJson);
BENCHMARK(BM_EncodeBinary);
BENCHMARK(BM_DecodeBinary);
BENCHMARK(BM_EncodeAvro);
BENCHMARK(BM_DecodeAvro);
BENCHMARK(BM_DecodeAvroRegistry);
BENCHMARK(BM_ValidateAvroGeneric);
BENCHMARK(BM_WireBytesPerRecord)->Iterations(1);
BENCHMARK(BM_Memcpy_JsonBuffer)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Memcpy_JsonPerRecord);

}  // namespace
}  // namespace spate::bench
