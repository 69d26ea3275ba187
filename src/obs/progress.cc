#include "obs/progress.h"

#include <cstdio>

#include <sys/resource.h>
#include <unistd.h>

namespace spate {

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

uint64_t PeakRssBytes() {
  // VmHWM, the high-water mark of this process's own memory. Not getrusage's ru_maxrss: Linux
  // carries that across execve, so a spate started by a large process (a Python harness
  // holding a gigabyte) reported the parent's peak as its own.
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    unsigned long long kb = 0;
    bool found = false;
    while (!found && std::fgets(line, sizeof(line), f)) {
      found = std::sscanf(line, "VmHWM: %llu kB", &kb) == 1;
    }
    std::fclose(f);
    if (found) return static_cast<uint64_t>(kb) * 1024;
  }
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;  // Linux reports kilobytes
}

}  // namespace spate
