#!/usr/bin/env python3
"""Produce + aggregate together on the local cluster: the rate the pair sustains, with lag.

  bench/kafka_e2e.py --rate 50000 --duration 300      # 5 minutes at 50k records/s
  bench/kafka_e2e.py --rate 0 --duration 60           # the producer unthrottled

`spate produce --rate R --duration D` writes a fresh 6-partition topic while `spate aggregate`
consumes it (exactly-once, default settings). Every --interval seconds the aggregator's
Prometheus endpoint is scraped for its consumer lag on the input (records) and the records it
has processed. After the producer ends, the aggregator runs on until its lag is 0 (the drain
time), then stops with SIGTERM. CPU-seconds come from each process's own accounting (rusage
of spate produce and spate aggregate; /proc/PID/stat of the brokers, from the cluster's pid
files). Prints one JSON object, then a markdown summary on stderr. The run's topics, the
aggregator's repartition topic and changelog included, are deleted at the end (--keep-topics
keeps them): at 150,000 records/s a 5-minute run writes about 35 GB with 3 replicas.

Environment: SPATE_BROKERS and SPATE_KAFKA_DIR / SPATE_KAFKA_PORT_OFFSET as for
deploy/kafka/cluster.sh (the cluster must be up: deploy/kafka/cluster.sh up).
"""
import argparse
import glob
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(ROOT, "deploy", "kafka", "cluster.sh")
BROKERS = os.environ.get("SPATE_BROKERS", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")
KAFKA_DIR = os.environ.get("SPATE_KAFKA_DIR", "/tmp/spate-kafka")


def broker_cpu_seconds():
    total = 0
    for f in glob.glob(os.path.join(KAFKA_DIR, "node*", "pid")):
        try:
            with open(f) as fh, open(f"/proc/{fh.read().strip()}/stat") as st:
                fields = st.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


# Partitions of other topics per broker past which a run warns: on 2026-12-06, about 1,200 left by
# earlier benchmarks cut the end-to-end rate by a third (bench/README.md).
LEFTOVER_WARN = 300


def leftover_partitions():
    """The most partitions of non-internal topics that any broker holds (data directories),
    or None when the cluster's directory is not readable here."""
    counts = []
    for data in glob.glob(os.path.join(KAFKA_DIR, "node*", "data")):
        try:
            names = os.listdir(data)
        except OSError:
            continue
        counts.append(sum(1 for n in names if re.fullmatch(r"[^_].*-\d+", n)))
    return max(counts) if counts else None


def scrape(addr, topic):
    """(input lag in records or None, records processed) from the aggregator's /metrics."""
    try:
        text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=2).read().decode()
    except OSError:
        return None, None
    lag, seen, processed = 0, False, None
    for line in text.splitlines():
        if line.startswith("spate_kafka_consumer_lag{") and f'topic="{topic}"' in line:
            lag += float(line.rsplit(" ", 1)[1])
            seen = True
        m = re.match(r'spate_records_sent_total\{component="generator"\} (\S+)', line)
        if m:
            processed = float(m.group(1))
    return (lag if seen else None), processed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spate", default=os.path.join(ROOT, "build", "spate"))
    ap.add_argument("--rate", type=float, default=50_000, help="producer records/s (0: unthrottled)")
    ap.add_argument("--duration", type=float, default=300, help="producer seconds")
    ap.add_argument("--format", default="json")
    ap.add_argument("--partitions", default="6")
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--metrics-port", type=int, default=19466)
    ap.add_argument("--drain-timeout", type=float, default=300)
    ap.add_argument("--keep-topics", action="store_true",
                    help="keep the run's topics (deleted by default: about 35 GB a run at 150k/s)")
    a = ap.parse_args()

    tag = uuid.uuid4().hex[:6]
    topics = {k: f"e2e_{k}_{tag}" for k in ("in", "agg", "tot", "anom", "late", "dlq")}
    # The aggregator's own topics too: the repartition topic and the changelog.
    made = list(topics.values()) + [f"e2e_{tag}-repartition", f"e2e_{tag}-changelog"]
    try:
        for t in topics.values():
            subprocess.run([CLUSTER, "topic", t, a.partitions], check=True)
        measure(a, topics, tag)
    finally:
        if not a.keep_topics:
            subprocess.run([CLUSTER, "delete", *made], stdout=subprocess.DEVNULL)


