#!/usr/bin/env python3
"""spate aggregate on live input against the real local cluster (ctest label `kafka`): the
cases that run while records arrive or processes die; the others are in tests/aggregate_test.py.

  idle    two input partitions of six go quiet mid-run: the windows keep closing once
          --idle-timeout has passed, and the results are still exact.
  latency live input at 2,000 records/s, one aggregator in final mode and one emitting changes:
          the window-close-to-result and record-to-result latencies, in the --json summary and
          on /metrics.
  state   a hot user (its rule state longer than a changelog frame) and users whose state
          expires, with kill -9s: the rule state goes to the changelog as snapshots and
          changes, values stay under 256 KiB, what is live stays bounded, restore is exact.
"""
import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import checks  # noqa: E402
import index_test  # noqa: E402  (free_port, scrape)
import recompute  # noqa: E402
from aggregate_test import (BROKERS, CLUSTER, GEN_ARGS, aggregate_cmd, compare,  # noqa: E402
                            expected, read, run_to_end, topics)


def test_latency(spate):
    n = 40_000  # 20 s at 2,000 records/s, event time at the same speed
    t = topics("lat_" + uuid.uuid4().hex[:6])
    changes = {k: v + "_ch" for k, v in t.items() if k != "in"}
    for name in changes.values():
        subprocess.run([CLUSTER, "topic", name, "6"], check=True)
    changes["in"] = t["in"]
    procs = {}
    for mode, names in (("final", t), ("changes", changes)):
        port = index_test.free_port()
        cmd = aggregate_cmd(spate, names, f"g_{mode}_" + t["in"], False, extra=["--emit", mode])
        cmd[cmd.index("--metrics-addr") + 1] = f"127.0.0.1:{port}"
        procs[mode] = (subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE), port)
    try:
        subprocess.run([spate, "produce", "--brokers", BROKERS, "--topic", t["in"], "--records",
                        str(n), "--rate", "2000", "--no-progress", "--metrics-addr", "",
                        *GEN_ARGS], check=True, stderr=subprocess.DEVNULL, timeout=120)
        time.sleep(3)  # the last batches commit
        scraped = {"final": index_test.scrape(procs["final"][1],
                                              "spate_window_result_latency_seconds_count"),
                   "changes": index_test.scrape(procs["changes"][1],
                                                "spate_record_result_latency_seconds_count")}
    finally:
        for p, _ in procs.values():
            p.send_signal(signal.SIGTERM)
    out = {}
    for mode, (p, _) in procs.items():
        stdout, stderr = p.communicate(timeout=60)
        assert p.returncode == 0, (mode, stderr.decode()[-2000:])
        out[mode] = json.loads(stdout)
    fin = out["final"]["windowResultLatencyMs"]
    rec = out["changes"]["recordResultLatencyMs"]
    # 20 s of event time, 10 s windows every 5 s: the watermark closes at least two of them.
    assert fin["count"] >= 2 and 0 <= fin["p50"] <= fin["p99"] <= fin["max"], fin
    assert out["changes"]["windowResultLatencyMs"]["count"] == 0, out["changes"]
    assert out["final"]["recordResultLatencyMs"]["count"] == 0, out["final"]
    # Every record the window tasks aggregated before the stop (the last batch's may not reach
    # them) has a latency.
    valid = out["changes"]["valid"]
    assert valid // 2 <= rec["count"] <= valid and 0 <= rec["p50"] <= rec["p99"] <= rec["max"], \
        (rec, valid)
    assert scraped["final"] and scraped["final"] >= 1, scraped
    assert scraped["changes"] and scraped["changes"] >= 1, scraped
    print(f"  window close to committed result: {fin['count']} windows, p50 {fin['p50']:.0f} ms, "
          f"p99 {fin['p99']:.0f} ms; record to committed update (emit changes): {rec['count']} "
          f"records, p50 {rec['p50']:.0f} ms, p99 {rec['p99']:.0f} ms")
    return []


