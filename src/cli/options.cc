#include "cli/options.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/avro_schema.h"
#include "core/duration.h"
#include "core/redact.h"
#include "gen/names.h"
#include "obs/progress.h"

namespace spate::cli {
namespace {

Status Bad(std::string_view option, std::string_view what, std::string_view got) {
  return Status::Error(std::string(option) + ": " + std::string(what) + " (got '" +
                       std::string(got) + "')");
}

Status Duration(std::string_view option, const std::string& text, bool allow_zero, int64_t* ms) {
  auto v = ParseDurationMs(text);
  if (!v) return Bad(option, "expected a duration such as 500ms, 5s, 2m or 1h", text);
  if (!allow_zero && *v == 0) return Bad(option, "must be greater than zero", text);
  *ms = *v;
  return Status::Ok();
}

// --high-amount and its kind: "250000" for every currency, "JPY=30000000" for one, repeatable.
Status Limit(std::string_view option, const std::vector<std::string>& specs, AmountLimit* limit) {
  for (const std::string& spec : specs) {
    if (Status s = limit->Set(spec); !s.ok()) return Bad(option, s.message(), spec);
  }
  return Status::Ok();
}

Status OnOff(std::string_view option, const std::string& text, bool* on) {
  if (text != "on" && text != "off") return Bad(option, "expected on or off", text);
  *on = text == "on";
  return Status::Ok();
}

Status Fraction(std::string_view option, double v) {
  if (!(v >= 0 && v <= 1))
    return Bad(option, "must be a fraction between 0 and 1", std::to_string(v));
  return Status::Ok();
}

Status Count(std::string_view option, const std::string& text, uint64_t min, uint64_t max,
             uint64_t* out) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) {
    return Bad(option,
               "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max),
               text);
  }
  *out = v;
  return Status::Ok();
}

Status Range(std::string_view option, int64_t v, int64_t min, int64_t max) {
  if (v < min || v > max) {
    return Bad(option, "must be between " + std::to_string(min) + " and " + std::to_string(max),
               std::to_string(v));
  }
  return Status::Ok();
}

#define SPATE_RETURN_IF_ERROR(expr) \
  do {                              \
    Status _s = (expr);             \
    if (!_s.ok()) return _s;        \
  } while (0)

}  // namespace

bool ReportFlags::show_progress() const { return progress.value_or(StderrIsTerminal()); }

void AddReportOptions(CLI::App* app, ReportFlags* f, const std::string& default_metrics_addr,
                      const char* group) {
  f->metrics_addr = default_metrics_addr;
  app->add_option("--metrics-addr", f->metrics_addr,
                  "Serve Prometheus metrics here (port 0: any free port; '' disables)")
      ->group(group)
      ->capture_default_str();
  app->add_flag("--json", f->json, "Print the final summary as JSON on stdout")->group(group);
  app->add_flag("--progress,!--no-progress", f->progress,
                "Progress line every second on stderr (default: when stderr is a terminal)")
      ->group(group);
}

uint32_t DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : n;
}

