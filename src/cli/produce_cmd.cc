// `spate produce`: the generator (or a file: --input) into Kafka, with kafka-producer-perf-test
// style reporting.

#include <cstdio>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/kafka_options.h"
#include "cli/options.h"
#include "kafka/broker_version.h"
#include "kafka/producer.h"
#include "obs/metrics_server.h"
#include "obs/progress.h"
#include "source/file_source.h"
#include "source/generator_source.h"

namespace spate::cli {
namespace {

// A chunk whose records librdkafka reads in place until they are delivered.
struct ChunkLease final : kafka::Lease {
  explicit ChunkLease(std::unique_ptr<Chunk> c) : chunk(std::move(c)) {}
  std::unique_ptr<Chunk> chunk;
};

class ProduceCommand final : public Command {
 public:
  explicit ProduceCommand(CLI::App* parent) {
    app_ = parent->add_subcommand(
        "produce", "Generate transactions (or read them from --input) into a Kafka topic");
    AddGeneratorOptions(app_, &gen_flags_, &rule_flags_);
    AddInputOption(app_, &input_, "Generator");
    AddKafkaOptions(app_, &kafka_flags_);
    const char* p = "Producer";
    app_->add_option("-t,--topic", topic_, "Topic")->group(p)->capture_default_str();
    app_->add_option("--key", key_, "Message key: userId, merchantId, transactionId or none")
        ->group(p)
        ->capture_default_str();
    AddFormatOptions(app_, &format_, p, "the records", true);
    app_->add_option("--acks", acks_, "acks: all, 1 or 0")->group(p)->capture_default_str();
    app_->add_option("--compression", compression_, "none, gzip, snappy, lz4 or zstd")
        ->group(p)
        ->capture_default_str();
    AddReportOptions(app_, &report_, "127.0.0.1:9465", p);
  }

