// JSON codec: a hand-written encoder (a fixed record shape written with to_chars is several
// times faster than a general JSON writer) and a strict simdjson On-Demand decoder.

#include <simdjson.h>

#include <charconv>
#include <cstring>

#include "core/codec.h"

namespace spate {
namespace {

inline char* Put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

}  // namespace

void EncodeJson(const Transaction& tx, std::string* out) {
  size_t start = out->size();
  out->resize(start + kMaxEncodedSize);
  char* const begin = out->data() + start;
  char* p = begin;
  p = Put(p, R"({"transactionId":")");
  FormatUuid(tx.transaction_id, p);
  p += 36;
  p = Put(p, R"(","userId":")");
  p += FormatId(p, kUserPrefix, tx.user);
  p = Put(p, R"(","amount":)");
  p += FormatAmount(p, tx.amount_cents);
  p = Put(p, R"(,"transactionTime":)");
  p = std::to_chars(p, p + 20, tx.time_ms).ptr;
  p = Put(p, R"(,"merchantId":")");
  p += FormatId(p, kMerchantPrefix, tx.merchant);
  p = Put(p, R"(","transactionType":")");
  p = Put(p, TxTypeName(tx.type));
  p = Put(p, R"(","location":")");
  p += FormatId(p, kLocationPrefix, tx.location);
  p = Put(p, R"(","paymentMethod":")");
  p = Put(p, PaymentMethodName(tx.payment_method));
  p = Put(p, R"(","isInternational":")");
  p = Put(p, tx.international ? "True" : "False");
  p = Put(p, R"(","currency":")");
  p = Put(p, CurrencyName(tx.currency));
  p = Put(p, R"("})");
  out->resize(start + static_cast<size_t>(p - begin));
}

