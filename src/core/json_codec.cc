// JSON codec: a hand-written encoder (a fixed record shape written with to_chars is several
// times faster than a general JSON writer) and a strict simdjson On-Demand decoder, with a fast
// path for the canonical form that EncodeJson writes.

#include <charconv>
#include <cstring>

#include <simdjson.h>

#include "core/codec.h"
#include "core/json_canonical.h"
#include "core/money.h"

namespace spate {
namespace {

inline void Put(std::string* out, std::string_view s) { out->append(s); }

// Bytes a JSON string needs escaped: '"', '\\' and the controls below 0x20.
constexpr std::array<bool, 256> kEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<size_t>(c)] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;  // bytes since the last escape, appended in one go
  for (size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (!kEscape[u]) continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    if (u == '"' || u == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(u));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      const char esc[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
      out->append(esc, 6);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

namespace {

// The field keys: the reference's as literals (the common case, compiled to fixed-size
// copies), or a stream's own names.
struct LiteralKeys {
  template <size_t N>
  static void Put(std::string* out, Role, const char (&lit)[N]) {
    out->append(lit, N - 1);
  }
};
struct NamedKeys {
  const RecordFormat& f;
  template <size_t N>
  void Put(std::string* out, Role r, const char (&lit)[N]) const {
    out->push_back(lit[0]);  // '{' or ','
    AppendJsonString(f.name(r), out);
    out->push_back(':');
  }
};

template <typename Keys>
void WriteJson(const Transaction& tx, std::string* out, TimeFormat time, const Keys& k) {
  k.Put(out, Role::kTransactionId, R"({"transactionId":)");
  AppendJsonString(tx.transaction_id, out);
  k.Put(out, Role::kUserId, R"(,"userId":)");
  AppendJsonString(tx.user, out);
  k.Put(out, Role::kAmount, R"(,"amount":)");
  char num[kMaxAmountText];
  out->append(num, FormatAmount(num, tx.amount, MinorDigits(tx.currency)));
  k.Put(out, Role::kTransactionTime, R"(,"transactionTime":)");
  if (IsStringTime(time)) out->push_back('"');
  out->append(num, FormatTime(num, tx.time_ms, time));
  if (IsStringTime(time)) out->push_back('"');
  k.Put(out, Role::kMerchantId, R"(,"merchantId":)");
  AppendJsonString(tx.merchant, out);
  k.Put(out, Role::kTransactionType, R"(,"transactionType":)");
  AppendJsonString(tx.type, out);
  k.Put(out, Role::kLocation, R"(,"location":)");
  AppendJsonString(tx.location, out);
  k.Put(out, Role::kPaymentMethod, R"(,"paymentMethod":)");
  AppendJsonString(tx.payment_method, out);
  k.Put(out, Role::kIsInternational, R"(,"isInternational":)");
  Put(out, tx.international ? R"("True")" : R"("False")");
  k.Put(out, Role::kCurrency, R"(,"currency":)");
  out->push_back('"');
  Put(out, CurrencySpelling(tx.currency));
  Put(out, R"("})");
}

}  // namespace

void EncodeJson(const Transaction& tx, std::string* out, TimeFormat time) {
  WriteJson(tx, out, time, LiteralKeys{});
}

void EncodeJson(const Transaction& tx, std::string* out, const RecordFormat& f) {
  if (f.renamed()) {
    WriteJson(tx, out, f.time, NamedKeys{f});
  } else {
    WriteJson(tx, out, f.time, LiteralKeys{});
  }
}

namespace {

using namespace simdjson;  // NOLINT: the On-Demand API is verbose otherwise

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

// The parts of a record read before they can be judged: the amount needs the currency's
// decimals, which may come after it.
struct Pending {
  std::string_view amount;  // the number's text
};

class JsonDecoder final : public Decoder {
 public:
  explicit JsonDecoder(const RecordFormat& f) : f_(f), canonical_(f.canonical()) {}

  DecodeError Decode(std::string_view msg, size_t readable, Transaction* tx,
                     std::string* reason) override {
    if (canonical_ && json_internal::Canonical(msg, f_.max_id_bytes).Parse(tx))
      return DecodeError::kNone;
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
    Pending pending;
    for (auto field_result : obj) {
      if (auto err = field_result.error()) {
        return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
      }
      ondemand::field& f = field_result.value_unsafe();  // no copy of the field
      std::string_view key;
      if (auto err = f.unescaped_key().get(key)) {
        return Fail(DecodeError::kInvalidJson, std::string("invalid JSON: ") + error_message(err));
      }
      const int idx = LookupField(key, expect);
      expect = idx + 1;
      if (idx < 0) continue;  // unknown fields are ignored (forward compatibility)
      if (seen & (1u << idx)) {
        return Fail(DecodeError::kDuplicateField, std::string(key) + ": field appears twice");
      }
      seen |= 1u << idx;
      DecodeError e = DecodeField(static_cast<Role>(idx), f.value(), tx, &pending);
      if (e != DecodeError::kNone) return e;
    }
    constexpr uint32_t kAll = (1u << kRoleCount) - 1;
    if (seen != kAll) {
      for (int i = 0; i < kRoleCount; ++i) {
        if (!(seen & (1u << i))) {
          return Fail(DecodeError::kMissingField,
                      Name(static_cast<Role>(i)) + ": required field is missing");
        }
      }
    }
    // After the closing brace the document must be exhausted.
    const char* loc = nullptr;
    if (doc.current_location().get(loc) == SUCCESS) {
      return Fail(DecodeError::kTrailingContent, "trailing content after the JSON object");
    }
    return Amount(pending.amount, tx);
  }

 private:
  DecodeError Fail(DecodeError code, std::string reason) {
    *reason_ = std::move(reason);
    return code;
  }
  std::string Name(Role r) const { return f_.name(r); }

  // The role whose name is k; expect is the index the writer's field order predicts.
  int LookupField(std::string_view k, int expect) const {
    if (expect < kRoleCount && f_.name(static_cast<Role>(expect)) == k) return expect;
    for (int i = 0; i < kRoleCount; ++i) {
      if (f_.name(static_cast<Role>(i)) == k) return i;
    }
    return -1;
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

  DecodeError InvalidJson(Role r, error_code err) {
    return Fail(DecodeError::kInvalidJson, Name(r) + ": invalid JSON: " + error_message(err));
  }

  // A string value, unescaped (UTF-8 was validated in stage 1); a non-string is kWrongType.
  DecodeError GetString(Role r, ondemand::value& v, std::string_view* s) {
    auto err = v.get_string().get(*s);
    if (err == SUCCESS) return DecodeError::kNone;
    if (err == INCORRECT_TYPE)
      return Fail(DecodeError::kWrongType, Name(r) + ": expected a string");
    return InvalidJson(r, err);
  }

  // An id or a free-form string: 1 to max_id_bytes bytes.
  DecodeError GetId(Role r, ondemand::value& v, std::string_view* s) {
    if (DecodeError e = GetString(r, v, s); e != DecodeError::kNone) return e;
    if (s->empty()) return Fail(DecodeError::kBadValue, Name(r) + ": empty string");
    if (s->size() > f_.max_id_bytes) {
      return Fail(DecodeError::kBadValue, Name(r) + ": " + std::to_string(s->size()) +
                                              " bytes, more than the " +
                                              std::to_string(f_.max_id_bytes) +
                                              " allowed (--max-id-bytes): \"" + Excerpt(*s) + "\"");
    }
    return DecodeError::kNone;
  }

  DecodeError BadValue(Role r, std::string_view s, std::string_view expected) {
    return Fail(DecodeError::kBadValue,
                Name(r) + ": \"" + Excerpt(s) + "\" is not " + std::string(expected));
  }

  DecodeError Number(Role r, ondemand::value& v, std::string_view* raw) {
    ondemand::json_type t;
    if (auto err = v.type().get(t)) return InvalidJson(r, err);
    if (t != ondemand::json_type::number) {
      return Fail(DecodeError::kWrongType, Name(r) + ": expected a number");
    }
    *raw = TrimRight(v.raw_json_token());
    return DecodeError::kNone;
  }

  DecodeError DecodeTime(ondemand::value& v, Transaction* tx) {
    const Role r = Role::kTransactionTime;
    int64_t ms = 0;
    TimeError te;
    std::string_view text;
    if (IsStringTime(f_.time)) {
      if (DecodeError e = GetString(r, v, &text); e != DecodeError::kNone) {
        return e == DecodeError::kWrongType
                   ? Fail(e, Name(r) + ": expected an RFC 3339 string (--time-format rfc3339)")
                   : e;
      }
      te = ParseRfc3339(text, &ms);
    } else {
      if (DecodeError e = Number(r, v, &text); e != DecodeError::kNone) {
        return e == DecodeError::kWrongType
                   ? Fail(e, Name(r) + ": expected a number (--time-format " +
                                 std::string(TimeFormatName(f_.time)) + ")")
                   : e;
      }
      te = ParseEpoch(text, f_.time, &ms);
    }
    if (te == TimeError::kSyntax) {
      return BadValue(r, text,
                      IsStringTime(f_.time)
                          ? "an RFC 3339 date-time (e.g. 2026-01-01T12:00:00Z)"
                          : "an integer (--time-format " + std::string(TimeFormatName(f_.time)) +
                                (f_.time == TimeFormat::kEpochS ? ", a fraction allowed)" : ")"));
    }
    if (te == TimeError::kOutOfRange || ms < kMinTimeMs || ms > kMaxTimeMs) {
      return Fail(DecodeError::kOutOfRange, Name(r) + ": " + Excerpt(text) +
                                                " is not between 2000-01-01 and 2100-01-01 (" +
                                                std::string(TimeFormatName(f_.time)) + ")");
    }
    tx->time_ms = ms;
    return DecodeError::kNone;
  }

  DecodeError DecodeField(Role r, ondemand::value v, Transaction* tx, Pending* pending) {
    switch (r) {
      case Role::kTransactionId: return GetId(r, v, &tx->transaction_id);
      case Role::kUserId: return GetId(r, v, &tx->user);
      case Role::kMerchantId: return GetId(r, v, &tx->merchant);
      case Role::kLocation: return GetId(r, v, &tx->location);
      case Role::kTransactionType: return GetId(r, v, &tx->type);
      case Role::kPaymentMethod: return GetId(r, v, &tx->payment_method);
      case Role::kAmount: return Number(r, v, &pending->amount);
      case Role::kTransactionTime: return DecodeTime(v, tx);
      case Role::kCurrency: {
        std::string_view s;
        if (DecodeError e = GetString(r, v, &s); e != DecodeError::kNone) return e;
        auto c = ParseCurrency(s);
        if (!c) return BadValue(r, s, "an ISO 4217 currency code (e.g. USD, JPY, BHD)");
        tx->currency = *c;
        return DecodeError::kNone;
      }
      case Role::kIsInternational: {
        ondemand::json_type t;
        if (auto err = v.type().get(t)) return InvalidJson(r, err);
        if (t == ondemand::json_type::boolean) {
          bool b;
          if (auto err = v.get_bool().get(b)) return InvalidJson(r, err);
          tx->international = b;
          return DecodeError::kNone;
        }
        std::string_view s;
        if (t != ondemand::json_type::string) {
          return Fail(DecodeError::kWrongType, Name(r) + ": expected a boolean or a string");
        }
        if (DecodeError e = GetString(r, v, &s); e != DecodeError::kNone) return e;
        if (s == "True" || s == "true") {
          tx->international = true;
        } else if (s == "False" || s == "false") {
          tx->international = false;
        } else {
          return BadValue(r, s,
                          R"(true or false (a JSON boolean, or "True", "true", "False", "false"))");
        }
        return DecodeError::kNone;
      }
    }
    return Fail(DecodeError::kBadValue, "internal: unknown field role");
  }

  // The amount, once the currency says how many decimals it may have.
  DecodeError Amount(std::string_view text, Transaction* tx) {
    const Role r = Role::kAmount;
    const int digits = MinorDigits(tx->currency);
    switch (ParseAmount(text, digits, &tx->amount)) {
      case AmountError::kNone: return DecodeError::kNone;
      case AmountError::kSyntax: return BadValue(r, text, "a decimal number");
      case AmountError::kTooManyDecimals:
        return Fail(DecodeError::kBadValue, Name(r) + ": " + Excerpt(text) +
                                                " has more decimals than " +
                                                std::string(CurrencyCode(tx->currency)) + " has (" +
                                                std::to_string(digits) + ")");
      case AmountError::kOutOfRange:
        return Fail(DecodeError::kOutOfRange, Name(r) + ": " + Excerpt(text) +
                                                  " is more than 18 digits in minor units of " +
                                                  std::string(CurrencyCode(tx->currency)));
    }
    return DecodeError::kNone;
  }

  const RecordFormat f_;
  const bool canonical_;
  ondemand::parser parser_;
  std::string scratch_;
  std::string* reason_ = nullptr;
};

}  // namespace

std::unique_ptr<Decoder> NewJsonDecoder(const RecordFormat& f) {
  return std::make_unique<JsonDecoder>(f);
}

}  // namespace spate