  int Run() override {
    GeneratorConfig gen_config;
    SourceOptions src;
    if (Status s = ToGeneratorConfig(gen_flags_, rule_flags_, &gen_config, &src); !s.ok())
      return UsageError(s.message());
    if (key_ == "userId") {
      src.key = KeyField::kUserId;
    } else if (key_ == "merchantId") {
      src.key = KeyField::kMerchantId;
    } else if (key_ == "transactionId") {
      src.key = KeyField::kTransactionId;
    } else if (key_ == "none") {
      src.key = KeyField::kNone;
    } else {
      return UsageError("--key: expected userId, merchantId, transactionId or none (got '" + key_ +
                        "')");
    }
    if (Status s = ToWireSpec(format_, &src.wire); !s.ok()) return UsageError(s.message());
    if (Status s = ToInput(input_, gen_flags_, &src); !s.ok()) return UsageError(s.message());
    // A file's records go as they are (Avro frames keep their schema ids); generated ones are
    // written under the registry's id.
    bool usage = false;
    if (Status s = input_.empty() ? RegisterWriterSchema(format_, topic_, &src.wire, &usage)
                                  : Status::Ok();
        !s.ok()) {
      return usage ? UsageError(s.message()) : RuntimeError(s.message());
    }
    src.batch_size = src.chunk_size =
        src.rate > 0 ? std::clamp<uint64_t>(static_cast<uint64_t>(src.rate / 50), 1, 8192) : 8192;

    kafka::ClientConfig conf;
    Status cs = BuildClientConfig(kafka_flags_,
                                  {{"enable.idempotence", "true"},
                                   {"acks", acks_},
                                   {"compression.type", compression_},
                                   {"partitioner", "murmur2_random"},  // Java's default
                                   // 5 ms burns 5 CPU-s a minute at 20k rec/s
                                   // (librdkafka broker threads wake per linger): 50 ms
                                   // costs 0.4, and throughput unthrottled is the same.
                                   {"linger.ms", "50"},
                                   {"batch.size", "1000000"},
                                   {"batch.num.messages", "10000"},
                                   // The queue is bounded in bytes, as Java's
                                   // buffer.memory (32 MiB): the generator waits while
                                   // it is full. With brokers slower than the
                                   // generator, 1 GiB of queue gave 494 MiB of RSS and
                                   // seconds of delivery latency.
                                   {"queue.buffering.max.messages", "1000000"},
                                   {"queue.buffering.max.kbytes", "32768"}},
                                  &conf);
    if (!cs.ok()) return cs.message() == "list" ? 0 : UsageError(cs.message());
    kafka::LimitIdempotentInFlight(&conf);
    InstallStopSignals();  // before the cluster is asked: a second signal ends any wait
    ExitWithinAfterStop(std::chrono::seconds(8), 1);
    // Refused credentials or certificates: one line and exit 1, not endless retries. Also
    // warns about Kafka 4.x with librdkafka < 2.11.1.
    if (Status s = kafka::CheckCluster(conf); !s.ok()) return RuntimeError(s.message());
    auto server = MetricsServer::Start(report_.metrics_addr);
    if (!server.ok()) return RuntimeError(server.status().message());
    AnnounceMetrics(report_.metrics_addr, *server.value());
    kafka::StatsExporter exporter(server.value()->registry(), "producer");
    auto producer = kafka::Producer::Create(conf, topic_, &exporter);
    if (!producer.ok()) return RuntimeError(producer.status().message());
    kafka::Producer& p = *producer.value();

    p.SetStop(StopRequested);
    const bool show = report_.show_progress();
    std::optional<Generator> gen;
    std::unique_ptr<ChunkSource> source;
    if (input_.empty()) {
      gen.emplace(gen_config);
      source = std::make_unique<GeneratorSource>(*gen, src);
    } else {
      auto f = FileSource::Open(src);
      if (!f.ok()) return RuntimeError(f.status().message());
      source = std::move(f).value();
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto last = t0;
    kafka::ProducerStats window_start;  // counters at the last progress line
    Status failed;
    while (!StopRequested() && failed.ok()) {
      auto c = source->Next();
      if (!c) break;
      const Chunk& chunk = *c;
      failed = p.SendAll(
          std::make_unique<ChunkLease>(std::move(c)), chunk.size(),
          [&chunk](size_t i) { return kafka::Producer::KeyValue(chunk.key(i), chunk.payload(i)); });
      p.Poll(0);
      auto now = std::chrono::steady_clock::now();
      if (show && now - last >= std::chrono::seconds(1)) {
        PrintProgress(p.stats(), window_start, std::chrono::duration<double>(now - last).count());
        window_start.sent = p.stats().sent;
        window_start.bytes = p.stats().bytes;
        p.ResetInterval();
        last = now;
      }
    }
    if (StopRequested()) {
      source->Stop();
      if (failed.message() == kafka::Producer::kStopped) failed = Status::Ok();
    }
    if (failed.ok()) failed = source->status();  // a file that could not be read to its end
    // At the end, the records still queued get as long as librdkafka gives each one
    // (message.timeout.ms, 300 s by default: an outage of the whole cluster is ridden out);
    // it fails what it cannot deliver by then. Stopped by a signal: what the brokers
    // acknowledge within 5 s is kept, the rest is reported as unacknowledged
    // (docs/produce-consume.md: exit codes).
    std::string t = conf.Get("message.timeout.ms");
    if (t.empty()) t = conf.Get("delivery.timeout.ms");
    int flush_ms = (t.empty() ? 300'000 : std::atoi(t.c_str())) + 5'000;
    int left = StopRequested() ? -1 : p.Flush(flush_ms, StopRequested);
    if (StopRequested()) left = p.Flush(flush_ms = 5'000);  // stopped before or during it
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& st = p.stats();
    std::string summary = Summary(st, secs, left);
    Log().info("{}", summary);
    for (const auto& [err, n] : st.failures) {
      Log().warn("{} record(s) failed: {}", n, kafka::ErrorText(err));
    }
    if (report_.json) fmt::print("{}\n", Json(st, secs, left));
    if (!failed.ok()) return RuntimeError(failed.message());
    if (!p.fatal_error().empty()) return RuntimeError(p.fatal_error());
    if (left > 0)
      return RuntimeError(
          fmt::format("{} record(s) still unacknowledged after {} s", left, flush_ms / 1000));
    if (st.failed > 0) return RuntimeError(fmt::format("{} record(s) failed", st.failed));
    return 0;
  }

 private:
  static void PrintProgress(const kafka::ProducerStats& now, const kafka::ProducerStats& was,
                            double secs) {
    uint64_t n = now.sent - was.sent;
    // As kafka-producer-perf-test: the latency of the deliveries reported in this interval.
    Log().info(
        "{} records sent, {:.1f} records/sec ({:.2f} MB/sec), {:.1f} ms avg latency, {:.1f} ms "
        "max latency, {} acked, {} failed",
        n, static_cast<double>(n) / secs, static_cast<double>(now.bytes - was.bytes) / secs / 1e6,
        now.interval_latency.mean_micros() / 1000.0,
        static_cast<double>(now.interval_latency.max_micros()) / 1000.0, now.acked, now.failed);
  }

  static std::string Summary(const kafka::ProducerStats& s, double secs, int left) {
    const auto& l = s.latency;
    return fmt::format(
        "{} records sent, {} acknowledged, {} failed, {} unacknowledged; {:.1f} records/sec "
        "({:.2f} MB/sec), {:.2f} ms avg latency, {:.2f} ms max latency, {:.2f} ms 50th, "
        "{:.2f} ms 95th, {:.2f} ms 99th, {:.2f} ms 99.9th",
        s.sent, s.acked, s.failed, left, static_cast<double>(s.sent) / secs,
        static_cast<double>(s.bytes) / secs / 1e6, l.mean_micros() / 1000.0,
        static_cast<double>(l.max_micros()) / 1000.0, l.Quantile(0.5) / 1000.0,
        l.Quantile(0.95) / 1000.0, l.Quantile(0.99) / 1000.0, l.Quantile(0.999) / 1000.0);
  }

  static std::string Json(const kafka::ProducerStats& s, double secs, int left) {
    const auto& l = s.latency;
    return fmt::format(
        R"({{"sent":{},"acknowledged":{},"failed":{},"unacknowledged":{},"bytes":{},)"
        R"("elapsedSeconds":{:.6f},"recordsPerSecond":{:.1f},"megabytesPerSecond":{:.3f},)"
        R"("latencyMs":{{"avg":{:.3f},"max":{:.3f},"p50":{:.3f},"p95":{:.3f},"p99":{:.3f},"p999":{:.3f}}},)"
        R"("peakRssBytes":{}}})",
        s.sent, s.acked, s.failed, left, s.bytes, secs, static_cast<double>(s.sent) / secs,
        static_cast<double>(s.bytes) / secs / 1e6, l.mean_micros() / 1000.0,
        static_cast<double>(l.max_micros()) / 1000.0, l.Quantile(0.5) / 1000.0,
        l.Quantile(0.95) / 1000.0, l.Quantile(0.99) / 1000.0, l.Quantile(0.999) / 1000.0,
        PeakRssBytes());
  }

  GenFlags gen_flags_;
  RuleFlags rule_flags_;
  KafkaFlags kafka_flags_;
  std::string topic_ = "financial_transactions";
  std::string key_ = "userId", acks_ = "all", compression_ = "lz4";
  std::string input_;
  FormatFlags format_;
  ReportFlags report_;
};

}  // namespace

std::unique_ptr<Command> NewProduceCommand(CLI::App* parent) {
  return std::make_unique<ProduceCommand>(parent);
}

}  // namespace spate::cli
