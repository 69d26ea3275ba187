#pragma once
// A generator configuration for tests: small key spaces, some disorder, lateness, malformed
// records and injected anomalies.

#include "gen/generator.h"

namespace spate::test {

inline GeneratorConfig GeneratorTestConfig() {
  GeneratorConfig c;
  c.seed = 7;
  c.users = 1000;
  c.merchants = 50;
  c.out_of_order = 0.1;
  c.late = 0.01;
  c.malformed = 0.05;
  c.anomalies = 0.01;
  return c;
}

}  // namespace spate::test
