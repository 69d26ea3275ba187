#!/usr/bin/env python3
"""`spate run --input FILE` against DuckDB on the same file, and spate's memory per key and user.

    bench/real_data.py [--spate build/spate] [--records 10000000] [--reps 3] [--work DIR]

For each profile (realistic, reference) it writes one JSON-lines file with `spate gen` (no
malformed, late or out-of-order records, so that a plain GROUP BY is the same computation),
then, alternately, --reps times each:
  duckdb        DuckDB (PyPI `duckdb`, in bench/.venv; 2 threads) reads the file and groups it by
                (60 s tumbling window, merchantId, currency): count, sum, min, max of amount;
  spate windows `spate run --input FILE --threads 2 --rules off --totals off`: the same work
                (decode and validate every record, 60 s tumbling windows by merchantId and
                currency);
  spate full    `spate run --input FILE --threads 2`: windows, totals and the anomaly rules.
Each is timed by wall clock around the whole process (reading the file included; the file is
in the page cache after the first run), with its peak RSS. The DuckDB result and spate's
aggregates.jsonl are compared: every (window, merchant, currency) with the same count, sum,
min and max, exactly (DuckDB sums DECIMAL(38,3)).

Memory: peak RSS of `spate run` on the realistic profile (1M users, 50k merchants) in runs
that differ in one thing, divided by the number of entries that thing adds (bench/README.md).

Prints markdown tables; the commands are in bench/README.md.
"""

from __future__ import annotations

import argparse
import decimal
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import recompute  # noqa: E402  (the currency table)

DUCKDB_QUERY = """
SELECT (transactionTime // 60000) * 60000 AS windowStart, merchantId,
       CASE currency WHEN 'EU' THEN 'EUR' ELSE currency END AS cur,
       count(*) AS n, sum(amount) AS total, min(amount) AS lo, max(amount) AS hi
FROM read_json('{path}', format = 'newline_delimited', columns = {{
  transactionId: 'VARCHAR', userId: 'VARCHAR', amount: 'DECIMAL(18,3)',
  transactionTime: 'BIGINT', merchantId: 'VARCHAR', transactionType: 'VARCHAR',
  location: 'VARCHAR', paymentMethod: 'VARCHAR', isInternational: 'VARCHAR',
  currency: 'VARCHAR'}})
GROUP BY ALL
"""

DUCKDB_RUNNER = r'''
import json, sys, time
import duckdb
path, query, out = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("SET enable_progress_bar = false")
t0 = time.perf_counter()
rows = con.execute(query.format(path=path)).fetchall()
elapsed = time.perf_counter() - t0
with open(out, "w") as f:
    for r in rows:
        f.write(json.dumps([r[0], r[1], r[2], r[3], str(r[4]), str(r[5]), str(r[6])]) + "\n")
# VmHWM, this process's own peak (ru_maxrss would carry the parent's across exec).
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"elapsed": elapsed, "rows": len(rows), "version": duckdb.__version__,
                  "peak_rss": hwm * 1024}))
'''


def venv_python() -> str:
    venv = os.environ.get("SPATE_BENCH_VENV", os.path.join(HERE, ".venv"))
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    if subprocess.run([py, "-c", "import duckdb"], capture_output=True).returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "-q", "-r",
                        os.path.join(HERE, "requirements.txt")], check=True)
    return py


def run_spate(spate: str, args: list) -> dict:
    t0 = time.perf_counter()
    r = subprocess.run([spate, "run", *args, "--json", "--no-progress", "--metrics-addr", ""],
                       capture_output=True, check=True)
    wall = time.perf_counter() - t0
    s = json.loads(r.stdout)
    s["wall"] = wall
    return s


def run_duckdb(py: str, path: str, out: str) -> dict:
    t0 = time.perf_counter()
    r = subprocess.run([py, "-c", DUCKDB_RUNNER, path, DUCKDB_QUERY, out], capture_output=True,
                       check=True)
    s = json.loads(r.stdout.strip().splitlines()[-1])
    s["wall"] = time.perf_counter() - t0
    return s


def minor(text: str, currency: str) -> int:
    return int(decimal.Decimal(text).scaleb(recompute.DIGITS[currency]))


def compare(duck_out: str, spate_dir: str) -> tuple:
    want = set()
    with open(duck_out) as f:
        for line in f:
            ws, m, cur, n, total, lo, hi = json.loads(line)
            want.add((ws, m, cur, n, minor(total, cur), minor(lo, cur), minor(hi, cur)))
    got = set()
    with open(os.path.join(spate_dir, "aggregates.jsonl"), "rb") as f:
        for raw in f:
            d = json.loads(raw, parse_float=decimal.Decimal)
            cur = d["currency"]
            got.add((d["windowStart"], d["merchantId"], cur, d["transactionCount"],
                     minor(str(d["totalAmount"]), cur), minor(str(d["minAmount"]), cur),
                     minor(str(d["maxAmount"]), cur)))
    return got == want, len(want), len(got)


def fmt_rate(n: int, secs: float) -> str:
    return f"{n / secs / 1e6:.2f}M"


