#include "kafka/broker_version.h"

#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace spate::kafka {
namespace {

// librdkafka starts every message with its thread and the broker; all the lines below came from
// the connection to the first bootstrap broker.
std::vector<std::string> FromBootstrap(std::initializer_list<const char*> rest) {
  std::vector<std::string> out;
  for (const char* r : rest) {
    out.push_back(std::string("[thrd:127.0.0.1:29092/bootstrap]: 127.0.0.1:29092/bootstrap: ") + r);
  }
  return out;
}

// The messages librdkafka 2.0.2 logged under "APIVERSION" (kcat -L -X debug=feature), excerpts
// copied verbatim from the local 3-node clusters (deploy/kafka/cluster.sh) of both versions.
const std::vector<std::string> kKafka391 = FromBootstrap({
    "Broker API support:",
    "  ApiKey Produce (0) Versions 0..11",
    "  ApiKey Fetch (1) Versions 0..17",
    "  ApiKey ListOffsets (2) Versions 0..9",
    "  ApiKey JoinGroup (11) Versions 0..9",
    "  ApiKey ApiVersion (18) Versions 0..4",
    "  ApiKey Unknown-81? (81) Versions 0..0",
    " Feature MsgVer1: Produce (2..2) supported by broker",
    " Feature MsgVer1: Fetch (2..2) supported by broker",
    "Enabling feature MsgVer1",
    " Feature MsgVer2: Produce (3..3) supported by broker",
    " Feature MsgVer2: Fetch (4..4) supported by broker",
    "Enabling feature MsgVer2",
    " Feature ThrottleTime: Produce (1..2) supported by broker",
    " Feature ThrottleTime: Fetch (1..2) supported by broker",
    "Enabling feature ThrottleTime",
});

// Kafka 4.1.1: Fetch starts at v4, and librdkafka 2.0.2 switches MsgVer1 and ThrottleTime off
// because they require Fetch v2 exactly. Produce still starts at v0 (KAFKA-18659).
const std::vector<std::string> kKafka411 = FromBootstrap({
    "Broker API support:",
    "  ApiKey Produce (0) Versions 0..13",
    "  ApiKey Fetch (1) Versions 4..18",
    "  ApiKey ListOffsets (2) Versions 1..10",
    "  ApiKey JoinGroup (11) Versions 0..9",
    "  ApiKey ApiVersion (18) Versions 0..4",
    "  ApiKey Unknown-76? (76) Versions 1..1",
    "  ApiKey Unknown-81? (81) Versions 0..0",
    " Feature MsgVer1: Produce (2..2) supported by broker",
    " Feature MsgVer1: Fetch (2..2) NOT supported by broker",
    "Disabling feature MsgVer1",
    " Feature MsgVer2: Produce (3..3) supported by broker",
    " Feature MsgVer2: Fetch (4..4) supported by broker",
    "Enabling feature MsgVer2",
    " Feature ThrottleTime: Produce (1..2) supported by broker",
    " Feature ThrottleTime: Fetch (1..2) NOT supported by broker",
    "Disabling feature ThrottleTime",
});

constexpr int kLibrdkafka202 = 0x020002ff;  // rd_kafka_version() of Debian bookworm's 2.0.2
constexpr int kLibrdkafka2111 = 0x020b01ff;

TEST(BrokerVersion, Kafka39IsNotKafka4) {
  BrokerInfo info = ParseApiVersionLog(kKafka391);
  EXPECT_TRUE(info.api_versions_seen);
  EXPECT_EQ(info.fetch_min_version, 0);
  EXPECT_FALSE(info.kafka4);
  EXPECT_TRUE(info.disabled_features.empty());
  EXPECT_EQ(UnsupportedWarning(info, kLibrdkafka202), "");
}

TEST(BrokerVersion, Kafka41IsKafka4WithTheFeaturesLibrdkafkaTurnedOff) {
  BrokerInfo info = ParseApiVersionLog(kKafka411);
  EXPECT_TRUE(info.api_versions_seen);
  EXPECT_EQ(info.fetch_min_version, 4);
  EXPECT_TRUE(info.kafka4);
  EXPECT_EQ(info.disabled_features, (std::vector<std::string>{"MsgVer1", "ThrottleTime"}));
}

TEST(BrokerVersion, WarnsOnlyWhenLibrdkafkaPredates2111) {
  BrokerInfo info = ParseApiVersionLog(kKafka411);
  std::string w = UnsupportedWarning(info, kLibrdkafka202);
  EXPECT_EQ(w,
            "the brokers run Kafka 4.x (lowest Fetch version 4, KIP-896) and librdkafka 2.0.2 is "
            "older than 2.11.1, so it turns off protocol features whose old API versions Kafka 4 "
            "removed; turned off here: MsgVer1, ThrottleTime (harmless: used only when MsgVer2 "
            "is off); spate was tested against Kafka 4.1.1 for produce and consume only (README, "
            "Kafka)");
  EXPECT_EQ(w.find('\n'), std::string::npos);  // one line
  EXPECT_EQ(UnsupportedWarning(info, kLibrdkafka2111), "");
  EXPECT_EQ(UnsupportedWarning(info, kFirstKafka4ReadyLibrary - 1).substr(0, 22),
            "the brokers run Kafka ");
}

TEST(BrokerVersion, EveryBrokerConnectionLogsItsOwnCheck) {
  // Two connections to 4.1.1 brokers: the features are reported once each.
  std::vector<std::string> two = kKafka411;
  two.insert(two.end(), kKafka411.begin(), kKafka411.end());
  EXPECT_EQ(ParseApiVersionLog(two).disabled_features,
            (std::vector<std::string>{"MsgVer1", "ThrottleTime"}));
  // A rolling upgrade: one 3.9.1 and one 4.1.1 broker answered. Any 4.x broker counts.
  std::vector<std::string> mixed = kKafka391;
  mixed.insert(mixed.end(), kKafka411.begin(), kKafka411.end());
  BrokerInfo info = ParseApiVersionLog(mixed);
  EXPECT_TRUE(info.kafka4);
  EXPECT_EQ(info.fetch_min_version, 4);
}

TEST(BrokerVersion, NamesWhatAFeatureTurnedOffBreaks) {
  // Constructed in the format above: Kafka 4.0.0 lacked JoinGroup v0 (KAFKA-19444), which
  // turns BrokerBalancedConsumer and Sasl off in librdkafka 2.0.2; "NewThing" is unknown.
  BrokerInfo info;
  info.kafka4 = true;
  info.fetch_min_version = 4;
  info.disabled_features = {"MsgVer1", "BrokerBalancedConsumer", "ThrottleTime", "Sasl",
                            "NewThing"};
  std::string w = UnsupportedWarning(info, kLibrdkafka202);
  EXPECT_NE(w.find("turned off here: MsgVer1, ThrottleTime (harmless: used only when MsgVer2 is "
                   "off), BrokerBalancedConsumer (harmless: not read by librdkafka 2.0.2), Sasl "
                   "(SASL/GSSAPI (Kerberos) authentication fails), NewThing; "),
            std::string::npos)
      << w;
}

TEST(BrokerVersion, IgnoresOtherLinesAndEmptyInput) {
  BrokerInfo none = ParseApiVersionLog({});
  EXPECT_FALSE(none.api_versions_seen);
  EXPECT_EQ(none.fetch_min_version, -1);
  EXPECT_FALSE(none.kafka4);
  EXPECT_EQ(UnsupportedWarning(none, kLibrdkafka202), "");
  BrokerInfo junk = ParseApiVersionLog({"", "ApiKey", "  ApiKey Fetch (1) Versions",
                                        "  ApiKey Fetch (x) Versions 4..18",
                                        "  ApiKey Fetch (1) Versions 4..", "Disabling feature "});
  EXPECT_FALSE(junk.api_versions_seen);
  EXPECT_FALSE(junk.kafka4);
  EXPECT_TRUE(junk.disabled_features.empty());
}

}  // namespace
}  // namespace spate::kafka
