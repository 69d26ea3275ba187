// `_bulk` response parsing (sinks/elasticsearch/bulk_response.h) on any body. The first byte
// is the number of items the request had. Besides not crashing: a body that parses gives
// exactly that many items, and an item indexed (200, 201) is done.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "sinks/elasticsearch/bulk_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate::es;
  if (size < 1) return 0;
  const size_t expected = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<ItemResult> items;
  const spate::Status s = ParseBulkResponse(body, expected, &items);
  if (!s.ok()) {
    FUZZ_CHECK(!s.message().empty(), "a refusal without a reason");
    return 0;
  }
  FUZZ_CHECK(items.size() == expected, "parsed a different number of items than expected");
  for (const ItemResult& r : items) {
    const ItemAction a = ClassifyItem(r);
    if (r.status == 200 || r.status == 201) FUZZ_CHECK(a == ItemAction::kDone, "a 2xx not done");
  }
  return 0;
}
