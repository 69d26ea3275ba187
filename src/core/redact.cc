#include "core/redact.h"

namespace spate {

std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  // The last '@': a password may hold '@', '/', '?' or '#' that its writer did not escape.
  const size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const size_t colon = url.find(':', start);
  const size_t hidden = colon < at ? colon + 1 : start;  // user:*** or ***
  return std::string(url.substr(0, hidden)) + "***" + std::string(url.substr(at));
}

}  // namespace spate