def test_idle(spate):
    n = 60_000
    gen_args = ["--seed", "5", "--event-rate", "1000", "--out-of-order", "0", "--max-delay", "0s",
                "--malformed", "0", "--anomalies", "0", "--merchants", "50"]
    lines, res = expected(spate, n, gen_args)
    times = [json.loads(x)["transactionTime"] for x in lines]
    quiet_from = times[0] + 15_000  # from here on, partitions 4 and 5 get nothing
    parts = collections.defaultdict(list)
    for i, (line, tm) in enumerate(zip(lines, times)):
        parts[i % 6 if tm < quiet_from else i % 4].append(line)
    t = topics("idle_" + uuid.uuid4().hex[:6])

    def send(p, rows):
        subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", t["in"], "-p", str(p)],
                       input=b"\n".join(rows) + b"\n", check=True, timeout=120)
    for p in range(6):
        send(p, [x for x in parts[p] if json.loads(x)["transactionTime"] < quiet_from])
    group = "g_" + t["in"]
    idle = ["--idle-timeout", "3s", "--rules", "off"]
    agg = subprocess.Popen(aggregate_cmd(spate, t, group, False, extra=idle),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    failures = []
    try:
        # 0-3 get their records in rounds, together, from the start on, never pausing for as
        # long as --idle-timeout: a partition read to its end for that long no longer holds the
        # watermark back, and the others' times would make its next records late (seen when
        # they were sent one partition after the other, 3 s in); and all six idle at once
        # would move it nowhere (seen when everything was sent at once). 4 and 5, read to
        # their end early, go idle while 0-3 still get records: the rounds last about 12 s,
        # well past the aggregator's start, its first reads and --idle-timeout.
        later = {p: [x for x in parts[p] if json.loads(x)["transactionTime"] >= quiet_from]
                 for p in range(4)}
        rounds = 12
        for k in range(rounds):
            senders = [threading.Thread(target=send, args=(p, rows[k * len(rows) // rounds:
                                                                   (k + 1) * len(rows) // rounds]))
                       for p, rows in later.items()]
            for th in senders:
                th.start()
            for th in senders:
                th.join()
            time.sleep(0.8)
        sent = time.monotonic()
        # Partitions 0-3 reach times[-1]: with 4 and 5 idle, the watermark is about
        # times[-1] - 5 s (lateness), so the windows up to there close. Held back by 4 and 5 it
        # would stay at quiet_from - 5 s.
        want_start = times[-1] - 5_000 - 10_000 - 5_000
        latest = None
        while time.monotonic() - sent < 60:
            starts = [json.loads(r)["windowStart"] for r in read(t["agg"])]
            latest = max(starts, default=None)
            if latest is not None and latest >= want_start:
                break
            time.sleep(1)
        took = time.monotonic() - sent
        if latest is None or latest < want_start:
            failures.append(f"windows stopped closing: the latest emitted starts at {latest}, "
                            f"want one from {want_start} (quiet from {quiet_from})")
        else:
            print(f"  windows closed up to {latest} ({latest - quiet_from} ms past the quiet "
                  f"point) {took:.1f} s after the last records were sent")
    finally:
        agg.terminate()
        err = agg.communicate(timeout=60)[1].decode()
    if agg.returncode != 0:
        failures.append(f"aggregate exited {agg.returncode} on SIGTERM: {err[-500:]}")
    elif failures:  # seen once in CI (windows held back for 60 s): what the aggregator said
        failures.append(f"the aggregator's stderr ends: {err[-4000:]}")
    r = subprocess.run(aggregate_cmd(spate, t, group, True, extra=idle), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0:
        return failures + [f"aggregate -e exited {r.returncode}: {r.stderr.decode()[-500:]}"]
    want = sorted(recompute.to_json_text(recompute.aggregate_row("merchantId", s, e, k, v))
                  for s, e, k, v in res.aggregates)
    got = sorted(read(t["agg"]))
    if got != want:
        failures.append(f"aggregates differ: {len(got)} read, {len(want)} expected; missing e.g. "
                        f"{sorted(set(want) - set(got))[:1]}, unexpected e.g. "
                        f"{sorted(set(got) - set(want))[:1]}")
    late = read(t["late"])
    if late:
        failures.append(f"{len(late)} late records; none expected")
    return failures


def test_state(spate):
    """A hot user and many expiring ones, with kill -9s: the changelog's values stay under the
    frame bound, snapshots replace the changes before them, restore replays snapshot and
    changes, and the results (anomalies above all) are exact."""
    n = 400_000
    # 20 s of event time over a million users, zipf: the top one has 12% of the records (17k
    # in span + lateness: two parts); most others come once or twice and expire.
    gen = dict(zip(GEN_ARGS[::2], GEN_ARGS[1::2]), **{"--users": "1000000", "--event-rate": "20000",
                                                     "--skew": "zipf"})
    gen_args = [x for kv in gen.items() for x in kv]
    # The top user trips velocity_count on most of its records: the evidence's counts check the
    # restored state record by record.
    span = ["--velocity-span", "2s", "--velocity-count", "5000", "--velocity-amount", "100000000"]
    t = topics("state_" + uuid.uuid4().hex[:6])
    subprocess.run([spate, "produce", "--brokers", BROKERS, "--topic", t["in"], "--records", str(n),
                    "--no-progress", "--metrics-addr", "", *gen_args], check=True,
                   stderr=subprocess.DEVNULL)
    group = "g_" + t["in"]
    for delay in (3.0, 5.0):
        p = subprocess.Popen(aggregate_cmd(spate, t, group, False, extra=span),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()
        p.wait()
    # Once, this run hung after the kill -9s: idle with a lag of 230k records until ctest's
    # timeout. Should it recur, the consumer group's and the fetcher's debug lines show why.
    r = run_to_end(aggregate_cmd(spate, t, group, True, extra=[*span, "-X", "debug=cgrp,fetch"]))
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    summary = json.loads(r.stdout)
    failures = []
    if summary["restoredEntries"] == 0:
        failures.append("the restarted aggregator restored no state")
    # The input tasks' changelog partitions (0-5): key, value size (-1: tombstone); the last
    # entry of a key is what compaction keeps.
    out = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", group + "-changelog", "-e", "-q", "-X",
                          "isolation.level=read_committed", "-f", "%p\t%k\t%S\n"],
                         check=True, stdout=subprocess.PIPE, timeout=300).stdout
    live, largest, snapshots, replaced = {}, 0, 0, 0
    for line in out.split(b"\n"):
        part, _, rest = line.partition(b"\t")
        key, _, size = rest.rpartition(b"\t")
        if not line or int(part) >= 6 or key[:1] not in (b"r", b"d"):
            continue
        size = int(size)
        largest = max(largest, size)
        snapshots += key == b"r"
        replaced += key[:1] == b"d" and size < 0
        if size < 0:
            live.pop((part, key), None)
        else:
            live[(part, key)] = size
    chunks = max((int(k[1:]) + 1 for (_, k) in live if k[:1] == b"r" and len(k) > 1), default=0)
    bloat = []
    for p in {p for p, _ in live}:
        snap = sum(v for (q, k), v in live.items() if q == p and k[:1] == b"r" and len(k) > 1)
        changes = sum(v for (q, k), v in live.items() if q == p and k[:1] == b"d")
        if changes > max(1 << 20, 3 * snap) + (1 << 20):  # changelog.h: kChangesPerSnapshot
            bloat.append(f"partition {p.decode()}: {changes} bytes of changes on a {snap}-byte "
                         "snapshot")
    print(f"  changelog: {snapshots} snapshots of the rule state, at most {chunks} chunks; "
          f"{replaced} frames of changes replaced; largest value {largest} bytes")
    if largest > 256 * 1024 + 1024:
        failures.append(f"a changelog value of {largest} bytes passes the 256 KiB frame bound")
    if snapshots == 0 or replaced == 0:
        failures.append("no snapshot of the rule state replaced the changes before it")
    if chunks < 2:
        failures.append("no snapshot took two chunks: the hot user's state should need them")
    failures += bloat
    return failures + compare(spate, t, n, gen_args, velocity_span_ms=2_000, velocity_count=5000,
                              velocity_amount=recompute.Limit("100000000"))


TESTS = {"idle": test_idle, "latency": test_latency, "state": test_state}

if __name__ == "__main__":
    sys.exit(checks.run_named(TESTS, "aggregate", ok="exactly the recomputed results",
                              oks={"latency": "both result latencies measured"}))
