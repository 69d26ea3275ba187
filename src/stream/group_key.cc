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

void AppendGroupKey(GroupBy g, uint32_t key, std::string* out) {
  switch (g) {
    case GroupBy::kMerchantId:
    case GroupBy::kUserId:
    case GroupBy::kLocation: {
      const std::string_view prefix = g == GroupBy::kMerchantId ? kMerchantPrefix
                                      : g == GroupBy::kUserId   ? kUserPrefix
                                                                : kLocationPrefix;
      char buf[24];
      out->append(buf, FormatId(buf, prefix, key));
      return;
    }
    case GroupBy::kCurrency: out->append(CurrencyName(static_cast<Currency>(key))); return;
    case GroupBy::kPaymentMethod:
      out->append(PaymentMethodName(static_cast<PaymentMethod>(key)));
      return;
  }
}

std::string GroupKeyString(GroupBy g, uint32_t key) {
  std::string s;
  AppendGroupKey(g, key, &s);
  return s;
}

}  // namespace spate
