// `spate consume`: read a topic (read_committed) and print JSON lines, like kcat -C.

#include <cstdio>
#include <set>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/kafka_options.h"
#include "cli/options.h"
#include "core/avro_schema.h"
#include "core/codec.h"
#include "kafka/broker_version.h"
#include "kafka/consumer.h"
#include "obs/metrics_server.h"
#include "registry/client/schema_resolver.h"
#include "stream/output_format.h"

namespace spate::cli {
namespace {

class ConsumeCommand final : public Command {
 public:
  explicit ConsumeCommand(CLI::App* parent) {
    app_ =
        parent->add_subcommand("consume", "Print a topic's records as JSON lines (read_committed)");
    AddKafkaOptions(app_, &kafka_flags_);
    const char* g = "Consumer";
    app_->add_option("-t,--topic", topic_, "Topic")->group(g)->required();
    app_->add_option("-G,--group", group_,
                     "Join this consumer group instead of reading every partition")
        ->group(g);
    app_->add_option("-o,--offset", offset_, "beginning, end or an absolute offset (without -G)")
        ->group(g)
        ->capture_default_str();
    app_->add_option("-c,--count", count_, "Exit after this many records (0 = no limit)")
        ->group(g)
        ->capture_default_str();
    app_->add_flag("-e,--exit-at-end", exit_at_end_, "Exit when every partition is read to its end")
        ->group(g);
    AddFormatOptions(app_, &format_, g,
                     "the values (json is printed as is, binary and avro decoded; with "
                     "--schema-registry any registered Avro schema)",
                     true);
    app_->add_option("--metrics-addr", metrics_addr_,
                     "Serve Prometheus metrics (consumer lag per partition, ...) here")
        ->group(g);
    app_->add_flag("--envelope", envelope_,
                   "Print {topic, partition, offset, timestamp, key, value} per record")
        ->group(g);
  }

