#pragma once
// Command-line options shared by the subcommands, declared once (name, default, help) and
// validated once, so `spate gen`, `spate run` and later `spate produce` read the generator and
// engine options the same way. Values arrive as text and are checked here, so every error
// names its option.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/secrets.h"
#include "core/status.h"
#include "gen/generator.h"
#include "registry/client/client.h"
#include "source/generator_source.h"
#include "stream/engine_config.h"

namespace spate::cli {

struct GenFlags {
  uint64_t seed = 42;
  std::string profile = "reference";
  std::string records;  // default: 1000000, or unbounded with --duration
  std::string duration;
  double rate = 0;
  std::string threads;                              // default: hardware threads
  int64_t users = 0, merchants = 0, locations = 0;  // 0: the profile's default
  std::string skew = "uniform";
  double zipf_exponent = 1.1;
  int64_t start_time = 1'767'225'600'000;
  int64_t event_rate = 10'000;
  double out_of_order = 0, late = 0, malformed = 0, anomalies = 0;
  std::string max_delay = "5s", late_delay = "10m";
};

struct RuleFlags {
  std::string rules = "on";
  // Each "AMOUNT" (every currency) or "CODE=AMOUNT" (one currency), in major units.
  std::vector<std::string> high_amount, intl_amount, velocity_amount;
  std::string velocity_span = "10s";
  int64_t velocity_count = 10;
};

// --format json|binary|avro and --schema-id: the wire format of a command's records, declared
// and checked in one place for gen, produce, consume, run and aggregate. On the commands that
// talk to Kafka, --schema-registry URL (with --schema-registry-auth, --subject) replaces
// --schema-id: the id comes from the registry.
struct FormatFlags {
  std::string format = "json";
  // How the records name and write their fields (JSON): --field ROLE=NAME, --time-format; and
  // the longest id (any format).
  std::vector<std::string> fields;
  std::string time_format = "epoch-ms";
  int64_t max_id_bytes = static_cast<int64_t>(kDefaultMaxIdBytes);
  int64_t schema_id = kDefaultAvroSchemaId;
  std::string registry_url, subject;
  SecretOption registry_auth{"--schema-registry-auth", "SPATE_SCHEMA_REGISTRY_AUTH", {}, {}};
  CLI::Option* schema_id_option = nullptr;  // to tell a given --schema-id from the default
  bool has_registry() const { return !registry_url.empty(); }
};

struct EngineFlags {
  std::string window = "60s", hop, lateness = "5s";
  std::string group_by = "merchantId", emit = "final", totals = "on";
  FormatFlags wire;
  int64_t partitions = 6, batch_size = 32'768;
};

void AddGeneratorOptions(CLI::App* app, GenFlags* f, RuleFlags* rules);
// --input PATH (run, produce): records from a file or stdin instead of the generator.
void AddInputOption(CLI::App* app, std::string* input, const char* group);
// With --input: whether the file can be read (a usage error if not), and src->input and
// src->records (every record, unless --records caps them).
Status ToInput(const std::string& input, const GenFlags& f, SourceOptions* src);
void AddRuleOptions(CLI::App* app, RuleFlags* f);
// `what` completes "Wire format of ...": e.g. "the records written". With `registry`, also
// --schema-registry, --schema-registry-auth and --subject.
void AddFormatOptions(CLI::App* app, FormatFlags* f, const char* group, const std::string& what,
                      bool registry = false);
// Engine options; with_source adds --format, --partitions and --batch-size (embedded runs).
void AddEngineOptions(CLI::App* app, EngineFlags* f, bool with_source);

// Validate and convert. Errors read "--option: what is wrong (got 'value')".
Status ToGeneratorConfig(const GenFlags& f, const RuleFlags& r, GeneratorConfig* gen,
                         SourceOptions* src);
Status ToRuleConfig(const RuleFlags& f, RuleConfig* rules);
Status ToEngineConfig(const EngineFlags& f, EngineConfig* engine, SourceOptions* src);
Status ToWireSpec(const FormatFlags& f, WireSpec* wire);
// The registry client's options from --schema-registry and --schema-registry-auth (checked:
// only with --format avro unless other_avro, i.e. the command writes Avro elsewhere; not with
// --schema-id), and the subject of `topic`'s values: --subject, else "<topic>-value"
// (TopicNameStrategy).
Status ToRegistryOptions(const FormatFlags& f, const std::string& topic,
                         registry::ClientOptions* client, std::string* subject,
                         bool other_avro = false);
// For writers (gen, produce): with --schema-registry, registers schemas/transaction.avsc under
// the subject of `topic` and puts the id into wire->schema_id (the same schema again gets the
// same id, as Confluent's serializers do on first use); otherwise nothing. *usage tells a bad
// option (exit 2) from a registry that refused or did not answer (exit 1).
Status RegisterWriterSchema(const FormatFlags& f, const std::string& topic, WireSpec* wire,
                            bool* usage);

// How a long-running command reports: --metrics-addr, --json, --progress / --no-progress.
struct ReportFlags {
  std::string metrics_addr;
  bool json = false;
  std::optional<bool> progress;
  bool show_progress() const;  // the flag, or whether stderr is a terminal
};
void AddReportOptions(CLI::App* app, ReportFlags* f, const std::string& default_metrics_addr,
                      const char* group);

uint32_t DefaultThreads();

}  // namespace spate::cli
