#!/usr/bin/env python3
"""spate aggregate under faults, on the real local cluster (ctest label `kafka`): each case ends
in the exact comparison of tests/aggregate_test.py with tests/recompute.py.

  crash   exact, but the aggregator is killed with SIGKILL at random moments, several times,
          and restarted with the same --instance each time: still exactly the same results,
          nothing missing and nothing twice.
  broker_kill
          kill -9 of one node while producing and aggregating.
  outage  all three nodes killed with -9 for 30 s while produce, aggregate and index (of the
          aggregates, into OpenSearch) run, then started again: produce delivers every record,
          in order; aggregate and index ride it out (the running index catches up with
          the aggregates written); the results and the index are exact.
  rolling the same under a rolling restart of the three nodes (SIGTERM, start, one by one).
  shutdown  SIGTERM while every broker hangs (SIGSTOP), mid-run and at start: exit 0 within
          10 s each time, and a last run gives exactly the results.
  twin    two members with the same --instance fence each other for 25 s (fatal consumer
          errors, fenced producers); each ends with exit 0 or an error that says it was fenced,
          and a last run gives exactly the results.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
import index_test  # noqa: E402
from aggregate_test import (BROKERS, CLUSTER, GEN_ARGS, NODE, Member, aggregate_cmd,  # noqa: E402
                            compare, expected, produce, read, topics)

ES = index_test.ES


def test_crash(spate):
    n = 600_000
    t = topics("crash_" + uuid.uuid4().hex[:6])
    produce(spate, t, n)
    group = "g_" + t["in"]
    rng = random.Random(int(os.environ.get("SPATE_CRASH_SEED", "7")))
    kills = 0
    for _ in range(4):
        p = subprocess.Popen(aggregate_cmd(spate, t, group, False), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 6.0))  # start-up (fencing, join, restore) takes ~2 s
        p.kill()  # SIGKILL: no flush, no commit, an open transaction left behind
        p.wait()
        kills += 1
    r = subprocess.run(aggregate_cmd(spate, t, group, True), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    summary = json.loads(r.stdout)
    assert summary["restoredEntries"] > 0, "the restarted aggregator restored no state"
    print(f"  killed {kills} times; the last run restored {summary['restoredEntries']} state entries "
          f"and processed {summary['records']} records")
    return compare(spate, t, n)


def finish(spate, t, group, n):
    """A last `aggregate -e` of the group, then the exact comparison."""
    r = subprocess.run(aggregate_cmd(spate, t, group, True), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0:
        return [f"the last aggregate run: {r.stderr.decode()[-1500:]}"]
    return compare(spate, t, n)


def index_cmd(spate, t, index, exit_at_end):
    """`spate index` of the aggregates topic into the local OpenSearch (the `opensearch`
    fixture)."""
    return [spate, "index", "--brokers", BROKERS, "--es", ES, "--index", index, "--group",
            "gi_" + t["agg"], "--topic", t["agg"], "--dlq-topic", t["dlq"], "--metrics-addr", "",
            "--no-progress", "--batch-docs", "500", "--retry-max-backoff", "2s"] + \
        (["-e"] if exit_at_end else [])


def indexed(index):
    """The documents of an index, each as sorted JSON text, without the exact *Cents fields
    that spate index adds beside the amounts."""
    return sorted(json.dumps({k: v for k, v in d.items() if not k.endswith("Cents")},
                             sort_keys=True) for _, d in index_test.all_docs(index))


def indexed_count(index):
    try:
        return index_test.count(index)
    except OSError:  # no such index yet (urllib's HTTPError is an OSError)
        return 0


def recovery(prod, port, caught_up_at, since):
    """From `since` (the nodes being started again): how long until produce has every record
    acknowledged, and until aggregate has caught up: its watermark (spate_watermark_seconds,
    the minimum over the input partitions of their newest time, less the lateness) at the
    input's end, `caught_up_at`. Printed: bench/README.md quotes it."""
    produced = caught_up = None
    while time.monotonic() - since < 120 and (produced is None or caught_up is None):
        if produced is None and prod.poll() is not None:
            produced = time.monotonic() - since
        try:
            wm = index_test.scrape(port, "spate_watermark_seconds")
        except OSError:
            wm = 0
        if caught_up is None and wm >= caught_up_at:
            caught_up = time.monotonic() - since
        time.sleep(0.5)
    print(f"  from the nodes' restart: produce done in {produced or -1:.1f} s, aggregate caught "
          f"up (its watermark at the input's end) in {caught_up or -1:.1f} s")