namespace {

using namespace simdjson;  // NOLINT: the On-Demand API is verbose otherwise

enum FieldIndex : int {
  kFTransactionId,
  kFUserId,
  kFAmount,
  kFTransactionTime,
  kFMerchantId,
  kFTransactionType,
  kFLocation,
  kFPaymentMethod,
  kFIsInternational,
  kFCurrency,
  kFieldCount
};
constexpr std::string_view kFieldNames[kFieldCount] = {
    field::kTransactionId, field::kUserId,     field::kAmount,          field::kTransactionTime,
    field::kMerchantId,    field::kTransactionType, field::kLocation,   field::kPaymentMethod,
    field::kIsInternational, field::kCurrency};
constexpr uint32_t kAllFields = (1u << kFieldCount) - 1;

int LookupField(std::string_view k) {
  for (int i = 0; i < kFieldCount; ++i) {
    if (kFieldNames[i] == k) return i;
  }
  return -1;
}

// Short, printable excerpt of an offending value for a reason text.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() <= kMax) return std::string(s);
  size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // whole UTF-8 chars
  return std::string(s.substr(0, n)) + "...";
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsIntegerToken(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

class JsonDecoder final : public Decoder {
 public:
  DecodeError Decode(std::string_view msg, size_t readable, Transaction* tx,
                     std::string* reason) override {
    const char* data = msg.data();
    size_t capacity = readable;
    if (readable < msg.size() + SIMDJSON_PADDING) {
      scratch_.assign(msg.data(), msg.size());
      scratch_.resize(msg.size() + SIMDJSON_PADDING, '\0');
      data = scratch_.data();
      capacity = scratch_.size();
    }
    reason_ = reason;
    ondemand::document doc;
    if (auto err = parser_.iterate(data, msg.size(), capacity).get(doc)) {
      return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
    }
    ondemand::json_type type;
    if (auto err = doc.type().get(type)) {
      return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
    }
    if (type != ondemand::json_type::object) return NotAnObject(doc, type);
    ondemand::object obj;
    if (auto err = doc.get_object().get(obj)) {
      return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
    }
    uint32_t seen = 0;
    for (auto field_result : obj) {
      ondemand::field f;
      if (auto err = std::move(field_result).get(f)) {
        return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
      }
      std::string_view key;
      if (auto err = f.unescaped_key().get(key)) {
        return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
      }
      int idx = LookupField(key);
      if (idx < 0) continue;  // unknown fields are ignored (forward compatibility)
      if (seen & (1u << idx)) {
        return Fail(DecodeError::kDuplicateField, std::string(key) + ": field appears twice");
      }
      seen |= 1u << idx;
      DecodeError e = DecodeField(idx, f.value(), tx);
      if (e != DecodeError::kNone) return e;
    }
    if (seen != kAllFields) {
      for (int i = 0; i < kFieldCount; ++i) {
        if (!(seen & (1u << i))) {
          return Fail(DecodeError::kMissingField,
                      std::string(kFieldNames[i]) + ": required field is missing");
        }
      }
    }
    // After the closing brace the document must be exhausted.
    const char* loc = nullptr;
    if (doc.current_location().get(loc) == SUCCESS) {
      return Fail(DecodeError::kTrailingContent, "trailing content after the JSON object");
    }
    return DecodeError::kNone;
  }

 private:
  DecodeError Fail(DecodeError code, std::string reason) {
    *reason_ = std::move(reason);
    return code;
  }

  // The document is not an object: a wrong type if it is valid JSON, else invalid JSON.
  DecodeError NotAnObject(ondemand::document& doc, ondemand::json_type type) {
    error_code err = SUCCESS;
    switch (type) {
      case ondemand::json_type::array:
        return Fail(DecodeError::kWrongType, "expected a JSON object, got an array");
      case ondemand::json_type::object:
        break;
      case ondemand::json_type::number: {
        double d;
        err = doc.get_double().get(d);
        break;
      }
      case ondemand::json_type::string: {
        std::string_view sv;
        err = doc.get_string().get(sv);
        break;
      }
      case ondemand::json_type::boolean: {
        bool b;
        err = doc.get_bool().get(b);
        break;
      }
      case ondemand::json_type::null: {
        bool n;
        err = doc.is_null().get(n);
        if (!err && !n) err = INCORRECT_TYPE;
        break;
      }
    }
    if (err) return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
    return Fail(DecodeError::kWrongType, "expected a JSON object");
  }

  // Reads a string value; a non-string is kWrongType.
  DecodeError GetString(int idx, ondemand::value& v, std::string_view* s) {
    auto err = v.get_string().get(*s);
    if (err == SUCCESS) return DecodeError::kNone;
    if (err == INCORRECT_TYPE) {
      return Fail(DecodeError::kWrongType, std::string(kFieldNames[idx]) + ": expected a string");
    }
    return Fail(DecodeError::kInvalidJson,
                std::string(kFieldNames[idx]) + ": invalid JSON: " + error_message(err));
  }

  DecodeError BadValue(int idx, std::string_view s, std::string_view expected) {
    return Fail(DecodeError::kBadValue, std::string(kFieldNames[idx]) + ": \"" + Excerpt(s) +
                                            "\" is not " + std::string(expected));
  }

  DecodeError DecodeId(int idx, ondemand::value& v, std::string_view prefix,
                       std::string_view expected, uint32_t* out) {
    std::string_view s;
    if (DecodeError e = GetString(idx, v, &s); e != DecodeError::kNone) return e;
    auto id = ParseId(s, prefix);
    if (!id) return BadValue(idx, s, expected);
    *out = *id;
    return DecodeError::kNone;
  }

  template <typename Enum>
  DecodeError DecodeEnum(int idx, ondemand::value& v, std::optional<Enum> (*parse)(std::string_view),
                         std::string_view expected, Enum* out) {
    std::string_view s;
    if (DecodeError e = GetString(idx, v, &s); e != DecodeError::kNone) return e;
    auto val = parse(s);
    if (!val) return BadValue(idx, s, expected);
    *out = *val;
    return DecodeError::kNone;
  }

  DecodeError DecodeField(int idx, ondemand::value v, Transaction* tx) {
    std::string_view s;
    switch (static_cast<FieldIndex>(idx)) {
      case kFTransactionId: {
        if (DecodeError e = GetString(idx, v, &s); e != DecodeError::kNone) return e;
        auto u = ParseUuid(s);
        if (!u) return BadValue(idx, s, "a UUID (8-4-4-4-12 hex digits)");
        tx->transaction_id = *u;
        return DecodeError::kNone;
      }
      case kFUserId:
        return DecodeId(idx, v, kUserPrefix, "of the form user_<n>", &tx->user);
      case kFMerchantId:
        return DecodeId(idx, v, kMerchantPrefix, "of the form merchant<n>", &tx->merchant);
      case kFLocation:
        return DecodeId(idx, v, kLocationPrefix, "of the form \"location <n>\"", &tx->location);
      case kFAmount: {
        ondemand::json_type t;
        if (auto err = v.type().get(t)) {
          return Fail(DecodeError::kInvalidJson, std::string("amount: invalid JSON: ") +
                                                     error_message(err));
        }
        if (t != ondemand::json_type::number) {
          return Fail(DecodeError::kWrongType, "amount: expected a number");
        }
        std::string_view raw = TrimRight(v.raw_json_token());
        auto cents = ParseAmount(raw);
        if (!cents) return BadValue(idx, raw, "a decimal with at most two decimal places");
        if (*cents < kMinAmountCents || *cents > kMaxAmountCents) {
          return Fail(DecodeError::kOutOfRange,
                      "amount: " + Excerpt(raw) + " is outside 0.01 .. 100000000.00");
        }
        tx->amount_cents = *cents;
        return DecodeError::kNone;
      }
      case kFTransactionTime: {
        int64_t ms;
        auto err = v.get_int64().get(ms);
        if (err == INCORRECT_TYPE && IsIntegerToken(TrimRight(v.raw_json_token()))) {
          err = NUMBER_OUT_OF_RANGE;  // an integer too large for int64 is out of range
        }
        if (err == INCORRECT_TYPE) {
          return Fail(DecodeError::kWrongType, "transactionTime: expected an integer (epoch ms)");
        }
        if (err == NUMBER_OUT_OF_RANGE || (err == SUCCESS && (ms < kMinTimeMs || ms > kMaxTimeMs))) {
          std::string_view raw = v.raw_json_token();
          return Fail(DecodeError::kOutOfRange,
                      "transactionTime: " + Excerpt(raw) +
                          " is not epoch milliseconds between 2000-01-01 and 2100-01-01");
        }
        if (err) {
          return Fail(DecodeError::kInvalidJson,
                      std::string("transactionTime: invalid JSON: ") + error_message(err));
        }
        tx->time_ms = ms;
        return DecodeError::kNone;
      }
      case kFTransactionType:
        return DecodeEnum(idx, v, ParseTxType, "\"purchase\" or \"refund\"", &tx->type);
      case kFPaymentMethod:
        return DecodeEnum(idx, v, ParsePaymentMethod,
                          "\"credit_card\", \"paypal\" or \"bank_transfer\"", &tx->payment_method);
      case kFCurrency:
        return DecodeEnum(idx, v, ParseCurrency, "\"USD\", \"EU\" or \"GBP\"", &tx->currency);
      case kFIsInternational: {
        if (DecodeError e = GetString(idx, v, &s); e != DecodeError::kNone) return e;
        if (s == "True") {
          tx->international = true;
        } else if (s == "False") {
          tx->international = false;
        } else {
          return BadValue(idx, s, "\"True\" or \"False\"");
        }
        return DecodeError::kNone;
      }
      case kFieldCount:
        break;
    }
    return Fail(DecodeError::kBadValue, "internal: unknown field index");
  }

  ondemand::parser parser_;
  std::string scratch_;
  std::string* reason_ = nullptr;
};

}  // namespace

std::unique_ptr<Decoder> NewJsonDecoder() { return std::make_unique<JsonDecoder>(); }

}  // namespace spate
