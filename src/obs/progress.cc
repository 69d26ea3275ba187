#include "obs/progress.h"

#include <sys/resource.h>
#include <unistd.h>

namespace spate {

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

uint64_t PeakRssBytes() {
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;  // Linux reports kilobytes
}

}  // namespace spate
