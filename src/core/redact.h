#pragma once
// Secrets kept out of what spate prints: every message, log line or summary that shows a URL
// the user gave (--schema-registry, --es, ...) shows it through RedactUrl, since such URLs may
// carry credentials (http://user:password@host).

#include <string>
#include <string_view>

namespace spate {

// `url` with the password of its userinfo replaced by "***" ("http://alice:***@host:8081"),
// or the whole userinfo when it has no password (it may be a token: "https://***@host").
// Made for text that failed to parse as well: without "://" the userinfo is whatever comes
// before the last '@'; an '@' further on (in a path or a query) hides more than needed, never
// less. Text without '@' is returned as it is.
std::string RedactUrl(std::string_view url);

}  // namespace spate