def measure(a, topics, tag):
    addr = f"127.0.0.1:{a.metrics_port}"
    agg_cmd = [a.spate, "aggregate", "--brokers", BROKERS, "--input", topics["in"], "--group",
               f"e2e_{tag}", "--aggregates-topic", topics["agg"], "--totals-topic", topics["tot"],
               "--anomalies-topic", topics["anom"], "--late-topic", topics["late"],
               "--dlq-topic", topics["dlq"], "--metrics-addr", addr, "--no-progress", "--json",
               "--format", a.format]
    prod_cmd = [a.spate, "produce", "--brokers", BROKERS, "--topic", topics["in"], "--records", "0",
                "--duration", f"{int(a.duration)}s", "--rate", str(int(a.rate)), "--format", a.format,
                "--metrics-addr", "", "--no-progress", "--json"]
    leftover = leftover_partitions()
    if leftover is not None and leftover > LEFTOVER_WARN:
        print(f"warning: a broker holds {leftover} partitions of other topics, left by earlier runs? "
              f"They slow this one; `deploy/kafka/cluster.sh up --fresh` starts clean.",
              file=sys.stderr)
    cpu0 = broker_cpu_seconds()
    t0 = time.time()
    agg = subprocess.Popen(agg_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2)
    prod = subprocess.Popen(prod_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    samples = []  # (seconds since the producer started, lag, processed)
    tp = time.time()
    prod_usage = None
    while True:
        if prod_usage is None:
            pid, status, usage = os.wait4(prod.pid, os.WNOHANG)
            if pid:
                prod_usage, prod_status = usage, os.waitstatus_to_exitcode(status)
                prod_end = time.time() - tp
        lag, processed = scrape(addr, topics["in"])
        now = time.time() - tp
        samples.append((round(now, 1), lag, processed))
        print(f"  t={now:6.1f}s lag={lag} processed={processed}", file=sys.stderr)
        if agg.poll() is not None:
            sys.exit("the aggregator stopped: " + agg.stderr.read().decode()[-2000:])
        if prod_usage is not None and lag == 0:
            break
        if prod_usage is not None and now - prod_end > a.drain_timeout:
            break
        time.sleep(a.interval)
    drain = time.time() - tp - prod_end
    agg.send_signal(signal.SIGTERM)
    _, _, agg_usage = os.wait4(agg.pid, 0)
    agg_out = agg.stdout.read().decode()
    prod_out = prod.stdout.read().decode()
    if prod_status != 0:
        sys.exit("spate produce failed: " + prod.stderr.read().decode()[-2000:])
    ps = json.loads(prod_out)
    asum = json.loads(agg_out)
    lags = [s[1] for s in samples if s[1] is not None]
    during = [s[1] for s in samples if s[1] is not None and s[0] <= prod_end]
    half = len(during) // 2
    result = {
        "rateTarget": a.rate, "durationSeconds": a.duration, "format": a.format,
        "produced": ps.get("acknowledged", ps.get("records")),
        "producerRecordsPerSecond": ps.get("recordsPerSecond"),
        "producerSeconds": round(prod_end, 1),
        "aggregated": asum["records"],
        "endToEndRecordsPerSecond": round(asum["records"] / (prod_end + drain), 1),
        "drainSeconds": round(drain, 1),
        "lagMax": max(lags) if lags else None,
        "lagMaxFirstHalf": max(during[:half]) if half else None,
        "lagMaxSecondHalf": max(during[half:]) if during[half:] else None,
        "cpuSecondsProducer": round(prod_usage.ru_utime + prod_usage.ru_stime, 1),
        "cpuSecondsAggregator": round(agg_usage.ru_utime + agg_usage.ru_stime, 1),
        "cpuSecondsBrokers": round(broker_cpu_seconds() - cpu0, 1),
        "wallSeconds": round(time.time() - t0, 1),
        "otherPartitionsPerBroker": leftover,
        "samples": samples,
    }
    print(json.dumps(result))
    r = result
    print(f"\n| target rec/s | produced rec/s | end-to-end rec/s | lag max (1st half / 2nd half) | "
          f"drain s | CPU-s producer / aggregator / brokers |\n|---:|---:|---:|---|---:|---|\n"
          f"| {a.rate:,.0f} | {r['producerRecordsPerSecond']:,.0f} | {r['endToEndRecordsPerSecond']:,.0f} | "
          f"{r['lagMax']:,.0f} ({r['lagMaxFirstHalf']:,.0f} / {r['lagMaxSecondHalf']:,.0f}) | "
          f"{r['drainSeconds']} | {r['cpuSecondsProducer']} / {r['cpuSecondsAggregator']} / "
          f"{r['cpuSecondsBrokers']} |", file=sys.stderr)


if __name__ == "__main__":
    main()
