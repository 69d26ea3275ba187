// `spate registry`: a schema registry speaking the Confluent Schema Registry REST API (Avro),
// storing its state in memory, a local file, or a compacted Kafka topic shared by instances.

#include <chrono>
#include <cstdio>
#include <thread>

#include <sys/resource.h>

#include "cli/commands.h"
#include "cli/kafka_options.h"
#include "cli/secrets.h"
#include "obs/metrics_server.h"
#include "registry/server/registry.h"
#include "registry/server/server.h"
#include "registry/server/store.h"

namespace spate::cli {
namespace {

// Each connection the registry holds is a descriptor, up to RegistryServer::kMaxConnections
// (issue 17: thousands of idle clients must not lock others out), and the soft limit of open
// files is often 1,024. A process may raise its soft limit up to the hard one: done at start,
// and said when the hard limit is lower than the connections the server would hold.
void RaiseOpenFileLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return;
  if (files.rlim_cur < files.rlim_max) {
    rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  if (files.rlim_cur < registry::RegistryServer::kMaxConnections + 64) {
    Log().warn("open files limited to {} (ulimit -n): fewer than {} connections will be held",
               files.rlim_cur, registry::RegistryServer::kMaxConnections);
  }
}

class RegistryCommand final : public Command {
 public:
  explicit RegistryCommand(CLI::App* parent) {
    app_ = parent->add_subcommand(
        "registry",
        "Schema registry (Confluent REST API, Avro): in memory, in a file, or in a Kafka topic");
    const char* g = "Registry";
    app_->add_option("--listen", listen_, "Serve HTTP here (host:port; port 0: any free port)")
        ->group(g)
        ->capture_default_str();
    app_->add_option("--store", store_,
                     "Without --brokers: keep the state in this file (JSON lines)")
        ->group(g);
    app_->add_option("--topic", topic_, "With --brokers: the compacted topic holding the state")
        ->group(g)
        ->capture_default_str();
    AddSecretOption(app_, &basic_auth_,
                    "Require HTTP basic auth with these credentials (user:password)", g);
    AddKafkaOptions(app_, &kafka_flags_);
    app_->add_option("--tls-cert", tls_cert_, "Serve HTTPS with this certificate (PEM)")->group(g);
    app_->add_option("--tls-key", tls_key_, "... and this private key (PEM)")->group(g);
    app_->add_option("--metrics-addr", metrics_addr_,
                     "Serve Prometheus metrics here (port 0: any free port; '' disables)")
        ->group(g)
        ->capture_default_str();
    app_->get_option("--brokers")
        ->description("Bootstrap brokers; omitted: embedded storage (memory or --store)");
  }

  int Run() override {
    RaiseOpenFileLimit();
    if (Status s = ResolveSecret(&basic_auth_); !s.ok()) return UsageError(s.message());
    if (!basic_auth_.value.empty() && basic_auth_.value.find(':') == std::string::npos) {
      return UsageError("--basic-auth: expected user:password (a ':' is missing)");
    }
    WarnIfPlainHttp(tls_cert_.empty() ? "http://" + listen_ : "https://" + listen_,
                    !basic_auth_.value.empty(), "--basic-auth without --tls-cert");
    const bool use_kafka = app_->count("--brokers") > 0;
    if (use_kafka && !store_.empty()) {
      return UsageError("--store: not with --brokers (the state is kept in --topic)");
    }
    std::unique_ptr<registry::SchemaLog> log;
    if (use_kafka) {
      kafka::ClientConfig conf;
      Status cs = BuildClientConfig(kafka_flags_, {}, &conf);
      if (!cs.ok()) return cs.message() == "list" ? 0 : UsageError(cs.message());
      log = registry::NewKafkaLog(conf, topic_);
    } else if (!store_.empty()) {
      log = registry::NewFileLog(store_);
    } else {
      log = registry::NewMemoryLog();
    }
    const std::string described = log->Describe();
    auto reg = registry::Registry::Open(std::move(log));
    if (!reg.ok()) return RuntimeError(reg.status().message());
    auto metrics = MetricsServer::Start(metrics_addr_);
    if (!metrics.ok()) return RuntimeError(metrics.status().message());
    AnnounceMetrics(metrics_addr_, *metrics.value());
    auto server =
        registry::RegistryServer::Start(reg.value().get(), listen_, basic_auth_.value,
                                        &metrics.value()->registry(), tls_cert_, tls_key_);
    if (!server.ok()) return RuntimeError(server.status().message());
    Log().info("listening on {}://{}:{} (store: {})", server.value()->scheme(),
               server.value()->host(), server.value()->port(), described);
    // A log shared with Confluent's registry holds its Protobuf and JSON schemas too: said
    // once, since lookups and compatibility checks will not see them.
    std::string opaque;
    for (const auto& [type, n] : reg.value()->OpaqueSchemas()) {
      opaque += (opaque.empty() ? "" : ", ") + std::to_string(n) + " " + type;
    }
    if (!opaque.empty()) {
      Log().warn("the store holds schemas served as stored but never checked: {}", opaque);
    }
    InstallStopSignals();
    while (!StopRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.value()->Stop();
    Log().info("stopped");
    return 0;
  }

 private:
  KafkaFlags kafka_flags_;
  std::string listen_ = "127.0.0.1:18081", store_, topic_ = "_schemas";
  std::string metrics_addr_ = "127.0.0.1:9468", tls_cert_, tls_key_;
  SecretOption basic_auth_{"--basic-auth", "SPATE_REGISTRY_BASIC_AUTH", {}, {}};
};

}  // namespace

std::unique_ptr<Command> NewRegistryCommand(CLI::App* parent) {
  return std::make_unique<RegistryCommand>(parent);
}

}  // namespace spate::cli
