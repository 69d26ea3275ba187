// spate: a streaming data pipeline. main() parses the command line and runs one subcommand.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "cli/commands.h"
#include "obs/log.h"
#include "obs/metrics_server.h"

namespace spate::cli {
namespace {
volatile std::sig_atomic_t g_stop = 0;
// The first SIGINT or SIGTERM asks for a graceful stop; a second one exits at once, with the
// shell's code for death by that signal (128 + its number).
extern "C" void OnStopSignal(int sig) {
  if (g_stop != 0) _exit(128 + sig);
  g_stop = 1;
}
}  // namespace

void InstallStopSignals() {
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
}

bool StopRequested() { return g_stop != 0; }

void ExitWithinAfterStop(std::chrono::seconds grace, int code) {
  std::thread([grace, code] {
    while (!StopRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::this_thread::sleep_for(grace);
    Log().warn(
        "still stopping after {} s: a call waits on brokers that do not answer; exiting now "
        "(what was committed is kept, what was not is left to the brokers to abort)",
        grace.count());
    std::fflush(nullptr);
    _exit(code);
  }).detach();
}

int UsageError(const std::string& message) {
  Log().error("{}", message);
  return 2;
}

void AnnounceMetrics(const std::string& addr, const MetricsServer& server) {
  if (addr.empty()) return;
  Log().info("metrics on http://{}:{}/metrics", addr.substr(0, addr.rfind(':')), server.port());
}

int RuntimeError(const std::string& message) {
  Log().error("{}", message);
  return 1;
}

}  // namespace spate::cli

int main(int argc, char** argv) {
  CLI::App app{
      "spate: a streaming data pipeline for financial transactions.\n"
      "Deterministic workload generator, event-time windowed aggregation, anomaly rules,\n"
      "dead letters and Prometheus metrics. See README.md and docs/semantics.md."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "spate 0.1.0");
  std::vector<std::unique_ptr<spate::cli::Command>> commands;
  commands.push_back(spate::cli::NewGenCommand(&app));
  commands.push_back(spate::cli::NewRunCommand(&app));
  commands.push_back(spate::cli::NewProduceCommand(&app));
  commands.push_back(spate::cli::NewConsumeCommand(&app));
  commands.push_back(spate::cli::NewAggregateCommand(&app));
  commands.push_back(spate::cli::NewRegistryCommand(&app));
  commands.push_back(spate::cli::NewIndexCommand(&app));
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (auto& c : commands) known = known || c->app()->get_name() == argv[1];
    if (!known) {
      return spate::cli::UsageError(std::string("unknown subcommand '") + argv[1] +
                                    "' (expected gen, run, produce, consume, aggregate, registry "
                                    "or index; see spate --help)");
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return spate::cli::UsageError(std::string(e.what()) + " (see spate --help)");
  }
  try {
    for (auto& c : commands) {
      if (!c->app()->parsed()) continue;
      spate::SetLogCommand(c->app()->get_name());
      return c->Run();
    }
  } catch (const std::exception& e) {
    return spate::cli::RuntimeError(e.what());
  }
  return spate::cli::UsageError("no subcommand given (see spate --help)");
}
