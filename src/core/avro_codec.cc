// Avro codec for schemas/transaction.avsc in the Confluent wire format, written by hand for that
// one schema (a generic Avro library builds a value tree per record; this is a straight-line
// writer and reader, like the JSON fast path). The frame and the record:
//   u8 magic 0 | u32 schema id, big-endian |
//   transactionId  string (logicalType uuid): zigzag varint length 36, the lowercase text
//   userId         string "user_<n>"
//   amount         bytes (decimal, precision 18, scale 2): the cents, big-endian two's
//                  complement in the fewest bytes (as Java's BigInteger.toByteArray)
//   transactionTime long (timestamp-millis): zigzag varint
//   merchantId     string "merchant<n>"
//   transactionType enum {purchase, refund}: zigzag varint index
//   location       string "location <n>"
//   paymentMethod  enum {credit_card, paypal, bank_transfer}
//   isInternational boolean: one byte, 0 or 1
//   currency       enum {USD, EU, GBP}
// The decoder is strict: a frame or datum that is not valid under the schema is kBadAvro, a
// valid datum whose values are outside the record's domain gets the JSON codec's codes
// (kBadValue, kOutOfRange), and bytes after the datum are kTrailingContent. Any Avro
// writer's encoding of the schema is accepted (non-minimal varints and decimal widths too).

#include <cstring>

#include <fmt/format.h>

#include "core/avro_write.h"
#include "core/codec.h"

namespace spate {
namespace {

using avro::PutConfluentHeader;
using avro::PutDecimal;
using avro::PutLong;

// An Avro string or bytes whose content is written at p + 1: the length is one varint byte
// (content below 64 bytes), so the content can be formatted in place and its length after.
template <typename Fill>
inline char* PutShortString(char* p, Fill fill) {
  size_t n = fill(p + 1);
  *p = static_cast<char>(n << 1);  // zigzag of n < 64
  return p + 1 + n;
}

// Printable excerpt of untrusted bytes for a reason text: non-printable bytes as \xNN.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

class AvroDecoder final : public Decoder {
 public:
  explicit AvroDecoder(uint32_t schema_id) : schema_id_(schema_id) {}

  DecodeError Decode(std::string_view msg, size_t /*readable*/, Transaction* tx,
                     std::string* reason) override {
    reason_ = reason;
    p_ = reinterpret_cast<const uint8_t*>(msg.data());
    end_ = p_ + msg.size();
    if (msg.size() < kConfluentHeaderSize) {
      return Fail(DecodeError::kBadAvro, fmt::format("{} bytes: shorter than the Confluent header "
                                                     "(magic byte 0 and a 4-byte schema id)",
                                                     msg.size()));
    }
    if (p_[0] != 0) {
      return Fail(DecodeError::kBadAvro,
                  fmt::format("magic byte 0x{:02x}, expected 0: not in the Confluent wire format{}",
                              p_[0], p_[0] == '{' ? " (JSON?)" : ""));
    }
    uint32_t id = 0;
    ReadConfluentHeader(msg, &id);  // its size and magic byte are checked above
    if (id != schema_id_) {
      return Fail(DecodeError::kUnknownSchema,
                  fmt::format("schema id {}, expected {} (dev.spate.Transaction)", id, schema_id_));
    }
    p_ += kConfluentHeaderSize;

    std::string_view s;
    int64_t v;
    if (DecodeError e = String(field::kTransactionId, &s); e != DecodeError::kNone) return e;
    auto uuid = ParseUuid(s);
    if (!uuid) return BadValue(field::kTransactionId, s, "a UUID (8-4-4-4-12 hex digits)");
    tx->transaction_id = *uuid;
    if (DecodeError e = Id(field::kUserId, kUserPrefix, "of the form user_<n>", &tx->user);
        e != DecodeError::kNone) {
      return e;
    }
    if (DecodeError e = Decimal(field::kAmount, &v); e != DecodeError::kNone) return e;
    if (v < kMinAmountCents || v > kMaxAmountCents) {
      return Fail(DecodeError::kOutOfRange,
                  "amount: " + AmountString(v) + " outside 0.01 .. 100000000.00");
    }
    tx->amount_cents = v;
    if (DecodeError e = Long(field::kTransactionTime, &v); e != DecodeError::kNone) return e;
    if (v < kMinTimeMs || v > kMaxTimeMs) {
      return Fail(DecodeError::kOutOfRange,
                  fmt::format("transactionTime: {} outside 2000-01-01 .. 2100-01-01 "
                              "(946684800000 .. 4102444800000 ms)",
                              v));
    }
    tx->time_ms = v;
    if (DecodeError e =
            Id(field::kMerchantId, kMerchantPrefix, "of the form merchant<n>", &tx->merchant);
        e != DecodeError::kNone) {
      return e;
    }
    if (DecodeError e = Enum(field::kTransactionType, 2, &v); e != DecodeError::kNone) return e;
    tx->type = static_cast<TxType>(v);
    if (DecodeError e =
            Id(field::kLocation, kLocationPrefix, "of the form \"location <n>\"", &tx->location);
        e != DecodeError::kNone) {
      return e;
    }
    if (DecodeError e = Enum(field::kPaymentMethod, kPaymentMethodCount, &v);
        e != DecodeError::kNone) {
      return e;
    }
    tx->payment_method = static_cast<PaymentMethod>(v);
    if (p_ == end_) return Truncated(field::kIsInternational);
    if (*p_ > 1) {
      return Fail(DecodeError::kBadAvro,
                  fmt::format("isInternational: boolean byte 0x{:02x} is neither 0 nor 1", *p_));
    }
    tx->international = *p_++ == 1;
    if (DecodeError e = Enum(field::kCurrency, kCurrencyCount, &v); e != DecodeError::kNone)
      return e;
    tx->currency = static_cast<Currency>(v);
    if (p_ != end_) {
      return Fail(DecodeError::kTrailingContent,
                  fmt::format("{} trailing byte(s) after the Avro record", end_ - p_));
    }
    return DecodeError::kNone;
  }

