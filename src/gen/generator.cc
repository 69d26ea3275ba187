#include "gen/generator.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/rng.h"

namespace spate {
namespace {

// Independent random streams per purpose, so adding a draw to one never shifts another.
enum Stream : uint64_t { kRecord = 1, kUuid = 2, kBlock = 3, kBurst = 4 };

constexpr int64_t kNormalMinCents = 5'000'000;   // 50,000.00, as in the reference
constexpr int64_t kNormalMaxCents = 15'000'000;  // 150,000.00
constexpr double kRefundShare = 0.1;
constexpr double kInternationalShare = 0.1;

int64_t Uniform(CounterRng& r, int64_t lo, int64_t hi) {  // [lo, hi]
  return lo + static_cast<int64_t>(r.Below(static_cast<uint64_t>(hi - lo + 1)));
}

}  // namespace

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
  count_burst_len_ = uint64_t{config_.rules.velocity_count} + 1;
  int64_t per = std::min(kNormalMaxCents, config_.rules.high_amount_cents - 1);
  per = std::max<int64_t>(per, 1);
  amount_burst_len_ = static_cast<uint64_t>(config_.rules.velocity_amount_cents / per) + 1;
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

  uint64_t a = ur.Next(), b = ur.Next();
  for (int k = 0; k < 8; ++k) {
    tx.transaction_id.bytes[k] = static_cast<uint8_t>(a >> (56 - 8 * k));
    tx.transaction_id.bytes[8 + k] = static_cast<uint8_t>(b >> (56 - 8 * k));
  }
  tx.transaction_id.bytes[6] = static_cast<uint8_t>((tx.transaction_id.bytes[6] & 0x0f) | 0x40);
  tx.transaction_id.bytes[8] = static_cast<uint8_t>((tx.transaction_id.bytes[8] & 0x3f) | 0x80);

  uint64_t ru = r.Next();
  double uu = r.Unit();
  tx.user = DrawUser(ru, uu);
  uint64_t rm = r.Next();
  double um = r.Unit();
  tx.merchant = DrawMerchant(rm, um);
  tx.location = static_cast<uint32_t>(r.Below(config_.locations)) + 1;
  tx.amount_cents = Uniform(r, kNormalMinCents, kNormalMaxCents);
  tx.type = r.Chance(kRefundShare) ? TxType::kRefund : TxType::kPurchase;
  tx.payment_method = static_cast<PaymentMethod>(r.Below(kPaymentMethodCount));
  tx.currency = static_cast<Currency>(r.Below(kCurrencyCount));
  tx.international = r.Chance(kInternationalShare);
  tx.time_ms = BaseTimeMs(i);

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
        tx.user = static_cast<uint32_t>(br.Below(config_.users)) + 1;
        tx.time_ms = BaseTimeMs(i - pos);  // the whole burst at one instant: inside any span
        tx.international = false;
        tx.type = TxType::kPurchase;
        if (!count_burst) {
          tx.amount_cents =
              std::max<int64_t>(1, std::min(kNormalMaxCents, config_.rules.high_amount_cents - 1));
        }
        if (pos == len - 1) {
          out->injected = count_burst ? Injected::kVelocityCount : Injected::kVelocityAmount;
        }
        return;
      }
    }
  }

  // Single-record anomalies, then disorder and malformed input for ordinary records.
  double pick = r.Unit();
  const double each = config_.anomalies / 4;
  const RuleConfig& rules = config_.rules;
  if (pick < each) {
    int64_t lo = rules.high_amount_cents + 1;
    tx.amount_cents = Uniform(r, lo, std::min(kMaxAmountCents, lo + rules.high_amount_cents * 3));
    tx.international = false;
    out->injected = Injected::kHighAmount;
    return;
  }
  if (pick < 2 * each) {
    int64_t lo = rules.intl_amount_cents + 1;
    int64_t hi =
        rules.high_amount_cents > lo ? rules.high_amount_cents : lo + rules.intl_amount_cents;
    tx.amount_cents = Uniform(r, lo, std::min(kMaxAmountCents, hi));
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
