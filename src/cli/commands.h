#pragma once
// One class per subcommand: the constructor declares its options on the parent app, Run()
// executes it after parsing and returns the process exit code.

#include <chrono>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "obs/log.h"

namespace spate {
class MetricsServer;
}

namespace spate::cli {

class Command {
 public:
  virtual ~Command() = default;
  virtual int Run() = 0;
  CLI::App* app() const { return app_; }

 protected:
  CLI::App* app_ = nullptr;
};

// The command line's logger: what a command says on stderr besides its data. Lines read
// "spate <command>: ..." (obs/log.h).
inline spdlog::logger& Log() { return Logger("cli"); }

std::unique_ptr<Command> NewGenCommand(CLI::App* parent);
std::unique_ptr<Command> NewRunCommand(CLI::App* parent);
std::unique_ptr<Command> NewProduceCommand(CLI::App* parent);
std::unique_ptr<Command> NewConsumeCommand(CLI::App* parent);
std::unique_ptr<Command> NewAggregateCommand(CLI::App* parent);
std::unique_ptr<Command> NewRegistryCommand(CLI::App* parent);
std::unique_ptr<Command> NewIndexCommand(CLI::App* parent);

// "spate <cmd>: metrics on http://127.0.0.1:9464/metrics" on stderr when metrics are served.
void AnnounceMetrics(const std::string& addr, const MetricsServer& server);

// SIGINT and SIGTERM end the input gracefully: commands poll StopRequested() between chunks.
void InstallStopSignals();
bool StopRequested();
// For the commands that talk to Kafka: once a stop is requested, the process ends within
// `grace` even if a call into librdkafka still waits on brokers that do not answer (some, like
// send_offsets_to_transaction, wait out a request timeout of 30 s whatever they are given). A
// warning says so; the exit code is `code`: 0 where what is not committed is safely redone
// (aggregate: transactions; index: offsets committed after the documents), 1 where records
// may be left unacknowledged (produce).
void ExitWithinAfterStop(std::chrono::seconds grace, int code);

// Logs "spate <cmd>: error: <message>"; returns the exit code for usage errors (2).
int UsageError(const std::string& message);
// Logs "spate <cmd>: error: <message>"; returns the exit code for runtime failures (1).
int RuntimeError(const std::string& message);

}  // namespace spate::cli
