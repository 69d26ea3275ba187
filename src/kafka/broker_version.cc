#include "kafka/broker_version.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "kafka/client.h"
#include "obs/log.h"

namespace spate::kafka {
namespace {

constexpr int kFetchApiKey = 1;

bool ParseInt(std::string_view s, int* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// "...:   ApiKey Fetch (1) Versions 4..18" (rd_kafka_handle_ApiVersion in librdkafka 2.0.2).
// The name can be "Unknown-76?" for APIs newer than the library, so the number in
// parentheses is what identifies the API.
bool ParseApiKeyLine(std::string_view msg, int* key, int* min_version, int* max_version) {
  size_t at = msg.find("  ApiKey ");
  if (at == std::string_view::npos) return false;
  constexpr std::string_view kVersions = ") Versions ";
  size_t close = msg.find(kVersions, at);
  if (close == std::string_view::npos) return false;
  size_t open = msg.rfind('(', close);
  if (open == std::string_view::npos || open < at) return false;
  std::string_view range = msg.substr(close + kVersions.size());
  size_t dots = range.find("..");
  return dots != std::string_view::npos && ParseInt(msg.substr(open + 1, close - open - 1), key) &&
         ParseInt(range.substr(0, dots), min_version) &&
         ParseInt(range.substr(dots + 2), max_version);
}

// What a feature switched off means, from where librdkafka 2.0.2 reads each flag; a feature
// not listed is named without comment.
struct FeatureEffect {
  const char* name;
  const char* effect;
};
constexpr FeatureEffect kFeatureEffects[] = {
    // rdkafka_msgset_writer.c and rdkafka_fetcher.c fall back to these without MsgVer2.
    {"MsgVer1", "harmless: used only when MsgVer2 is off"},
    {"ThrottleTime", "harmless: used only when MsgVer2 is off"},
    {"BrokerBalancedConsumer", "harmless: not read by librdkafka 2.0.2"},
    {"Sasl", "SASL/GSSAPI (Kerberos) authentication fails"},  // rdkafka_sasl.c
    {"LZ4", "lz4 compression is off"},                        // rdkafka_msgset_writer.c
    {"ZSTD", "zstd compression is off"},
    {"IdempotentProducer", "idempotent and transactional producers cannot start"},
};

const char* EffectOf(const std::string& feature) {
  for (const auto& f : kFeatureEffects) {
    if (feature == f.name) return f.effect;
  }
  return "";
}

// "A, B (effect), C": features with the same effect share one comment.
std::string DescribeDisabled(const std::vector<std::string>& features) {
  std::vector<std::pair<std::string, std::string>> groups;  // effect, names
  for (const std::string& f : features) {
    std::string effect = EffectOf(f);
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const auto& p) { return !effect.empty() && p.first == effect; });
    if (g == groups.end()) {
      groups.emplace_back(effect, f);
    } else {
      g->second += ", " + f;
    }
  }
  std::string out;
  for (const auto& [effect, names] : groups) {
    if (!out.empty()) out += ", ";
    out += names;
    if (!effect.empty()) out += " (" + effect + ")";
  }
  return out;
}

// Collects what librdkafka logs under "APIVERSION". librdkafka calls the log callback from
// its own threads (broker threads here), so the lines are guarded by a mutex.
struct LogCapture {
  std::mutex mu;
  std::vector<std::string> messages;
  std::string refused;  // set by CaptureError, on the polling thread
  std::string suspect;  // a refusal, unless a broker answers after all
};

void CaptureLog(const rd_kafka_t* rk, int /*level*/, const char* fac, const char* buf) {
  // rk is null for logs made before the handle exists (configuration warnings): drop them.
  if (!rk || std::strcmp(fac, "APIVERSION") != 0) return;
  auto* capture = static_cast<LogCapture*>(rd_kafka_opaque(rk));
  std::lock_guard<std::mutex> lock(capture->mu);
  capture->messages.emplace_back(buf);
}

// Errors that no retry fixes: the brokers refuse the client's security settings. A plaintext
// client at a TLS listener shows only as a connection closed during the first request, which
// librdkafka words with a hint at security.protocol; a broker shutting down can close one
// there too, so that one counts only if no broker answers in the probe's time.
void CaptureError(rd_kafka_t* rk, int err, const char* reason, void*) {
  auto* capture = static_cast<LogCapture*>(rd_kafka_opaque(rk));
  switch (err) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
      if (capture->refused.empty()) capture->refused = reason;
      return;
    default:
      if (capture->suspect.empty() && std::strstr(reason, "security.protocol")) {
        capture->suspect = reason;
      }
  }
}

}  // namespace

