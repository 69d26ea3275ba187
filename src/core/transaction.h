#pragma once
// The transaction record of the reference design, as spate reads it from anyone's stream:
//   - the ids (transactionId, userId, merchantId, location) and the free-form fields
//     (transactionType, paymentMethod) are strings of valid UTF-8, 1 to --max-id-bytes bytes;
//   - the amount is an exact integer in its currency's minor units (any ISO 4217 currency);
//   - the time is epoch milliseconds (read from epoch ms, s or us, or RFC 3339).
// Transaction holds the strings as views into the bytes it was decoded from (or into its
// decoder's buffer, when a string had escapes: valid until that decoder's next record), so it
// is small and copied freely; TransactionData owns its strings.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/currency.h"

namespace spate {

// What transactionType says, for the counts: purchaseCount and refundCount count the records
// whose type is exactly "purchase" and "refund"; any other type counts in neither.
enum class TxKind : uint8_t { kOther, kPurchase, kRefund };
inline TxKind KindOf(std::string_view type) {
  if (type == "purchase") return TxKind::kPurchase;
  if (type == "refund") return TxKind::kRefund;
  return TxKind::kOther;
}

struct Transaction {
  std::string_view transaction_id;
  std::string_view user;
  std::string_view merchant;
  std::string_view location;
  std::string_view type;
  std::string_view payment_method;
  int64_t amount = 0;  // in the currency's minor units: JPY 1 = 1, USD 1.00 = 100
  int64_t time_ms = 0;
  Currency currency;
  bool international = false;

  TxKind kind() const { return KindOf(type); }
  bool operator==(const Transaction&) const = default;
};

// A Transaction that owns its strings (tests, tools).
struct TransactionData {
  std::string transaction_id, user, merchant, location, type, payment_method;
  int64_t amount = 0;
  int64_t time_ms = 0;
  Currency currency;
  bool international = false;

  static TransactionData From(const Transaction& t);
  Transaction View() const;
};

// The ten fields, by role. A stream may name them otherwise (--field ROLE=NAME); the roles
// keep the reference's names (camelCase), which are also spate's own field names.
enum class Role : uint8_t {
  kTransactionId,
  kUserId,
  kAmount,
  kTransactionTime,
  kMerchantId,
  kTransactionType,
  kLocation,
  kPaymentMethod,
  kIsInternational,
  kCurrency
};
inline constexpr int kRoleCount = 10;
std::string_view RoleName(Role r);  // "transactionId", ...
std::optional<Role> ParseRole(std::string_view name);

namespace field {
inline constexpr std::string_view kTransactionId = "transactionId";
inline constexpr std::string_view kUserId = "userId";
inline constexpr std::string_view kAmount = "amount";
inline constexpr std::string_view kTransactionTime = "transactionTime";
inline constexpr std::string_view kMerchantId = "merchantId";
inline constexpr std::string_view kTransactionType = "transactionType";
inline constexpr std::string_view kLocation = "location";
inline constexpr std::string_view kPaymentMethod = "paymentMethod";
inline constexpr std::string_view kIsInternational = "isInternational";
inline constexpr std::string_view kCurrency = "currency";
}  // namespace field

// Limits shared by the codecs, the generator and the validators.
// An amount is at most 18 decimal digits in minor units, either sign: 999,999,999,999,999,999
// (about 10^16 US dollars); the sums of windows and totals are kept in 128 bits (money.h).
inline constexpr int64_t kMaxAmount = 999'999'999'999'999'999;
// Event time: 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z, both included. The bounds catch
// unit mistakes: seconds read as milliseconds land in 1970, microseconds after the year 50,000.
inline constexpr int64_t kMinTimeMs = 946'684'800'000;
inline constexpr int64_t kMaxTimeMs = 4'102'444'800'000;
// Ids and the free-form strings: 1 to this many bytes after unescaping (--max-id-bytes).
inline constexpr size_t kDefaultMaxIdBytes = 256;

// Identifier patterns of the reference workload (spate gen --profile reference): prefix and a
// decimal 1..2^31-1. The engine does not depend on them.
inline constexpr std::string_view kUserPrefix = "user_";
inline constexpr std::string_view kMerchantPrefix = "merchant";
inline constexpr std::string_view kLocationPrefix = "location ";
inline constexpr uint32_t kMaxId = 0x7fffffff;
// Appends "<prefix><n>" to out; returns the number of bytes written. out must have 20 bytes.
size_t FormatId(char* out, std::string_view prefix, uint32_t n);
std::string IdString(std::string_view prefix, uint32_t n);

// UUID text form 8-4-4-4-12 (36 chars, lowercase), from 16 bytes.
void FormatUuid(const uint8_t bytes[16], char out[36]);

// Whether s is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace spate
