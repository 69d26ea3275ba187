// `spate aggregate`: consume, decode, run the engine, write results to Kafka, exactly once.

#include <cstring>
#include <tuple>

#include <fmt/format.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/kafka_options.h"
#include "cli/options.h"
#include "core/avro_schema.h"
#include "core/duration.h"
#include "kafka/broker_version.h"
#include "obs/metrics_server.h"
#include "registry/client/schema_resolver.h"
#include "runner/kafka/aggregator.h"
#include "stream/progress.h"

namespace spate::cli {
namespace {

class AggregateCommand final : public Command {
 public:
  explicit AggregateCommand(CLI::App* parent) {
    app_ = parent->add_subcommand(
        "aggregate", "Aggregate a Kafka topic into Kafka topics with exactly-once results");
    AddKafkaOptions(app_, &kafka_flags_);
    AddEngineOptions(app_, &engine_flags_, false);
    AddRuleOptions(app_, &rule_flags_);
    const char* t = "Topics";
    app_->add_option("--input", c_.input, "Input topic")->group(t)->capture_default_str();
    app_->add_option("--group", c_.group, "Consumer group (also names the state changelog)")
        ->group(t)
        ->capture_default_str();
    instance_ =
        app_->add_option("--instance", c_.instance,
                         "Stable id of this process in the group (static membership): a "
                         "restart with the same id fences the old one and takes its "
                         "partitions back at once. Without it, a dynamic member that leaves "
                         "the group when it ends")
            ->group(t);
    app_->add_option("--aggregates-topic", c_.aggregates_topic, "")
        ->group(t)
        ->capture_default_str();
    app_->add_option("--totals-topic", c_.totals_topic, "")->group(t)->capture_default_str();
    app_->add_option("--anomalies-topic", c_.anomalies_topic, "")->group(t)->capture_default_str();
    app_->add_option("--late-topic", c_.late_topic, "")->group(t)->capture_default_str();
    app_->add_option("--dlq-topic", c_.dlq_topic, "")->group(t)->capture_default_str();
    app_->add_option("--output-format", output_format_,
                     "json, or avro for the aggregates and anomalies topics (schemas/"
                     "aggregate.avsc, anomaly.avsc, registered under <topic>-value; needs "
                     "--schema-registry). Totals, late records and dead letters stay JSON")
        ->group(t)
        ->capture_default_str();
    const char* o = "Run";
    app_->add_option("--commit-interval", commit_interval_,
                     "Length of a micro-batch (one transaction)")
        ->group(o)
        ->capture_default_str();
    app_->add_option("--idle-timeout", idle_timeout_,
                     "An input partition read to its end that has had no record for this long "
                     "stops holding the watermark back, until its next record (0: never)")
        ->group(o)
        ->capture_default_str();
    app_->add_flag("-e,--exit-at-end", c_.exit_at_end,
                   "Stop once the input is exhausted, emitting every open window")
        ->group(o);
    AddReportOptions(app_, &report_, "127.0.0.1:9466", o);
  }

