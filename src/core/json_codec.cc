// JSON codec: a hand-written encoder (a fixed record shape written with to_chars is several
// times faster than a general JSON writer) and a strict simdjson On-Demand decoder.

#include <charconv>
#include <cstring>

#include <simdjson.h>

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
    field::kTransactionId,   field::kUserId,          field::kAmount,   field::kTransactionTime,
    field::kMerchantId,      field::kTransactionType, field::kLocation, field::kPaymentMethod,
    field::kIsInternational, field::kCurrency};
constexpr uint32_t kAllFields = (1u << kFieldCount) - 1;

// The bytes of a JSON string that starts at p (just after its opening quote), if it has no
// escape sequence: then they are its value. False if a backslash comes first.
inline bool RawString(const char* p, std::string_view* out) {
  const char* q = p;
  while (*q != '"') {
    if (*q == '\\') return false;
    ++q;
  }
  *out = std::string_view(p, static_cast<size_t>(q - p));
  return true;
}

// expect: the index the writer's fixed field order predicts (one comparison in the usual case).
int LookupField(std::string_view k, int expect) {
  if (expect < kFieldCount && kFieldNames[expect] == k) return expect;
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
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsIntegerToken(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Fast path for the canonical form EncodeJson writes (fixed field order, no whitespace, no
// escapes). It accepts a strict subset of what the general decoder accepts, with the same
// values; anything else (another order, spaces, escapes, a bad value) returns false and goes to
// the general decoder, which classifies the error.
class Canonical {
 public:
  explicit Canonical(std::string_view m) : p_(m.data()), end_(m.data() + m.size()) {}

  bool Parse(Transaction* tx) {
    if (!Lit(R"({"transactionId":")") || end_ - p_ < 37 || p_[36] != '"') return false;
    auto u = ParseUuid(std::string_view(p_, 36));
    if (!u) return false;
    tx->transaction_id = *u;
    p_ += 36;
    if (!Lit(R"(","userId":"user_)") || !Id(&tx->user)) return false;
    if (!Lit(R"(","amount":)") || !Amount(&tx->amount_cents)) return false;
    if (!Lit(R"(,"transactionTime":)") || !Time(&tx->time_ms)) return false;
    if (!Lit(R"(,"merchantId":"merchant)") || !Id(&tx->merchant)) return false;
    if (!Lit(R"(","transactionType":")")) return false;
    if (Lit(R"(purchase")")) {
      tx->type = TxType::kPurchase;
    } else if (Lit(R"(refund")")) {
      tx->type = TxType::kRefund;
    } else {
      return false;
    }
    if (!Lit(R"(,"location":"location )") || !Id(&tx->location)) return false;
    if (!Lit(R"(","paymentMethod":")")) return false;
    if (Lit(R"(credit_card")")) {
      tx->payment_method = PaymentMethod::kCreditCard;
    } else if (Lit(R"(paypal")")) {
      tx->payment_method = PaymentMethod::kPaypal;
    } else if (Lit(R"(bank_transfer")")) {
      tx->payment_method = PaymentMethod::kBankTransfer;
    } else {
      return false;
    }
    if (!Lit(R"(,"isInternational":")")) return false;
    if (Lit(R"(True")")) {
      tx->international = true;
    } else if (Lit(R"(False")")) {
      tx->international = false;
    } else {
      return false;
    }
    if (!Lit(R"(,"currency":")")) return false;
    if (Lit(R"(USD")")) {
      tx->currency = Currency::kUsd;
    } else if (Lit(R"(EU")")) {
      tx->currency = Currency::kEu;
    } else if (Lit(R"(GBP")")) {
      tx->currency = Currency::kGbp;
    } else {
      return false;
    }
    if (!Lit("}")) return false;
    for (; p_ < end_; ++p_) {  // JSON whitespace only after the object
      if (*p_ != ' ' && *p_ != '\n' && *p_ != '\r' && *p_ != '\t') return false;
    }
    return true;
  }

 private:
  template <size_t N>
  bool Lit(const char (&lit)[N]) {
    constexpr size_t n = N - 1;
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, lit, n) != 0) return false;
    p_ += n;
    return true;
  }
  static bool IsDigit(char c) { return static_cast<unsigned>(c - '0') < 10; }
  // Up to `max` digits without a leading zero (a lone "0" is allowed); at least one.
  bool Digits(size_t max, uint64_t* v) {
    const char* q = p_;
    uint64_t n = 0;
    while (q < end_ && IsDigit(*q)) {
      n = n * 10 + static_cast<uint64_t>(*q - '0');
      ++q;
    }
    const size_t len = static_cast<size_t>(q - p_);
    if (len == 0 || len > max || (len > 1 && *p_ == '0')) return false;
    p_ = q;
    *v = n;
    return true;
  }
  // "<n>", n in 1..kMaxId (the closing quote is the next literal's).
  bool Id(uint32_t* out) {
    uint64_t n;
    if (!Digits(10, &n) || n == 0 || n > kMaxId) return false;
    *out = static_cast<uint32_t>(n);
    return true;
  }
  bool Amount(int64_t* out) {
    uint64_t whole, frac = 0;
    if (!Digits(12, &whole)) return false;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ < end_ && IsDigit(*p_)) {
        frac = static_cast<uint64_t>(*p_++ - '0') * 10;
        if (p_ < end_ && IsDigit(*p_)) frac += static_cast<uint64_t>(*p_++ - '0');
      } else {
        return false;
      }
    }
    const int64_t cents = static_cast<int64_t>(whole * 100 + frac);
    if (cents < kMinAmountCents || cents > kMaxAmountCents) return false;
    *out = cents;
    return true;  // the next Lit requires ',', so "1.234" or "1e5" take the general path
  }
  bool Time(int64_t* out) {
    uint64_t ms;
    if (!Digits(13, &ms)) return false;
    if (static_cast<int64_t>(ms) < kMinTimeMs || static_cast<int64_t>(ms) > kMaxTimeMs)
      return false;
    *out = static_cast<int64_t>(ms);
    return true;
  }

  const char* p_;
  const char* end_;
};

class JsonDecoder final : public Decoder {
 public:
  DecodeError Decode(std::string_view msg, size_t readable, Transaction* tx,
                     std::string* reason) override {
    if (Canonical(msg).Parse(tx)) return DecodeError::kNone;
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
    int expect = 0;
    for (auto field_result : obj) {
      if (auto err = field_result.error()) {
        return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
      }
      ondemand::field& f = field_result.value_unsafe();  // no copy of the field
      std::string_view key;
      if (!RawString(f.key().raw(), &key)) {  // escapes in the key: unescape it
        if (auto err = f.unescaped_key().get(key)) {
          return Fail(DecodeError::kInvalidJson,
                      std::string("invalid JSON: ") + error_message(err));
        }
      }
      int idx = LookupField(key, expect);
      expect = idx + 1;
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
      case ondemand::json_type::object: break;
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
    if (err)
      return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
    return Fail(DecodeError::kWrongType, "expected a JSON object");
  }

  // Reads a string value; a non-string is kWrongType.
  DecodeError GetString(int idx, ondemand::value& v, std::string_view* s) {
    // Fast path: a string without escapes is its raw bytes (UTF-8 was validated in stage 1;
    // every string field's domain is ASCII letters, digits, '_', '-' and ' ').
    std::string_view tok = v.raw_json_token();
    if (!tok.empty() && tok[0] == '"' && RawString(tok.data() + 1, s)) return DecodeError::kNone;
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
  DecodeError DecodeEnum(int idx, ondemand::value& v,
                         std::optional<Enum> (*parse)(std::string_view), std::string_view expected,
                         Enum* out) {
    std::string_view s;
    if (DecodeError e = GetString(idx, v, &s); e != DecodeError::kNone) return e;
    auto val = parse(s);
    if (!val) return BadValue(idx, s, expected);
    *out = *val;
    return DecodeError::kNone;
  }

  DecodeError DecodeField(int idx, ondemand::value& v, Transaction* tx) {
    std::string_view s;
    switch (static_cast<FieldIndex>(idx)) {
      case kFTransactionId: {
        if (DecodeError e = GetString(idx, v, &s); e != DecodeError::kNone) return e;
        auto u = ParseUuid(s);
        if (!u) return BadValue(idx, s, "a UUID (8-4-4-4-12 hex digits)");
        tx->transaction_id = *u;
        return DecodeError::kNone;
      }
      case kFUserId: return DecodeId(idx, v, kUserPrefix, "of the form user_<n>", &tx->user);
      case kFMerchantId:
        return DecodeId(idx, v, kMerchantPrefix, "of the form merchant<n>", &tx->merchant);
      case kFLocation:
        return DecodeId(idx, v, kLocationPrefix, "of the form \"location <n>\"", &tx->location);
      case kFAmount: {
        ondemand::json_type t;
        if (auto err = v.type().get(t)) {
          return Fail(DecodeError::kInvalidJson,
                      std::string("amount: invalid JSON: ") + error_message(err));
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
        if (err == NUMBER_OUT_OF_RANGE ||
            (err == SUCCESS && (ms < kMinTimeMs || ms > kMaxTimeMs))) {
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
      case kFieldCount: break;
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
