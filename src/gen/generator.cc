#include "gen/generator.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/rng.h"
#include "gen/names.h"

namespace spate {
namespace {

// Independent random streams per purpose, so adding a draw to one never shifts another.
enum Stream : uint64_t { kRecord = 1, kUuid = 2, kBlock = 3, kBurst = 4, kUserId = 5, kExtra = 6 };

// Ordinary amounts, in major units of the record's currency: the reference's range.
constexpr int64_t kNormalMinMajor = 50'000;   // 50,000.00 USD, 50,000 JPY
constexpr int64_t kNormalMaxMajor = 150'000;  // 150,000.00 USD
constexpr double kRefundShare = 0.1;
constexpr double kInternationalShare = 0.1;

int64_t Uniform(CounterRng& r, int64_t lo, int64_t hi) {  // [lo, hi]
  return lo + static_cast<int64_t>(r.Below(static_cast<uint64_t>(hi - lo + 1)));
}

constexpr std::string_view kReferenceMethods[] = {"credit_card", "paypal", "bank_transfer"};
constexpr std::string_view kOtherTypes[] = {"chargeback", "authorization", "payout"};

}  // namespace

std::optional<Profile> ParseProfile(std::string_view s) {
  if (s == "reference") return Profile::kReference;
  if (s == "realistic") return Profile::kRealistic;
  return std::nullopt;
}

std::string_view ProfileName(Profile p) {
  return p == Profile::kReference ? "reference" : "realistic";
}

std::string_view InjectedRuleName(Injected i) {
  switch (i) {
    case Injected::kNone: return "none";
    case Injected::kHighAmount: return RuleName(Rule::kHighAmount);
    case Injected::kInternationalHigh: return RuleName(Rule::kInternationalHigh);
    case Injected::kVelocityCount: return RuleName(Rule::kVelocityCount);
    case Injected::kVelocityAmount: return RuleName(Rule::kVelocityAmount);
  }
  return "unknown";
}

void Generator::AliasTable::Build(uint32_t n, double exponent) {
  std::vector<double> w(n);
  double total = 0;
  for (uint32_t k = 0; k < n; ++k)
    total += w[k] = 1.0 / std::pow(static_cast<double>(k + 1), exponent);
  prob.assign(n, 0);
  alias.assign(n, 0);
  std::vector<uint32_t> small, large;
  std::vector<double> scaled(n);
  for (uint32_t k = 0; k < n; ++k) {
    scaled[k] = w[k] * n / total;
    (scaled[k] < 1.0 ? small : large).push_back(k);
  }
  while (!small.empty() && !large.empty()) {
    uint32_t s = small.back(), l = large.back();
    small.pop_back();
    prob[s] = scaled[s];
    alias[s] = l;
    scaled[l] = (scaled[l] + scaled[s]) - 1.0;
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (uint32_t k : large) prob[k] = 1.0;
  for (uint32_t k : small) prob[k] = 1.0;
}

uint32_t Generator::AliasTable::Draw(uint64_t r1, double u) const {
  uint32_t k = static_cast<uint32_t>(MulHi64(r1, prob.size()));
  return u < prob[k] ? k : alias[k];
}

Generator::Generator(const GeneratorConfig& config) : config_(config) {
  if (config_.skew == Skew::kZipf) {
    user_table_.Build(config_.users, config_.zipf_exponent);
    merchant_table_.Build(config_.merchants, config_.zipf_exponent);
  }
  if (config_.profile == Profile::kReference) {
    for (std::string_view code : {"USD", "EU", "GBP"}) currencies_.push_back(*ParseCurrency(code));
  } else {
    for (std::string_view code : RealisticCurrencies()) currencies_.push_back(*ParseCurrency(code));
  }
  // Bursts long enough to trip the velocity rules in any of the profile's currencies.
  count_burst_len_ = uint64_t{config_.rules.velocity_count} + 1;
  amount_burst_len_ = 1;
  for (Currency c : currencies_) {
    const int64_t per =
        std::max<int64_t>(1, std::min(NormalMax(c), config_.rules.high_amount.Minor(c) - 1));
    amount_burst_len_ = std::max<uint64_t>(
        amount_burst_len_, static_cast<uint64_t>(config_.rules.velocity_amount.Minor(c) / per) + 1);
  }
}

int64_t Generator::NormalMin(Currency c) const { return kNormalMinMajor * Pow10(MinorDigits(c)); }
int64_t Generator::NormalMax(Currency c) const { return kNormalMaxMajor * Pow10(MinorDigits(c)); }

void Generator::SetUser(uint32_t user, GeneratedRecord* out) const {
  out->user_index = user;
  if (config_.profile == Profile::kReference) {
    out->tx.user = std::string_view(out->user_, FormatId(out->user_, kUserPrefix, user));
    return;
  }
  // A UUID of its own per user, the same in every record of the user.
  CounterRng r(config_.seed, kUserId, user);
  uint8_t b[16];
  const uint64_t hi = r.Next(), lo = r.Next();
  for (int k = 0; k < 8; ++k) {
    b[k] = static_cast<uint8_t>(hi >> (56 - 8 * k));
    b[8 + k] = static_cast<uint8_t>(lo >> (56 - 8 * k));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  FormatUuid(b, out->user_);
  out->tx.user = std::string_view(out->user_, 36);
}

void Generator::SetMerchant(uint32_t merchant, GeneratedRecord* out) const {
  out->merchant_index = merchant;
  out->merchant_.clear();
  if (config_.profile == Profile::kReference) {
    char buf[24];
    out->merchant_.append(buf, FormatId(buf, kMerchantPrefix, merchant));
  } else {
    AppendMerchantName(merchant, &out->merchant_);
  }
  out->tx.merchant = out->merchant_;
}

void Generator::SetLocation(uint32_t location, GeneratedRecord* out) const {
  out->location_.clear();
  if (config_.profile == Profile::kReference) {
    char buf[24];
    out->location_.append(buf, FormatId(buf, kLocationPrefix, location));
  } else {
    AppendCityName(location, &out->location_);
  }
  out->tx.location = out->location_;
}

Currency Generator::DrawCurrency(CounterRng& r, uint32_t user) const {
  if (config_.profile == Profile::kReference) return currencies_[r.Below(currencies_.size())];
  // A home currency per user (a hash of the user), another one a tenth of the time.
  const uint64_t other = r.Below(currencies_.size());
  if (r.Chance(0.1)) return currencies_[other];
  return currencies_[SplitMix64(user ^ config_.seed) % currencies_.size()];
}

uint32_t Generator::DrawUser(uint64_t r, double u) const {
  if (config_.skew == Skew::kZipf) return user_table_.Draw(r, u) + 1;
  return static_cast<uint32_t>(MulHi64(r, config_.users)) + 1;
}

uint32_t Generator::DrawMerchant(uint64_t r, double u) const {
  if (config_.skew == Skew::kZipf) return merchant_table_.Draw(r, u) + 1;
  return static_cast<uint32_t>(MulHi64(r, config_.merchants)) + 1;
}

Generator::BurstPlan Generator::PlanBlock(uint64_t block) const {
  BurstPlan p;
  if (config_.anomalies <= 0) return p;
  p.slot_len = std::max(count_burst_len_, amount_burst_len_);
  p.nslots = kBlockSize / p.slot_len;
  if (p.nslots == 0) return p;  // bursts longer than a block are not injected
  CounterRng r(config_.seed, kBlock, block);
  const double expected = config_.anomalies * kBlockSize / 4;
  auto draw = [&] {
    double whole = std::floor(expected);
    return static_cast<uint64_t>(whole) + (r.Unit() < expected - whole ? 1 : 0);
  };
  p.count_bursts = draw();
  p.amount_bursts = draw();
  uint64_t total = p.count_bursts + p.amount_bursts;
  if (total > p.nslots) {
    p.count_bursts = p.count_bursts * p.nslots / total;
    p.amount_bursts = p.nslots - p.count_bursts;
    total = p.nslots;
  }
  if (total == 0) return p;
  p.step = std::max<uint64_t>(1, p.nslots / total);
  p.first = r.Below(p.nslots);
  return p;
}

void Generator::Make(uint64_t i, GeneratedRecord* out) const {
  CounterRng r(config_.seed, kRecord, i);
  CounterRng ur(config_.seed, kUuid, i);
  Transaction& tx = out->tx;
  out->malformed_kind = -1;
  out->injected = Injected::kNone;

  uint8_t id[16];
  const uint64_t a = ur.Next(), b = ur.Next();
  for (int k = 0; k < 8; ++k) {
    id[k] = static_cast<uint8_t>(a >> (56 - 8 * k));
    id[8 + k] = static_cast<uint8_t>(b >> (56 - 8 * k));
  }
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x40);
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);
  FormatUuid(id, out->id_);
  tx.transaction_id = std::string_view(out->id_, 36);

  const uint64_t ru = r.Next();
  const double uu = r.Unit();
  uint32_t user = DrawUser(ru, uu);
  const uint64_t rm = r.Next();
  const double um = r.Unit();
  SetMerchant(DrawMerchant(rm, um), out);
  SetLocation(static_cast<uint32_t>(r.Below(config_.locations)) + 1, out);
  // The amount is drawn before the currency, in major units with two decimals, as the
  // reference does; a currency of other decimals scales it.
  const int64_t hundredths = Uniform(r, kNormalMinMajor * 100, kNormalMaxMajor * 100);
  const bool refund = r.Chance(kRefundShare);
  const uint64_t method = r.Next();
  Currency currency = DrawCurrency(r, user);
  tx.international = r.Chance(kInternationalShare);
  tx.time_ms = BaseTimeMs(i);
  if (config_.profile == Profile::kReference) {
    tx.type = refund ? "refund" : "purchase";
    tx.payment_method = kReferenceMethods[MulHi64(method, 3)];
  } else {
    CounterRng x(config_.seed, kExtra, i);
    tx.type = refund ? "refund" : x.Chance(0.05) ? kOtherTypes[x.Below(3)] : "purchase";
    const auto methods = RealisticPaymentMethods();
    tx.payment_method = methods[MulHi64(method, methods.size())];
  }
  auto scaled = [&](int64_t h, Currency c) {  // hundredths of a major unit, in c's minor units
    const int d = MinorDigits(c);
    return d >= 2 ? h * Pow10(d - 2) : h / Pow10(2 - d);
  };
  tx.currency = currency;
  tx.amount = scaled(hundredths, currency);

  // Anomaly bursts: planned per block of kBlockSize records, in non-overlapping slots.
  const uint64_t block = i / kBlockSize, off = i % kBlockSize;
  BurstPlan plan = PlanBlock(block);
  uint64_t bursts = plan.count_bursts + plan.amount_bursts;
  if (bursts > 0 && off / plan.slot_len < plan.nslots) {
    uint64_t slot = off / plan.slot_len, pos = off % plan.slot_len;
    uint64_t rel = (slot + plan.nslots - plan.first) % plan.nslots;
    if (rel % plan.step == 0 && rel / plan.step < bursts) {
      bool count_burst = rel / plan.step < plan.count_bursts;
      uint64_t len = count_burst ? count_burst_len_ : amount_burst_len_;
      if (pos < len) {
        CounterRng br(config_.seed, kBurst, block * plan.nslots + slot);
        user = static_cast<uint32_t>(br.Below(config_.users)) + 1;
        SetUser(user, out);
        tx.time_ms = BaseTimeMs(i - pos);  // the whole burst at one instant: inside any span
        tx.international = false;
        tx.type = "purchase";
        // One currency for the whole burst: the sum is in it.
        tx.currency = currencies_[br.Below(currencies_.size())];
        tx.amount = scaled(hundredths, tx.currency);
        if (!count_burst) {
          tx.amount = std::max<int64_t>(
              1,
              std::min(NormalMax(tx.currency), config_.rules.high_amount.Minor(tx.currency) - 1));
        }
        if (pos == len - 1) {
          out->injected = count_burst ? Injected::kVelocityCount : Injected::kVelocityAmount;
        }
        return;
      }
    }
  }
  SetUser(user, out);

  // Single-record anomalies, then disorder and malformed input for ordinary records.
  double pick = r.Unit();
  const double each = config_.anomalies / 4;
  const RuleConfig& rules = config_.rules;
  const Currency c = tx.currency;
  if (pick < each) {
    const int64_t lo = rules.high_amount.Minor(c) + 1;
    tx.amount = Uniform(r, lo, std::min(kMaxAmount, lo + rules.high_amount.Minor(c) * 3));
    tx.international = false;
    out->injected = Injected::kHighAmount;
    return;
  }
  if (pick < 2 * each) {
    const int64_t lo = rules.intl_amount.Minor(c) + 1;
    const int64_t high = rules.high_amount.Minor(c);
    const int64_t hi = high > lo ? high : lo + rules.intl_amount.Minor(c);
    tx.amount = Uniform(r, lo, std::min(kMaxAmount, hi));
    tx.international = true;
    out->injected = Injected::kInternationalHigh;
    return;
  }
  if (r.Chance(config_.late)) {
    tx.time_ms -= config_.late_delay_ms + static_cast<int64_t>(r.Below(1000));
  } else if (r.Chance(config_.out_of_order) && config_.max_delay_ms > 0) {
    tx.time_ms -= 1 + static_cast<int64_t>(r.Below(static_cast<uint64_t>(config_.max_delay_ms)));
  }
  tx.time_ms = std::max(tx.time_ms, kMinTimeMs);
  if (r.Chance(config_.malformed)) out->malformed_kind = static_cast<int>(r.Below(1u << 30));
}

}  // namespace spate