void AddGeneratorOptions(CLI::App* app, GenFlags* f, RuleFlags* rules) {
  const char* g = "Generator";
  app->add_option("--seed", f->seed, "Seed; the same seed and options give the same records")
      ->group(g)
      ->capture_default_str();
  app->add_option("--profile", f->profile,
                  "Shape of the values: reference (user_<n>, merchant<n>, USD/EU/GBP) or "
                  "realistic (UUID users, merchant and city names, 32 currencies)")
      ->group(g)
      ->capture_default_str();
  app->add_option("--records", f->records,
                  "Records to generate [1000000; with --duration: 0 = unbounded]")
      ->group(g);
  app->add_option("--duration", f->duration, "Stop after this wall-clock time, e.g. 30s")->group(g);
  app->add_option("--rate", f->rate, "Target records/s, token bucket (0 = unlimited)")
      ->group(g)
      ->capture_default_str();
  app->add_option("--threads", f->threads, "Worker threads (default: hardware threads)")->group(g);
  app->add_option("--users", f->users, "Distinct userIds [reference: 100000, realistic: 1000000]")
      ->group(g);
  app->add_option("--merchants", f->merchants,
                  "Distinct merchantIds [reference: 1000, realistic: 50000]")
      ->group(g);
  app->add_option("--locations", f->locations,
                  "Distinct locations [reference: 200, realistic: the list's cities]")
      ->group(g);
  app->add_option("--skew", f->skew, "Key skew of users and merchants: uniform or zipf")
      ->group(g)
      ->capture_default_str();
  app->add_option("--zipf-exponent", f->zipf_exponent, "Zipf exponent s (> 0)")
      ->group(g)
      ->capture_default_str();
  app->add_option("--start-time", f->start_time, "Event time of record 0, epoch ms")
      ->group(g)
      ->capture_default_str();
  app->add_option("--event-rate", f->event_rate, "Event-time speed: records per event-time second")
      ->group(g)
      ->capture_default_str();
  app->add_option("--out-of-order", f->out_of_order,
                  "Fraction of records delayed by up to --max-delay")
      ->group(g)
      ->capture_default_str();
  app->add_option("--max-delay", f->max_delay, "Largest out-of-order delay")
      ->group(g)
      ->capture_default_str();
  app->add_option("--late", f->late, "Fraction of records delayed by --late-delay or more")
      ->group(g)
      ->capture_default_str();
  app->add_option("--late-delay", f->late_delay, "Delay of late records")
      ->group(g)
      ->capture_default_str();
  app->add_option("--malformed", f->malformed, "Fraction of invalid records (dead-letter tests)")
      ->group(g)
      ->capture_default_str();
  app->add_option("--anomalies", f->anomalies,
                  "Fraction of injected anomalies the rules must catch")
      ->group(g)
      ->capture_default_str();
  AddRuleOptions(app, rules);
}

void AddFormatOptions(CLI::App* app, FormatFlags* f, const char* group, const std::string& what,
                      bool registry) {
  app->add_option("--format", f->format,
                  "Wire format of " + what +
                      ": json, binary or avro (schemas/transaction.avsc, Confluent framing)")
      ->group(group)
      ->capture_default_str();
  app->add_option("--field", f->fields,
                  "JSON: the records' name for a field, ROLE=NAME (repeatable; e.g. "
                  "amount=amout, merchantId=merchantID)")
      ->group(group)
      ->allow_extra_args(false);
  app->add_option("--time-format", f->time_format,
                  "JSON: transactionTime as epoch-ms, epoch-s, epoch-us or rfc3339")
      ->group(group)
      ->capture_default_str();
  app->add_option("--max-id-bytes", f->max_id_bytes,
                  "Longest id or string field, in bytes (longer ones are dead letters)")
      ->group(group)
      ->capture_default_str();
  f->schema_id_option =
      app->add_option("--schema-id", f->schema_id,
                      "--format avro: the schema id in the Confluent frame (written, and required "
                      "on input), when no --schema-registry gives it")
          ->group(group)
          ->capture_default_str();
  if (!registry) return;
  app->add_option("--schema-registry", f->registry_url,
                  "--format avro: Confluent Schema Registry URL (http://[user:pass@]host:port), "
                  "e.g. spate registry's; the schema ids come from it")
      ->group(group);
  AddSecretOption(app, &f->registry_auth,
                  "user:password for the registry's HTTP basic auth (instead of the URL's)", group);
  app->add_option("--subject", f->subject,
                  "Registry subject of the records' schema (default: <topic>-value)")
      ->group(group);
}

Status ToRegistryOptions(const FormatFlags& f, const std::string& topic,
                         registry::ClientOptions* client, std::string* subject, bool other_avro) {
  SecretOption auth = f.registry_auth;
  if (Status s = ResolveSecret(&auth); !s.ok()) return s;
  if (!f.has_registry()) {
    // Credentials given for nothing, never echoed. From the environment they are no error: a
    // variable set for the runs that use a registry must not break the others.
    const char* env = std::getenv(auth.env.c_str());
    const bool from_env = auth.file.empty() && env != nullptr && auth.value == env;
    if (!auth.value.empty() && !from_env) {
      return Status::Error("--schema-registry-auth: needs --schema-registry");
    }
    if (!f.subject.empty()) return Bad("--subject", "needs --schema-registry", f.subject);
    return Status::Ok();
  }
  if (f.format != "avro" && !other_avro) {
    return Bad("--schema-registry", "needs --format avro (got --format " + f.format + ")",
               RedactUrl(f.registry_url));
  }
  if (f.schema_id_option && f.schema_id_option->count() > 0) {
    return Bad("--schema-id", "the id comes from --schema-registry; give one or the other",
               std::to_string(f.schema_id));
  }
  if (!auth.value.empty() && auth.value.find(':') == std::string::npos) {
    return Status::Error("--schema-registry-auth: expected user:password (a ':' is missing)");
  }
  WarnIfPlainHttp(f.registry_url,
                  !auth.value.empty() || f.registry_url.find('@') != std::string::npos,
                  "--schema-registry");
  client->url = f.registry_url;
  client->basic_auth = auth.value;
  *subject = f.subject.empty() ? registry::TopicNameStrategy(topic) : f.subject;
  return Status::Ok();
}

