// The JSON decoder (core/json_codec.cc) on any bytes, under each record format a stream may
// have. The first byte picks the format: bits 0-1 the time format, bit 2 the reference
// producer's field names (amout, transationTime, merchantID), bit 3 a 16-byte id limit. The
// rest is the record. Each input is decoded twice: with the bytes past its end unreadable (the
// decoder must copy) and from a padded copy (it must not); both must agree. A record that
// decodes must encode under the same format and decode back to itself.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/codec.h"
#include "fuzz/fuzz_check.h"

namespace spate {
namespace {

WireSpec SpecFor(uint8_t b) {
  WireSpec w(WireFormat::kJson);
  w.record.time = static_cast<TimeFormat>(b & 3);
  if (b & 4) {
    for (const char* f :
         {"amount=amout", "transactionTime=transationTime", "merchantId=merchantID"}) {
      (void)w.record.SetField(f);
    }
  }
  if (b & 8) w.record.max_id_bytes = 16;
  return w;
}

}  // namespace
}  // namespace spate

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate;
  if (size < 1) return 0;
  const WireSpec w = SpecFor(data[0]);
  static auto* decoders = [] {
    auto* d = new std::unique_ptr<Decoder>[16];
    for (int i = 0; i < 16; ++i) d[i] = NewDecoder(SpecFor(static_cast<uint8_t>(i)));
    return d;
  }();
  Decoder& decoder = *decoders[data[0] & 15];
  const std::string_view msg(reinterpret_cast<const char*>(data + 1), size - 1);

  Transaction tx;
  std::string reason;
  const DecodeError e = decoder.Decode(msg, msg.size(), &tx, &reason);
  const TransactionData first = TransactionData::From(tx);

  std::string padded(msg);
  padded.resize(msg.size() + kDecodePadding, ' ');
  std::string reason2;
  const DecodeError e2 =
      decoder.Decode(std::string_view(padded.data(), msg.size()), padded.size(), &tx, &reason2);
  FUZZ_CHECK(e == e2, "copied and padded input differ: " + reason + " / " + reason2);
  if (e != DecodeError::kNone) {
    FUZZ_CHECK(!reason.empty(), "a dead letter without a reason");
    return 0;
  }
  FUZZ_CHECK(tx == first.View(), "copied and padded input decode to different records");
  fuzz::CheckRoundTrip(first, decoder, [&w](const Transaction& t, std::string* out) {
    EncodeJson(t, out, w.record);
  });
  return 0;
}
