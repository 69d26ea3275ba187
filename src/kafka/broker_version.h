#pragma once
// Does the cluster accept this client (its security settings), is it Kafka 4.x, and is this
// librdkafka too old for it?
//
// librdkafka 2.0.2 has no call that returns the broker's version. What it does have: with
// `debug=feature` it logs the broker's ApiVersions response (facility "APIVERSION", one line
// per API, "  ApiKey Fetch (1) Versions 4..18") and which protocol features it turns on or off
// as a result ("Disabling feature MsgVer1"). Kafka 4.0 removed Fetch v0-v3 (KIP-896; Kafka's
// FetchRequest.json: "Versions 0-3 were removed in Apache Kafka 4.0"), while every 3.x broker
// still accepts Fetch v0, so a lowest Fetch version of 4 or more means Kafka 4.x.
// Produce is no such signal: 4.x still lists Produce v0-v2 in ApiVersions (and rejects them)
// because older librdkafka turns compression off without them (KAFKA-18659).
//
// Why it matters: librdkafka before 2.11.1 enables a feature only if the broker supports one
// exact old version of each API it depends on, so a version that Kafka 4 removed switches the
// feature off (librdkafka #5130, fixed in 2.11.1). Against 4.1.1 that costs only fallbacks
// for pre-0.11 brokers (MsgVer1, ThrottleTime); against 4.0.0, which also lacked JoinGroup v0
// (restored in 4.0.1 and 4.1.0, KAFKA-19444), SASL/GSSAPI (Kerberos) logins too.

#include <string>
#include <vector>

#include "core/status.h"
#include "kafka/config.h"

namespace spate::kafka {

// librdkafka 2.11.1 in rd_kafka_version() form: the first release whose feature checks accept
// brokers without the API versions Kafka 4 removed.
inline constexpr int kFirstKafka4ReadyLibrary = 0x020b0100;

struct BrokerInfo {
  bool api_versions_seen = false;  // at least one ApiVersions entry was logged
  // The lowest Fetch version the broker accepts (the highest such floor if several brokers
  // answered); -1 if no broker listed Fetch.
  int fetch_min_version = -1;
  bool kafka4 = false;  // a broker no longer accepts Fetch v0-v3
  // Features librdkafka switched off for this cluster, its names, in log order, once each.
  std::vector<std::string> disabled_features;
  // Why the brokers refused this client's security settings (librdkafka's words: SASL
  // authentication failed, a TLS handshake failed, a plaintext client at a TLS listener), or
  // empty. Retrying cannot fix it.
  std::string refused;
};

// Reads the messages librdkafka logged under facility "APIVERSION" (the log callback's `buf`,
// e.g. "[thrd:...]: 127.0.0.1:29092/bootstrap:   ApiKey Fetch (1) Versions 4..18"). Lines it
// does not recognise are skipped. Pure: no I/O.
BrokerInfo ParseApiVersionLog(const std::vector<std::string>& messages);

// Asks the cluster for metadata through a short-lived producer handle built from conf (same
// brokers and security settings; idempotence and transactional.id left out, debug=feature with
// the log captured, none of it printed) and parses what librdkafka logged about the broker
// that answered. Stops early when the brokers refuse the security settings (info.refused).
// An error if no broker answered within timeout_ms. Blocks the calling thread.
Result<BrokerInfo> ProbeBroker(const ClientConfig& conf, int timeout_ms);

// The warning for this cluster and librdkafka version (rd_kafka_version() form), one line
// without a prefix, or "" when there is nothing to warn about.
std::string UnsupportedWarning(const BrokerInfo& info, int library_version);

// At start-up of a Kafka command: probes the cluster (at most timeout_ms). An error, one line,
// when the brokers refuse the client's security settings: a wrong password, a certificate from
// an unknown CA, a plaintext client at a TLS listener. librdkafka would retry those for ever,
// and the command would give up only at its own timeouts with "transport failure". Unreachable
// brokers are no error here: the command's own connection handling reports them. Logs
// UnsupportedWarning as a warning of the "kafka" logger ("spate <command>: warning: ...")
// when the linked librdkafka predates 2.11.1.
Status CheckCluster(const ClientConfig& conf, int timeout_ms = 3000);

}  // namespace spate::kafka