Status RegisterWriterSchema(const FormatFlags& f, const std::string& topic, WireSpec* wire,
                            bool* usage) {
  registry::ClientOptions options;
  std::string subject;
  *usage = true;
  SPATE_RETURN_IF_ERROR(ToRegistryOptions(f, topic, &options, &subject));
  if (!f.has_registry()) return Status::Ok();
  auto client = registry::RegistryClient::Create(options);
  if (!client.ok()) return Status::Error("--schema-registry: " + client.status().message());
  *usage = false;
  auto id = client.value()->Register(subject, std::string(TransactionAvsc()));
  if (!id.ok()) {
    return Status::Error("registering schemas/transaction.avsc under " + subject + ": " +
                         id.status().message());
  }
  wire->schema_id = static_cast<uint32_t>(id.value());
  Log().info("schema id {} (subject {})", id.value(), subject);
  return Status::Ok();
}

Status ToWireSpec(const FormatFlags& f, WireSpec* wire) {
  if (f.format == "json") {
    *wire = WireSpec(WireFormat::kJson);
  } else if (f.format == "binary") {
    *wire = WireSpec(WireFormat::kBinary);
  } else if (f.format == "avro") {
    *wire = WireSpec(WireFormat::kAvro);
  } else {
    return Bad("--format", "expected json, binary or avro", f.format);
  }
  // Confluent ids are non-negative Java ints.
  SPATE_RETURN_IF_ERROR(Range("--schema-id", f.schema_id, 0, INT32_MAX));
  wire->schema_id = static_cast<uint32_t>(f.schema_id);
  auto time = ParseTimeFormat(f.time_format);
  if (!time)
    return Bad("--time-format", "expected epoch-ms, epoch-s, epoch-us or rfc3339", f.time_format);
  wire->record.time = *time;
  for (const std::string& field : f.fields) {
    if (Status s = wire->record.SetField(field); !s.ok()) return Bad("--field", s.message(), field);
  }
  SPATE_RETURN_IF_ERROR(Range("--max-id-bytes", f.max_id_bytes, 1, 1 << 20));
  wire->record.max_id_bytes = static_cast<size_t>(f.max_id_bytes);
  return Status::Ok();
}

void AddInputOption(CLI::App* app, std::string* input, const char* group) {
  app->add_option("--input", *input,
                  "Read the records from this file instead of generating them ('-': stdin; "
                  "gzip and zstd are decompressed): JSON lines, or with --format binary|avro "
                  "length-prefixed records as spate gen writes them")
      ->group(group);
}

Status ToInput(const std::string& input, const GenFlags& f, SourceOptions* src) {
  if (input.empty()) return Status::Ok();
  if (input != "-") {
    struct stat st;
    if (stat(input.c_str(), &st) != 0 || access(input.c_str(), R_OK) != 0) {
      return Bad("--input", std::string("cannot read it: ") + std::strerror(errno), input);
    }
    if (S_ISDIR(st.st_mode)) return Bad("--input", "a directory, not a file", input);
  }
  src->input = input;
  if (f.records.empty()) src->records = 0;  // the whole file
  return Status::Ok();
}

void AddRuleOptions(CLI::App* app, RuleFlags* f) {
  const char* r = "Anomaly rules";
  app->add_option("--rules", f->rules, "on, or off: no anomaly rules, no per-user state")
      ->group(r)
      ->capture_default_str();
  app->add_option("--high-amount", f->high_amount,
                  "high_amount: amount above this, in the record's currency's major units; "
                  "CODE=AMOUNT for one currency (repeatable) [250000]")
      ->group(r)
      ->allow_extra_args(false);
  app->add_option("--intl-amount", f->intl_amount,
                  "international_high: international and above this (as --high-amount) [150000]")
      ->group(r)
      ->allow_extra_args(false);
  app->add_option("--velocity-span", f->velocity_span, "Sliding span of the velocity rules")
      ->group(r)
      ->capture_default_str();
  app->add_option("--velocity-count", f->velocity_count,
                  "velocity_count: more records than this in the span")
      ->group(r)
      ->capture_default_str();
  app->add_option("--velocity-amount", f->velocity_amount,
                  "velocity_amount: a larger sum than this in the span, in one currency (as "
                  "--high-amount) [1000000]")
      ->group(r)
      ->allow_extra_args(false);
}

