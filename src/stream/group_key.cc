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

std::string GroupKeyString(GroupBy g, uint32_t key) {
  switch (g) {
    case GroupBy::kMerchantId: return IdString(kMerchantPrefix, key);
    case GroupBy::kUserId: return IdString(kUserPrefix, key);
    case GroupBy::kLocation: return IdString(kLocationPrefix, key);
    case GroupBy::kCurrency: return std::string(CurrencyName(static_cast<Currency>(key)));
    case GroupBy::kPaymentMethod:
      return std::string(PaymentMethodName(static_cast<PaymentMethod>(key)));
  }
  return "?";
}

}  // namespace spate
