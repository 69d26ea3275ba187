#include "sinks/file_sink.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace spate {
namespace {

class FileSink final : public OutputSink {
 public:
  ~FileSink() override { Close(); }

  Status Open(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::Error("cannot create output directory " + dir + ": " + ec.message());
    for (int i = 0; i < kOutputCount; ++i) {
      std::string path = dir + "/" + std::string(OutputName(static_cast<Output>(i))) + ".jsonl";
      files_[i] = std::fopen(path.c_str(), "wb");
      if (!files_[i]) return Status::Error("cannot open " + path + ": " + std::strerror(errno));
      paths_[i] = path;
    }
    return Status::Ok();
  }

  Status Write(Output o, std::string_view lines) override {
    auto i = static_cast<size_t>(o);
    if (!files_[i]) return Status::Error("write after close");
    if (std::fwrite(lines.data(), 1, lines.size(), files_[i]) != lines.size()) {
      return Status::Error("cannot write " + paths_[i] + ": " + std::strerror(errno));
    }
    return Status::Ok();
  }

  Status Close() override {
    Status first;
    for (int i = 0; i < kOutputCount; ++i) {
      if (!files_[i]) continue;
      if (std::fclose(files_[i]) != 0 && first.ok()) {
        first = Status::Error("cannot close " + paths_[i] + ": " + std::strerror(errno));
      }
      files_[i] = nullptr;
    }
    return first;
  }

 private:
  std::FILE* files_[kOutputCount] = {};
  std::string paths_[kOutputCount];
};

}  // namespace

Result<std::unique_ptr<OutputSink>> NewFileSink(const std::string& dir) {
  auto sink = std::make_unique<FileSink>();
  Status s = sink->Open(dir);
  if (!s.ok()) return s;
  return std::unique_ptr<OutputSink>(std::move(sink));
}

}  // namespace spate
