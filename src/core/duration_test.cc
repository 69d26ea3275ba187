#include "core/duration.h"

#include <gtest/gtest.h>

namespace spate {
namespace {

TEST(Duration, Parses) {
  EXPECT_EQ(ParseDurationMs("500ms"), 500);
  EXPECT_EQ(ParseDurationMs("5s"), 5000);
  EXPECT_EQ(ParseDurationMs("2m"), 120000);
  EXPECT_EQ(ParseDurationMs("1h"), 3600000);
  EXPECT_EQ(ParseDurationMs("1d"), 86400000);
  EXPECT_EQ(ParseDurationMs("0s"), 0);
  EXPECT_FALSE(ParseDurationMs("5"));
  EXPECT_FALSE(ParseDurationMs("s"));
  EXPECT_FALSE(ParseDurationMs("-5s"));
  EXPECT_FALSE(ParseDurationMs("10x"));
  EXPECT_FALSE(ParseDurationMs("1.5s"));
  EXPECT_FALSE(ParseDurationMs("99999999999999999999d"));
  EXPECT_EQ(FormatDurationMs(60000), "1m");
  EXPECT_EQ(FormatDurationMs(1500), "1500ms");
}

}  // namespace
}  // namespace spate
