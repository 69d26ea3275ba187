// `spate run`: the whole pipeline embedded in one process, no services.

#include <fstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/duration.h"
#include "obs/metrics_server.h"
#include "runner/embedded/embedded.h"
#include "sinks/file_sink.h"
#include "stream/progress.h"

namespace spate::cli {
namespace {

class RunCommand final : public Command {
 public:
  explicit RunCommand(CLI::App* parent) {
    app_ = parent->add_subcommand("run",
                                  "Run the embedded pipeline: generate (or read --input), "
                                  "decode, aggregate, detect, write");
    AddGeneratorOptions(app_, &gen_flags_, &rule_flags_);
    AddInputOption(app_, &input_, "Generator");
    AddEngineOptions(app_, &engine_flags_, true);
    app_->add_option("--idle-timeout", idle_timeout_,
                     "A partition whose newest record is this far behind the newest of all, in "
                     "event time, stops holding the watermark back until it catches up (0: never)")
        ->group("Engine")
        ->capture_default_str();
    const char* o = "Output";
    app_->add_option("--out", out_, "Directory for the *.jsonl outputs and summary.json")
        ->group(o)
        ->capture_default_str();
    app_->add_option("--gen-threads", gen_threads_, "Generator threads (default: --threads)")
        ->group(o);
    AddReportOptions(app_, &report_, "127.0.0.1:9464", o);
  }

  int Run() override {
    RunConfig c;
    if (Status s = ToGeneratorConfig(gen_flags_, rule_flags_, &c.gen, &c.source); !s.ok()) {
      return UsageError(s.message());
    }
    if (Status s = ToEngineConfig(engine_flags_, &c.engine, &c.source); !s.ok()) {
      return UsageError(s.message());
    }
    if (Status s = ToInput(input_, gen_flags_, &c.source); !s.ok()) return UsageError(s.message());
    c.engine.rules = c.gen.rules;
    c.workers = c.source.threads;
    auto idle = ParseDurationMs(idle_timeout_);
    if (!idle || *idle < 0) {
      return UsageError("--idle-timeout: expected a duration, 0 for never (got '" + idle_timeout_ +
                        "')");
    }
    c.idle_timeout_ms = *idle;
    if (gen_threads_ > 0) {
      if (gen_threads_ > 256) return UsageError("--gen-threads: must be between 1 and 256");
      c.source.threads = static_cast<uint32_t>(gen_threads_);
    }
    c.source.chunk_size = c.source.batch_size;
    if (c.source.rate > 0) {  // paced: release small chunks, the batch semantics stay the same
      c.source.chunk_size =
          std::clamp<uint64_t>(static_cast<uint64_t>(c.source.rate / 50), 1, c.source.batch_size);
    } else if (c.source.chunk_size > 8192) {
      c.source.chunk_size = 8192;  // keeps latency and memory per chunk small
    }

    auto sink = NewFileSink(out_);
    if (!sink.ok()) return RuntimeError(sink.status().message());
    auto server = MetricsServer::Start(report_.metrics_addr);
    if (!server.ok()) return RuntimeError(server.status().message());
    AnnounceMetrics(report_.metrics_addr, *server.value());
    InstallStopSignals();

    EngineHooks hooks;
    hooks.metrics = &server.value()->registry();
    hooks.stop = [] { return StopRequested(); };
    if (report_.show_progress()) {
      hooks.progress = [](const ProgressSnapshot& s) { Log().info("{}", ProgressLine(s)); };
    }
    auto result = RunEmbedded(c, *sink.value(), hooks);
    Status closed = sink.value()->Close();
    if (!result.ok()) return RuntimeError(result.status().message());
    if (!closed.ok()) return RuntimeError(closed.message());

    const RunSummary& summary = result.value();
    std::string json = SummaryJson(summary, c);
    std::ofstream f(out_ + "/summary.json", std::ios::binary | std::ios::trunc);
    f << json << "\n";
    if (!f.good()) return RuntimeError("cannot write " + out_ + "/summary.json");
    if (report_.json) fmt::print("{}\n", json);
    Log().info("{}", SummaryLine(summary.stats, summary.elapsed_seconds));
    if (StopRequested()) Log().info("interrupted; outputs are complete up to there");
    return 0;
  }

 private:
  GenFlags gen_flags_;
  RuleFlags rule_flags_;
  EngineFlags engine_flags_;
  std::string out_ = "out";
  std::string idle_timeout_ = "60s";
  std::string input_;
  int64_t gen_threads_ = 0;
  ReportFlags report_;
};

}  // namespace

std::unique_ptr<Command> NewRunCommand(CLI::App* parent) {
  return std::make_unique<RunCommand>(parent);
}

}  // namespace spate::cli
