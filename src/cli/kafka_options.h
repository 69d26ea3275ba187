#pragma once
// Options every Kafka subcommand shares: --brokers, -X key=value, -F file, as kcat has them.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/status.h"
#include "kafka/config.h"

namespace spate::cli {

inline constexpr const char* kDefaultBrokers = "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092";

struct KafkaFlags {
  std::string brokers = kDefaultBrokers;
  std::vector<std::string> properties;  // -X
  std::vector<std::string> files;       // -F
};

void AddKafkaOptions(CLI::App* app, KafkaFlags* f);

// defaults first, then the file named by SPATE_KAFKA_CONFIG, then -F files, then -X: later
// settings win. "-X list" prints the properties and exits (returns a Status with message
// "list").
Status BuildClientConfig(const KafkaFlags& f,
                         const std::vector<std::pair<std::string, std::string>>& defaults,
                         kafka::ClientConfig* out);

}  // namespace spate::cli
