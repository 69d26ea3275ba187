// The repartition topic's frames (runner/kafka/repartition.h) on any bytes: a frame is split
// into its entries, each decoded as a record, a watermark marker or a partial aggregate. What
// decodes must encode and decode back to itself, and the entries must frame again into the same
// frame.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "runner/kafka/repartition.h"

namespace spate {
namespace {

void CheckSame(const RepartitionMessage& a, const RepartitionMessage& b) {
  FUZZ_CHECK(a.kind == b.kind && a.source_partition == b.source_partition && a.value == b.value &&
                 a.state == b.state && a.ingest_ms == b.ingest_ms,
             "a re-encoded entry decodes to another entry");
  if (a.kind == RepartitionMessage::Kind::kRecord) {
    FUZZ_CHECK(a.tx == b.tx, "a re-encoded record decodes to another record");
  }
  if (a.kind == RepartitionMessage::Kind::kPartial) {
    const PartialAgg &p = a.partial, &q = b.partial;
    bool same = a.key == b.key && a.currency == b.currency && p.records == q.records &&
                p.sum == q.sum && p.overflow == q.overflow && p.stamps == q.stamps &&
                p.windows.size() == q.windows.size();
    for (size_t i = 0; same && i < p.windows.size(); ++i) {
      const WindowAgg &x = p.windows[i].second, &y = q.windows[i].second;
      same = p.windows[i].first == q.windows[i].first && x.count == y.count && x.sum == y.sum &&
             x.min == y.min && x.max == y.max && x.purchases == y.purchases &&
             x.refunds == y.refunds && x.overflow == y.overflow;
    }
    FUZZ_CHECK(same, "a re-encoded partial aggregate decodes to another one");
  }
}

}  // namespace
}  // namespace spate

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate;
  static auto* binary = NewDecoder(WireFormat::kBinary).release();
  static auto* binary2 = NewDecoder(WireFormat::kBinary).release();
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> entries;
  const bool ok = ForEachInFrame(frame, [&](std::string_view entry) {
    entries.emplace_back(entry);
    RepartitionMessage m;
    if (!DecodeRepartition(entry, binary, &m)) return true;
    std::string again;
    if (m.kind == RepartitionMessage::Kind::kRecord) {
      EncodeRepartitionRecord(m.source_partition, m.value, m.tx, &again, m.ingest_ms);
    } else if (m.kind == RepartitionMessage::Kind::kPartial) {
      EncodeRepartitionPartial(m.source_partition, m.key, m.currency, m.partial, &again);
    } else {
      EncodeRepartitionMarker(m.source_partition, m.value, m.state, &again);
    }
    RepartitionMessage n;
    FUZZ_CHECK(DecodeRepartition(again, binary2, &n), "a re-encoded entry does not decode");
    CheckSame(m, n);
    return true;
  });
  if (!ok || entries.empty()) return 0;  // (an empty frame is a tag alone; none is written)
  std::string reframed;
  for (const auto& e : entries) AppendToFrame(e, &reframed);
  std::vector<std::string> again;
  FUZZ_CHECK(ForEachInFrame(reframed,
                            [&](std::string_view e) {
                              again.emplace_back(e);
                              return true;
                            }),
             "entries framed again are not a frame");
  FUZZ_CHECK(again == entries, "entries framed again read back differently");
  return 0;
}
