#!/usr/bin/env python3
"""How long `spate aggregate` takes to restore its state, by the number of keys in the changelog.

    bench/restore_time.py [--spate build/spate] [--users 1000000] [--records 2500000]

On the local cluster (deploy/kafka/cluster.sh up): produces --records records over --users
uniform users, aggregates them to the end (-e) with a velocity span of an hour, so that every
user's rule state is kept (the whole run is --records / 10,000 event-seconds), then starts the
same group again: it restores every task from the changelog and, the input being read, stops.
Reports the changelog's entries and distinct keys, the restore's own time (its log line), the
second run's wall time and peak RSS, and the first run's, which built the state.

Environment: SPATE_BROKERS, as for deploy/kafka/cluster.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(ROOT, "deploy", "kafka", "cluster.sh")
BROKERS = os.environ.get("SPATE_BROKERS", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")


def aggregate(spate, topics, group):
    cmd = [spate, "aggregate", "--brokers", BROKERS, "--input", topics["in"], "--group", group,
           "--instance", "a", "--aggregates-topic", topics["agg"], "--totals-topic", topics["tot"],
           "--anomalies-topic", topics["anom"], "--late-topic", topics["late"], "--dlq-topic",
           topics["dlq"], "--metrics-addr", "", "--no-progress", "--json", "-e",
           "--velocity-span", "1h"]
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    wall = time.time() - t0
    m = re.findall(r"restored (\d+) changelog entries of (\d+) partitions in ([\d.]+) s",
                   r.stderr.decode())
    restore = sum(float(x[2]) for x in m)
    return wall, restore, json.loads(r.stdout), " ".join(cmd)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spate", default="build/spate")
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--records", type=int, default=2_500_000)
    a = ap.parse_args()
    tag = uuid.uuid4().hex[:6]
    topics = {k: f"restore_{k}_{tag}" for k in ("in", "agg", "tot", "anom", "late", "dlq")}
    for k, name in topics.items():
        subprocess.run([CLUSTER, "topic", name, "6"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([a.spate, "produce", "--brokers", BROKERS, "--topic", topics["in"],
                    "--records", str(a.records), "--users", str(a.users), "--no-progress",
                    "--metrics-addr", ""], check=True, stderr=subprocess.DEVNULL)
    group = "restore_" + tag
    built, _, first, cmd = aggregate(a.spate, topics, group)
    wall, restore, second, _ = aggregate(a.spate, topics, group)
    keys = subprocess.run(
        f"kcat -C -b {BROKERS} -t {group}-changelog -e -q -X isolation.level=read_committed "
        f"-f '%k\\n' | sort -u | wc -l", shell=True, check=True, stdout=subprocess.PIPE)
    print(f"command: {cmd} (twice)")
    print("| users | records | changelog entries | distinct keys | restore | second run | "
          "its peak RSS | first run (built the state) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {a.users:,} | {a.records:,} | {second['restoredEntries']:,} | "
          f"{int(keys.stdout):,} | {restore:.1f} s | {wall:.1f} s | "
          f"{second['peakRssBytes'] / 2**20:.0f} MiB | {built:.1f} s, "
          f"{first['peakRssBytes'] / 2**20:.0f} MiB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
