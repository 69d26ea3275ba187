#include "cli/secrets.h"

#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include "cli/commands.h"

namespace spate::cli {

void AddSecretOption(CLI::App* app, SecretOption* s, const std::string& help, const char* group) {
  CLI::Option* direct =
      app->add_option(s->name, s->value, help + " (or " + s->name + "-file, or $" + s->env + ")")
          ->envname(s->env)
          ->group(group);
  CLI::Option* file =
      app->add_option(s->name + "-file", s->file,
                      "A file holding " + s->name + "'s value (kept off the command line)")
          ->group(group);
  direct->excludes(file);
}

Status ResolveSecret(SecretOption* s) {
  if (s->file.empty()) return Status::Ok();
  std::ifstream in(s->file, std::ios::binary);
  if (!in) return Status::Error(s->name + "-file: cannot read " + s->file);
  std::ostringstream text;
  text << in.rdbuf();
  s->value = text.str();
  if (!s->value.empty() && s->value.back() == '\n') s->value.pop_back();
  if (!s->value.empty() && s->value.back() == '\r') s->value.pop_back();
  if (s->value.empty()) return Status::Error(s->name + "-file: " + s->file + " is empty");
  struct stat st {};
  if (stat(s->file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    Log().warn("{}-file: {} can be read by other users than its owner (chmod 600 it)", s->name,
               s->file);
  }
  return Status::Ok();
}

void WarnIfPlainHttp(const std::string& url, bool has_credentials, const std::string& what) {
  if (!has_credentials || url.rfind("http://", 0) != 0) return;
  Log().warn("{}: credentials over plain http cross the network in clear; use https://", what);
}

}  // namespace spate::cli
