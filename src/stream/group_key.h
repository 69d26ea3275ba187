#pragma once
// The field an aggregation groups by, and the key a record has under it: the field's string
// as the record has it (any string; the currency as its ISO code). The engine's state is keyed
// by the key's id in an Interner, with the currency beside it: money in different currencies is
// never added together.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/transaction.h"

namespace spate {

enum class GroupBy : uint8_t { kMerchantId, kUserId, kLocation, kCurrency, kPaymentMethod };

std::optional<GroupBy> ParseGroupBy(std::string_view s);
std::string_view GroupByField(GroupBy g);  // the JSON field name, e.g. "merchantId"

inline std::string_view GroupKeyOf(const Transaction& tx, GroupBy g) {
  switch (g) {
    case GroupBy::kMerchantId: return tx.merchant;
    case GroupBy::kUserId: return tx.user;
    case GroupBy::kLocation: return tx.location;
    case GroupBy::kCurrency: return CurrencyCode(tx.currency);
    case GroupBy::kPaymentMethod: return tx.payment_method;
  }
  return {};
}

}  // namespace spate
