#pragma once
// The Prometheus endpoint of a process (prometheus-cpp): every component registers its series
// in the one registry; metric names follow Vector's component spec with the spate_ prefix
// (docs/metrics.md).

#include <memory>
#include <string>

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include "core/status.h"

namespace spate {

// The /metrics endpoint and the registry every component of a process registers in.
class MetricsServer {
 public:
  // Serves /metrics on addr ("127.0.0.1:9464"; port 0 picks a free one). An empty addr keeps
  // the metrics in memory only. Fails with a clear message when the address cannot be bound.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& addr);

  // The exposer is deliberately not stopped: civetweb's stop waits up to 2 s for its poll loop,
  // and a MetricsServer lives until the process exits, which ends its threads anyway.
  ~MetricsServer() { (void)exposer_.release(); }

  prometheus::Registry& registry() { return *registry_; }
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  int port_ = 0;
};

}  // namespace spate