def duckdb_vs_spate(spate: str, py: str, work: str, records: int, reps: int,
                    profiles: list) -> list:
    rows = []
    for profile in profiles:
        path = os.path.join(work, f"{profile}.jsonl")
        if not os.path.exists(path):
            subprocess.run([spate, "gen", "--profile", profile, "--records", str(records),
                            "--out", path], check=True, capture_output=True)
        size = os.path.getsize(path)
        times = {"duckdb": [], "spate windows": [], "spate full": []}
        rss = {k: 0 for k in times}
        equal = None
        version = ""
        for rep in range(reps):
            d = run_duckdb(py, path, os.path.join(work, "duck.jsonl"))
            times["duckdb"].append(d["wall"])
            rss["duckdb"] = max(rss["duckdb"], d["peak_rss"])
            version = d["version"]
            out = os.path.join(work, "spate-out")
            s = run_spate(spate, ["--input", path, "--threads", "2", "--rules", "off", "--totals",
                                  "off", "--window", "60s", "--lateness", "5s", "--out", out])
            times["spate windows"].append(s["wall"])
            rss["spate windows"] = max(rss["spate windows"], s["peakRssBytes"])
            if rep == 0:
                equal = compare(os.path.join(work, "duck.jsonl"), out)
            s = run_spate(spate, ["--input", path, "--threads", "2", "--out", out])
            times["spate full"].append(s["wall"])
            rss["spate full"] = max(rss["spate full"], s["peakRssBytes"])
        for k, v in times.items():
            med = statistics.median(v)
            rows.append((profile, f"{size / 1e9:.2f} GB", k, fmt_rate(records, med), f"{med:.2f}",
                         f"{min(v):.2f}-{max(v):.2f}", f"{rss[k] / 2**20:.0f}",
                         ("equal" if equal[0] else "DIFFER") + f" ({equal[1]} groups)"
                         if k == "spate windows" else ""))
        print(f"{profile}: DuckDB {version}; spate/DuckDB "
              f"{statistics.median(times['duckdb']) / statistics.median(times['spate windows']):.2f}x",
              file=sys.stderr)
    return rows


def memory(spate: str, records: int) -> list:
    """Peak RSS differences of runs that differ in one thing, per entry that thing adds."""
    base = ["--profile", "realistic", "--records", str(records), "--threads", "2",
            "--window", "24h", "--lateness", "0s"]
    with tempfile.TemporaryDirectory() as out:
        def rss(extra):
            return run_spate(spate, base + extra + ["--out", out])

        by_currency = rss(["--rules", "off", "--totals", "off", "--group-by", "currency"])
        windows = rss(["--rules", "off", "--totals", "off"])
        n_windows = windows["windowsEmitted"]
        totals = rss(["--rules", "off"])
        rules = rss([])
    users = int(subprocess.run(
        [sys.executable, "-c", "import sys; print(len(set(l.split(b'\"userId\":\"')[1][:36] "
         "for l in sys.stdin.buffer)))"],
        input=subprocess.run([spate, "gen", "--profile", "realistic", "--records", str(records)],
                             capture_output=True, check=True).stdout,
        capture_output=True, check=True).stdout)
    rows = [
        ("a (window, merchant, currency) result: windows only vs group by currency",
         n_windows, (windows["peakRssBytes"] - by_currency["peakRssBytes"]) / n_windows),
        ("a (merchant, currency) total: + totals", totals["totalsEmitted"],
         (totals["peakRssBytes"] - windows["peakRssBytes"]) / max(totals["totalsEmitted"], 1)),
        ("a distinct user: + anomaly rules", users,
         (rules["peakRssBytes"] - totals["peakRssBytes"]) / users),
    ]
    print(f"peak RSS: by currency {by_currency['peakRssBytes'] / 2**20:.0f} MiB, windows "
          f"{windows['peakRssBytes'] / 2**20:.0f}, + totals {totals['peakRssBytes'] / 2**20:.0f}, "
          f"+ rules {rules['peakRssBytes'] / 2**20:.0f}", file=sys.stderr)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spate", default=os.path.join(ROOT, "build", "spate"))
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--work", help="directory for the files (default: a temporary one)")
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--profiles", default="realistic,reference",
                    help="the files to compare on, comma-separated")
    a = ap.parse_args()
    for p in a.profiles.split(","):
        if p not in ("realistic", "reference"):
            ap.error(f"--profiles: {p!r} is no profile (realistic, reference)")
    spate = os.path.abspath(a.spate)
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or tmp
        os.makedirs(work, exist_ok=True)
        if not a.skip_duckdb:
            py = venv_python()
            rows = duckdb_vs_spate(spate, py, work, a.records, a.reps, a.profiles.split(","))
            print(f"\n{a.records:,} records a file, {a.reps} runs each, alternating; median wall "
                  "clock, whole process\n")
            print("| file | size | engine | records/s | seconds | range | peak RSS MiB | result |")
            print("|---|---:|---|---:|---:|---:|---:|---|")
            for r in rows:
                print("| " + " | ".join(r) + " |")
        if a.skip_memory:
            return 0
        mem = memory(spate, a.records)
        print("\n| state | entries | bytes each |")
        print("|---|---:|---:|")
        for what, n, b in mem:
            print(f"| {what} | {n:,} | {b:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
