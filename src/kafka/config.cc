#include "kafka/config.h"

#include <cstdio>
#include <fstream>

namespace spate::kafka {

void ClientConfig::Set(std::string key, std::string value) {
  entries_.emplace_back(std::move(key), std::move(value));
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

void PrintProperties() { rd_kafka_conf_properties_show(stdout); }

std::string LibraryVersion() { return rd_kafka_version_str(); }

}  // namespace spate::kafka
