#include "kafka/config.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace spate::kafka {

void ClientConfig::Set(std::string key, std::string value) {
  entries_.emplace_back(std::move(key), std::move(value));
}

void ClientConfig::SetAll(const Settings& settings) {
  for (const auto& [k, v] : settings) Set(k, v);
}

Status ClientConfig::SetFromArg(const std::string& kv) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::Error("-X: expected key=value (got '" + kv + "'); -X list shows the properties");
  }
  Set(kv.substr(0, eq), kv.substr(eq + 1));
  return Status::Ok();
}

Status ClientConfig::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Error("-F: cannot read " + path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r");
    std::string kv = line.substr(b, e - b + 1);
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::Error("-F " + path + ":" + std::to_string(n) + ": expected key=value");
    }
    Set(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return Status::Ok();
}

Result<ConfPtr> ClientConfig::Build() const {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [k, v] : entries_) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      return Status::Error("kafka property " + k + "=" + v + ": " + err);
    }
  }
  return conf;
}

std::string ClientConfig::Get(const std::string& key) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return "";
}

namespace {

// Property name -> 'C' or 'P' for role-specific properties, from the table librdkafka prints
// (rd_kafka_conf_properties_show): it has no API that returns a property's scope.
const std::map<std::string, char>& PropertyScopes() {
  static const std::map<std::string, char> scopes = [] {
    std::map<std::string, char> m;
    char* buf = nullptr;
    size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    if (!f) return m;
    rd_kafka_conf_properties_show(f);
    std::fclose(f);
    std::istringstream in(std::string(buf, len));
    std::free(buf);
    std::string line;
    while (std::getline(in, line)) {
      size_t bar = line.find('|');
      if (bar == std::string::npos || bar == 0) continue;
      size_t end = line.find_last_not_of(' ', bar - 1);
      size_t col = line.find_first_not_of(' ', bar + 1);
      if (end == std::string::npos || col == std::string::npos) continue;
      const char scope = line[col];
      if (scope == 'C' || scope == 'P') m[line.substr(0, end + 1)] = scope;
    }
    return m;
  }();
  return scopes;
}

}  // namespace

ClientConfig ClientConfig::For(Role role) const {
  const char other = role == Role::kProducer ? 'C' : 'P';
  const auto& scopes = PropertyScopes();
  ClientConfig out;
  for (const auto& [k, v] : entries_) {
    auto it = scopes.find(k);
    if (it == scopes.end() || it->second != other) out.Set(k, v);
  }
  return out;
}

Settings ReaderSettings(bool auto_commit, bool partition_eof) {
  return {{"isolation.level", "read_committed"},
          {"enable.partition.eof", partition_eof ? "true" : "false"},
          {"enable.auto.commit", auto_commit ? "true" : "false"},
          {"auto.offset.reset", "earliest"}};
}

Settings GroupSettings(const std::string& group) {
  return {{"group.id", group}, {"partition.assignment.strategy", "cooperative-sticky"}};
}

void PrintProperties() { rd_kafka_conf_properties_show(stdout); }

std::string LibraryVersion() { return rd_kafka_version_str(); }

}  // namespace spate::kafka
