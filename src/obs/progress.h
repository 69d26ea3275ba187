#pragma once
// How a runner reports while it runs. Every runner (`spate run`, `spate aggregate`,
// `spate index`) takes its configuration, then RunHooks: where to register its metrics, when
// to stop, and whom to tell its progress, about once a second, in a snapshot of its kind.

#include <cstdint>
#include <functional>

namespace prometheus {
class Registry;
}

namespace spate {

template <typename Snapshot>
using ProgressFn = std::function<void(const Snapshot&)>;

template <typename Snapshot>
struct RunHooks {
  // The process's registry (obs/metrics_server.h); null keeps no metrics.
  prometheus::Registry* metrics = nullptr;
  // Polled between batches: true ends the run there, with what was done kept.
  std::function<bool()> stop;
  // Called about once a second; may be empty.
  ProgressFn<Snapshot> progress;
};

// True when stderr is a terminal (progress lines are shown by default only then).
bool StderrIsTerminal();

// The process's peak resident set size so far, in bytes (VmHWM of /proc/self/status).
uint64_t PeakRssBytes();

}  // namespace spate