  int Run() override {
    SourceOptions unused;
    if (Status s = ToEngineConfig(engine_flags_, &c_.engine, &unused); !s.ok()) {
      return UsageError(s.message());
    }
    c_.wire = unused.wire;
    registry::ResolverOptions ro;
    if (output_format_ != "json" && output_format_ != "avro") {
      return UsageError("--output-format: expected json or avro (got '" + output_format_ + "')");
    }
    if (output_format_ == "avro" && !engine_flags_.wire.has_registry()) {
      return UsageError("--output-format: avro needs --schema-registry (got 'avro')");
    }
    if (Status s = ToRegistryOptions(engine_flags_.wire, c_.input, &ro.client, &ro.subject,
                                     output_format_ == "avro");
        !s.ok()) {
      return UsageError(s.message());
    }
    if (Status s = ToRuleConfig(rule_flags_, &c_.engine.rules); !s.ok())
      return UsageError(s.message());
    auto interval = ParseDurationMs(commit_interval_);
    if (!interval || *interval < 10 || *interval > 60'000) {
      return UsageError("--commit-interval: expected a duration from 10ms to 60s (got '" +
                        commit_interval_ + "')");
    }
    c_.commit_interval_ms = *interval;
    auto idle = ParseDurationMs(idle_timeout_);
    if (!idle || *idle < 0) {
      return UsageError("--idle-timeout: expected a duration, 0 for never (got '" + idle_timeout_ +
                        "')");
    }
    c_.idle_timeout_ms = *idle;
    c_.static_member = instance_->count() > 0;
    if (!c_.static_member) {
      // Unique per process, so that members started without --instance never fence each
      // other's producers; each joins as a new, dynamic member (docs/aggregate.md).
      char host[256] = {};
      if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::strcpy(host, "host");
      c_.instance = fmt::format("{}-{}", host, getpid());
    }
    if (c_.instance.empty()) return UsageError("--instance: must not be empty");
    Status cs = BuildClientConfig(kafka_flags_, {}, &c_.client);
    if (!cs.ok()) return cs.message() == "list" ? 0 : UsageError(cs.message());
    // Refused credentials or certificates: one line and exit 1, not endless retries. Also
    // warns about Kafka 4.x with librdkafka < 2.11.1.
    if (Status s = kafka::CheckCluster(c_.client); !s.ok()) return RuntimeError(s.message());
    if (engine_flags_.wire.has_registry() && c_.wire.format == WireFormat::kAvro) {
      // The expected id: schemas/transaction.avsc under <input>-value, registered if absent
      // (an aggregator may start before its first producer). Other ids are asked by id.
      ro.register_schema = true;
      auto resolver = registry::SchemaResolver::Create(ro);
      if (!resolver.ok()) return RuntimeError("--schema-registry: " + resolver.status().message());
      std::shared_ptr<registry::SchemaResolver> r = resolver.value();
      Log().info("expecting schema id {} (subject {})", r->transaction_id(), ro.subject);
      c_.new_decoder = [r] { return registry::NewRegistryDecoder(r); };
    }
    if (output_format_ == "avro") {
      auto client = registry::RegistryClient::Create(ro.client);
      if (!client.ok()) return UsageError("--schema-registry: " + client.status().message());
      for (auto [topic, avsc, id] :
           {std::tuple{c_.aggregates_topic, AggregateAvsc(), &c_.encoding.aggregate_schema_id},
            std::tuple{c_.anomalies_topic, AnomalyAvsc(), &c_.encoding.anomaly_schema_id}}) {
        const std::string subject = registry::TopicNameStrategy(topic);
        auto got = client.value()->Register(subject, std::string(avsc));
        if (!got.ok()) {
          return RuntimeError("registering the schema of " + topic + " under " + subject + ": " +
                              got.status().message());
        }
        *id = static_cast<uint32_t>(got.value());
      }
    }

    auto server = MetricsServer::Start(report_.metrics_addr);
    if (!server.ok()) return RuntimeError(server.status().message());
    AnnounceMetrics(report_.metrics_addr, *server.value());
    InstallStopSignals();
    ExitWithinAfterStop(std::chrono::seconds(8), 0);
    EngineHooks hooks;
    hooks.metrics = &server.value()->registry();
    hooks.stop = [] { return StopRequested(); };
    if (report_.show_progress()) {
      hooks.progress = [](const ProgressSnapshot& s) { Log().info("{}", ProgressLine(s)); };
    }
    auto r = RunAggregate(c_, hooks);
    if (!r.ok()) return RuntimeError(r.status().message());
    const AggregateSummary& s = r.value();
    Log().info("{}; {} transactions, {} state entries restored, {} rewinds",
               SummaryLine(s.stats, s.elapsed_seconds), s.transactions, s.restored_entries,
               s.rewinds);
    if (report_.json) {
      const PipelineStats& t = s.stats;
      fmt::print(R"({{"records":{},"valid":{},"deadLetters":{},"deadLettersTruncated":{},)"
                 R"("aggregated":{},"late":{},)"
                 R"("windowsEmitted":{},"totalsEmitted":{},"anomalies":{},"transactions":{},)"
                 R"("restoredEntries":{},"rewinds":{},"inputPartitions":{},"windowPartitions":{},)"
                 R"("sumOverflows":{},"peakRssBytes":{},"elapsedSeconds":{:.3f},)"
                 R"("repartitioned":{{"single":{},"combined":{},"partials":{}}},)"
                 R"("windowResultLatencyMs":{},"recordResultLatencyMs":{}}})"
                 "\n",
                 t.records, t.valid, t.dead_letters, t.dead_letters_cut, t.aggregated, t.late,
                 t.windows_emitted, t.totals_emitted, t.anomalies, s.transactions,
                 s.restored_entries, s.rewinds, s.held_inputs.size(), s.held_windows.size(),
                 t.sum_overflows, PeakRssBytes(), s.elapsed_seconds, t.repartitioned_single,
                 t.repartitioned_combined, t.partials, LatencyJson(s.window_result_latency),
                 LatencyJson(s.record_result_latency));
    }
    return 0;
  }

 private:
  static std::string LatencyJson(const LatencyHistogram& h) {
    return fmt::format(R"({{"count":{},"p50":{:.3f},"p99":{:.3f},"max":{:.3f}}})", h.count(),
                       h.Quantile(0.5) / 1000.0, h.Quantile(0.99) / 1000.0,
                       static_cast<double>(h.max_micros()) / 1000.0);
  }

  KafkaFlags kafka_flags_;
  EngineFlags engine_flags_;
  RuleFlags rule_flags_;
  AggregateConfig c_;
  CLI::Option* instance_ = nullptr;
  std::string commit_interval_ = "200ms";
  std::string idle_timeout_ = "60s";
  std::string output_format_ = "json";
  ReportFlags report_;
};

}  // namespace

std::unique_ptr<Command> NewAggregateCommand(CLI::App* parent) {
  return std::make_unique<AggregateCommand>(parent);
}

}  // namespace spate::cli
