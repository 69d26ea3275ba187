// The in-process logs: memory and a JSON-lines file. The Kafka log is in kafka_log.cc.

#include "registry/server/store.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

#include <nlohmann/json.hpp>

namespace spate::registry {
namespace {

class MemoryLog : public SchemaLog {
 public:
  Status Open(Apply apply) override {
    apply_ = std::move(apply);
    return Status::Ok();
  }
  Status Append(const std::string& key, const std::string& value) override {
    std::lock_guard<std::mutex> lock(mu_);
    apply_(key, value);
    return Status::Ok();
  }
  std::string Describe() const override { return "memory (nothing is kept after exit)"; }

 private:
  std::mutex mu_;
  Apply apply_;
};

class FileLog : public SchemaLog {
 public:
  explicit FileLog(std::string path) : path_(std::move(path)) {}
  ~FileLog() override {
    if (out_ != nullptr) std::fclose(out_);
  }

  Status Open(Apply apply) override {
    apply_ = std::move(apply);
    std::string data;
    if (std::ifstream in(path_, std::ios::binary); in) {
      data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    size_t pos = 0;
    for (int n = 1; pos < data.size(); ++n) {
      const size_t end = data.find('\n', pos);
      if (end == std::string::npos) {
        // A torn last line: the write that never returned. Cut it off, so that the next
        // record starts on a line of its own.
        std::error_code ec;
        std::filesystem::resize_file(path_, pos, ec);
        if (ec) return Status::Error("--store " + path_ + ": cannot truncate: " + ec.message());
        break;
      }
      const std::string_view line(data.data() + pos, end - pos);
      pos = end + 1;
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object() || !j.contains("key") || !j["key"].is_string()) {
        return Status::Error("--store " + path_ + ":" + std::to_string(n) + ": not a record");
      }
      apply_(j["key"].get<std::string>(),
             j.contains("value") && j["value"].is_string() ? j["value"].get<std::string>() : "");
    }
    out_ = std::fopen(path_.c_str(), "a");
    if (out_ == nullptr) return Status::Error("--store: cannot open " + path_ + " for writing");
    return Status::Ok();
  }

  Status Append(const std::string& key, const std::string& value) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string line = nlohmann::json{{"key", key}, {"value", value}}.dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
      return Status::Error("--store: cannot write " + path_);
    }
    apply_(key, value);
    return Status::Ok();
  }

  std::string Describe() const override { return "file " + path_; }

 private:
  std::string path_;
  std::mutex mu_;
  std::FILE* out_ = nullptr;
  Apply apply_;
};

}  // namespace

std::unique_ptr<SchemaLog> NewMemoryLog() { return std::make_unique<MemoryLog>(); }
std::unique_ptr<SchemaLog> NewFileLog(std::string path) {
  return std::make_unique<FileLog>(std::move(path));
}

}  // namespace spate::registry