  int Run() override {
    WireSpec wire;
    if (Status s = ToWireSpec(format_, &wire); !s.ok()) return UsageError(s.message());
    registry::ResolverOptions ro;
    if (Status s = ToRegistryOptions(format_, topic_, &ro.client, &ro.subject); !s.ok()) {
      return UsageError(s.message());
    }
    std::shared_ptr<registry::SchemaResolver> resolver;
    if (format_.has_registry()) {
      ro.subject.clear();  // no expected schema: every id is asked by id
      auto r = registry::SchemaResolver::Create(ro);
      if (!r.ok()) return UsageError("--schema-registry: " + r.status().message());
      resolver = r.value();
    }
    int64_t start;
    if (offset_ == "beginning") {
      start = kafka::kOffsetBeginning;
    } else if (offset_ == "end") {
      start = kafka::kOffsetEnd;
    } else {
      try {
        size_t used = 0;
        start = std::stoll(offset_, &used);
        if (used != offset_.size() || start < 0) throw std::invalid_argument(offset_);
      } catch (const std::exception&) {
        return UsageError("--offset: expected beginning, end or a non-negative offset (got '" +
                          offset_ + "')");
      }
    }
    kafka::ClientConfig conf;
    // In a group, offsets are committed as kcat -G does (auto commit); alone, never.
    kafka::Settings defaults = kafka::ReaderSettings(/*auto_commit=*/!group_.empty());
    for (auto& kv : kafka::PrefetchSettings()) defaults.push_back(std::move(kv));
    if (!group_.empty()) {
      for (auto& kv : kafka::GroupSettings(group_)) defaults.push_back(std::move(kv));
    }
    Status cs = BuildClientConfig(kafka_flags_, defaults, &conf);
    if (!cs.ok()) return cs.message() == "list" ? 0 : UsageError(cs.message());
    // Refused credentials or certificates: one line and exit 1, not endless retries. Also
    // warns about Kafka 4.x with librdkafka < 2.11.1.
    if (Status s = kafka::CheckCluster(conf); !s.ok()) return RuntimeError(s.message());
    auto server = MetricsServer::Start(metrics_addr_);
    if (!server.ok()) return RuntimeError(server.status().message());
    AnnounceMetrics(metrics_addr_, *server.value());
    kafka::StatsExporter exporter(server.value()->registry(), "consumer");
    auto consumer = kafka::Consumer::Create(conf, metrics_addr_.empty() ? nullptr : &exporter);
    if (!consumer.ok()) return RuntimeError(consumer.status().message());
    kafka::Consumer& c = *consumer.value();
    Status s = group_.empty() ? c.AssignAll(topic_, start) : c.Subscribe({topic_});
    if (!s.ok()) return RuntimeError(s.message());

    InstallStopSignals();
    // With a registry: the transaction schema by the fast decoder (printed as `spate gen`
    // writes it), any other registered schema generically by avro-c (its JSON form).
    auto decoder = resolver ? registry::NewRegistryDecoder(resolver) : NewDecoder(wire);
    std::set<int32_t> at_end;
    uint64_t printed = 0, errors = 0;
    std::string line, reason;
    Transaction tx;
    while (!StopRequested() && (count_ == 0 || printed < count_)) {
      auto m = c.Poll(200);
      if (!m) continue;
      if (m.partition_eof()) {
        at_end.insert(m.partition());
        if (exit_at_end_ && c.assigned_partitions() > 0 && at_end.size() >= c.assigned_partitions())
          break;
        continue;
      }
      if (m.err()) {
        Log().warn("{}", kafka::ErrorText(m.err()));
        if (m.err() == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
            m.err() == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
          return RuntimeError("cannot consume " + topic_);
        }
        ++errors;
        continue;
      }
      at_end.erase(m.partition());
      std::string_view value = m.payload();
      std::string decoded;
      if (wire.format != WireFormat::kJson) {
        DecodeError e = decoder->Decode(value, value.size(), &tx, &reason);
        if (e == DecodeError::kSchemaMismatch)
          e = DecodeGeneric(*resolver, value, &decoded, &reason);
        if (e == DecodeError::kSchemaUnavailable) return RuntimeError(reason);
        if (e != DecodeError::kNone) {
          Log().warn("{} [{}] offset {}: {}: {}", topic_, m.partition(), m.offset(),
                     DecodeErrorName(e), reason);
          ++errors;
          continue;
        }
        if (decoded.empty()) EncodeJson(tx, &decoded, wire.record);
        value = decoded;
      }
      line.clear();
      if (envelope_) {
        line = fmt::format(R"({{"topic":"{}","partition":{},"offset":{},"timestamp":{},"key":)",
                           topic_, m.partition(), m.offset(), m.timestamp_ms().value_or(-1));
        if (m.has_key()) {
          AppendJsonString(m.key(), &line);
        } else {
          line += "null";
        }
        line += R"(,"value":)";
        AppendJsonString(value, &line);
        line += "}";
      } else {
        line.assign(value);
      }
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), stdout);
      ++printed;
    }
    std::fflush(stdout);
    Log().info("{} records from {}", printed, topic_);
    return errors > 0 ? 1 : 0;
  }

 private:
  // A frame of another registered schema, as avro-c's JSON (unions as {"type": value}).
  static DecodeError DecodeGeneric(registry::SchemaResolver& resolver, std::string_view frame,
                                   std::string* json, std::string* reason) {
    uint32_t id = 0;
    ReadConfluentHeader(frame, &id);  // the registry decoder found a frame
    registry::SchemaResolver::Resolved r = resolver.Resolve(id);
    if (!r.schema) return DecodeError::kSchemaMismatch;  // reason already set
    if (Status s = r.schema->Validate(frame.substr(kConfluentHeaderSize), json); !s.ok()) {
      *reason = fmt::format("schema id {} ({}): {}", id, r.schema->name(), s.message());
      json->clear();
      return DecodeError::kBadAvro;
    }
    return DecodeError::kNone;
  }

  KafkaFlags kafka_flags_;
  std::string topic_, group_, offset_ = "beginning", metrics_addr_;
  FormatFlags format_;
  uint64_t count_ = 0;
  bool exit_at_end_ = false, envelope_ = false;
};

}  // namespace

std::unique_ptr<Command> NewConsumeCommand(CLI::App* parent) {
  return std::make_unique<ConsumeCommand>(parent);
}

}  // namespace spate::cli
