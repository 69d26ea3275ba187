#pragma once
// The transaction record of the reference design, with its two corrections: amount in integer
// cents and transactionTime in epoch milliseconds. Identifiers are held in their numeric form
// (user_17 -> 17): the value domains are fixed patterns, so the record is a small trivially
// copyable struct that the engine can move around cheaply.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spate {

enum class TxType : uint8_t { kPurchase = 0, kRefund = 1 };
enum class PaymentMethod : uint8_t { kCreditCard = 0, kPaypal = 1, kBankTransfer = 2 };
enum class Currency : uint8_t { kUsd = 0, kEu = 1, kGbp = 2 };

inline constexpr int kPaymentMethodCount = 3;
inline constexpr int kCurrencyCount = 3;

// Value-domain limits shared by the codecs, the generator and the validators.
inline constexpr int64_t kMinAmountCents = 1;
inline constexpr int64_t kMaxAmountCents = 10'000'000'000;  // 100,000,000.00
inline constexpr int64_t kMinTimeMs = 946'684'800'000;      // 2000-01-01T00:00:00Z
inline constexpr int64_t kMaxTimeMs = 4'102'444'800'000;    // 2100-01-01T00:00:00Z
inline constexpr uint32_t kMaxId = 0x7fffffff;

struct Uuid {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const Uuid&) const = default;
};

struct Transaction {
  Uuid transaction_id;
  int64_t amount_cents = 0;
  int64_t time_ms = 0;
  uint32_t user = 0;      // userId "user_<n>"
  uint32_t merchant = 0;  // merchantId "merchant<n>"
  uint32_t location = 0;  // location "location <n>"
  TxType type = TxType::kPurchase;
  PaymentMethod payment_method = PaymentMethod::kCreditCard;
  Currency currency = Currency::kUsd;
  bool international = false;

  bool operator==(const Transaction&) const = default;
};

// Field names on the wire (camelCase, as in the reference).
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

std::string_view TxTypeName(TxType t);
std::string_view PaymentMethodName(PaymentMethod p);
std::string_view CurrencyName(Currency c);
std::optional<TxType> ParseTxType(std::string_view s);
std::optional<PaymentMethod> ParsePaymentMethod(std::string_view s);
std::optional<Currency> ParseCurrency(std::string_view s);

// Identifier patterns: prefix followed by a decimal 1..2^31-1 without leading zeros.
inline constexpr std::string_view kUserPrefix = "user_";
inline constexpr std::string_view kMerchantPrefix = "merchant";
inline constexpr std::string_view kLocationPrefix = "location ";
std::optional<uint32_t> ParseId(std::string_view s, std::string_view prefix);

// Appends "<prefix><n>" to out; returns the number of bytes written. out must have 20 bytes.
size_t FormatId(char* out, std::string_view prefix, uint32_t n);
std::string IdString(std::string_view prefix, uint32_t n);

// UUID text form 8-4-4-4-12 (36 chars, lowercase on output, either case on input).
std::optional<Uuid> ParseUuid(std::string_view s);
void FormatUuid(const Uuid& u, char out[36]);
std::string UuidString(const Uuid& u);

// Exact decimal amounts: "123.4" -> 12340. At most two decimals, no sign, no exponent.
std::optional<int64_t> ParseAmount(std::string_view s);
// Writes the amount with exactly two decimals ("-12.05" for negatives); returns bytes written.
// out must have 24 bytes.
size_t FormatAmount(char* out, int64_t cents);
std::string AmountString(int64_t cents);

}  // namespace spate