def under_fault(spate, name, fault):
    """`spate produce` (paced), `spate aggregate` and `spate index` (of the aggregates) run
    while fault() does something to the cluster. produce must exit 0 with every record
    acknowledged, each partition in the generator's order; aggregate and index must ride it
    out; after a last -e pass of each, the results are exact and the index holds exactly the
    aggregates topic's records."""
    n = 100_000  # 40 s at 2,500/s: generated before the faults end, delivered after them
    t = topics(name + "_" + uuid.uuid4().hex[:6])
    group = "g_" + t["in"]
    index = "spate-" + t["agg"].replace("_", "-")
    prod = subprocess.Popen([spate, "produce", "--brokers", BROKERS, "--topic", t["in"],
                             "--records", str(n), "--rate", "2500", "--no-progress",
                             "--metrics-addr", "", "--json", *GEN_ARGS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    log, index_log = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # nobody reads a pipe
    port = index_test.free_port()
    cmd = aggregate_cmd(spate, t, group, False)
    cmd[cmd.index("--metrics-addr") + 1] = f"127.0.0.1:{port}"  # its consumer lag
    agg = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    idx = subprocess.Popen(index_cmd(spate, t, index, False), stdout=subprocess.DEVNULL,
                           stderr=index_log)
    failures = []
    try:
        time.sleep(8)  # running: records produced, aggregated and indexed
        # The input's end in event time (GEN_ARGS: --event-rate 2000 from --start-time's
        # default), less the lateness (5 s) and a second for the partitions' spread.
        end = (1_767_225_600_000 + n * 1000 // 2000 - 6_000) / 1000
        since = fault()
        recovery(prod, port, end, since)
        # The running index catches up too: it holds every aggregate written so far.
        written = len(read(t["agg"]))
        while time.monotonic() - since < 240 and indexed_count(index) < written:
            time.sleep(1)
        if indexed_count(index) < written:
            failures.append(f"the running index holds {indexed_count(index)} of the {written} "
                            f"aggregates written, {time.monotonic() - since:.0f} s after the restart")
        else:
            print(f"  the running index holds the {written} aggregates written by then, "
                  f"{time.monotonic() - since:.1f} s after the restart")
        out, err = prod.communicate(timeout=600)
        if prod.returncode != 0:
            failures.append(f"produce exited {prod.returncode}: {err.decode()[-1500:]}")
        else:
            summary = json.loads(out)
            if summary["acknowledged"] != n or summary["failed"] != 0:
                failures.append(f"produce: {summary}")
        for what, p, f in (("aggregate", agg, log), ("index", idx, index_log)):
            if p.poll() is not None:
                f.seek(0)
                failures.append(f"{what} exited {p.returncode}: "
                                f"{f.read().decode(errors='replace')[-1500:]}")
    finally:
        subprocess.run([CLUSTER, "up"], check=False)
        prod.kill()
        for p in (agg, idx):
            p.terminate()  # graceful: commits its batch
            p.wait(timeout=120)
    # The input: every record once, in the generator's order within each partition.
    lines, _ = expected(spate, n)
    index_of = {line: i for i, line in enumerate(lines)}
    rows = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", t["in"], "-e", "-q", "-f", "%p %s\n"],
                          check=True, stdout=subprocess.PIPE, timeout=300).stdout.split(b"\n")
    seen, last = 0, {}
    for row in rows:
        if not row:
            continue
        part, _, line = row.partition(b" ")
        i = index_of.get(line)
        if i is None or i <= last.get(part, -1):
            failures.append(f"partition {part.decode()}: a record unknown or out of order")
            break
        last[part] = i
        seen += 1
    if seen != n:
        failures.append(f"the input holds {seen} records, {n} produced")
    failures += finish(spate, t, group, n)
    r = subprocess.run(index_cmd(spate, t, index, True) + ["--json"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0:
        return failures + [f"the last index run: {r.stderr.decode()[-1500:]}"]
    want = sorted(json.dumps(json.loads(line), sort_keys=True) for line in read(t["agg"]))
    got = indexed(index)
    if got != want:
        missing = set(want) - set(got)
        by_part = {}
        for row in read(t["agg"], with_partition=True):
            part, _, line = row.partition("\t")
            if json.dumps(json.loads(line), sort_keys=True) in missing:
                by_part[part] = by_part.get(part, 0) + 1
        index_log.seek(0)
        failures.append(f"the index holds {len(got)} documents ({len(set(got))} distinct), the "
                        f"aggregates topic {len(want)} records; missing by partition {by_part}; "
                        f"the last index run: {r.stdout.decode().strip()}; the running index's "
                        f"log: {index_log.read().decode(errors='replace')[-3000:]}")
    else:
        print(f"  the index holds the {len(got)} aggregates exactly")
    return failures


def test_outage(spate):
    """All three nodes killed with -9 for 30 s, then started again."""
    def fault():
        for node in ("1", "2", "3"):
            subprocess.run([CLUSTER, "kill", node], check=True)
        time.sleep(30)
        t0 = time.monotonic()
        subprocess.run([CLUSTER, "up"], check=True)
        print(f"  all three nodes killed for 30 s; up again in {time.monotonic() - t0:.0f} s")
        return t0
    return under_fault(spate, "outage", fault)


def test_rolling(spate):
    """A rolling restart: each node in turn stopped (SIGTERM: controlled shutdown) and started
    again, under load."""
    def fault():
        for node in ("1", "2", "3"):
            t0 = time.monotonic()
            subprocess.run([CLUSTER, "stop", node], check=True)
            subprocess.run([CLUSTER, "start", node], check=True)
            print(f"  node {node} stopped and started again in {time.monotonic() - t0:.0f} s")
            time.sleep(2)
        return t0
    return under_fault(spate, "rolling", fault)


def test_shutdown(spate):
    """SIGTERM while every broker hangs (SIGSTOP): once mid-run, the aggregator stuck in its
    commit, and once at start, stuck connecting. Each exits 0 within 10 s; a last run then
    gives exactly the results, so what was committed was kept and nothing is twice."""
    n = 60_000
    t = topics("shutdown_" + uuid.uuid4().hex[:6])
    produce(spate, t, n)
    group = "g_" + t["in"]
    failures = []

    def hang_then_term(p, before, label):
        time.sleep(before)
        for node in ("1", "2", "3"):
            subprocess.run([CLUSTER, "pause", node], check=True)
        try:
            time.sleep(3)  # in a call that waits on the brokers
            t0 = time.monotonic()
            p.send_signal(15)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            took = time.monotonic() - t0
        finally:
            for node in ("1", "2", "3"):
                subprocess.run([CLUSTER, "resume", node], check=True)
        print(f"  {label}: SIGTERM -> exit {p.returncode} in {took:.1f} s")
        if p.returncode != 0 or took > 10:
            failures.append(f"{label}: SIGTERM with every broker hung: exit {p.returncode} after "
                            f"{took:.1f} s (want 0 within 10 s)")

    hang_then_term(subprocess.Popen(aggregate_cmd(spate, t, group, False), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL), 6, "mid-run")
    hang_then_term(subprocess.Popen(aggregate_cmd(spate, t, group, False), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL), 0.3, "at start")
    return failures + finish(spate, t, group, n)


def test_broker_kill(spate):
    """kill -9 one of the three nodes while producing and aggregating (acks=all,
    min.insync.replicas=2): the pipeline carries on and the results stay exact."""
    n = 400_000
    t = topics("bkill_" + uuid.uuid4().hex[:6])
    group = "g_" + t["in"]
    prod = subprocess.Popen([spate, "produce", "--brokers", BROKERS, "--topic", t["in"], "--records",
                             str(n), "--rate", "60000", "--no-progress", "--metrics-addr", "",
                             *GEN_ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    agg = subprocess.Popen(aggregate_cmd(spate, t, group, False), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    try:
        time.sleep(3)
        subprocess.run([CLUSTER, "kill", NODE], check=True)
        _, perr = prod.communicate(timeout=600)
        assert prod.returncode == 0, perr.decode()
        time.sleep(2)
        assert agg.poll() is None, "the aggregator stopped: " + agg.stderr.read().decode()
    finally:
        subprocess.run([CLUSTER, "start", NODE], check=False)
    agg.terminate()  # graceful stop (SIGTERM): commits what it has
    _, aerr = agg.communicate(timeout=120)
    assert agg.returncode == 0, aerr.decode()
    r = subprocess.run(aggregate_cmd(spate, t, group, True), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    print(f"  node {NODE} killed during produce + aggregate; both carried on")
    return compare(spate, t, n)


def test_twin(spate):
    """Two members started with the same --instance (a mistake a user can make): each fences
    the other, the consumer with FENCED_INSTANCE_ID (a fatal consumer error: the member replaces
    its consumer) and the producer through init_transactions (the other's next call fails: it
    rewinds with a new producer, or stops on an error that names the fencing). Nothing either
    commits may be wrong: after both have ended, one member finishes the input, and the results
    are exact."""
    n = 300_000
    t = topics("twin_" + uuid.uuid4().hex[:6])
    produce(spate, t, n)
    group = "g_" + t["in"]
    first = Member(spate, t, group, "a", False, ())
    first.wait_for("the first holds partitions", lambda m: m.held() > 0)
    time.sleep(1)
    second = Member(spate, t, group, "a", False, ())
    time.sleep(25)
    failures = []
    for name, m in (("first", first), ("second", second)):
        m.p.terminate()
        try:
            m.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            m.p.kill()
            m.p.wait()
            failures.append(f"the {name} member did not end within 60 s of SIGTERM")
        m.reader.join(timeout=10)
        errors = [ln for ln in m.lines if "spate aggregate: error:" in ln]
        print(f"  {name}: exit {m.p.returncode}, {sum('rewinding' in ln for ln in m.lines)} "
              f"rewinds; {errors[-1][:200] if errors else 'no error'}")
        if m.p.returncode not in (0, 1):
            failures.append(f"the {name} member ended with {m.p.returncode}:\n    " +
                            "\n    ".join(ln[:300] for ln in m.lines[-15:]))
        if m.p.returncode == 1 and not any("fenced" in ln for ln in errors):
            failures.append(f"the {name} member's error does not say it was fenced: {errors[-1:]}")
    r = subprocess.run(aggregate_cmd(spate, t, group, True), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    return failures + compare(spate, t, n)


TESTS = {"crash": test_crash, "broker_kill": test_broker_kill, "outage": test_outage,
         "rolling": test_rolling, "shutdown": test_shutdown, "twin": test_twin}

if __name__ == "__main__":
    sys.exit(checks.run_named(TESTS, "aggregate", ok="exactly the recomputed results"))
