#pragma once
// The event time of a record in the forms streams use (--time-format): epoch milliseconds
// (spate's own), epoch seconds (the reference producer's; a fraction is allowed), epoch
// microseconds, or an RFC 3339 string ("2026-01-01T12:00:00.250Z", any offset). Inside spate
// it is always epoch milliseconds; digits finer than a millisecond are dropped.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace spate {

enum class TimeFormat : uint8_t { kEpochMs, kEpochS, kEpochUs, kRfc3339 };
std::optional<TimeFormat> ParseTimeFormat(std::string_view s);  // "epoch-ms", ...
std::string_view TimeFormatName(TimeFormat f);
// rfc3339 is a JSON string; the epoch forms are JSON numbers.
inline bool IsStringTime(TimeFormat f) { return f == TimeFormat::kRfc3339; }

enum class TimeError : uint8_t { kNone, kSyntax, kOutOfRange };

// A JSON number's text in an epoch form, as epoch milliseconds: an integer, except epoch-s,
// which may have a fraction. kOutOfRange for a number too large for the form.
TimeError ParseEpoch(std::string_view number, TimeFormat f, int64_t* ms);
// An RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" ('t', 'z' and a space
// for 'T' accepted, as RFC 3339 allows; second 60 is a leap second, read as the next second).
TimeError ParseRfc3339(std::string_view s, int64_t* ms);

// Writes ms in the form f: digits for the epoch forms (epoch-s with three decimals), RFC 3339 in
// UTC with milliseconds ("2026-01-01T00:00:00.000Z"). Returns the bytes written; out must have
// kMaxTimeText bytes. The caller quotes the RFC 3339 form.
inline constexpr size_t kMaxTimeText = 32;
size_t FormatTime(char* out, int64_t ms, TimeFormat f);

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace spate
