#pragma once
// Reading a `_bulk` response item by item (every response, a 200 included: Elasticsearch
// answers 200 when some items failed and says so only in "errors" and per item) and deciding,
// once, what each outcome means for the record behind it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace spate::es {

struct ItemResult {
  int status = 0;
  std::string error_type;    // e.g. "mapper_parsing_exception", empty on success
  std::string error_reason;  // Elasticsearch's words, with the cause when it gives one
};

// The items of a bulk response, in request order. Fails when the body is not a bulk response
// or holds a different number of items than the request had (expected).
Status ParseBulkResponse(std::string_view body, size_t expected, std::vector<ItemResult>* out);

enum class ItemAction {
  kDone,        // indexed (200/201), or a newer version is already there (409 conflict)
  kRetry,       // 429 (queue full, circuit breaker) or 5xx: send the item again later
  kDeadLetter,  // any other 4xx (mapping or parse error): can never succeed
};
ItemAction ClassifyItem(const ItemResult& r);

// What to do about a whole request's outcome (HTTP status, or 0 with a transport error).
enum class RequestAction {
  kRead,   // 200: read the items
  kRetry,  // 0 (connection failed, timed out), 408, 429, 5xx: the whole request again
  kFatal,  // 401, 403, 404, 413 and other 4xx: configuration, stop with a clear error
};
RequestAction ClassifyRequest(long http_status);

}  // namespace spate::es
