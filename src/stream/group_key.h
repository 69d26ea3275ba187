#pragma once
// The field an aggregation groups by, and its key in numeric form (merchant7 -> 7,
// "EU" -> Currency::kEu), so per-window state is keyed by a uint32.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/transaction.h"

namespace spate {

enum class GroupBy : uint8_t { kMerchantId, kUserId, kLocation, kCurrency, kPaymentMethod };

std::optional<GroupBy> ParseGroupBy(std::string_view s);
std::string_view GroupByField(GroupBy g);  // the JSON field name, e.g. "merchantId"

inline uint32_t GroupKeyOf(const Transaction& tx, GroupBy g) {
  switch (g) {
    case GroupBy::kMerchantId: return tx.merchant;
    case GroupBy::kUserId: return tx.user;
    case GroupBy::kLocation: return tx.location;
    case GroupBy::kCurrency: return static_cast<uint32_t>(tx.currency);
    case GroupBy::kPaymentMethod: return static_cast<uint32_t>(tx.payment_method);
  }
  return 0;
}

// The key as it appears on the wire ("merchant7", "EU"), as a string or appended to *out.
std::string GroupKeyString(GroupBy g, uint32_t key);
void AppendGroupKey(GroupBy g, uint32_t key, std::string* out);

}  // namespace spate
