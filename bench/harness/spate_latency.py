#!/usr/bin/env python3
"""spate aggregate's latency phase, the counterpart of the Spark job's (baselines/spark/job.py):
spate aggregate --emit changes runs on a fresh input topic while spate produce writes --rate
records a second for --seconds into it, event time at wall-clock speed so that windows close
while it runs. Its --json summary gives, per record, the time from its Kafka timestamp to the
committed update holding it (recordResultLatencyMs) and, per window, from the watermark passing
the window's end to its committed result (windowResultLatencyMs, final mode: a second
aggregator on the same input, with 2 s windows). Prints one JSON line.

    spate_latency.py --spate build/spate --brokers B --topic T --group G [--seconds 20] [--rate 5000]
"""
import argparse
import json
import signal
import subprocess
import sys
import threading
import time


class Aggregator:
    """An aggregator writing to the default output topics, as bench/run's throughput runs. In
    final mode its windows are 2 s long with 1 s of lateness, so that several close even in a
    5 s phase (--quick). Its stderr is read as it comes: `assigned` says it holds its
    partitions."""

    def __init__(self, a, mode):
        cmd = [a.spate, "aggregate", "--brokers", a.brokers, "--input", a.topic,
               "--group", f"{a.group}-{mode}", "--emit", mode, "--json", "--no-progress",
               "--metrics-addr", "",
               *(["--window", "2s", "--lateness", "1s"] if mode == "final" else [])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stderr = []
        self.assigned = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace"))
            if "assigned" in self.stderr[-1]:
                self.assigned.set()

    def finish(self):
        """SIGTERM; (exit code, stdout, stderr)."""
        self.proc.send_signal(signal.SIGTERM)
        out = self.proc.stdout.read()  # the summary, at exit
        rc = self.proc.wait(timeout=60)
        return rc, out.decode(), "".join(self.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    for k in ("--spate", "--brokers", "--topic", "--group"):
        ap.add_argument(k, required=True)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--warmup", type=float, default=10,
                    help="at most this many seconds for both to hold their partitions")
    a = ap.parse_args()
    procs = {mode: Aggregator(a, mode) for mode in ("changes", "final")}
    deadline = time.monotonic() + a.warmup
    for p in procs.values():  # both have joined their groups and hold every partition
        p.assigned.wait(max(0.0, deadline - time.monotonic()))
    n = int(a.rate * a.seconds)
    prod = subprocess.run([a.spate, "produce", "--brokers", a.brokers, "--topic", a.topic,
                           "--records", str(n), "--rate", str(a.rate), "--event-rate", str(a.rate),
                           "--start-time", str(int(time.time() * 1000)), "--no-progress",
                           "--metrics-addr", ""], stdout=sys.stderr, stderr=sys.stderr)
    time.sleep(3)  # the last batches commit
    summaries = {}
    for mode, p in procs.items():
        rc, out, err = p.finish()
        if rc != 0 or not out.strip():
            sys.stderr.write(err[-2000:])
            return 1
        summaries[mode] = json.loads(out.strip().splitlines()[-1])
    if prod.returncode != 0:
        return 1
    rec = summaries["changes"]["recordResultLatencyMs"]
    win = summaries["final"]["windowResultLatencyMs"]
    print(json.dumps({"records": n, "rate": a.rate, "seconds": a.seconds,
                      "latencyP50Ms": rec["p50"] if rec["count"] else None,
                      "latencyP99Ms": rec["p99"] if rec["count"] else None,
                      "latencyRecords": rec["count"],
                      "windowCloseP50Ms": win["p50"] if win["count"] else None,
                      "windowCloseP99Ms": win["p99"] if win["count"] else None,
                      "windowsClosed": win["count"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