 private:
  DecodeError Fail(DecodeError code, std::string reason) {
    *reason_ = std::move(reason);
    return code;
  }
  DecodeError Truncated(std::string_view f) {
    return Fail(DecodeError::kBadAvro, std::string(f) + ": the Avro record ends too early");
  }
  DecodeError BadValue(std::string_view f, std::string_view s, std::string_view expected) {
    return Fail(DecodeError::kBadValue,
                fmt::format("{}: \"{}\" is not {}", f, Excerpt(s), expected));
  }

  // A zigzag varint of at most 10 bytes (Avro long).
  DecodeError Long(std::string_view f, int64_t* v) {
    uint64_t z = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p_ == end_) return Truncated(f);
      const uint64_t byte = *p_++;
      if (shift == 63 && byte > 1) break;
      z |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) {
        *v = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
        return DecodeError::kNone;
      }
    }
    return Fail(DecodeError::kBadAvro, std::string(f) + ": varint longer than 64 bits");
  }

  // Avro string or bytes: a long length, then that many bytes.
  DecodeError String(std::string_view f, std::string_view* s) {
    int64_t n;
    if (DecodeError e = Long(f, &n); e != DecodeError::kNone) return e;
    if (n < 0) return Fail(DecodeError::kBadAvro, fmt::format("{}: negative length {}", f, n));
    if (n > end_ - p_) {
      return Fail(DecodeError::kBadAvro,
                  fmt::format("{}: length {} but {} byte(s) left in the message", f, n, end_ - p_));
    }
    *s = std::string_view(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return DecodeError::kNone;
  }

  DecodeError Id(std::string_view f, std::string_view prefix, std::string_view expected,
                 uint32_t* out) {
    std::string_view s;
    if (DecodeError e = String(f, &s); e != DecodeError::kNone) return e;
    auto id = ParseId(s, prefix);
    if (!id) return BadValue(f, s, expected);
    *out = *id;
    return DecodeError::kNone;
  }

  DecodeError Enum(std::string_view f, int symbols, int64_t* v) {
    if (DecodeError e = Long(f, v); e != DecodeError::kNone) return e;
    if (*v < 0 || *v >= symbols) {
      return Fail(DecodeError::kBadAvro,
                  fmt::format("{}: enum index {} outside 0..{}", f, *v, symbols - 1));
    }
    return DecodeError::kNone;
  }

  // decimal(18, 2) as bytes: the unscaled value in big-endian two's complement, any width
  // whose value fits 64 bits (wider encodings may only repeat the sign).
  DecodeError Decimal(std::string_view f, int64_t* v) {
    std::string_view b;
    if (DecodeError e = String(f, &b); e != DecodeError::kNone) return e;
    if (b.empty()) return Fail(DecodeError::kBadAvro, std::string(f) + ": empty decimal bytes");
    const auto* u = reinterpret_cast<const uint8_t*>(b.data());
    const uint8_t sign = (u[0] & 0x80) ? 0xff : 0x00;
    size_t skip = 0;
    while (b.size() - skip > 8 && u[skip] == sign) ++skip;
    if (b.size() - skip > 8 || ((u[skip] ^ sign) & 0x80)) {
      return Fail(DecodeError::kOutOfRange,
                  fmt::format("{}: {}-byte decimal does not fit 64 bits", f, b.size()));
    }
    uint64_t x = sign ? ~uint64_t{0} : 0;
    for (size_t i = skip; i < b.size(); ++i) x = x << 8 | u[i];
    *v = static_cast<int64_t>(x);
    return DecodeError::kNone;
  }

  const uint32_t schema_id_;
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  std::string* reason_ = nullptr;
};

}  // namespace

void EncodeAvro(const Transaction& tx, uint32_t schema_id, std::string* out) {
  const size_t start = out->size();
  out->resize(start + kMaxEncodedSize);
  char* const begin = out->data() + start;
  char* p = begin;
  p = PutConfluentHeader(p, schema_id);
  p = PutShortString(p, [&](char* q) {
    FormatUuid(tx.transaction_id, q);
    return size_t{36};
  });
  p = PutShortString(p, [&](char* q) { return FormatId(q, kUserPrefix, tx.user); });
  p = PutDecimal(p, tx.amount_cents);
  p = PutLong(p, tx.time_ms);
  p = PutShortString(p, [&](char* q) { return FormatId(q, kMerchantPrefix, tx.merchant); });
  p = PutLong(p, static_cast<int64_t>(tx.type));
  p = PutShortString(p, [&](char* q) { return FormatId(q, kLocationPrefix, tx.location); });
  p = PutLong(p, static_cast<int64_t>(tx.payment_method));
  *p++ = tx.international ? 1 : 0;
  p = PutLong(p, static_cast<int64_t>(tx.currency));
  out->resize(start + static_cast<size_t>(p - begin));
}

std::unique_ptr<Decoder> NewAvroDecoder(uint32_t schema_id) {
  return std::make_unique<AvroDecoder>(schema_id);
}

}  // namespace spate
