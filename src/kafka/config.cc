#include "kafka/config.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>

namespace spate::kafka {
namespace {

// True when librdkafka knows a property by this name (a probe conf: error paths only).
bool IsProperty(const std::string& name) {
  ConfPtr probe(rd_kafka_conf_new());
  size_t size = 0;
  return rd_kafka_conf_get(probe.get(), name.c_str(), nullptr, &size) != RD_KAFKA_CONF_UNKNOWN;
}

// librdkafka's complaint about a property with its value kept out, since a value may be a
// secret (sasl.password, ssl.key.pem, ...). librdkafka quotes the value ('Invalid value
// "x" for configuration property "security.protocol"'), or an item of it (a list), or names
// it unquoted ("dlopen() failed: x.so"). So every quoted text that is not a property name is
// hidden, and outside quotes every occurrence of the value or of an item of it (items of
// fewer than 4 characters stay: hiding those would garble the message's own words).
std::string WithoutValue(const std::string& err, const std::string& value) {
  std::vector<std::string> hide;
  size_t b = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || std::string_view(",; \t").find(value[i]) != std::string_view::npos) {
      if (i - b >= 4) hide.push_back(value.substr(b, i - b));
      b = i + 1;
    }
  }
  if (value.size() >= 4) hide.push_back(value);
  auto outside = [&](std::string text) {
    for (const std::string& h : hide) {
      for (size_t at = text.find(h); at != std::string::npos; at = text.find(h, at + 3)) {
        text.replace(at, h.size(), "***");
      }
    }
    return text;
  };
  std::string out;
  size_t pos = 0;
  for (size_t open = err.find('"'); open != std::string::npos; open = err.find('"', pos)) {
    const size_t close = err.find('"', open + 1);
    if (close == std::string::npos) break;
    const std::string quoted = err.substr(open + 1, close - open - 1);
    out += outside(err.substr(pos, open - pos));
    out += '"' + (IsProperty(quoted) ? quoted : "***") + '"';
    pos = close + 1;
  }
  out += outside(err.substr(pos));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

void ClientConfig::Set(std::string key, std::string value) {
  entries_.emplace_back(std::move(key), std::move(value));
}

void ClientConfig::SetAll(const Settings& settings) {
  for (const auto& [k, v] : settings) Set(k, v);
}

void ClientConfig::SetDefaults(const Settings& settings) {
  for (const auto& [k, v] : settings) {
    if (Get(k).empty()) Set(k, v);
  }
}

Status ClientConfig::SetFromArg(const std::string& kv) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) {
    // Echoed only when it is a property's name: otherwise it may be a value gone astray.
    return Status::Error(
        "-X: expected key=value (got " +
        (IsProperty(kv) ? "'" + kv + "'" : std::string("an argument without '=', not shown")) +
        "); -X list shows the properties");
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
      return Status::Error("kafka property " + k + ": " + WithoutValue(err, v) +
                           " (the value is not shown)");
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

Settings PrefetchSettings() {
  // Both bounds count every assigned partition's messages together: with a consumer group, or
  // a queue shared by partitions, each partition's queue forwards to one. The second-long
  // stop is fetch.queue.backoff.ms of librdkafka 2.1 and later (librdkafka issue 2879),
  // hard-coded in 2.0.2.
  return {{"queued.min.messages", "1000000"}, {"queued.max.messages.kbytes", "98304"}};
}

void LimitIdempotentInFlight(ClientConfig* conf) {
  if (!conf->Get("max.in.flight.requests.per.connection").empty()) return;
  if (!conf->Get("max.in.flight").empty()) return;  // librdkafka's alias
  auto built = conf->Build();
  if (!built.ok()) return;  // the caller's Build() reports it
  char value[16];
  size_t size = sizeof(value);
  // librdkafka's reading of the value (true, 1, ...), written back as "true" or "false".
  if (rd_kafka_conf_get(built.value().get(), "enable.idempotence", value, &size) !=
          RD_KAFKA_CONF_OK ||
      std::string_view(value) != "true") {
    return;
  }
  conf->Set("max.in.flight.requests.per.connection", "1");
}

void PrintProperties() { rd_kafka_conf_properties_show(stdout); }

std::string LibraryVersion() { return rd_kafka_version_str(); }

}  // namespace spate::kafka
