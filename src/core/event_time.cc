#include "core/event_time.h"

#include <charconv>
#include <cstdio>

namespace spate {
namespace {

bool IsDigit(char c) { return static_cast<unsigned>(c - '0') < 10; }

// n digits at s[at..], as a number; false if any is not a digit.
bool Digits(std::string_view s, size_t at, size_t n, unsigned* v) {
  if (at + n > s.size()) return false;
  unsigned x = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!IsDigit(s[at + i])) return false;
    x = x * 10 + static_cast<unsigned>(s[at + i] - '0');
  }
  *v = x;
  return true;
}

bool Leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && Leap(y) ? 29 : kDays[m - 1];
}

// civil_from_days, the inverse of DaysFromCivil.
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2 ? 1 : 0);
}

}  // namespace

std::optional<TimeFormat> ParseTimeFormat(std::string_view s) {
  if (s == "epoch-ms") return TimeFormat::kEpochMs;
  if (s == "epoch-s") return TimeFormat::kEpochS;
  if (s == "epoch-us") return TimeFormat::kEpochUs;
  if (s == "rfc3339") return TimeFormat::kRfc3339;
  return std::nullopt;
}

std::string_view TimeFormatName(TimeFormat f) {
  switch (f) {
    case TimeFormat::kEpochMs: return "epoch-ms";
    case TimeFormat::kEpochS: return "epoch-s";
    case TimeFormat::kEpochUs: return "epoch-us";
    case TimeFormat::kRfc3339: return "rfc3339";
  }
  return "?";
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

TimeError ParseEpoch(std::string_view s, TimeFormat f, int64_t* ms) {
  size_t i = 0;
  const bool negative = i < s.size() && s[i] == '-';
  if (negative) ++i;
  const size_t start = i;
  uint64_t whole = 0;
  bool big = false;
  while (i < s.size() && IsDigit(s[i])) {
    if (whole > 1'000'000'000'000'000'000ull) big = true;
    whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  if (i == start || (i - start > 1 && s[start] == '0')) return TimeError::kSyntax;
  uint64_t frac_ms = 0;
  if (i < s.size() && s[i] == '.') {
    if (f != TimeFormat::kEpochS) return TimeError::kSyntax;  // ms and us are integers
    ++i;
    const size_t fs = i;
    while (i < s.size() && IsDigit(s[i])) {
      if (i - fs < 3) frac_ms = frac_ms * 10 + static_cast<uint64_t>(s[i] - '0');
      ++i;
    }
    if (i == fs) return TimeError::kSyntax;
    for (size_t k = i - fs; k < 3; ++k) frac_ms *= 10;
  }
  if (i != s.size()) return TimeError::kSyntax;  // exponents are not epoch times
  if (big || negative) return TimeError::kOutOfRange;
  uint64_t v = 0;
  switch (f) {
    case TimeFormat::kEpochMs: v = whole; break;
    case TimeFormat::kEpochS:
      if (whole > 10'000'000'000'000ull) return TimeError::kOutOfRange;
      v = whole * 1000 + frac_ms;
      break;
    case TimeFormat::kEpochUs: v = whole / 1000; break;
    case TimeFormat::kRfc3339: return TimeError::kSyntax;
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return TimeError::kOutOfRange;
  *ms = static_cast<int64_t>(v);
  return TimeError::kNone;
}

TimeError ParseRfc3339(std::string_view s, int64_t* ms) {
  unsigned y, mo, d, h, mi, sec;
  if (!Digits(s, 0, 4, &y) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &sec)) {
    return TimeError::kSyntax;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || sec > 60) {
    return TimeError::kSyntax;
  }
  size_t i = 19;
  int64_t frac_ms = 0;
  if (s[i] == '.') {
    const size_t fs = ++i;
    while (i < s.size() && IsDigit(s[i])) {
      if (i - fs < 3) frac_ms = frac_ms * 10 + (s[i] - '0');
      ++i;
    }
    if (i == fs) return TimeError::kSyntax;
    for (size_t k = i - fs; k < 3; ++k) frac_ms *= 10;
  }
  int64_t offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i] == '-' ? -1 : 1;
    unsigned oh, om;
    if (!Digits(s, i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !Digits(s, i + 4, 2, &om) || oh > 23 || om > 59) {
      return TimeError::kSyntax;
    }
    offset_min = sign * static_cast<int64_t>(oh * 60 + om);
    i += 6;
  } else {
    return TimeError::kSyntax;  // RFC 3339 requires an offset
  }
  if (i != s.size()) return TimeError::kSyntax;
  const int64_t days = DaysFromCivil(y, mo, d);
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  *ms = secs * 1000 + frac_ms;
  return TimeError::kNone;
}

size_t FormatTime(char* out, int64_t ms, TimeFormat f) {
  switch (f) {
    case TimeFormat::kEpochMs:
      return static_cast<size_t>(std::to_chars(out, out + 24, ms).ptr - out);
    case TimeFormat::kEpochUs:
      return static_cast<size_t>(std::to_chars(out, out + 24, ms * 1000).ptr - out);
    case TimeFormat::kEpochS: {
      char* p = std::to_chars(out, out + 24, ms / 1000).ptr;
      const int64_t r = ms % 1000;
      *p++ = '.';
      *p++ = static_cast<char>('0' + r / 100);
      *p++ = static_cast<char>('0' + r / 10 % 10);
      *p++ = static_cast<char>('0' + r % 10);
      return static_cast<size_t>(p - out);
    }
    case TimeFormat::kRfc3339: {
      int64_t days = ms / 86'400'000, rem = ms % 86'400'000;
      if (rem < 0) {
        rem += 86'400'000;
        --days;
      }
      int64_t y;
      unsigned m, d;
      CivilFromDays(days, &y, &m, &d);
      const int64_t h = rem / 3'600'000, mi = rem / 60'000 % 60, sec = rem / 1000 % 60,
                    milli = rem % 1000;
      return static_cast<size_t>(std::snprintf(
          out, kMaxTimeText, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
          static_cast<long long>(y), m, d, static_cast<long long>(h), static_cast<long long>(mi),
          static_cast<long long>(sec), static_cast<long long>(milli)));
    }
  }
  return 0;
}

}  // namespace spate