void AddEngineOptions(CLI::App* app, EngineFlags* f, bool with_source) {
  const char* e = "Engine";
  app->add_option("--window", f->window, "Window size (tumbling unless --hop)")
      ->group(e)
      ->capture_default_str();
  app->add_option("--hop", f->hop, "Hop of hopping windows (<= --window)")->group(e);
  app->add_option("--lateness", f->lateness, "Allowed lateness: watermark = max event time - this")
      ->group(e)
      ->capture_default_str();
  app->add_option("--group-by", f->group_by,
                  "Key: merchantId, userId, location, currency or paymentMethod")
      ->group(e)
      ->capture_default_str();
  app->add_option("--emit", f->emit,
                  "final (each window once, when it closes) or changes (every batch)")
      ->group(e)
      ->capture_default_str();
  app->add_option("--totals", f->totals,
                  "on, or off: no all-time totals per key (their state grows with the keys)")
      ->group(e)
      ->capture_default_str();
  if (!with_source) {
    AddFormatOptions(app, &f->wire, e, "the input", true);
    return;
  }
  AddFormatOptions(app, &f->wire, e, "the records between generator and engine");
  app->add_option("--partitions", f->partitions, "Source partitions (keyed by userId, as in Kafka)")
      ->group(e)
      ->capture_default_str();
  app->add_option("--batch-size", f->batch_size,
                  "Records per batch; watermarks advance between batches")
      ->group(e)
      ->capture_default_str();
}

Status ToRuleConfig(const RuleFlags& f, RuleConfig* r) {
  SPATE_RETURN_IF_ERROR(OnOff("--rules", f.rules, &r->enabled));
  SPATE_RETURN_IF_ERROR(Limit("--high-amount", f.high_amount, &r->high_amount));
  SPATE_RETURN_IF_ERROR(Limit("--intl-amount", f.intl_amount, &r->intl_amount));
  SPATE_RETURN_IF_ERROR(Limit("--velocity-amount", f.velocity_amount, &r->velocity_amount));
  SPATE_RETURN_IF_ERROR(Duration("--velocity-span", f.velocity_span, false, &r->velocity_span_ms));
  SPATE_RETURN_IF_ERROR(Range("--velocity-count", f.velocity_count, 1, 1'000'000));
  r->velocity_count = static_cast<uint32_t>(f.velocity_count);
  return Status::Ok();
}

