#pragma once
// Logging: one spdlog logger per module, named after its folder of src/ ("kafka",
// "runner/kafka", "sinks/elasticsearch", "cli"), all writing to stderr; stdout is left to the
// commands' data and --json. A line reads like the rest of spate's stderr: "spate <command>:
// <message>", with "warning: " or "error: " before the message at those levels. Levels can be set
// per component with spdlog's own variable, e.g. SPDLOG_LEVEL=warn,runner/kafka=debug.

#include <string_view>

#include <spdlog/spdlog.h>

namespace spate {

// Sets the command every line names ("spate aggregate: ..."); empty: "spate: ...". Called by
// main() once the command line is parsed. Reads SPDLOG_LEVEL the first time.
void SetLogCommand(std::string_view command);

// The component's logger, created on first use. Thread-safe.
spdlog::logger& Logger(std::string_view component);

}  // namespace spate
