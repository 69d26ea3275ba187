#pragma once
// What the engine computes: the windows, how late a record may be, the group key, when
// results are emitted, and the anomaly rules. Both runners take it as it is.

#include <cstdint>

#include "stream/anomaly_rules.h"
#include "stream/group_key.h"
#include "stream/window.h"

namespace spate {

// kFinal: a window's result once, when the watermark passes its end (and the all-time totals
// at the end of the input); kChanges: every (window, key) and total that a batch changed.
enum class EmitMode : uint8_t { kFinal, kChanges };

struct EngineConfig {
  WindowSpec window;
  int64_t lateness_ms = 5'000;
  GroupBy group_by = GroupBy::kMerchantId;
  EmitMode emit = EmitMode::kFinal;
  RuleConfig rules;    // rules.enabled: --rules off turns them off
  bool totals = true;  // --totals off: no all-time totals kept or emitted
};

// How the steps encode the records they emit. A schema id of 0 means JSON; otherwise Avro in
// a Confluent frame with that id (schemas/aggregate.avsc, schemas/anomaly.avsc). Totals, late
// records and dead letters are always JSON.
struct OutputEncoding {
  uint32_t aggregate_schema_id = 0;
  uint32_t anomaly_schema_id = 0;
};

}  // namespace spate
