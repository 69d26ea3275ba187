// `spate gen`: the deterministic workload on stdout or in a file: JSON lines, or with --format
// binary|avro length-prefixed records (binary payloads may contain any byte, '\n' included):
// each record is its length as 4 bytes big-endian followed by the payload, exactly what
// `spate produce` sends as the message value.

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/transaction.h"
#include "obs/progress.h"
#include "source/generator_source.h"

namespace spate::cli {
namespace {

class GenCommand final : public Command {
 public:
  explicit GenCommand(CLI::App* parent) {
    app_ = parent->add_subcommand(
        "gen", "Generate transactions as JSON lines (or length-prefixed binary / Avro records)");
    AddGeneratorOptions(app_, &flags_, &rule_flags_);
    AddFormatOptions(app_, &format_, "Output",
                     "the records (binary and avro: each one preceded by its length, 4 bytes "
                     "big-endian)",
                     true);
    app_->add_option("--out", out_, "Write to this file instead of stdout");
    app_->add_option("--injected", injected_,
                     "Also write the injected anomalies (sequence, transactionId, rule) here");
  }

  int Run() override {
    GeneratorConfig config;
    SourceOptions src;
    if (Status s = ToGeneratorConfig(flags_, rule_flags_, &config, &src); !s.ok())
      return UsageError(s.message());
    if (Status s = ToWireSpec(format_, &src.wire); !s.ok()) return UsageError(s.message());
    // No topic here: the subject is --subject, or that of spate produce's default topic.
    bool usage = false;
    if (Status s = RegisterWriterSchema(format_, "financial_transactions", &src.wire, &usage);
        !s.ok()) {
      return usage ? UsageError(s.message()) : RuntimeError(s.message());
    }
    const bool framed = src.wire.format != WireFormat::kJson;
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
    std::string line, framed_bytes;
    while (auto c = source.Next()) {
      size_t n = c->offsets.back() - c->offsets.front();
      const char* data = c->bytes.data();
      if (framed) {  // the '\n' separators replaced by length prefixes
        framed_bytes.clear();
        for (size_t i = 0; i < c->size(); ++i) {
          std::string_view p = c->payload(i);
          const auto len = static_cast<uint32_t>(p.size());
          for (int shift = 24; shift >= 0; shift -= 8)
            framed_bytes.push_back(static_cast<char>(len >> shift));
          framed_bytes.append(p);
        }
        data = framed_bytes.data();
        n = framed_bytes.size();
      }
      if (std::fwrite(data, 1, n, out) != n) {
        return RuntimeError("write failed: " + std::string(std::strerror(errno)));
      }
      for (const auto& [i, rule] : inj ? c->injected : decltype(c->injected){}) {
        GeneratedRecord r;
        gen.Make(c->first_seq + i, &r);
        line = fmt::format(R"({{"sequence":{},"transactionId":"{}","rule":"{}"}})"
                           "\n",
                           c->first_seq + i, r.tx.transaction_id, InjectedRuleName(rule));
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
      Log().info("{} records, {:.1f} MB in {:.2f} s ({:.0f} rec/s)", records,
                 static_cast<double>(bytes) / 1e6, secs,
                 static_cast<double>(records) / (secs > 0 ? secs : 1e-9));
    }
    return 0;
  }

 private:
  GenFlags flags_;
  RuleFlags rule_flags_;
  FormatFlags format_;
  std::string out_, injected_;
};

}  // namespace

std::unique_ptr<Command> NewGenCommand(CLI::App* parent) {
  return std::make_unique<GenCommand>(parent);
}

}  // namespace spate::cli
