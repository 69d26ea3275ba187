#pragma once
// The deterministic workload generator: record i is a pure function of (config, i), so any
// thread can produce any range and `spate gen`, `spate run` and `spate produce` all see the same
// sequence for the same seed and options.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/rng.h"
#include "core/transaction.h"
#include "stream/anomaly_rules.h"

namespace spate {

enum class Skew : uint8_t { kUniform, kZipf };

// The shape of the values (docs/gen.md):
//   kReference: the reference design's: user_<n>, merchant<n>, "location <n>", USD, EU and
//     GBP with two decimals, purchase or refund, three payment methods;
//   kRealistic: what real streams look like: UUID user ids, merchant names with spaces,
//     punctuation and letters of many scripts, city names, 32 currencies (JPY, KRW, CLP and
//     ISK without decimals, BHD, KWD, JOD, OMR and TND with three), other transaction types
//     and a dozen payment methods. Amounts run over the same range in every currency's own
//     major units.
enum class Profile : uint8_t { kReference, kRealistic };
std::optional<Profile> ParseProfile(std::string_view s);
std::string_view ProfileName(Profile p);

struct GeneratorConfig {
  uint64_t seed = 42;
  Profile profile = Profile::kReference;
  uint32_t users = 100'000;    // realistic profile: 1,000,000 unless set
  uint32_t merchants = 1'000;  // realistic profile: 50,000 unless set
  uint32_t locations = 200;
  Skew skew = Skew::kUniform;
  double zipf_exponent = 1.1;
  int64_t start_time_ms = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  uint64_t event_rate = 10'000;               // records per second of event time
  double out_of_order = 0;                    // fraction displaced back by 1..max_delay ms
  int64_t max_delay_ms = 5'000;
  double late = 0;  // fraction displaced back by >= late_delay
  int64_t late_delay_ms = 600'000;
  double malformed = 0;  // fraction replaced by invalid payloads
  double anomalies = 0;  // fraction of injected anomalies
  RuleConfig rules;      // what injected anomalies must trip
};

// Which rule an injected record must trip (kNone for ordinary records).
enum class Injected : uint8_t {
  kNone,
  kHighAmount,
  kInternationalHigh,
  kVelocityCount,
  kVelocityAmount
};
std::string_view InjectedRuleName(Injected i);

// One generated record. Its strings live in the record (the Transaction points into it), so
// it is not copied: copy tx's values with TransactionData::From when needed.
struct GeneratedRecord {
  GeneratedRecord() = default;
  GeneratedRecord(const GeneratedRecord&) = delete;
  GeneratedRecord& operator=(const GeneratedRecord&) = delete;

  Transaction tx;
  int malformed_kind = -1;  // >= 0: the payload is replaced by this kind of invalid input
  Injected injected = Injected::kNone;
  // The index of each drawn value (tests): user and merchant are 1-based as in user_<n>.
  uint32_t user_index = 0, merchant_index = 0;

 private:
  friend class Generator;
  char id_[36];
  char user_[40];
  std::string merchant_, location_;
};

class Generator {
 public:
  explicit Generator(const GeneratorConfig& config);

  // Fills *out with record i. Thread-safe (const, no shared mutable state).
  void Make(uint64_t i, GeneratedRecord* out) const;
  // Appends record's wire payload: its encoding as w says, or its malformed variant.
  void AppendPayload(const GeneratedRecord& r, const WireSpec& w, std::string* out) const;

  int64_t BaseTimeMs(uint64_t i) const {
    return config_.start_time_ms + static_cast<int64_t>(i * 1000 / config_.event_rate);
  }
  const GeneratorConfig& config() const { return config_; }

  static constexpr int kJsonMalformedKinds = 15;
  static constexpr int kBinaryMalformedKinds = 5;
  static constexpr int kAvroMalformedKinds = 7;
  static constexpr uint64_t kBlockSize = 4096;  // anomaly bursts are planned per block

 private:
  // Vose's alias method for Zipf-distributed keys: O(1) per draw. Hand-written so the
  // sequence never depends on a library's distribution implementation.
  struct AliasTable {
    std::vector<double> prob;
    std::vector<uint32_t> alias;
    void Build(uint32_t n, double exponent);
    uint32_t Draw(uint64_t r1, double u) const;  // 0-based
  };
  struct BurstPlan {
    uint64_t slot_len = 0, nslots = 0, count_bursts = 0, amount_bursts = 0, first = 0, step = 1;
  };

  uint32_t DrawUser(uint64_t r, double u) const;
  uint32_t DrawMerchant(uint64_t r, double u) const;
  BurstPlan PlanBlock(uint64_t block) const;
  // The profile's values: set tx's strings (into out's buffers) for these indices.
  void SetUser(uint32_t user, GeneratedRecord* out) const;
  void SetMerchant(uint32_t merchant, GeneratedRecord* out) const;
  void SetLocation(uint32_t location, GeneratedRecord* out) const;
  Currency DrawCurrency(CounterRng& r, uint32_t user) const;
  // The amounts of ordinary records, in c's minor units: the same major-unit range in every
  // currency.
  int64_t NormalMin(Currency c) const;
  int64_t NormalMax(Currency c) const;

  GeneratorConfig config_;
  std::vector<Currency> currencies_;  // the profile's
  AliasTable user_table_, merchant_table_;
  uint64_t count_burst_len_, amount_burst_len_;
};

}  // namespace spate
