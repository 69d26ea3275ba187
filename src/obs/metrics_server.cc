#include "obs/metrics_server.h"

#include <exception>

namespace spate {

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& addr) {
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->registry_ = std::make_shared<prometheus::Registry>();
  if (!addr.empty()) {
    try {
      m->exposer_ = std::make_unique<prometheus::Exposer>(addr);
    } catch (const std::exception& e) {
      return Status::Error("cannot serve metrics on " + addr + ": " + e.what() +
                           " (is the port in use? choose another with --metrics-addr, or "
                           "--metrics-addr '' to disable)");
    }
    m->exposer_->RegisterCollectable(m->registry_);
    auto ports = m->exposer_->GetListeningPorts();
    m->port_ = ports.empty() ? 0 : ports.front();
  }
  return m;
}

}  // namespace spate
