// Compact binary codec, our own format (the repartition topic's records; `--format binary`):
//   u8 version 0xB2 |
//   transactionId, userId, merchantId, location, transactionType, paymentMethod: each a
//     varint length and that many bytes of UTF-8 |
//   zigzag varint amount (minor units) | varint transactionTime ms |
//   u8 length (2 or 3) and the currency's code as written ("EU" stays "EU") |
//   u8 flags: bit0 international, the others zero.
// Varints are LEB128 (unsigned). Every field is checked on decode like the JSON codec.
//
// Version 0xB1 (spate before the strings: numeric ids, a 16-byte UUID, enums in a flags byte)
// is still read, into the same strings the JSON form of such a record has.

#include <cstring>

#include "core/codec.h"

namespace spate {
namespace {

constexpr uint8_t kBinaryV1 = 0xB1;
constexpr uint8_t kBinaryVersion = 0xB2;

inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline bool GetVarint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < end; shift += 7) {
    uint64_t byte = *p++;
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

inline void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

class BinaryDecoder final : public Decoder {
 public:
  explicit BinaryDecoder(const RecordFormat& f) : max_id_(f.max_id_bytes) {}

  DecodeError Decode(std::string_view msg, size_t /*readable*/, Transaction* tx,
                     std::string* reason) override {
    reason_ = reason;
    const auto* p = reinterpret_cast<const uint8_t*>(msg.data());
    const uint8_t* end = p + msg.size();
    if (msg.empty()) return Fail("empty binary record");
    if (*p == kBinaryV1) return DecodeV1(p + 1, end, tx);
    if (*p++ != kBinaryVersion) return Fail("unknown binary record version");
    std::string_view* strings[] = {&tx->transaction_id, &tx->user, &tx->merchant,
                                   &tx->location,       &tx->type, &tx->payment_method};
    for (std::string_view* s : strings) {
      uint64_t n;
      if (!GetVarint(p, end, &n) || n > static_cast<uint64_t>(end - p)) {
        return Fail("binary record truncated or malformed varint");
      }
      *s = std::string_view(reinterpret_cast<const char*>(p), n);
      p += n;
    }
    uint64_t zz, time, code_len;
    if (!GetVarint(p, end, &zz) || !GetVarint(p, end, &time) || p >= end) {
      return Fail("binary record truncated or malformed varint");
    }
    code_len = *p++;
    if (static_cast<uint64_t>(end - p) < code_len + 1) {
      return Fail("binary record truncated");
    }
    const std::string_view code(reinterpret_cast<const char*>(p), code_len);
    p += code_len;
    const uint8_t flags = *p++;
    if (p != end) {
      *reason = "trailing bytes after the binary record";
      return DecodeError::kTrailingContent;
    }
    if (flags & 0xfe) {
      *reason = "invalid flags byte";
      return DecodeError::kBadValue;
    }
    const int64_t amount = static_cast<int64_t>(zz >> 1) ^ -static_cast<int64_t>(zz & 1);
    return Check(amount, time, code, flags & 1, tx);
  }

 private:
  DecodeError Fail(const char* what) {
    *reason_ = what;
    return DecodeError::kBadBinary;
  }

  DecodeError Check(int64_t amount, uint64_t time, std::string_view code, bool international,
                    Transaction* tx) {
    for (std::string_view s :
         {tx->transaction_id, tx->user, tx->merchant, tx->location, tx->type, tx->payment_method}) {
      if (s.empty() || s.size() > max_id_ || !IsValidUtf8(s)) {
        *reason_ = "an id or string field is empty, longer than --max-id-bytes, or not UTF-8";
        return DecodeError::kBadValue;
      }
    }
    auto c = ParseCurrency(code);
    if (!c) {
      *reason_ = "currency \"" + std::string(code) + "\" is not an ISO 4217 code";
      return DecodeError::kBadValue;
    }
    if (amount < -kMaxAmount || amount > kMaxAmount) {
      *reason_ = "amount outside 18 digits of minor units";
      return DecodeError::kOutOfRange;
    }
    if (time < static_cast<uint64_t>(kMinTimeMs) || time > static_cast<uint64_t>(kMaxTimeMs)) {
      *reason_ = "transactionTime outside 2000-01-01 .. 2100-01-01";
      return DecodeError::kOutOfRange;
    }
    tx->amount = amount;
    tx->time_ms = static_cast<int64_t>(time);
    tx->currency = *c;
    tx->international = international;
    return DecodeError::kNone;
  }

  // The first version: 16-byte UUID | varint user | varint merchant | varint location |
  // varint amount cents | varint time | u8 flags (bit0 refund, bit1 international, bits 2-3
  // payment method, bits 4-5 currency of USD, EU, GBP).
  DecodeError DecodeV1(const uint8_t* p, const uint8_t* end, Transaction* tx) {
    if (end - p < 16 + 6) return Fail("binary record too short");
    FormatUuid(p, v1_id_);
    p += 16;
    uint64_t user, merchant, location, amount, time;
    if (!GetVarint(p, end, &user) || !GetVarint(p, end, &merchant) ||
        !GetVarint(p, end, &location) || !GetVarint(p, end, &amount) || !GetVarint(p, end, &time) ||
        p >= end) {
      return Fail("binary record truncated or malformed varint");
    }
    const uint8_t flags = *p++;
    if (p != end) {
      *reason_ = "trailing bytes after the binary record";
      return DecodeError::kTrailingContent;
    }
    const unsigned pm = (flags >> 2) & 3, cur = (flags >> 4) & 3;
    if ((flags & 0xC0) || pm >= 3 || cur >= 3 || user == 0 || user > kMaxId || merchant == 0 ||
        merchant > kMaxId || location == 0 || location > kMaxId ||
        amount > static_cast<uint64_t>(kMaxAmount)) {
      *reason_ = "invalid version-1 binary record";
      return DecodeError::kBadValue;
    }
    static constexpr std::string_view kMethods[] = {"credit_card", "paypal", "bank_transfer"};
    static constexpr std::string_view kCurrencies[] = {"USD", "EU", "GBP"};
    tx->transaction_id = std::string_view(v1_id_, 36);
    tx->user =
        std::string_view(v1_user_, FormatId(v1_user_, kUserPrefix, static_cast<uint32_t>(user)));
    tx->merchant = std::string_view(
        v1_merchant_, FormatId(v1_merchant_, kMerchantPrefix, static_cast<uint32_t>(merchant)));
    tx->location = std::string_view(
        v1_location_, FormatId(v1_location_, kLocationPrefix, static_cast<uint32_t>(location)));
    tx->type = (flags & 1) ? "refund" : "purchase";
    tx->payment_method = kMethods[pm];
    return Check(static_cast<int64_t>(amount), time, kCurrencies[cur], (flags & 2) != 0, tx);
  }

  const size_t max_id_;
  std::string* reason_ = nullptr;
  char v1_id_[36], v1_user_[24], v1_merchant_[24], v1_location_[24];
};

}  // namespace

void EncodeBinary(const Transaction& tx, std::string* out) {
  out->push_back(static_cast<char>(kBinaryVersion));
  for (std::string_view s :
       {tx.transaction_id, tx.user, tx.merchant, tx.location, tx.type, tx.payment_method}) {
    PutString(out, s);
  }
  PutVarint(out, (static_cast<uint64_t>(tx.amount) << 1) ^ static_cast<uint64_t>(tx.amount >> 63));
  PutVarint(out, static_cast<uint64_t>(tx.time_ms));
  const std::string_view code = CurrencySpelling(tx.currency);
  out->push_back(static_cast<char>(code.size()));
  out->append(code);
  out->push_back(static_cast<char>(tx.international ? 1 : 0));
}

std::unique_ptr<Decoder> NewBinaryDecoder(const RecordFormat& f) {
  return std::make_unique<BinaryDecoder>(f);
}

}  // namespace spate
