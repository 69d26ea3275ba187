#!/usr/bin/env python3
"""Black-box tests of `spate gen` (standard library only).

    python3 tests/gen_test.py [--spate build/spate]

(a) same seed and options -> byte-identical output with --threads 1, 2 and 4; another seed differs
(b) every valid line has exactly the ten fields with the domains of docs/semantics.md, amounts
    written with exactly two decimals
(c) --malformed 0.05 gives about 5% dead letters (per tests/recompute.py); --records N gives N lines
(d) --out FILE writes exactly what stdout gets
(e) --skew zipf concentrates keys far more than uniform
(f) --out-of-order F / --max-delay D: no record earlier than its in-order time by more than D,
    about F of them displaced; --late F / --late-delay D likewise
Exit code 0 = all passed.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recompute as rc  # noqa: E402
from checks import FAILURES, check  # noqa: E402

_AMOUNT_RE = re.compile(rb'"amount":(-?[0-9][^,}]*)')
_TWO_DECIMALS_RE = re.compile(rb"(0|[1-9][0-9]*)\.[0-9]{2}")


def gen(spate: str, *args: str) -> bytes:
    cmd = [spate, "gen", *args]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: "
                           f"{proc.stderr.decode(errors='replace')[-500:]}")
    return proc.stdout


def binomial_ok(hits: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    sd = math.sqrt(n * p * (1 - p)) or 1.0
    return abs(hits - n * p) <= sigmas * sd + 1


def test_determinism(spate: str):
    print("(a) determinism across --threads, seed sensitivity")
    opts = ["--seed", "7", "--records", "60000", "--malformed", "0.01", "--anomalies", "0.005",
            "--out-of-order", "0.1", "--late", "0.01", "--skew", "zipf"]
    outs = {t: gen(spate, *opts, "--threads", str(t)) for t in (1, 2, 4)}
    check(outs[1] == outs[2] == outs[4], "--threads 1, 2, 4 give byte-identical output")
    other = gen(spate, *[o if o != "7" else "8" for o in opts], "--threads", "2")
    check(other != outs[1], "--seed 8 differs from --seed 7")
    a, b = rc.split_lines(outs[1]), rc.split_lines(other)
    same = sum(1 for x, y in zip(a, b) if x == y)
    check(same == 0, f"no line is identical between the two seeds ({same} are)")


def test_domains(spate: str):
    print("(b) valid lines: ten fields, domains, two-decimal amounts")
    data = gen(spate, "--seed", "3", "--records", "50000", "--users", "100000", "--merchants",
               "5000", "--locations", "300", "--anomalies", "0.01", "--late", "0.01",
               "--out-of-order", "0.2")
    lines = rc.split_lines(data)
    bad_fields, bad_domain, bad_amount, bad_json = [], [], [], []
    ids = collections.Counter()
    for i, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except ValueError as e:
            bad_json.append((i, str(e)))
            continue
        if not isinstance(obj, dict) or set(obj) != set(rc.FIELDS):
            bad_fields.append((i, line[:200]))
            continue
        try:
            t = rc.validate_full(line, i)
        except rc.Reject as r:
            bad_domain.append((i, r.code, r.reason))
            continue
        amounts = _AMOUNT_RE.findall(line)
        if len(amounts) != 1 or not _TWO_DECIMALS_RE.fullmatch(amounts[0]):
            bad_amount.append((i, amounts))
        ids[t.transactionId] += 1
        if not (1 <= int(t.userId[5:]) <= 100000 and 1 <= int(t.merchantId[8:]) <= 5000
                and 1 <= int(t.location[9:]) <= 300):
            bad_domain.append((i, "id outside --users/--merchants/--locations", line[:200]))
    check(len(lines) == 50000, f"--records 50000 gives {len(lines)} lines")
    check(not bad_json, f"every line parses as JSON (first failures: {bad_json[:3]})")
    check(not bad_fields, f"exactly the ten fields (first failures: {bad_fields[:3]})")
    check(not bad_domain, f"values within their domains (first failures: {bad_domain[:3]})")
    check(not bad_amount, f"amount has exactly two decimals (first failures: {bad_amount[:3]})")
    dup = [k for k, c in ids.items() if c > 1]
    check(not dup, f"transactionIds are unique ({len(dup)} duplicated)")


def test_malformed_and_count(spate: str):
    print("(c) --malformed fraction, --records count")
    n = 40000
    lines = rc.split_lines(gen(spate, "--seed", "11", "--records", str(n), "--malformed", "0.05"))
    dead = 0
    for i, line in enumerate(lines):
        try:
            rc.validate(line, i)
        except rc.Reject:
            dead += 1
    check(binomial_ok(dead, n, 0.05), f"--malformed 0.05: {dead}/{n} = {dead / n:.4f} rejected")
    clean = rc.split_lines(gen(spate, "--seed", "11", "--records", "20000"))
    rejected = 0
    for i, line in enumerate(clean):
        try:
            rc.validate(line, i)
        except rc.Reject:
            rejected += 1
    check(rejected == 0, f"--malformed 0 (default): {rejected} lines rejected")
    for count in (1, 7, 4097, 33000):
        data = gen(spate, "--seed", "5", "--records", str(count), "--malformed", "0.3")
        got = data.count(b"\n")
        check(got == count and data.endswith(b"\n"),
              f"--records {count} gives exactly {count} newline-terminated lines ({got})")


def test_out_file(spate: str):
    print("(d) --out FILE equals stdout")
    opts = ["--seed", "9", "--records", "30000", "--malformed", "0.02", "--anomalies", "0.01"]
    stdout = gen(spate, *opts)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "gen.jsonl")
        rest = gen(spate, *opts, "--out", path)
        with open(path, "rb") as f:
            data = f.read()
    check(data == stdout, f"--out file ({len(data)} bytes) equals stdout ({len(stdout)} bytes)")
    check(rest == b"", f"with --out, nothing on stdout ({len(rest)} bytes)")


def top_share(lines: list, field: str) -> float:
    c = collections.Counter()
    for line in lines:
        c[json.loads(line)[field]] += 1
    return c.most_common(1)[0][1] / sum(c.values())


def test_skew(spate: str):
    print("(e) --skew zipf concentrates keys")
    opts = ["--seed", "4", "--records", "40000", "--users", "10000", "--merchants", "1000"]
    uni = rc.split_lines(gen(spate, *opts, "--skew", "uniform"))
    zipf = rc.split_lines(gen(spate, *opts, "--skew", "zipf"))
    for field in ("merchantId", "userId"):
        u, z = top_share(uni, field), top_share(zipf, field)
        check(z > 10 * u and z > 0.03,
              f"{field}: top key share zipf {z:.4f} vs uniform {u:.4f}")
    steep = rc.split_lines(gen(spate, *opts, "--skew", "zipf", "--zipf-exponent", "2.0"))
    z1, z2 = top_share(zipf, "merchantId"), top_share(steep, "merchantId")
    check(z2 > z1, f"--zipf-exponent 2.0 concentrates more than the default ({z2:.3f} > {z1:.3f})")


def times(lines: list) -> list:
    return [json.loads(line)["transactionTime"] for line in lines]


def test_disorder(spate: str):
    print("(f) --out-of-order / --max-delay, --late / --late-delay")
    n = 50000
    opts = ["--seed", "21", "--records", str(n), "--event-rate", "2000"]
    base_lines = rc.split_lines(gen(spate, *opts))
    base = times(base_lines)
    check(all(a <= b for a, b in zip(base, base[1:])), "without disorder, times never decrease")
    span = base[-1] - base[0]
    check(abs(span - (n - 1) * 1000 / 2000) <= 1,
          f"--event-rate 2000: {n} records span {span} ms of event time")

    ooo = rc.split_lines(gen(spate, *opts, "--out-of-order", "0.2", "--max-delay", "3s"))
    check([json.loads(x)["transactionId"] for x in ooo[:2000]] ==
          [json.loads(x)["transactionId"] for x in base_lines[:2000]],
          "disorder does not change which records are generated")
    t = times(ooo)
    delays = [b - x for b, x in zip(base, t)]
    check(min(delays) >= 0, f"no record is later than its in-order time (min delay {min(delays)})")
    check(max(delays) <= 3000, f"no record is earlier by more than --max-delay 3s "
                               f"(max delay {max(delays)} ms)")
    displaced = sum(1 for d in delays if d > 0)
    check(binomial_ok(displaced, n, 0.2), f"--out-of-order 0.2: {displaced}/{n} displaced")

    late = rc.split_lines(gen(spate, *opts, "--late", "0.05", "--late-delay", "2m"))
    delays = [b - x for b, x in zip(base, times(late))]
    moved = [d for d in delays if d != 0]
    check(binomial_ok(len(moved), n, 0.05), f"--late 0.05: {len(moved)}/{n} displaced")
    check(all(d >= 120_000 for d in moved),
          f"--late-delay 2m: every late record is at least 2m early "
          f"(min {min(moved) if moved else None} ms)")


def test_duration_is_a_prefix(spate: str):
    """--duration with --rate stops early, and what it wrote is a prefix of the sequence."""
    timed = gen(spate, "--seed", "9", "--duration", "1s", "--rate", "20000")
    n = timed.count(b"\n")
    full = gen(spate, "--seed", "9", "--records", str(max(n, 1)))
    check(0 < n <= 25000, f"--duration 1s --rate 20000 wrote {n} records (expected about 20000)")
    check(timed == full[:len(timed)], "--duration output is a prefix of the --records output")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spate", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                    "spate"))
    a = ap.parse_args()
    spate = os.path.abspath(a.spate)
    if not os.access(spate, os.X_OK):
        print(f"spate binary not found: {spate}")
        return 2
    for test in (test_determinism, test_domains, test_malformed_and_count, test_out_file,
                 test_skew, test_disorder, test_duration_is_a_prefix):
        try:
            test(spate)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
            check(False, f"{test.__name__}: {e}")
    print(f"{len(FAILURES)} failure(s)" if FAILURES else "all gen checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
