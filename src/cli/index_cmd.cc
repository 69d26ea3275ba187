// `spate index`: Kafka topics into Elasticsearch / OpenSearch with _bulk, effectively once.

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/kafka_options.h"
#include "cli/options.h"
#include "cli/secrets.h"
#include "core/avro_schema.h"
#include "core/codec.h"
#include "core/duration.h"
#include "kafka/broker_version.h"
#include "obs/metrics_server.h"
#include "registry/client/schema_resolver.h"
#include "sinks/elasticsearch/cluster.h"
#include "sinks/elasticsearch/sink.h"

namespace spate::cli {
namespace {

class IndexCommand final : public Command {
 public:
  explicit IndexCommand(CLI::App* parent) {
    app_ = parent->add_subcommand(
        "index", "Index Kafka topics (aggregates, anomalies, ...) into Elasticsearch/OpenSearch");
    AddKafkaOptions(app_, &kafka_flags_);
    const char* t = "Topics";
    app_->add_option("-t,--topic", c_.topics, "Topic to index (repeatable)")
        ->group(t)
        ->capture_default_str();
    app_->add_option("-G,--group", group_,
                     "Consumer group (offsets committed after the index "
                     "acknowledged the documents)")
        ->group(t)
        ->capture_default_str();
    app_->add_option("--dlq-topic", c_.dlq_topic, "Dead letters: documents the index refused")
        ->group(t)
        ->capture_default_str();
    AddFormatOptions(app_, &format_, t,
                     "the values (json: the JSON lines of spate aggregate; avro: Confluent frames "
                     "of any registered schema, e.g. aggregate --output-format avro; needs "
                     "--schema-registry)",
                     true);
    const char* e = "Elasticsearch";
    app_->add_option("--es", c_.http.url, "Elasticsearch or OpenSearch URL")
        ->group(e)
        ->capture_default_str();
    app_->add_option("--index", c_.index, "Index name; {topic} is replaced by the record's topic")
        ->group(e)
        ->capture_default_str();
    app_->add_option("--user", c_.http.user, "Basic auth user (or http://user:pw@host in --es)")
        ->group(e);
    AddSecretOption(app_, &password_, "Basic auth password", e);
    AddSecretOption(app_, &api_key_, "API key, base64 of id:key (Authorization: ApiKey ...)", e);
    app_->add_option("--ca-file", c_.http.ca_file, "PEM CA bundle to verify https:// with")
        ->group(e);
    app_->add_option("--client-cert", c_.http.client_cert, "PEM client certificate (mutual TLS)")
        ->group(e);
    app_->add_option("--client-key", c_.http.client_key, "PEM client key")->group(e);
    app_->add_flag("--insecure", c_.http.insecure, "Do not verify the server's certificate")
        ->group(e);
    app_->add_flag("!--no-template", c_.install_template,
                   "Do not install the index template at start")
        ->group(e);
    app_->add_flag("!--no-id-bloom-filter", c_.id_bloom_filter,
                   "Leave OpenSearch's bloom filter on _id out of the template. By default spate "
                   "enables it on OpenSearch 2.13+: every document has an _id of its own, which "
                   "the node looks up before writing it, and the filter saves most lookups")
        ->group(e);
    app_->add_flag("--print-template", print_template_,
                   "Print the index template for --index (JSON, for PUT "
                   "/_index_template/NAME) and exit; e.g. to install it yourself and run with "
                   "--no-template. It leaves out the one setting spate adds on OpenSearch 2.13+ "
                   "(index.optimize_doc_id_lookup.fuzzy_set.enabled: a bloom filter on _id)")
        ->group(e);
    const char* b = "Batching";
    app_->add_option("--batch-docs", c_.batch_docs, "Documents per _bulk request at most")
        ->group(b)
        ->capture_default_str()
        ->check(CLI::Range(1, 100'000));
    app_->add_option("--batch-bytes", c_.batch_bytes, "Bytes per _bulk request at most")
        ->group(b)
        ->capture_default_str()
        ->check(CLI::Range(1024, 100 << 20));
    app_->add_option("--linger", linger_, "Send a partial batch after this long")
        ->group(b)
        ->capture_default_str();
    app_->add_option("--inflight", c_.max_inflight, "_bulk requests in flight at most")
        ->group(b)
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    app_->add_option("--request-timeout", timeout_, "A _bulk request slower than this is retried")
        ->group(b)
        ->capture_default_str();
    app_->add_option("--max-retries", c_.max_item_retries,
                     "A document that the cluster refuses (429/5xx) more often than this goes to "
                     "the dead letters; whole requests that fail are retried for ever")
        ->group(b)
        ->capture_default_str()
        ->check(CLI::Range(0, 1'000'000));
    app_->add_option("--retry-max-backoff", backoff_cap_,
                     "Longest wait between retries (exponential from 100ms, full jitter)")
        ->group(b)
        ->capture_default_str();
    const char* o = "Run";
    app_->add_flag("-e,--exit-at-end", c_.exit_at_end,
                   "Stop once every partition is read to its end and indexed")
        ->group(o);
    AddReportOptions(app_, &report_, "127.0.0.1:9467", o);
  }

  // --format avro: each value is a Confluent frame; its schema comes from the registry by id
  // (cached) and the datum is read in the plain JSON form (AvroJson::kPlain), which for our
  // aggregates and anomalies is exactly their JSON line. An unregistered id or a datum that
  // does not decode is a dead letter; a registry that does not answer is no verdict: the sink
  // waits for it, then stops with nothing committed past the record.
  Status SetDecoder() {
    if (format_.format == "json") {
      if (format_.has_registry()) {
        return Status::Error("--schema-registry: needs --format avro (got --format json)");
      }
      return SetTransactionReader();
    }
    if (format_.format != "avro") {
      return Status::Error("--format: expected json or avro (got '" + format_.format + "')");
    }
    if (!format_.has_registry()) {
      return Status::Error("--format avro: needs --schema-registry (the schemas come by id)");
    }
    registry::ResolverOptions ro;
    if (Status s = ToRegistryOptions(format_, c_.topics.front(), &ro.client, &ro.subject);
        !s.ok()) {
      return s;
    }
    ro.subject.clear();  // no expected schema: every id is asked by id
    auto r = registry::SchemaResolver::Create(ro);
    if (!r.ok()) return Status::Error("--schema-registry: " + r.status().message());
    std::shared_ptr<registry::SchemaResolver> resolver = r.value();
    c_.decode = [resolver](std::string_view v, std::string* json, std::string* dead) -> Status {
      uint32_t id = 0;
      if (!ReadConfluentHeader(v, &id)) {
        *dead = "bad_avro";
        return Status::Error("not a Confluent Avro frame (magic byte 0 and a 4-byte schema id)");
      }
      for (int attempt = 1;; ++attempt) {
        registry::SchemaResolver::Resolved res = resolver->Resolve(id);
        if (res.kind == registry::SchemaResolver::Kind::kUnknown) {
          *dead = "unknown_schema";
          return Status::Error(fmt::format("schema id {} is not registered ({})", id, res.why));
        }
        if (res.kind == registry::SchemaResolver::Kind::kUnavailable) {
          if (attempt == 6) {
            return Status::Error(
                fmt::format("schema registry unavailable for id {}: {}", id, res.why));
          }
          Log().warn("schema registry unavailable ({}); waiting", res.why);
          std::this_thread::sleep_for(std::chrono::seconds(5));
          continue;
        }
        if (Status s = res.schema->Validate(v.substr(kConfluentHeaderSize), json, AvroJson::kPlain);
            !s.ok()) {
          *dead = "bad_avro";
          return Status::Error(
              fmt::format("schema id {} ({}): {}", id, res.schema->name(), s.message()));
        }
        return Status::Ok();
      }
    };
    return Status::Ok();
  }

  // --field, --time-format, --max-id-bytes: a topic of the user's own transactions is read
  // in its shape and indexed in spate's (its field names, epoch milliseconds), so that the
  // index template's mapping fits. A record without the stream's transactionId field (an
  // aggregate, an anomaly) goes on as it is; a transaction that does not decode is a dead
  // letter with the decoder's code and reason.
  Status SetTransactionReader() {
    WireSpec wire;
    if (Status s = ToWireSpec(format_, &wire); !s.ok()) return s;
    if (wire.record.canonical() && wire.record.max_id_bytes == kDefaultMaxIdBytes) {
      return Status::Ok();
    }
    std::shared_ptr<Decoder> decoder = NewDecoder(wire);
    c_.decode = [decoder](std::string_view v, std::string* json, std::string* dead) -> Status {
      Transaction tx;
      std::string reason;
      const DecodeError e = decoder->Decode(v, v.size(), &tx, &reason);
      json->clear();
      if (e == DecodeError::kMissingField) {
        json->assign(v);
        return Status::Ok();
      }
      if (e != DecodeError::kNone) {
        *dead = std::string(DecodeErrorName(e));
        return Status::Error(reason);
      }
      EncodeJson(tx, json);
      return Status::Ok();
    };
    return Status::Ok();
  }

  int Run() override {
    if (c_.index.empty()) return UsageError("--index: must not be empty");
    if (print_template_) {
      // The body on stdout (to pipe into curl), the name spate would PUT it under on stderr.
      fmt::print("{}\n", es::IndexTemplateBody(es::IndexPattern(c_.index)));
      Log().info("the template spate installs as /_index_template/{}",
                 es::IndexTemplateName(c_.index));
      return 0;
    }
    auto ms = [](const std::string& opt, const std::string& v, int64_t lo, int64_t* out) -> Status {
      auto d = ParseDurationMs(v);
      if (!d || *d < lo) {
        return Status::Error(opt + ": expected a duration of at least " + std::to_string(lo) +
                             "ms (got '" + v + "')");
      }
      *out = *d;
      return Status::Ok();
    };
    if (Status s = ms("--linger", linger_, 0, &c_.linger_ms); !s.ok())
      return UsageError(s.message());
    if (Status s = ms("--request-timeout", timeout_, 100, &c_.http.timeout_ms); !s.ok()) {
      return UsageError(s.message());
    }
    if (Status s = ms("--retry-max-backoff", backoff_cap_, 100, &c_.backoff_cap_ms); !s.ok()) {
      return UsageError(s.message());
    }
    if (c_.topics.empty()) return UsageError("--topic: at least one topic");
    if (group_.empty()) return UsageError("--group: must not be empty");
    for (SecretOption* secret : {&password_, &api_key_}) {
      if (Status s = ResolveSecret(secret); !s.ok()) return UsageError(s.message());
    }
    c_.http.password = password_.value;
    c_.http.api_key = api_key_.value;
    WarnIfPlainHttp(c_.http.url,
                    !c_.http.user.empty() || !c_.http.api_key.empty() ||
                        c_.http.url.find('@') != std::string::npos,
                    "--es");
    if (Status s = SetDecoder(); !s.ok()) return UsageError(s.message());
    kafka::Settings reader = kafka::ReaderSettings();
    for (auto& kv : kafka::GroupSettings(group_)) reader.push_back(std::move(kv));
    Status cs = BuildClientConfig(kafka_flags_, reader, &c_.consumer);
    if (!cs.ok()) return cs.message() == "list" ? 0 : UsageError(cs.message());
    c_.consumer = c_.consumer.For(kafka::ClientConfig::Role::kConsumer);
    Status ps = BuildClientConfig(kafka_flags_, {{"acks", "all"}, {"enable.idempotence", "true"}},
                                  &c_.producer);
    if (!ps.ok()) return UsageError(ps.message());
    c_.producer = c_.producer.For(kafka::ClientConfig::Role::kProducer);
    // Refused credentials or certificates: one line and exit 1, not endless retries. Also
    // warns about Kafka 4.x with librdkafka < 2.11.1.
    if (Status s = kafka::CheckCluster(c_.consumer); !s.ok()) return RuntimeError(s.message());

    auto server = MetricsServer::Start(report_.metrics_addr);
    if (!server.ok()) return RuntimeError(server.status().message());
    AnnounceMetrics(report_.metrics_addr, *server.value());
    InstallStopSignals();
    ExitWithinAfterStop(std::chrono::seconds(8), 0);
    es::IndexHooks hooks;
    hooks.metrics = &server.value()->registry();
    hooks.stop = [] { return StopRequested(); };
    if (report_.show_progress()) {
      hooks.progress = [](const es::SinkSummary& s) {
        Log().info("{} received, {} indexed, {} dead letters, {} retries, {:.0f} docs/s",
                   s.received, s.indexed, s.dead_letters, s.retries,
                   s.elapsed_seconds > 0 ? s.indexed / s.elapsed_seconds : 0.0);
      };
    }
    auto r = es::RunIndexSink(c_, hooks);
    if (!r.ok()) return RuntimeError(r.status().message());
    const es::SinkSummary& s = r.value();
    double rate = s.elapsed_seconds > 0 ? (s.indexed + s.superseded) / s.elapsed_seconds : 0;
    Log().info(
        "{}: {} records, {} indexed, {} already there (newer or same version), {} dead letters, "
        "{} retried, {} requests, {:.2f} s, {:.0f} docs/s",
        s.server, s.received, s.indexed, s.superseded, s.dead_letters, s.retries, s.requests,
        s.elapsed_seconds, rate);
    if (report_.json) {
      fmt::print(R"({{"server":"{}","records":{},"indexed":{},"superseded":{},"deadLetters":{},)"
                 R"("retries":{},"requests":{},"elapsedSeconds":{:.3f},"docsPerSecond":{:.1f}}})"
                 "\n",
                 s.server, s.received, s.indexed, s.superseded, s.dead_letters, s.retries,
                 s.requests, s.elapsed_seconds, rate);
    }
    return 0;
  }

 private:
  KafkaFlags kafka_flags_;
  FormatFlags format_;
  es::SinkConfig c_ = [] {
    es::SinkConfig c;
    c.topics = {"transaction_aggregates", "transaction_anomalies"};
    c.http.url = "http://127.0.0.1:9200";
    return c;
  }();
  std::string group_ = "spate-index";
  bool print_template_ = false;
  std::string linger_ = "1s", timeout_ = "60s", backoff_cap_ = "30s";
  SecretOption password_{"--password", "SPATE_ES_PASSWORD", {}, {}};
  SecretOption api_key_{"--api-key", "SPATE_ES_API_KEY", {}, {}};
  ReportFlags report_;
};

}  // namespace

std::unique_ptr<Command> NewIndexCommand(CLI::App* parent) {
  return std::make_unique<IndexCommand>(parent);
}

}  // namespace spate::cli