BrokerInfo ParseApiVersionLog(const std::vector<std::string>& messages) {
  BrokerInfo info;
  constexpr std::string_view kDisabling = "Disabling feature ";
  for (const std::string& m : messages) {
    int key = 0, lo = 0, hi = 0;
    if (ParseApiKeyLine(m, &key, &lo, &hi)) {
      info.api_versions_seen = true;
      if (key == kFetchApiKey) info.fetch_min_version = std::max(info.fetch_min_version, lo);
      continue;
    }
    size_t at = m.find(kDisabling);
    if (at == std::string::npos) continue;
    std::string name = m.substr(at + kDisabling.size());
    name.erase(name.find_last_not_of(" \r\n") + 1);
    auto& d = info.disabled_features;
    // Every broker connection logs its own check; report each feature once.
    if (!name.empty() && std::find(d.begin(), d.end(), name) == d.end()) d.push_back(name);
  }
  info.kafka4 = info.fetch_min_version >= 4;
  return info;
}

Result<BrokerInfo> ProbeBroker(const ClientConfig& conf, int timeout_ms) {
  ClientConfig probe;
  for (const auto& [k, v] : conf.entries()) {
    // A transactional id would turn on idempotence, which costs an InitProducerId round trip.
    if (k != "transactional.id") probe.Set(k, v);
  }
  probe.Set("enable.idempotence", "false");
  probe.Set("debug", "feature");    // the ApiVersions lines are "feature" debug output
  probe.Set("log_level", "7");      // ... logged at LOG_DEBUG
  probe.Set("log.queue", "false");  // delivered to CaptureLog directly, not via a queue
  auto built = probe.Build();
  if (!built.ok()) return built.status();
  ConfPtr c = std::move(built).value();
  LogCapture capture;  // outlives the handle: declared first, destroyed last
  rd_kafka_conf_set_opaque(c.get(), &capture);
  rd_kafka_conf_set_log_cb(c.get(), &CaptureLog);
  rd_kafka_conf_set_error_cb(c.get(), &CaptureError);
  auto rk = NewHandle(RD_KAFKA_PRODUCER, std::move(c));
  if (!rk.ok()) return rk.status();
  // The ApiVersions exchange opens every connection, before any request is sent on it: once
  // the metadata reply is in, the answering broker's lines have been logged. Asked in short
  // slices, serving the error callback between them (rd_kafka_poll), so that a refusal ends
  // the probe at once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  while (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_poll(rk.value().get(), 0);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0 && capture.refused.empty()) capture.refused = capture.suspect;
    if (!capture.refused.empty()) {
      BrokerInfo refused;
      refused.refused = capture.refused;
      return refused;
    }
    if (left <= 0) return Status::Error("broker probe: " + ErrorText(err));
    const rd_kafka_metadata_t* md = nullptr;
    err = rd_kafka_metadata(rk.value().get(), 0, nullptr, &md,
                            static_cast<int>(std::min<int64_t>(left, 250)));
    if (!err) rd_kafka_metadata_destroy(md);
  }
  std::lock_guard<std::mutex> lock(capture.mu);
  BrokerInfo info = ParseApiVersionLog(capture.messages);
  if (!info.api_versions_seen) return Status::Error("broker probe: no ApiVersions logged");
  return info;
}

std::string UnsupportedWarning(const BrokerInfo& info, int library_version) {
  if (!info.kafka4 || library_version >= kFirstKafka4ReadyLibrary) return "";
  std::string off = DescribeDisabled(info.disabled_features);
  return fmt::format(
      "the brokers run Kafka 4.x (lowest Fetch version {}, KIP-896) and librdkafka {}.{}.{} is "
      "older than 2.11.1, so it turns off protocol features whose old API versions Kafka 4 "
      "removed{}; spate was tested against Kafka 4.1.1 for produce and consume only (README, "
      "Kafka)",
      info.fetch_min_version, (library_version >> 24) & 0xff, (library_version >> 16) & 0xff,
      (library_version >> 8) & 0xff, off.empty() ? "" : "; turned off here: " + off);
}

Status CheckCluster(const ClientConfig& conf, int timeout_ms) {
  auto info = ProbeBroker(conf, timeout_ms);
  if (!info.ok()) return Status::Ok();  // unreachable: the command's own handling says so
  if (!info.value().refused.empty()) {
    return Status::Error("the Kafka brokers refuse this client's security settings: " +
                         info.value().refused);
  }
  std::string warning = UnsupportedWarning(info.value(), rd_kafka_version());
  if (!warning.empty()) Logger("kafka").warn("{}", warning);
  return Status::Ok();
}

}  // namespace spate::kafka
