// The CPU side of `spate index`, single-threaded, per document, on the default generator's
// JSON records: building the document (_id, exact cents) and its _bulk action, and reading a
// bulk response item by item. Baseline in the same run: memcpy of the same JSON bytes
// (BM_Memcpy_JsonBuffer in codec_bench.cc). bench/index_bench.py measures the whole sink
// against opensearch-py on a live node.

#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_data.h"
#include "sinks/elasticsearch/bulk_response.h"
#include "sinks/elasticsearch/document.h"

namespace spate::bench {
namespace {

void BM_IndexDocumentAndBulkAction(benchmark::State& state) {
  const WireBuffer& buf = JsonBuffer();
  es::Document doc;
  std::string body;
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    std::string_view line = buf.payload(i);
    if (!es::MakeDocument(line, &doc).ok()) state.SkipWithError("document refused");
    body.clear();
    es::AppendBulkIndex("spate-transactions", doc, static_cast<int64_t>(i), &body);
    benchmark::DoNotOptimize(body.data());
    bytes += static_cast<int64_t>(line.size());
    if (++i == kRecords) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_IndexDocumentAndBulkAction);

// A filtered response (filter_path=errors,items.*.status,items.*.error) of 2000 items, one in
// a hundred refused with a mapping error; items/s counts items.
void BM_IndexParseBulkResponse(benchmark::State& state) {
  std::string resp = R"({"errors":true,"items":[)";
  for (int i = 0; i < 2000; ++i) {
    if (i) resp += ',';
    resp += i % 100 == 0 ? R"({"index":{"status":400,"error":{"type":"mapper_parsing_exception",)"
                           R"("reason":"failed to parse field [amount] of type [scaled_float]"}}})"
                         : R"({"index":{"status":201}})";
  }
  resp += "]}";
  std::vector<es::ItemResult> items;
  for (auto _ : state) {
    if (!es::ParseBulkResponse(resp, 2000, &items).ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(items.data());
  }
  state.SetItemsProcessed(state.iterations() * 2000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(resp.size()));
}
BENCHMARK(BM_IndexParseBulkResponse);

}  // namespace
}  // namespace spate::bench
