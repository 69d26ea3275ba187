#pragma once
// What the aggregator's first stage writes to <group>-repartition, keyed by group key: the
// valid records, combined per key and currency into partial aggregates or (those that may be
// late) one by one with their source position, and watermark markers. Our own format, internal to
// one consumer group (versioned by the tag byte):
//   record: 'R' | u32 source partition | i64 source offset | EncodeBinary(tx)
//   record with its input's Kafka timestamp (--emit changes, for the record-to-result latency):
//           'S' | u32 source partition | i64 source offset | i64 timestamp ms | EncodeBinary(tx)
//   marker: 'W' | u32 source partition | i64 largest event time (INT64_MIN: none) | u8 at end
//   partial aggregate (stream/partial.h) of a batch's records of one key and currency:
//           'P' | u32 source partition | i64 records | u8 flags (1: its sum overflowed, 2: it
//           carries timestamps) | 3-byte currency code | varint key length | key | i128 sum |
//           varint windows | per window: i64 start, i64 count, i128 sum, i64 min, i64 max,
//           i64 purchases, i64 refunds, u8 overflow | with flag 2: one i64 input Kafka
//           timestamp per record
// Integers are little-endian. A marker goes to every repartition partition, after the records
// it covers, so a window task knows how far each source partition has got.
// Entries travel in frames, many to a Kafka message ('F' | (varint length | entry)...), so the
// per-message costs of producer, brokers (validation, replication, transaction index) and
// consumer are paid once a frame rather than once a record.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/codec.h"
#include "core/transaction.h"
#include "stream/partial.h"

namespace spate {

// Where an input partition is, as a marker tells the window tasks.
enum class SourceState : uint8_t {
  kActive = 0,  // records may come
  kAtEnd = 1,   // read to its end since its last record: holds the watermark at its time
  kIdle = 2,    // at its end for --idle-timeout: holds the watermark back no longer
};

struct RepartitionMessage {
  enum class Kind : uint8_t { kRecord, kMarker, kPartial } kind = Kind::kRecord;
  uint32_t source_partition = 0;
  // record: source offset; marker: largest event time; partial: records combined
  int64_t value = 0;
  SourceState state = SourceState::kActive;  // marker only
  Transaction tx;                            // record only
  int64_t ingest_ms = -1;                    // record only: its input's Kafka timestamp, if sent
  std::string_view key;                      // partial only: the group key (in the data)
  Currency currency;                         // partial only
  PartialAgg partial;                        // partial only
};

// ingest_ms >= 0: the record carries its input's Kafka timestamp ('S').
void EncodeRepartitionRecord(uint32_t source_partition, int64_t offset, const Transaction& tx,
                             std::string* out, int64_t ingest_ms = -1);
void EncodeRepartitionMarker(uint32_t source_partition, int64_t max_time, SourceState state,
                             std::string* out);
void EncodeRepartitionPartial(uint32_t source_partition, std::string_view key, Currency c,
                              const PartialAgg& p, std::string* out);
// False when data is not a message of this format.
bool DecodeRepartition(std::string_view data, Decoder* binary_decoder, RepartitionMessage* out);

// Appends one encoded entry to a frame (starting it when empty).
void AppendToFrame(std::string_view entry, std::string* frame);
// Calls fn for each entry of a frame; false when data is not a well-formed frame.
bool ForEachInFrame(std::string_view frame, const std::function<bool(std::string_view)>& fn);

}  // namespace spate
