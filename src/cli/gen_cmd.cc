// `spate gen`: the deterministic workload as JSON lines on stdout or in a file.

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/transaction.h"
#include "gen/source.h"
#include "obs/progress.h"

namespace spate::cli {
namespace {

class GenCommand final : public Command {
 public:
  explicit GenCommand(CLI::App* parent) {
    app_ = parent->add_subcommand("gen", "Generate transactions as JSON lines");
    AddGeneratorOptions(app_, &flags_, &rule_flags_);
    app_->add_option("--out", out_, "Write to this file instead of stdout");
    app_->add_option("--injected", injected_,
                     "Also write the injected anomalies (sequence, transactionId, rule) here");
  }

  int Run() override {
    GeneratorConfig config;
    SourceOptions src;
    if (Status s = ToGeneratorConfig(flags_, rule_flags_, &config, &src); !s.ok()) return UsageError(s.message());
    // Smaller chunks when paced, so the output flows smoothly at low rates.
    src.batch_size = src.chunk_size =
        src.rate > 0 ? std::clamp<uint64_t>(static_cast<uint64_t>(src.rate / 50), 1, 8192) : 8192;
    std::FILE* out = stdout;
    if (!out_.empty() && !(out = std::fopen(out_.c_str(), "wb"))) {
      return RuntimeError("cannot open " + out_ + ": " + std::strerror(errno));
    }
    std::FILE* inj = nullptr;
    if (!injected_.empty() && !(inj = std::fopen(injected_.c_str(), "wb"))) {
      return RuntimeError("cannot open " + injected_ + ": " + std::strerror(errno));
    }
    Generator gen(config);
    GeneratorSource source(gen, src);
    uint64_t records = 0, bytes = 0;
    auto t0 = std::chrono::steady_clock::now();
    std::string line;
    while (auto c = source.Next()) {
      size_t n = c->offsets.back() - c->offsets.front();
      if (std::fwrite(c->bytes.data(), 1, n, out) != n) {
        return RuntimeError("write failed: " + std::string(std::strerror(errno)));
      }
      for (const auto& [i, rule] : inj ? c->injected : decltype(c->injected){}) {
        GeneratedRecord r;
        gen.Make(c->first_seq + i, &r);
        line = fmt::format(R"({{"sequence":{},"transactionId":"{}","rule":"{}"}})" "\n",
                           c->first_seq + i, UuidString(r.tx.transaction_id), InjectedRuleName(rule));
        std::fwrite(line.data(), 1, line.size(), inj);
      }
      records += c->size();
      bytes += n;
    }
    if (std::fflush(out) != 0 || (out != stdout && std::fclose(out) != 0)) {
      return RuntimeError("write failed: " + std::string(std::strerror(errno)));
    }
    if (inj && std::fclose(inj) != 0) return RuntimeError("cannot write " + injected_);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (StderrIsTerminal() || out != stdout) {
      std::fprintf(stderr, "spate gen: %llu records, %.1f MB in %.2f s (%.0f rec/s)\n",
                   static_cast<unsigned long long>(records), static_cast<double>(bytes) / 1e6, secs,
                   static_cast<double>(records) / (secs > 0 ? secs : 1e-9));
    }
    return 0;
  }

 private:
  GenFlags flags_;
  RuleFlags rule_flags_;
  std::string out_, injected_;
};

}  // namespace

std::unique_ptr<Command> NewGenCommand(CLI::App* parent) {
  return std::make_unique<GenCommand>(parent);
}

}  // namespace spate::cli
