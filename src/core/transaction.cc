#include "core/transaction.h"

#include <charconv>
#include <cstring>

#include <simdjson.h>

namespace spate {

TransactionData TransactionData::From(const Transaction& t) {
  TransactionData d;
  d.transaction_id = t.transaction_id;
  d.user = t.user;
  d.merchant = t.merchant;
  d.location = t.location;
  d.type = t.type;
  d.payment_method = t.payment_method;
  d.amount = t.amount;
  d.time_ms = t.time_ms;
  d.currency = t.currency;
  d.international = t.international;
  return d;
}

Transaction TransactionData::View() const {
  Transaction t;
  t.transaction_id = transaction_id;
  t.user = user;
  t.merchant = merchant;
  t.location = location;
  t.type = type;
  t.payment_method = payment_method;
  t.amount = amount;
  t.time_ms = time_ms;
  t.currency = currency;
  t.international = international;
  return t;
}

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kTransactionId: return field::kTransactionId;
    case Role::kUserId: return field::kUserId;
    case Role::kAmount: return field::kAmount;
    case Role::kTransactionTime: return field::kTransactionTime;
    case Role::kMerchantId: return field::kMerchantId;
    case Role::kTransactionType: return field::kTransactionType;
    case Role::kLocation: return field::kLocation;
    case Role::kPaymentMethod: return field::kPaymentMethod;
    case Role::kIsInternational: return field::kIsInternational;
    case Role::kCurrency: return field::kCurrency;
  }
  return "?";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (int r = 0; r < kRoleCount; ++r) {
    if (RoleName(static_cast<Role>(r)) == name) return static_cast<Role>(r);
  }
  return std::nullopt;
}

size_t FormatId(char* out, std::string_view prefix, uint32_t n) {
  std::memcpy(out, prefix.data(), prefix.size());
  auto r = std::to_chars(out + prefix.size(), out + prefix.size() + 10, n);
  return static_cast<size_t>(r.ptr - out);
}

std::string IdString(std::string_view prefix, uint32_t n) {
  char buf[32];
  return std::string(buf, FormatId(buf, prefix, n));
}

void FormatUuid(const uint8_t bytes[16], char out[36]) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[bytes[i] >> 4];
    out[o++] = kHex[bytes[i] & 0xf];
  }
}

bool IsValidUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

}  // namespace spate
