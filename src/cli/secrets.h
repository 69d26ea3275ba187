#pragma once
// Secrets on the command line without argv: each one can be given as --NAME VALUE (visible in
// /proc/<pid>/cmdline to every user of the machine), as --NAME-file FILE, or in an environment
// variable SPATE_*. Whatever the source, a secret is never echoed: errors name the option or
// the file, never the value. librdkafka's secrets go in a -F properties file.

#include <string>

#include <CLI/CLI.hpp>

#include "core/status.h"

namespace spate::cli {

// A secret's three sources, declared on app: --NAME into *value (also read from the variable
// env when the option is not given), --NAME-file into *file. Given both: a usage error.
struct SecretOption {
  std::string name;  // "--password"
  std::string env;   // "SPATE_ES_PASSWORD"
  std::string value, file;
};
void AddSecretOption(CLI::App* app, SecretOption* s, const std::string& help, const char* group);

// After parsing: the value read from the file when --NAME-file was given (one trailing newline
// dropped). A file that others can read gets a warning; one that cannot be read, an error.
Status ResolveSecret(SecretOption* s);

// Credentials sent over plain http cross the network in clear: a warning naming the option.
void WarnIfPlainHttp(const std::string& url, bool has_credentials, const std::string& what);

}  // namespace spate::cli
