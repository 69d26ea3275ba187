#include "cli/kafka_options.h"

#include <cstdlib>

namespace spate::cli {

void AddKafkaOptions(CLI::App* app, KafkaFlags* f) {
  const char* g = "Kafka";
  app->add_option("-b,--brokers", f->brokers, "Bootstrap brokers")->group(g)->capture_default_str();
  app->add_option("-X", f->properties,
                  "librdkafka property key=value (repeatable; -X list shows them all)")
      ->group(g)
      ->allow_extra_args(false);
  app->add_option("-F", f->files, "librdkafka properties file (key=value lines)")
      ->group(g)
      ->allow_extra_args(false);
}

Status BuildClientConfig(const KafkaFlags& f,
                         const std::vector<std::pair<std::string, std::string>>& defaults,
                         kafka::ClientConfig* out) {
  for (const auto& p : f.properties) {
    if (p == "list") {
      kafka::PrintProperties();
      return Status::Error("list");
    }
  }
  out->Set("bootstrap.servers", f.brokers);
  for (const auto& [k, v] : defaults) out->Set(k, v);
  // SPATE_KAFKA_CONFIG: a properties file read before any -F, as kcat reads KCAT_CONFIG, so
  // that credentials need not be on the command line of every run.
  if (const char* env = std::getenv("SPATE_KAFKA_CONFIG"); env && *env) {
    if (Status s = out->LoadFile(env); !s.ok())
      return Status::Error("SPATE_KAFKA_CONFIG: " + s.message());
  }
  for (const auto& file : f.files) {
    if (Status s = out->LoadFile(file); !s.ok()) return s;
  }
  for (const auto& p : f.properties) {
    if (Status s = out->SetFromArg(p); !s.ok()) return s;
  }
  return out->Build().ok() ? Status::Ok() : out->Build().status();
}

}  // namespace spate::cli
