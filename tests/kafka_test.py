#!/usr/bin/env python3
"""Kafka integration tests against the real local 3-node KRaft cluster (ctest label `kafka`;
the cluster is started and stopped by the ctest fixture, deploy/kafka/cluster.sh).

  produce_kcat     spate produce N records with seed S; kcat (a third-party client) reads the
                   topic back: every partition holds exactly the records `spate gen` writes for
                   that partition (Kafka's murmur2 on the userId key), in sequence order.
  consume          spate consume -e returns the same records.
  produce_errors   an unknown topic and a bad -X property fail loudly (non-zero exit, reason).
  broker_kill      kill -9 one of the three nodes while producing with acks=all: no
                   acknowledged record is lost and the producer reports no failure.
  slow_brokers     brokers that throttle spate (a producer quota): the bounded queue keeps the
                   producer under 200 MiB of RSS, and every record is acknowledged.
  version_warning  spate produce warns once at start-up if and only if the cluster is Kafka 4.x
                   (KAFKA_VERSION, as cluster.sh reads it) and librdkafka is older than 2.11.1.
"""
import argparse
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import recompute  # noqa: E402

ROOT = os.path.dirname(HERE)
CLUSTER = os.path.join(ROOT, "deploy", "kafka", "cluster.sh")
# The local cluster (deploy/kafka/cluster.sh); SPATE_BROKERS goes with SPATE_KAFKA_PORT_OFFSET.
BROKERS = os.environ.get("SPATE_BROKERS", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")
PARTITIONS = 6


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def new_topic(prefix):
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    run([CLUSTER, "topic", name, str(PARTITIONS)])
    return name


def gen_lines(spate, args):
    out = subprocess.run([spate, "gen", *args], check=True, stdout=subprocess.PIPE).stdout
    return recompute.split_lines(out)


def expected_by_partition(lines):
    by_part = {p: [] for p in range(PARTITIONS)}
    for line in lines:
        t = json.loads(line) if line.startswith(b"{") else None
        # Malformed lines still carry the generator's key; recover it from a valid twin is not
        # possible, so tests that compare per partition use no malformed records.
        key = t["userId"].encode()
        by_part[recompute.partition_of(key, PARTITIONS)].append((key, line))
    return by_part


def kcat_read(topic, count):
    # -f: partition, key and value separated by tabs (values and keys hold no tabs).
    out = subprocess.run(
        ["kcat", "-C", "-b", BROKERS, "-t", topic, "-e", "-q", "-X", "isolation.level=read_committed",
         "-f", "%p\t%k\t%s\n"],
        check=True, stdout=subprocess.PIPE, timeout=300).stdout
    got = {p: [] for p in range(PARTITIONS)}
    for row in out.split(b"\n"):
        if not row:
            continue
        p, k, v = row.split(b"\t", 2)
        got[int(p)].append((k, v))
    assert sum(len(v) for v in got.values()) == count, (sum(len(v) for v in got.values()), count)
    return got


def produce(spate, topic, args, extra=()):
    r = subprocess.run([spate, "produce", "--brokers", BROKERS, "--topic", topic, "--json",
                        "--no-progress", *args, *extra], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    return r


def test_produce_kcat(spate):
    topic = new_topic("produce_kcat")
    args = ["--records", "200000", "--seed", "11", "--out-of-order", "0.1", "--anomalies", "0.001"]
    r = produce(spate, topic, args)
    assert r.returncode == 0, r.stderr.decode()
    summary = json.loads(r.stdout)
    assert summary["sent"] == 200000 and summary["acknowledged"] == 200000, summary
    assert summary["failed"] == 0 and summary["unacknowledged"] == 0, summary
    for q in ("p50", "p95", "p99", "p999"):
        assert summary["latencyMs"][q] >= 0
    want = expected_by_partition(gen_lines(spate, args))
    got = kcat_read(topic, 200000)
    for p in range(PARTITIONS):
        assert got[p] == want[p], f"partition {p}: kcat read {len(got[p])} records, expected {len(want[p])}"
    print("produce_kcat: 200000 records, per-partition order and bytes equal to spate gen")


def test_consume(spate):
    topic = new_topic("consume")
    args = ["--records", "50000", "--seed", "5", "--malformed", "0.01"]
    r = produce(spate, topic, args + ["--format", "json"])
    assert r.returncode == 0, r.stderr.decode()
    out = subprocess.run([spate, "consume", "--brokers", BROKERS, "--topic", topic, "-e"],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    got = sorted(recompute.split_lines(out.stdout))
    want = sorted(gen_lines(spate, args))
    assert got == want, f"consume returned {len(got)} lines, expected {len(want)}"
    # The envelope form is valid JSON with the key.
    env = subprocess.run([spate, "consume", "--brokers", BROKERS, "--topic", topic, "-e", "--envelope",
                          "-c", "10"], check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    for line in env.stdout.splitlines():
        e = json.loads(line)
        assert e["topic"] == topic and e["key"].startswith("user_"), e
    # Binary on the wire, printed as JSON.
    btopic = new_topic("consume_bin")
    r = produce(spate, btopic, ["--records", "20000", "--seed", "5", "--format", "binary"])
    assert r.returncode == 0, r.stderr.decode()
    out = subprocess.run([spate, "consume", "--brokers", BROKERS, "--topic", btopic, "-e",
                          "--format", "binary"], check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=300)
    assert sorted(recompute.split_lines(out.stdout)) == sorted(
        gen_lines(spate, ["--records", "20000", "--seed", "5"]))
    # Consumer lag per partition is served as a Prometheus metric while a group member runs.
    import socket
    import urllib.request
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    cons = subprocess.Popen([spate, "consume", "--brokers", BROKERS, "--topic", topic, "-G",
                             "lag_" + topic, "--metrics-addr", f"127.0.0.1:{port}",
                             "-X", "statistics.interval.ms=200",
                             "-X", "max.partition.fetch.bytes=10000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lag_lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not lag_lines:
            time.sleep(0.3)
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            except OSError:
                continue
            lag_lines = [l for l in text.splitlines()
                         if l.startswith("spate_kafka_consumer_lag{") and f'topic="{topic}"' in l]
        assert lag_lines, "no spate_kafka_consumer_lag series for the topic within 30 s"
        assert "spate_kafka_messages_received_total" in text
    finally:
        cons.terminate()
        cons.wait(timeout=30)
    print("consume: json, envelope and binary topics read back exactly; lag exported:", lag_lines[0])


def test_produce_errors(spate):
    """An unknown topic, unreachable brokers and bad properties fail at once, with reasons."""
    r = produce(spate, "no_such_topic_" + uuid.uuid4().hex[:6], ["--records", "100"])
    assert r.returncode == 1, (r.returncode, r.stderr.decode())
    err = r.stderr.decode()
    assert "no_such_topic_" in err and "UNKNOWN_TOPIC" in err, err
    # Unreachable brokers: a clear error, not a hang.
    r = subprocess.run([spate, "produce", "--brokers", "127.0.0.1:1", "--topic", "x", "--records", "1",
                        "--metrics-addr", ""], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 1 and "cannot reach the cluster" in r.stderr.decode(), r.stderr.decode()
    r = produce(spate, "x", ["--records", "1"], ["-X", "no.such.property=1"])
    assert r.returncode == 2 and "no.such.property" in r.stderr.decode(), r.stderr.decode()
    r = produce(spate, "x", ["--records", "1"], ["-X", "novalue"])
    assert r.returncode == 2 and "key=value" in r.stderr.decode(), r.stderr.decode()
    print("produce_errors: unknown topic and bad properties fail with reasons")


def test_shutdown(spate):
    """SIGTERM while spate produce blocks on a full queue (the partition's leader is paused with
    SIGSTOP, so nothing is acknowledged) ends it within 10 s, exit 1, the unacknowledged
    records counted. A second signal ends it at once with 128 + the signal's number (here
    while it waits for an unreachable cluster's metadata, which the first does not cut short)."""
    topic = "stall_" + uuid.uuid4().hex[:6]
    run([CLUSTER, "topic", topic, "1"])
    desc = subprocess.run([CLUSTER, "describe", topic], capture_output=True, text=True).stdout
    leader = re.search(r"Leader: (\d+)", desc).group(1)
    p = subprocess.Popen([spate, "produce", "--brokers", BROKERS, "--topic", topic, "--records",
                          "100000000", "--rate", "20000", "--no-progress", "--metrics-addr", "",
                          "-X", "queue.buffering.max.messages=1000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(3)  # running: records sent and acknowledged
        run([CLUSTER, "pause", leader])
        time.sleep(1.5)  # the queue fills: Send waits for room
        assert p.poll() is None, p.communicate()[1].decode()
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        run([CLUSTER, "resume", leader])
        # Back in sync before the next test kills a node: every partition's ISR whole again.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            desc = subprocess.run([CLUSTER, "describe", topic], capture_output=True,
                                  text=True).stdout
            if all(len(m.split(",")) == 3 for m in re.findall(r"Isr: ([\d,]+)", desc)):
                break
            time.sleep(1)
    err = err.decode()
    last = err.strip().splitlines()[-1] if err.strip() else ""
    assert took < 10 and p.returncode == 1 and "unacknowledged" in err, (took, p.returncode, last)
    print(f"shutdown: SIGTERM on a full queue: exit {p.returncode} after {took:.1f} s: {last[:160]}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"  # nothing listens there
    p = subprocess.Popen([spate, "produce", "--brokers", dead, "--topic", topic, "--records", "1",
                          "--metrics-addr", ""], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert p.poll() is None, "the first signal ended the wait for metadata"
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=30)
    took = time.monotonic() - t0
    assert p.returncode == 128 + signal.SIGTERM and took < 2, (p.returncode, took)
    print(f"shutdown: a second SIGTERM: exit {p.returncode} after {took:.1f} s")


def test_broker_kill(spate):
    topic = new_topic("broker_kill")
    args = ["--records", "1500000", "--seed", "3", "--rate", "150000"]
    p = subprocess.Popen([spate, "produce", "--brokers", BROKERS, "--topic", topic, "--json",
                          "--no-progress", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(4)
        run([CLUSTER, "kill", "2"])
        out, err = p.communicate(timeout=600)
    finally:
        subprocess.run([CLUSTER, "start", "2"], check=False)
    assert p.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["acknowledged"] == 1500000 and summary["failed"] == 0, summary
    want = expected_by_partition(gen_lines(spate, [a for a in args if a not in ("--rate", "150000")]))
    got = kcat_read(topic, 1500000)
    for q in range(PARTITIONS):
        # Idempotence keeps order and drops retried duplicates: exactly the sequence.
        assert got[q] == want[q], f"partition {q}: {len(got[q])} records, expected {len(want[q])}"
    print("broker_kill: node 2 killed mid-run; all 1500000 acknowledged records present, in order")


def test_version_warning(spate):
    kafka4 = os.environ.get("KAFKA_VERSION", "3.9.1").startswith("4.")
    # The librdkafka that spate loads, asked directly (rd_kafka_version(): 0x020002ff is 2.0.2).
    lib = ctypes.CDLL("librdkafka.so.1").rd_kafka_version()
    expect = kafka4 and lib < 0x020B0100
    topic = new_topic("version_warning")
    r = produce(spate, topic, ["--records", "100"])
    assert r.returncode == 0, r.stderr.decode()
    err = r.stderr.decode()
    warnings = [l for l in err.splitlines() if l.startswith("spate produce: warning: ")]
    if expect:
        assert len(warnings) == 1, err
        assert "Kafka 4.x" in warnings[0] and "older than 2.11.1" in warnings[0], warnings[0]
    else:
        assert warnings == [], err
    # The probe's librdkafka debug output is captured, never printed.
    assert "ApiKey" not in err and "APIVERSION" not in err, err
    print(f"version_warning: Kafka {'4.x' if kafka4 else '3.x'}, librdkafka {lib:#x}:",
          warnings[0] if warnings else "no warning")


def test_produce_input(spate):
    """spate produce --input: a file's lines (zstd, the realistic profile, malformed ones among
    them) as they are, each keyed by its own userId and in its partition in file order; a line
    without a readable userId goes without a key. The same accounting as generated records."""
    topic = new_topic("produce_input")
    n = 50_000
    lines = gen_lines(spate, ["--records", str(n), "--seed", "8", "--profile", "realistic",
                              "--malformed", "0.01"])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tx.jsonl.zst")
        subprocess.run(["zstd", "-q", "-o", path], input=b"\n".join(lines) + b"\n", check=True)
        r = produce(spate, topic, ["--input", path])
    assert r.returncode == 0, r.stderr.decode()
    summary = json.loads(r.stdout)
    assert summary["sent"] == n and summary["acknowledged"] == n, summary
    # A valid JSON line is keyed by its userId; a broken one by its userId if spate could read
    # it before the damage (best effort), else not at all.
    want = {p: [] for p in range(PARTITIONS)}
    broken = {}
    for line in lines:
        try:
            d = json.loads(line)
        except ValueError:
            m = re.search(rb'"userId":"([^"\\]+)"', line)
            broken[line] = m.group(1) if m else b""
            continue
        user = d.get("userId") if isinstance(d, dict) else None
        key = user.encode() if isinstance(user, str) else b""
        if key:
            want[recompute.partition_of(key, PARTITIONS)].append((key, line))
        else:
            broken[line] = b""
    got = kcat_read(topic, n)
    for p in range(PARTITIONS):
        ok = [kv for kv in got[p] if kv[1] not in broken]
        assert ok == want[p], f"partition {p}: {len(ok)} records, expected {len(want[p])}"
        for k, v in got[p]:
            if v in broken:
                assert k in (b"", broken[v]), (k, v)
                assert not k or recompute.partition_of(k, PARTITIONS) == p, (k, p)
    keyless = sum(1 for p in got for k, v in got[p] if not k)
    assert sum(1 for p in got for _, v in got[p] if v in broken) == len(broken)
    r = produce(spate, topic, ["--input", "/nonexistent/tx.jsonl"])
    assert r.returncode == 2 and b"--input" in r.stderr, r.stderr
    print(f"produce_input: {n} records from a zstd file, {keyless} without a key, "
          "per-partition order and bytes equal to the file")


def test_slow_brokers(spate):
    """Brokers slower than the generator: a producer quota of 2 MB/s on spate's client.id makes
    the brokers throttle it. The queue is bounded in bytes by default (32 MiB, as Java's
    buffer.memory), so the generator waits and the process stays under 200 MiB of RSS, where
    the earlier bound of 1 GiB reached 518 MiB in 15 s; every record is still
    acknowledged."""
    topic = new_topic("slow")
    client = "spate-slow-" + uuid.uuid4().hex[:6]
    run([CLUSTER, "quota", client, "2000000"], stdout=subprocess.DEVNULL)
    try:
        r = produce(spate, topic, ["--records", "0", "--duration", "12s"],
                    ["-X", f"client.id={client}"])
    finally:
        run([CLUSTER, "quota", client, "0"], stdout=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr.decode()
    s = json.loads(r.stdout)
    assert s["sent"] > 0 and s["sent"] == s["acknowledged"], s
    assert s["failed"] == 0 and s["unacknowledged"] == 0, s
    rss = s["peakRssBytes"] / 2**20
    assert rss < 200, f"peak RSS {rss:.0f} MiB"
    lat = s["latencyMs"]
    print(f"slow brokers: {s['sent']} records in {s['elapsedSeconds']:.1f} s "
          f"({s['megabytesPerSecond']:.1f} MB/s), peak RSS {rss:.0f} MiB, delivery latency p50 "
          f"{lat['p50']:.0f} ms, p99 {lat['p99']:.0f} ms")


TESTS = {"produce_kcat": test_produce_kcat, "consume": test_consume,
         "slow_brokers": test_slow_brokers,
         "produce_input": test_produce_input,
         "produce_errors": test_produce_errors, "shutdown": test_shutdown,
         "broker_kill": test_broker_kill,
         "version_warning": test_version_warning}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--spate", required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    a = ap.parse_args()
    TESTS[a.test](a.spate)
