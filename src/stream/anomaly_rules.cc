#include "stream/anomaly_rules.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "core/bytes.h"

namespace spate {

Status AmountLimit::Set(std::string_view spec) {
  const size_t eq = spec.find('=');
  std::string_view amount = spec;
  std::optional<Currency> currency;
  if (eq != std::string_view::npos) {
    currency = ParseCurrency(spec.substr(0, eq));
    if (!currency) {
      return Status::Error("'" + std::string(spec.substr(0, eq)) +
                           "' is not an ISO 4217 currency code (expected AMOUNT or CODE=AMOUNT)");
    }
    amount = spec.substr(eq + 1);
  }
  int64_t v;
  if (ParseAmount(amount, kMaxMinorDigits, &v) != AmountError::kNone || v < 0) {
    return Status::Error("expected a non-negative amount with at most " +
                         std::to_string(kMaxMinorDigits) + " decimals, got '" +
                         std::string(amount) + "'");
  }
  if (currency) {
    per_currency_[currency->index] = v;
  } else {
    default_ = v;
  }
  return Status::Ok();
}

std::string AmountLimit::ToString() const {
  std::string s = AmountString(default_, kMaxMinorDigits);
  for (const auto& [index, v] : per_currency_) {
    s +=
        ";" + std::string(CurrencyCode(CurrencyAt(index))) + "=" + AmountString(v, kMaxMinorDigits);
  }
  return s;
}

std::string_view RuleName(Rule r) {
  switch (r) {
    case Rule::kHighAmount: return "high_amount";
    case Rule::kInternationalHigh: return "international_high";
    case Rule::kVelocityCount: return "velocity_count";
    case Rule::kVelocityAmount: return "velocity_amount";
  }
  return "unknown";
}

namespace {

bool AtOrBefore(const auto& e, int64_t t) { return e.time_ms <= t; }

}  // namespace

void AnomalyDetector::Update(History& h, int64_t keep_after, int64_t t, int64_t amount,
                             int64_t from, uint32_t* count, Sum* sum) {
  auto& v = h.entries;
  // Evict entries at or before keep_after.
  h.head = static_cast<size_t>(
      std::partition_point(v.begin() + static_cast<ptrdiff_t>(h.head), v.end(),
                           [&](const Entry& e) { return AtOrBefore(e, keep_after); }) -
      v.begin());
  if (h.head > 0 && h.head * 2 >= v.size()) {
    v.erase(v.begin(), v.begin() + static_cast<ptrdiff_t>(h.head));
    h.head = 0;
  }
  const auto live = v.begin() + static_cast<ptrdiff_t>(h.head);
  // Insert (t, amount) (unless it is already older than the retention bound) at its place.
  auto pos = std::partition_point(live, v.end(), [&](const Entry& e) { return AtOrBefore(e, t); });
  // Running sums start from `base`, the sum of everything erased before v.front().
  const Sum base = v.empty() ? 0 : v.front().cum - v.front().amount;
  const bool retained = t > keep_after;
  if (retained) {
    const Sum before = pos == v.begin() ? base : (pos - 1)->cum;
    pos = v.insert(pos, Entry{t, amount, before + amount});
    for (auto it = pos + 1; it != v.end(); ++it) it->cum += amount;
    ++pos;  // one past the last entry with time <= t
  }
  const auto live2 = v.begin() + static_cast<ptrdiff_t>(h.head);
  auto lo = std::partition_point(live2, pos, [&](const Entry& e) { return AtOrBefore(e, from); });
  *count = static_cast<uint32_t>(pos - lo);
  *sum = 0;
  if (*count > 0) *sum = (pos - 1)->cum - (lo == v.begin() ? base : (lo - 1)->cum);
  if (!retained) {  // not stored, but it still counts for its own evaluation
    ++*count;
    *sum += amount;
  }
}

uint32_t AnomalyDetector::CountIn(const History& h, int64_t from, int64_t t) {
  const auto live = h.entries.begin() + static_cast<ptrdiff_t>(h.head);
  auto hi =
      std::partition_point(live, h.entries.end(), [&](const Entry& e) { return AtOrBefore(e, t); });
  auto lo = std::partition_point(live, hi, [&](const Entry& e) { return AtOrBefore(e, from); });
  return static_cast<uint32_t>(hi - lo);
}

void AnomalyDetector::Check(const Transaction& tx, uint64_t sequence, uint32_t partition,
                            std::vector<Anomaly>* out) {
  if (!rules_.enabled) return;
  const Currency c = tx.currency;
  if (const int64_t limit = rules_.high_amount.Minor(c); tx.amount > limit) {
    out->push_back({Rule::kHighAmount, sequence, tx, limit});
  }
  if (const int64_t limit = rules_.intl_amount.Minor(c); tx.international && tx.amount > limit) {
    out->push_back({Rule::kInternationalHigh, sequence, tx, limit});
  }

  uint32_t id;
  bool emptied = false;
  UserState& u = StateFor(tx.user, partition, &id, &emptied);
  int64_t& pmax = partition_max_[partition];
  pmax = std::max(pmax, tx.time_ms);  // after StateFor: the watermark before this record
  if (record_changes_) AppendChange(tx.user, emptied ? kChangeRecordOnEmptied : kChangeRecord, &tx);
  uint32_t count = 0;
  Sum sum = 0;
  AddRecord(u, id, tx.time_ms, tx.amount, c, &count, &sum);
  if (count > rules_.velocity_count) {
    out->push_back({Rule::kVelocityCount, sequence, tx, 0, count, sum});
  }
  if (sum > rules_.velocity_amount.Minor(c)) {
    out->push_back({Rule::kVelocityAmount, sequence, tx, 0, count, sum});
  }
}

void AnomalyDetector::AddRecord(UserState& u, uint32_t id, int64_t t, int64_t amount, Currency c,
                                uint32_t* count, Sum* sum) {
  u.max_time_ms = std::max(u.max_time_ms, t);
  Enqueue(id);  // unless it is queued already
  const int64_t keep_after = u.max_time_ms - rules_.velocity_span_ms - lateness_ms_;
  const int64_t from = t - rules_.velocity_span_ms;  // exclusive
  History* mine = nullptr;
  for (History& h : u.histories) {
    if (h.currency == c) mine = &h;
  }
  if (!mine) {
    u.histories.push_back(History{c, 0, {}});
    mine = &u.histories.back();
  }
  Update(*mine, keep_after, t, amount, from, count, sum);
  // velocity_count counts every currency: in the others, the records that `mine` would
  // still hold, (max(from, keep_after), t], as if their evictions had run too.
  for (const History& h : u.histories) {
    if (&h != mine) *count += CountIn(h, std::max(from, keep_after), t);
  }
}

void AnomalyDetector::AddPartition(uint32_t p) {
  if (p >= partition_max_.size()) {
    partition_max_.resize(p + 1, INT64_MIN);
    queues_.resize(p + 1);
  }
}

AnomalyDetector::UserState& AnomalyDetector::StateFor(std::string_view user, uint32_t partition,
                                                      uint32_t* id, bool* emptied) {
  AddPartition(partition);
  *id = users_.Intern(user);
  if (*id == states_.size()) states_.emplace_back();
  UserState& u = states_[*id];
  if (!u.histories.empty() && ExpiresAt(u) <= partition_max_[u.partition]) {
    // Expired but not dropped yet: the same as dropped (Expire() may run at any time).
    u.histories.clear();
    u.max_time_ms = INT64_MIN;
    if (emptied) *emptied = true;
  }
  u.partition = partition;
  return u;
}

int64_t AnomalyDetector::ExpiresAt(const UserState& u) const {
  // The watermark (max - lateness) passes max_time + span: max >= max_time + span + lateness.
  const int64_t after = rules_.velocity_span_ms + lateness_ms_;
  return u.max_time_ms > INT64_MAX - after ? INT64_MAX : u.max_time_ms + after;
}

void AnomalyDetector::Enqueue(uint32_t id) {
  UserState& u = states_[id];
  if (u.queued) return;
  u.queued = true;
  auto& q = queues_[u.partition];
  q.emplace_back(ExpiresAt(u), id);
  std::push_heap(q.begin(), q.end(), std::greater<>());
}

int64_t AnomalyDetector::NextExpired(size_t p) {
  auto& q = queues_[p];
  while (!q.empty() && q.front().first <= partition_max_[p]) {
    std::pop_heap(q.begin(), q.end(), std::greater<>());
    const uint32_t id = q.back().second;
    q.pop_back();
    UserState& u = states_[id];
    u.queued = false;
    if (u.max_time_ms == INT64_MIN) continue;  // dropped (Forget) since it was queued
    if (u.partition == p && ExpiresAt(u) <= partition_max_[p]) return id;
    Enqueue(id);  // its time moved on since it was queued (or its partition changed)
  }
  return -1;
}

void AnomalyDetector::Drop(uint32_t id) {
  states_[id] = UserState{};  // frees its histories; not queued
  users_.Erase(id);
}

void AnomalyDetector::SetPartitionMax(uint32_t p, int64_t t) {
  AddPartition(p);
  partition_max_[p] = std::max(partition_max_[p], t);
}

void AnomalyDetector::Clear() {
  for (uint32_t id = 0; id < states_.size(); ++id) {
    if (states_[id].max_time_ms != INT64_MIN) Drop(id);
  }
}

namespace {
void PutI64(std::string* out, int64_t v) {
  for (int i = 0; i < 8; ++i)
    out->push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
}
int64_t GetI64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<int64_t>(v);
}
// A time and an amount a record can carry (core/transaction.h).
bool ValidTime(int64_t t) { return t >= kMinTimeMs && t <= kMaxTimeMs; }
bool ValidAmount(int64_t a) { return a >= -kMaxAmount && a <= kMaxAmount; }
}  // namespace

