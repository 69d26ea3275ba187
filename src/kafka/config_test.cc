#include "kafka/config.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace spate::kafka {
namespace {

TEST(ClientConfig, ForRoleDropsOnlyTheOtherRolesProperties) {
  ClientConfig c;
  c.Set("bootstrap.servers", "127.0.0.1:1");  // both
  c.Set("session.timeout.ms", "6000");        // consumer
  c.Set("linger.ms", "20");                   // producer
  c.Set("no.such.property", "x");             // unknown: kept, Build() reports it
  ClientConfig p = c.For(ClientConfig::Role::kProducer);
  EXPECT_EQ(p.Get("bootstrap.servers"), "127.0.0.1:1");
  EXPECT_EQ(p.Get("linger.ms"), "20");
  EXPECT_EQ(p.Get("session.timeout.ms"), "");
  EXPECT_EQ(p.Get("no.such.property"), "x");
  ClientConfig k = c.For(ClientConfig::Role::kConsumer);
  EXPECT_EQ(k.Get("session.timeout.ms"), "6000");
  EXPECT_EQ(k.Get("linger.ms"), "");
  EXPECT_EQ(k.Get("bootstrap.servers"), "127.0.0.1:1");
  EXPECT_FALSE(k.Build().ok());  // the unknown name still fails clearly
}

TEST(ClientConfig, DefaultsLeaveWhatWasGivenAlone) {
  ClientConfig c;
  ASSERT_TRUE(c.SetFromArg("linger.ms=5").ok());
  c.SetDefaults({{"linger.ms", "20"}, {"compression.type", "lz4"}});
  EXPECT_EQ(c.Get("linger.ms"), "5");
  EXPECT_EQ(c.Get("compression.type"), "lz4");
}

TEST(ClientConfig, AnIdempotentProducerKeepsOneRequestInFlightUnlessTold) {
  ClientConfig idempotent;
  idempotent.Set("enable.idempotence", "true");
  LimitIdempotentInFlight(&idempotent);
  EXPECT_EQ(idempotent.Get("max.in.flight.requests.per.connection"), "1");
  ASSERT_TRUE(idempotent.Build().ok());

  for (const std::string name : {"max.in.flight.requests.per.connection", "max.in.flight"}) {
    ClientConfig told;
    told.Set("enable.idempotence", "true");
    ASSERT_TRUE(told.SetFromArg(name + "=5").ok());
    LimitIdempotentInFlight(&told);
    EXPECT_EQ(told.Get(name), "5") << name;
    EXPECT_EQ(told.entries().size(), 2u) << name;
  }

  ClientConfig plain;  // not idempotent: librdkafka's default stays
  plain.Set("enable.idempotence", "false");
  LimitIdempotentInFlight(&plain);
  EXPECT_EQ(plain.Get("max.in.flight.requests.per.connection"), "");
}

// Issue 17: a rejected property was printed with its value, so sasl.jaas.config showed its
// password. librdkafka's own message quotes the value, an item of it, or names it in a path.

TEST(ClientConfig, ARejectedPropertyNeverShowsItsValue) {
  const std::string secret = "S3ntinel-pw";
  const std::vector<std::pair<std::string, std::string>> rejected = {
      {"sasl.jaas.config",
       "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" "
       "password=\"" +
           secret + "\";"},
      {"security.protocol", secret},
      {"debug", "broker," + secret},
      {"plugin.library.paths", "/nonexistent/" + secret},
      {"enable.idempotence", secret},
      {"ssl.endpoint.identification.algorithm", secret},
      {"no.such.property", secret},
  };
  for (const auto& [key, value] : rejected) {
    ClientConfig c;
    c.Set(key, value);
    auto built = c.Build();
    ASSERT_FALSE(built.ok()) << key;
    const std::string& m = built.status().message();
    EXPECT_EQ(m.find("S3ntinel"), std::string::npos) << m;
    EXPECT_EQ(m.rfind("kafka property " + key + ": ", 0), 0u) << m;
  }
  ClientConfig c;
  c.Set("security.protocol", secret);
  EXPECT_EQ(c.Build().status().message(),
            "kafka property security.protocol: Invalid value \"***\" for configuration property "
            "\"security.protocol\" (the value is not shown)");

  // A -X without '=' is echoed only when it names a property.
  Status s = c.SetFromArg("sasl.password:" + secret);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("S3ntinel"), std::string::npos) << s.message();
  s = c.SetFromArg("debug");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'debug'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace spate::kafka
