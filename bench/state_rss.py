#!/usr/bin/env python3
"""The memory of a long `spate run` over many distinct users: does it stay flat once warm?

    bench/state_rss.py [--spate build/spate] [--minutes 30] [--users 20000000] [--rate 100000]
                       [--every 60] [--metrics 127.0.0.1:19474] [-- extra spate run arguments]

Runs `spate run --duration M --rate R --users U` (uniform users: every one of them comes back
rarely, so without expiry the rule state would hold all of them), and every --every seconds
prints the process's resident set (VmRSS in /proc), the records so far, and the state gauges
it serves (spate_state_users, spate_open_windows, spate_state_totals). The last column, the
distinct users seen so far, is what the rule state would hold if it never expired: at the
generator's uniform draw, U * (1 - (1 - 1/U)^records).

Prints a markdown table; the command and the figures are in bench/README.md.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import tempfile
import time
import urllib.request



def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def gauges(metrics: str) -> dict:
    try:
        text = urllib.request.urlopen(f"http://{metrics}/metrics", timeout=5).read().decode()
    except OSError:
        return {}
    out = {}
    for name in ("spate_state_users", "spate_open_windows", "spate_state_totals"):
        m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
        if m:
            out[name] = float(m.group(1))
    m = re.findall(r'^spate_records_sent_total\{component="generator"\} (\S+)$', text, re.M)
    if m:
        out["records"] = float(m[0])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spate", default="build/spate")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--users", type=int, default=20_000_000)
    ap.add_argument("--rate", type=int, default=100_000)
    ap.add_argument("--every", type=float, default=60)
    ap.add_argument("--metrics", default="127.0.0.1:19474", help="where spate serves metrics")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    out = tempfile.mkdtemp(prefix="spate-rss-")
    cmd = [a.spate, "run", "--duration", f"{int(a.minutes * 60)}s", "--records", "0",
           "--rate", str(a.rate), "--users", str(a.users), "--metrics-addr", a.metrics,
           "--out", out, "--no-progress", *a.extra]
    print("command: " + " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    t0 = time.time()
    print("| minute | records | RSS MiB | users in state | open windows | totals | distinct users seen |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    while p.poll() is None:
        time.sleep(a.every)
        if p.poll() is not None:
            break
        g, rss = gauges(a.metrics), rss_mib(p.pid)
        n = g.get("records", 0)
        seen = a.users * (1 - math.exp(n * math.log1p(-1 / a.users))) if n else 0
        print(f"| {(time.time() - t0) / 60:.1f} | {n:,.0f} | {rss:.0f} | "
              f"{g.get('spate_state_users', 0):,.0f} | {g.get('spate_open_windows', 0):,.0f} | "
              f"{g.get('spate_state_totals', 0):,.0f} | {seen:,.0f} |", flush=True)
    subprocess.run(["rm", "-rf", out])
    return p.returncode


if __name__ == "__main__":
    raise SystemExit(main())
