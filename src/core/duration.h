#pragma once
// Human durations on the command line: "500ms", "5s", "2m", "1h", "1d".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spate {

// Returns milliseconds, or nullopt if s is not <non-negative integer><unit>.
std::optional<int64_t> ParseDurationMs(std::string_view s);
std::string FormatDurationMs(int64_t ms);

}  // namespace spate
