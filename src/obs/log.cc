#include "obs/log.h"

#include <memory>
#include <mutex>
#include <string>

#include <spdlog/cfg/env.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace spate {
namespace {

// %* in the pattern: "warning: " / "error: " / "debug: " before a message of that level, and
// nothing before an informational one (spdlog's %l would print "info" on every line).
class LevelPrefix final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view p;
    switch (msg.level) {
      case spdlog::level::trace: p = "trace: "; break;
      case spdlog::level::debug: p = "debug: "; break;
      case spdlog::level::warn: p = "warning: "; break;
      case spdlog::level::err: p = "error: "; break;
      case spdlog::level::critical: p = "critical: "; break;
      case spdlog::level::info:
      case spdlog::level::off:
      case spdlog::level::n_levels: break;
    }
    dest.append(p.data(), p.data() + p.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelPrefix>();
  }
};

std::mutex g_mu;
std::string g_pattern = "spate: %*%v";
bool g_env_read = false;

std::unique_ptr<spdlog::formatter> NewFormatter() {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<LevelPrefix>('*').set_pattern(g_pattern);
  return f;
}

// Once, under g_mu: the levels set in SPDLOG_LEVEL (spdlog keeps them for loggers made later).
void ReadLevels() {
  if (g_env_read) return;
  g_env_read = true;
  spdlog::cfg::load_env_levels();
}

}  // namespace

void SetLogCommand(std::string_view command) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_pattern =
      command.empty() ? std::string("spate: %*%v") : "spate " + std::string(command) + ": %*%v";
  spdlog::set_formatter(NewFormatter());
  ReadLevels();
}

spdlog::logger& Logger(std::string_view component) {
  std::lock_guard<std::mutex> lock(g_mu);
  const std::string name(component);
  std::shared_ptr<spdlog::logger> log = spdlog::get(name);
  if (!log) {
    ReadLevels();  // before: spdlog gives a new logger the level that SPDLOG_LEVEL names
    log = spdlog::stderr_logger_mt(name);
    log->set_formatter(NewFormatter());
  }
  return *log;
}

}  // namespace spate
