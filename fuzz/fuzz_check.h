#pragma once
// What the fuzz targets share: FUZZ_CHECK, an invariant that aborts with a message (libFuzzer
// then saves the input as crash-<sha1>); and a decoded record round-tripped through an
// encoder and the same decoder, which must give it back field for field.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/codec.h"

#define FUZZ_CHECK(cond, what)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                              \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace spate::fuzz {

// Encodes tx with `encode`, decodes that with `decoder` and checks the result equals tx.
// (The strings of tx must outlive the call: they are compared after the second decode, which
// may reuse the decoder's own buffers, so the caller passes an owned copy.)
template <typename Encode>
void CheckRoundTrip(const TransactionData& tx, Decoder& decoder, Encode encode) {
  std::string wire;
  encode(tx.View(), &wire);
  const size_t size = wire.size();
  wire.resize(size + kDecodePadding);
  Transaction again;
  std::string reason;
  const DecodeError e =
      decoder.Decode(std::string_view(wire.data(), size), wire.size(), &again, &reason);
  FUZZ_CHECK(e == DecodeError::kNone, "a re-encoded record does not decode: " + reason);
  FUZZ_CHECK(again == tx.View(), "a re-encoded record decodes to another record");
}

}  // namespace spate::fuzz
