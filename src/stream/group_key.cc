#include "stream/group_key.h"

namespace spate {

std::optional<GroupBy> ParseGroupBy(std::string_view s) {
  if (s == field::kMerchantId) return GroupBy::kMerchantId;
  if (s == field::kUserId) return GroupBy::kUserId;
  if (s == field::kLocation) return GroupBy::kLocation;
  if (s == field::kCurrency) return GroupBy::kCurrency;
  if (s == field::kPaymentMethod) return GroupBy::kPaymentMethod;
  return std::nullopt;
}

std::string_view GroupByField(GroupBy g) {
  switch (g) {
    case GroupBy::kMerchantId: return field::kMerchantId;
    case GroupBy::kUserId: return field::kUserId;
    case GroupBy::kLocation: return field::kLocation;
    case GroupBy::kCurrency: return field::kCurrency;
    case GroupBy::kPaymentMethod: return field::kPaymentMethod;
  }
  return "?";
}

}  // namespace spate