void AnomalyDetector::AppendChange(std::string_view user, uint8_t kind, const Transaction* tx) {
  if (changes_.empty() || changes_.back().size() >= kChangeFrameBytes) {
    changes_.emplace_back();
    last_change_time_ = 0;
  }
  std::string& f = changes_.back();
  PutVarint(&f, user.size());
  f.append(user);
  f.push_back(static_cast<char>(kind));
  if (tx == nullptr) return;
  PutVarint(&f, ZigZag(tx->time_ms - last_change_time_));
  PutVarint(&f, ZigZag(tx->amount));
  f.append(CurrencyCode(tx->currency));
  last_change_time_ = tx->time_ms;
}

bool AnomalyDetector::ApplyChanges(std::string_view f, uint32_t partition) {
  AddPartition(partition);
  size_t at = 0;
  int64_t last_time = 0;
  while (at < f.size()) {
    uint64_t n = 0;
    if (!GetVarint(f, &at, &n) || n == 0 || n >= f.size() - at) return false;  // user, kind
    const std::string_view user = f.substr(at, n);
    at += n;
    const auto kind = static_cast<uint8_t>(f[at++]);
    if (kind == kChangeDrop) {
      Forget(user);
      continue;
    }
    uint64_t dt, a;
    Currency c;
    if (kind > kChangeDrop || !GetVarint(f, &at, &dt) || !GetVarint(f, &at, &a) ||
        f.size() - at < 3 || !ParseCurrency(f.substr(at, 3), &c)) {
      return false;
    }
    at += 3;
    const int64_t amount = UnZigZag(a);
    int64_t t;
    if (__builtin_add_overflow(last_time, UnZigZag(dt), &t) || !ValidTime(t) ||
        !ValidAmount(amount)) {
      return false;
    }
    last_time = t;
    // As Check() did it, without judging expiry again: the change says whether it emptied.
    const uint32_t id = users_.Intern(user);
    if (id == states_.size()) states_.emplace_back();
    UserState& u = states_[id];
    if (kind == kChangeRecordOnEmptied) {
      u.histories.clear();
      u.max_time_ms = INT64_MIN;
    }
    u.partition = partition;
    partition_max_[partition] = std::max(partition_max_[partition], t);
    uint32_t count = 0;
    Sum sum = 0;
    AddRecord(u, id, t, amount, c, &count, &sum);
  }
  return true;
}

