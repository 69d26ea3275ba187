#pragma once
// The Confluent Schema Registry REST API over HTTP (cpp-httplib), in front of a Registry.
// Requests run on httplib's worker threads; the accept loop on a thread of its own. Request
// size, timeouts and the number of connections held are bounded (server.cc).

#include <memory>
#include <string>
#include <thread>

#include "core/status.h"
#include "registry/server/registry.h"

namespace httplib {
class Server;
}
namespace prometheus {
class Registry;
}

namespace spate::registry {

class RegistryServer {
 public:
  // Binds host:port (port 0: any free port) and starts serving. The registry must outlive the
  // server. basic_auth "user:password" makes every request carry those credentials ("" = open).
  // metrics, when given, gets spate_registry_requests_total{method,code},
  // spate_registry_request_duration_seconds and spate_registry_schemas. tls_cert and tls_key
  // (PEM files) serve HTTPS instead of HTTP.
  static Result<std::unique_ptr<RegistryServer>> Start(Registry* registry,
                                                       const std::string& listen,
                                                       const std::string& basic_auth = "",
                                                       prometheus::Registry* metrics = nullptr,
                                                       const std::string& tls_cert = "",
                                                       const std::string& tls_key = "");
  ~RegistryServer();  // Stop()

  // Stops accepting, finishes the requests in flight, joins the thread. Idempotent.
  void Stop();
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  const std::string& scheme() const { return scheme_; }  // http or https

 private:
  RegistryServer() = default;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::string host_, scheme_ = "http";
  int port_ = 0;
};

}  // namespace spate::registry
