#include "sinks/elasticsearch/bulk_response.h"

#include <simdjson.h>

namespace spate::es {

Status ParseBulkResponse(std::string_view body, size_t expected, std::vector<ItemResult>* out) {
  // On-Demand: a bulk response has one object per document (about 150 bytes each without
  // filter_path), so it is walked once without building a tree.
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  out->clear();
  auto fail = [&](const std::string& what) {
    std::string head(body.substr(0, 200));
    return Status::Error("unexpected _bulk response (" + what + "): " + head);
  };
  if (parser.iterate(padded).get(doc)) return fail("not JSON");
  simdjson::ondemand::object root;
  if (doc.get_object().get(root)) return fail("not an object");
  bool saw_items = false;
  for (auto field : root) {
    std::string_view name;
    if (field.unescaped_key().get(name)) return fail("bad key");
    if (name != "items") continue;
    saw_items = true;
    simdjson::ondemand::array items;
    if (field.value().get_array().get(items)) return fail("items is not an array");
    for (auto item : items) {
      simdjson::ondemand::object wrapper;
      if (item.get_object().get(wrapper)) return fail("item is not an object");
      ItemResult r;
      for (auto action : wrapper) {  // {"index": {...}}: one key
        simdjson::ondemand::object res;
        if (action.value().get_object().get(res)) return fail("item result is not an object");
        for (auto f : res) {
          std::string_view k;
          if (f.unescaped_key().get(k)) return fail("bad key");
          if (k == "status") {
            int64_t st;
            if (f.value().get_int64().get(st)) return fail("status is not a number");
            r.status = static_cast<int>(st);
          } else if (k == "error") {
            simdjson::ondemand::value ev = f.value();
            simdjson::ondemand::object eo;
            if (ev.get_object().get(eo)) {
              r.error_type = "error";
              continue;
            }
            std::string caused;
            for (auto ef : eo) {
              std::string_view ek;
              if (ef.unescaped_key().get(ek)) return fail("bad key");
              std::string_view s;
              if (ek == "type" && !ef.value().get_string().get(s)) {
                r.error_type.assign(s);
              } else if (ek == "reason" && !ef.value().get_string().get(s)) {
                r.error_reason.assign(s);
              } else if (ek == "caused_by") {
                simdjson::ondemand::object co;
                if (ef.value().get_object().get(co)) continue;
                for (auto cf : co) {
                  std::string_view ck, cs;
                  if (cf.unescaped_key().get(ck)) break;
                  if (ck == "reason" && !cf.value().get_string().get(cs)) caused.assign(cs);
                }
              }
            }
            if (!caused.empty()) r.error_reason += ": " + caused;
          }
        }
      }
      out->push_back(std::move(r));
    }
  }
  if (!saw_items) return fail("no items");
  if (out->size() != expected) {
    return fail(std::to_string(out->size()) + " items for " + std::to_string(expected) +
                " documents");
  }
  return Status::Ok();
}

ItemAction ClassifyItem(const ItemResult& r) {
  if (r.status >= 200 && r.status < 300) return ItemAction::kDone;
  if (r.status == 409) return ItemAction::kDone;  // version conflict: a newer offset is there
  if (r.status == 429 || r.status >= 500 || r.status == 0) return ItemAction::kRetry;
  return ItemAction::kDeadLetter;
}

RequestAction ClassifyRequest(long http_status) {
  if (http_status == 200) return RequestAction::kRead;
  if (http_status == 0 || http_status == 408 || http_status == 429 || http_status >= 500) {
    return RequestAction::kRetry;
  }
  return RequestAction::kFatal;
}

}  // namespace spate::es