Status ToGeneratorConfig(const GenFlags& f, const RuleFlags& rf, GeneratorConfig* gen,
                         SourceOptions* src) {
  gen->seed = f.seed;
  auto profile = ParseProfile(f.profile);
  if (!profile) return Bad("--profile", "expected reference or realistic", f.profile);
  gen->profile = *profile;
  const bool realistic = gen->profile == Profile::kRealistic;
  std::string records = f.records;
  if (records.empty()) records = f.duration.empty() ? "1000000" : "0";
  SPATE_RETURN_IF_ERROR(Count("--records", records, 0, UINT64_MAX / 2, &src->records));
  if (!f.duration.empty()) {
    SPATE_RETURN_IF_ERROR(Duration("--duration", f.duration, false, &src->duration_ms));
  } else if (src->records == 0) {
    return Bad("--records", "0 (unbounded) needs --duration", records);
  }
  if (!(f.rate >= 0)) return Bad("--rate", "must be >= 0", std::to_string(f.rate));
  src->rate = f.rate;
  uint64_t threads = DefaultThreads();
  if (!f.threads.empty()) SPATE_RETURN_IF_ERROR(Count("--threads", f.threads, 1, 256, &threads));
  src->threads = static_cast<uint32_t>(threads);
  const int64_t users = f.users ? f.users : realistic ? 1'000'000 : 100'000;
  const int64_t merchants = f.merchants ? f.merchants : realistic ? 50'000 : 1'000;
  const int64_t locations = f.locations ? f.locations
                            : realistic ? static_cast<int64_t>(CityCount())
                                        : 200;
  SPATE_RETURN_IF_ERROR(Range("--users", users, 1, kMaxId));
  SPATE_RETURN_IF_ERROR(Range("--merchants", merchants, 1, kMaxId));
  SPATE_RETURN_IF_ERROR(Range("--locations", locations, 1, kMaxId));
  gen->users = static_cast<uint32_t>(users);
  gen->merchants = static_cast<uint32_t>(merchants);
  gen->locations = static_cast<uint32_t>(locations);
  if (f.skew == "uniform") {
    gen->skew = Skew::kUniform;
  } else if (f.skew == "zipf") {
    gen->skew = Skew::kZipf;
    if (users > 50'000'000 || merchants > 50'000'000) {
      return Bad("--skew", "zipf supports at most 50000000 users or merchants", f.skew);
    }
  } else {
    return Bad("--skew", "expected uniform or zipf", f.skew);
  }
  if (!(f.zipf_exponent > 0 && f.zipf_exponent < 10)) {
    return Bad("--zipf-exponent", "must be greater than 0 and less than 10",
               std::to_string(f.zipf_exponent));
  }
  gen->zipf_exponent = f.zipf_exponent;
  SPATE_RETURN_IF_ERROR(
      Range("--start-time", f.start_time, kMinTimeMs, kMaxTimeMs - 86'400'000'000));
  gen->start_time_ms = f.start_time;
  SPATE_RETURN_IF_ERROR(Range("--event-rate", f.event_rate, 1, 1'000'000'000));
  gen->event_rate = static_cast<uint64_t>(f.event_rate);
  SPATE_RETURN_IF_ERROR(Fraction("--out-of-order", f.out_of_order));
  SPATE_RETURN_IF_ERROR(Fraction("--late", f.late));
  SPATE_RETURN_IF_ERROR(Fraction("--malformed", f.malformed));
  SPATE_RETURN_IF_ERROR(Fraction("--anomalies", f.anomalies));
  gen->out_of_order = f.out_of_order;
  gen->late = f.late;
  gen->malformed = f.malformed;
  gen->anomalies = f.anomalies;
  SPATE_RETURN_IF_ERROR(Duration("--max-delay", f.max_delay, true, &gen->max_delay_ms));
  SPATE_RETURN_IF_ERROR(Duration("--late-delay", f.late_delay, true, &gen->late_delay_ms));
  SPATE_RETURN_IF_ERROR(ToRuleConfig(rf, &gen->rules));
  src->wire = WireSpec();
  src->partitions = 1;
  return Status::Ok();
}

Status ToEngineConfig(const EngineFlags& f, EngineConfig* engine, SourceOptions* src) {
  SPATE_RETURN_IF_ERROR(Duration("--window", f.window, false, &engine->window.size_ms));
  engine->window.hop_ms = engine->window.size_ms;
  if (!f.hop.empty()) {
    SPATE_RETURN_IF_ERROR(Duration("--hop", f.hop, false, &engine->window.hop_ms));
    if (engine->window.hop_ms > engine->window.size_ms) {
      return Bad("--hop", "must not be larger than --window (" + f.window + ")", f.hop);
    }
    if (engine->window.size_ms / engine->window.hop_ms > 1000) {
      return Bad("--hop", "more than 1000 windows per record; use a larger hop", f.hop);
    }
  }
  SPATE_RETURN_IF_ERROR(Duration("--lateness", f.lateness, true, &engine->lateness_ms));
  auto group = ParseGroupBy(f.group_by);
  if (!group) {
    return Bad("--group-by", "expected merchantId, userId, location, currency or paymentMethod",
               f.group_by);
  }
  engine->group_by = *group;
  if (f.emit == "final") {
    engine->emit = EmitMode::kFinal;
  } else if (f.emit == "changes") {
    engine->emit = EmitMode::kChanges;
  } else {
    return Bad("--emit", "expected final or changes", f.emit);
  }
  SPATE_RETURN_IF_ERROR(OnOff("--totals", f.totals, &engine->totals));
  SPATE_RETURN_IF_ERROR(ToWireSpec(f.wire, &src->wire));
  SPATE_RETURN_IF_ERROR(Range("--partitions", f.partitions, 1, 4096));
  src->partitions = static_cast<uint32_t>(f.partitions);
  SPATE_RETURN_IF_ERROR(Range("--batch-size", f.batch_size, 1, 1 << 24));
  src->batch_size = static_cast<uint64_t>(f.batch_size);
  return Status::Ok();
}

}  // namespace spate::cli
