// Avro codec for schemas/transaction.avsc (version 2) in the Confluent wire format, written by
// hand for that schema (a generic Avro library builds a value tree per record; this is a
// straight-line writer and reader). The frame and the record:
//   u8 magic 0 | u32 schema id, big-endian |
//   transactionId   string
//   userId          string
//   amount          union: 0 = bytes decimal(18, 2), 1 = fixed[16] decimal(38, 4); the
//                   unscaled value in big-endian two's complement. spate writes branch 0 for
//                   currencies of at most two decimals, 1 for the others
//   transactionTime long (timestamp-millis)
//   merchantId      string
//   transactionType union: 0 = enum {purchase, refund}, 1 = string
//   location        string
//   paymentMethod   union: 0 = enum {credit_card, paypal, bank_transfer}, 1 = string
//   isInternational boolean: one byte, 0 or 1
//   currency        union: 0 = enum {USD, EU, GBP}, 1 = string
// spate writes the enum branch for a value that is one of its symbols, the string branch for
// any other (as fastavro and other writers resolve a string against such a union). Version 1
// (schemas/transaction-v1.avsc) is the same record without the unions: amount is the bytes decimal,
// the three enums are bare; the decoder reads it when told (the registry decoder tells it by the
// frame's schema id). The decoder is strict: a frame or datum that is not valid under the schema is
// kBadAvro, a valid datum whose values are outside the record's domain gets the JSON codec's codes
// (kBadValue, kOutOfRange), and bytes after the datum are kTrailingContent. Any Avro writer's
// encoding of the schema is accepted (non-minimal varints and decimal widths too).

#include <cstring>

#include <fmt/format.h>

#include "core/avro_write.h"
#include "core/codec.h"
#include "core/money.h"

namespace spate {
namespace {

using avro::AppendConfluentHeader;
using avro::AppendLong;
using avro::AppendString;

constexpr std::string_view kTypes[] = {"purchase", "refund"};
constexpr std::string_view kMethods[] = {"credit_card", "paypal", "bank_transfer"};
constexpr std::string_view kCurrencies[] = {"USD", "EU", "GBP"};

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

// A union {enum, string} value: branch 0 and the symbol's index if s is one, else branch 1.
template <size_t N>
void AppendEnumOrString(std::string_view s, const std::string_view (&symbols)[N],
                        std::string* out) {
  for (size_t i = 0; i < N; ++i) {
    if (symbols[i] == s) {
      AppendLong(0, out);
      AppendLong(static_cast<int64_t>(i), out);
      return;
    }
  }
  AppendLong(1, out);
  AppendString(s, out);
}

class AvroDecoder final : public Decoder {
 public:
  AvroDecoder(uint32_t schema_id, AvroVersion version, size_t max_id)
      : schema_id_(schema_id), v2_(version == AvroVersion::kV2), max_id_(max_id) {}

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

    if (DecodeError e = Id(field::kTransactionId, &tx->transaction_id); e != DecodeError::kNone)
      return e;
    if (DecodeError e = Id(field::kUserId, &tx->user); e != DecodeError::kNone) return e;
    Sum unscaled = 0;
    int scale = 2;
    int64_t branch = 0;
    if (v2_) {
      if (DecodeError e = Branch(field::kAmount, &branch); e != DecodeError::kNone) return e;
    }
    if (branch == 0) {
      if (DecodeError e = Decimal(field::kAmount, &unscaled); e != DecodeError::kNone) return e;
    } else {
      scale = 4;
      if (DecodeError e = Fixed16(field::kAmount, &unscaled); e != DecodeError::kNone) return e;
    }
    int64_t v;
    if (DecodeError e = Long(field::kTransactionTime, &v); e != DecodeError::kNone) return e;
    if (v < kMinTimeMs || v > kMaxTimeMs) {
      return Fail(DecodeError::kOutOfRange,
                  fmt::format("transactionTime: {} outside 2000-01-01 .. 2100-01-01 "
                              "(946684800000 .. 4102444800000 ms)",
                              v));
    }
    tx->time_ms = v;
    if (DecodeError e = Id(field::kMerchantId, &tx->merchant); e != DecodeError::kNone) return e;
    if (DecodeError e = EnumOrString(field::kTransactionType, kTypes, &tx->type);
        e != DecodeError::kNone) {
      return e;
    }
    if (DecodeError e = Id(field::kLocation, &tx->location); e != DecodeError::kNone) return e;
    if (DecodeError e = EnumOrString(field::kPaymentMethod, kMethods, &tx->payment_method);
        e != DecodeError::kNone) {
      return e;
    }
    if (p_ == end_) return Truncated(field::kIsInternational);
    if (*p_ > 1) {
      return Fail(DecodeError::kBadAvro,
                  fmt::format("isInternational: boolean byte 0x{:02x} is neither 0 nor 1", *p_));
    }
    tx->international = *p_++ == 1;
    std::string_view code;
    if (DecodeError e = EnumOrString(field::kCurrency, kCurrencies, &code); e != DecodeError::kNone)
      return e;
    auto c = ParseCurrency(code);
    if (!c) {
      return Fail(DecodeError::kBadValue,
                  fmt::format("currency: \"{}\" is not an ISO 4217 currency code", Excerpt(code)));
    }
    tx->currency = *c;
    if (p_ != end_) {
      return Fail(DecodeError::kTrailingContent,
                  fmt::format("{} trailing byte(s) after the Avro record", end_ - p_));
    }
    return Amount(unscaled, scale, tx);
  }

