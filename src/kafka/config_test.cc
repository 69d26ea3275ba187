#include "kafka/config.h"

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

}  // namespace
}  // namespace spate::kafka