void AnomalyDetector::ExportUser(uint32_t id, std::string* out) const {
  if (id >= states_.size()) return;
  const UserState& u = states_[id];
  PutI64(out, u.max_time_ms);
  out->push_back(static_cast<char>(u.histories.size()));
  for (const History& h : u.histories) {
    out->append(CurrencyCode(h.currency));
    const auto n = static_cast<uint32_t>(h.entries.size() - h.head);
    for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(n >> (8 * i)));
    for (size_t i = h.head; i < h.entries.size(); ++i) {
      PutI64(out, h.entries[i].time_ms);
      PutI64(out, h.entries[i].amount);
    }
  }
}

bool AnomalyDetector::ImportUser(std::string_view user, uint32_t partition, std::string_view data) {
  // What a record can carry (core/transaction.h), or the state is not one this engine wrote:
  // times and amounts in their ranges, each history sorted by time (the range queries'
  // binary searches need it). Found by fuzz/changelog_fuzz.cc: a time near INT64_MIN
  // overflowed Check()'s arithmetic.
  auto valid_time = ValidTime;
  if (data.size() < 9) return false;
  UserState u;
  u.max_time_ms = GetI64(data.data());
  if (!valid_time(u.max_time_ms)) return false;
  const size_t histories = static_cast<uint8_t>(data[8]);
  size_t off = 9;
  for (size_t k = 0; k < histories; ++k) {
    if (data.size() - off < 7) return false;
    auto c = ParseCurrency(data.substr(off, 3));
    if (!c) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
      n |= static_cast<uint32_t>(static_cast<uint8_t>(data[off + 3 + static_cast<size_t>(i)]))
           << (8 * i);
    off += 7;
    if ((data.size() - off) / 16 < n) return false;
    History h{*c, 0, {}};
    Sum cum = 0;
    for (uint32_t i = 0; i < n; ++i, off += 16) {
      Entry e{GetI64(data.data() + off), GetI64(data.data() + off + 8), 0};
      if (!valid_time(e.time_ms) || e.time_ms > u.max_time_ms ||
          (!h.entries.empty() && e.time_ms < h.entries.back().time_ms) || !ValidAmount(e.amount)) {
        return false;
      }
      cum += e.amount;
      e.cum = cum;
      h.entries.push_back(e);
    }
    u.histories.push_back(std::move(h));
  }
  if (off != data.size()) return false;
  uint32_t id;
  UserState& kept = StateFor(user, partition, &id);
  u.partition = partition;
  u.queued = kept.queued;
  kept = std::move(u);
  Enqueue(id);
  return true;
}

}  // namespace spate