 private:
  DecodeError Fail(DecodeError code, std::string reason) {
    *reason_ = std::move(reason);
    return code;
  }
  DecodeError Truncated(std::string_view f) {
    return Fail(DecodeError::kBadAvro, std::string(f) + ": the Avro record ends too early");
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

  // A union's branch index, 0 or 1.
  DecodeError Branch(std::string_view f, int64_t* b) {
    if (DecodeError e = Long(f, b); e != DecodeError::kNone) return e;
    if (*b < 0 || *b > 1) {
      return Fail(DecodeError::kBadAvro, fmt::format("{}: union branch {} outside 0..1", f, *b));
    }
    return DecodeError::kNone;
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

  // An id or free-form string: UTF-8, 1 to max_id_ bytes.
  DecodeError Id(std::string_view f, std::string_view* s) {
    if (DecodeError e = String(f, s); e != DecodeError::kNone) return e;
    if (s->empty()) return Fail(DecodeError::kBadValue, std::string(f) + ": empty string");
    if (s->size() > max_id_) {
      return Fail(DecodeError::kBadValue,
                  fmt::format("{}: {} bytes, more than the {} allowed (--max-id-bytes)", f,
                              s->size(), max_id_));
    }
    if (!IsValidUtf8(*s)) {
      return Fail(DecodeError::kBadValue, fmt::format("{}: \"{}\" is not UTF-8", f, Excerpt(*s)));
    }
    return DecodeError::kNone;
  }

  // Version 2: union {enum, string}; version 1: the bare enum. The enum's symbols as strings.
  template <size_t N>
  DecodeError EnumOrString(std::string_view f, const std::string_view (&symbols)[N],
                           std::string_view* out) {
    int64_t b = 0;
    if (v2_) {
      if (DecodeError e = Branch(f, &b); e != DecodeError::kNone) return e;
    }
    if (b == 1) return Id(f, out);
    int64_t v;
    if (DecodeError e = Long(f, &v); e != DecodeError::kNone) return e;
    if (v < 0 || v >= static_cast<int64_t>(N)) {
      return Fail(DecodeError::kBadAvro,
                  fmt::format("{}: enum index {} outside 0..{}", f, v, N - 1));
    }
    *out = symbols[v];
    return DecodeError::kNone;
  }

  // Big-endian two's complement of `n` bytes at p_ into a 128-bit value: any width whose
  // value fits (wider encodings may only repeat the sign).
  DecodeError TwosComplement(std::string_view f, const uint8_t* u, size_t n, Sum* v) {
    if (n == 0) return Fail(DecodeError::kBadAvro, std::string(f) + ": empty decimal bytes");
    const uint8_t sign = (u[0] & 0x80) ? 0xff : 0x00;
    size_t skip = 0;
    while (n - skip > 16 && u[skip] == sign) ++skip;
    if (n - skip > 16 || (n - skip == 16 && ((u[skip] ^ sign) & 0x80))) {
      return Fail(DecodeError::kOutOfRange,
                  fmt::format("{}: {}-byte decimal does not fit 128 bits", f, n));
    }
    USum x = sign ? ~static_cast<USum>(0) : 0;
    for (size_t i = skip; i < n; ++i) x = x << 8 | u[i];
    *v = static_cast<Sum>(x);
    return DecodeError::kNone;
  }

  DecodeError Decimal(std::string_view f, Sum* v) {
    std::string_view b;
    if (DecodeError e = String(f, &b); e != DecodeError::kNone) return e;
    return TwosComplement(f, reinterpret_cast<const uint8_t*>(b.data()), b.size(), v);
  }

  DecodeError Fixed16(std::string_view f, Sum* v) {
    if (end_ - p_ < 16) return Truncated(f);
    const uint8_t* u = p_;
    p_ += 16;
    return TwosComplement(f, u, 16, v);
  }

  // The unscaled decimal at `scale` in the currency's minor units.
  DecodeError Amount(Sum unscaled, int scale, Transaction* tx) {
    const int digits = MinorDigits(tx->currency);
    Sum minor = unscaled;
    if (scale > digits) {
      const Sum div = Pow10(scale - digits);
      if (unscaled % div != 0) {
        return Fail(DecodeError::kBadValue,
                    fmt::format("amount: {} has more decimals than {} has ({})",
                                AmountString(unscaled, scale), CurrencyCode(tx->currency), digits));
      }
      minor = unscaled / div;
    } else if (scale < digits) {
      minor = unscaled * Pow10(digits - scale);  // |unscaled| < 2^127 / 10^4: no overflow below
    }
    if (minor < -kMaxAmount || minor > kMaxAmount) {
      return Fail(DecodeError::kOutOfRange,
                  fmt::format("amount: {} is more than 18 digits in minor units of {}",
                              AmountString(unscaled, scale), CurrencyCode(tx->currency)));
    }
    tx->amount = static_cast<int64_t>(minor);
    return DecodeError::kNone;
  }

  const uint32_t schema_id_;
  const bool v2_;
  const size_t max_id_;
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  std::string* reason_ = nullptr;
};

}  // namespace

void EncodeAvro(const Transaction& tx, uint32_t schema_id, std::string* out) {
  AppendConfluentHeader(schema_id, out);
  AppendString(tx.transaction_id, out);
  AppendString(tx.user, out);
  avro::AppendMoney(tx.amount, MinorDigits(tx.currency), out);
  AppendLong(tx.time_ms, out);
  AppendString(tx.merchant, out);
  AppendEnumOrString(tx.type, kTypes, out);
  AppendString(tx.location, out);
  AppendEnumOrString(tx.payment_method, kMethods, out);
  out->push_back(tx.international ? 1 : 0);
  AppendEnumOrString(CurrencySpelling(tx.currency), kCurrencies, out);
}

std::unique_ptr<Decoder> NewAvroDecoder(uint32_t schema_id, AvroVersion version,
                                        const RecordFormat& f) {
  return std::make_unique<AvroDecoder>(schema_id, version, f.max_id_bytes);
}

}  // namespace spate
