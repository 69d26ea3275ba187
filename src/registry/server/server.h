#pragma once
// The Confluent Schema Registry REST API over HTTP (libmicrohttpd), in front of a Registry.
// A few threads serve every connection, each with an epoll loop over its share of them: a
// connection waiting for its client costs a descriptor and a few KiB, never a thread (issue 17:
// under a thread per connection, idle clients held the registry). Request size, timeouts, the
// connections held and the request bodies held at once are bounded (server.cc).

#include <memory>
#include <string>

#include "core/status.h"
#include "registry/server/registry.h"

struct MHD_Daemon;
namespace prometheus {
class Registry;
}

namespace spate::registry {

struct ServerState;  // what the request callbacks share (server.cc)

class RegistryServer {
 public:
  // Connections held at once. Those beyond wait in the kernel's listen backlog until one closes
  // (and beyond that, their connects are retried by the client's kernel). Each is a descriptor:
  // `spate registry` raises its open-file limit to the hard limit for them.
  static constexpr unsigned kMaxConnections = 4096;

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

  // Finishes the requests in flight (new ones are answered 503), then closes every connection
  // and the listening socket, and joins the threads. Idempotent.
  void Stop();
  // Bytes of request bodies held now, all connections together (bounded at 256 MiB).
  size_t held_body_bytes() const;
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  const std::string& scheme() const { return scheme_; }  // http or https

 private:
  RegistryServer();
  std::unique_ptr<ServerState> state_;
  MHD_Daemon* daemon_ = nullptr;
  std::string host_, scheme_ = "http";
  int port_ = 0;
};

}  // namespace spate::registry
