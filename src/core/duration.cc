#include "core/duration.h"

#include <charconv>

namespace spate {

std::optional<int64_t> ParseDurationMs(std::string_view s) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || ptr == s.data() || n < 0) return std::nullopt;
  std::string_view unit(ptr, static_cast<size_t>(s.data() + s.size() - ptr));
  int64_t mult;
  if (unit == "ms") {
    mult = 1;
  } else if (unit == "s") {
    mult = 1000;
  } else if (unit == "m") {
    mult = 60'000;
  } else if (unit == "h") {
    mult = 3'600'000;
  } else if (unit == "d") {
    mult = 86'400'000;
  } else {
    return std::nullopt;
  }
  if (n > INT64_MAX / mult) return std::nullopt;
  return n * mult;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace spate
