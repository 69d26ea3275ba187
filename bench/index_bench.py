#!/usr/bin/env python3
"""spate index against opensearch-py's helpers.parallel_bulk, same documents, same node.

  bench/index_bench.py --spate build/spate --records 200000

Needs the local Kafka cluster (deploy/kafka/cluster.sh up; SPATE_BROKERS) and OpenSearch
(deploy/opensearch/opensearch.sh up; SPATE_OPENSEARCH_PORT). It makes N transactions with
`spate gen` (no malformed records) into a fresh topic, then, in alternating order for --warmup
uncounted and --reps counted repetitions, into fresh indices with the same mapping:
  - spate index -e on that topic (--batch-docs 2000, --inflight 4), wall time of the process;
  - opensearch-py's parallel_bulk (thread_count 4, chunk_size 2000) on the very documents
    spate sent (same _ids, sources and external versions, read from a file), wall time of the
    Python process.
Both are checked: each index must hold N documents afterwards. Prints a markdown table of
documents/s and CPU-seconds (user + sys) of the client process, and of the OpenSearch node and
the Kafka brokers during the run (from their pid files: SPATE_OPENSEARCH_DIR, SPATE_KAFKA_DIR),
the machine's load, and the ceiling that the node's and brokers' CPU put on any client here.
opensearch-py is installed into bench/.venv (SPATE_BENCH_VENV) on first use.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROKERS = os.environ.get("SPATE_BROKERS", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")
ES = "http://127.0.0.1:" + os.environ.get("SPATE_OPENSEARCH_PORT", "9200")
sys.path.insert(0, str(ROOT / "tests"))
import recompute  # noqa: E402


def venv_python():
    venv = Path(os.environ.get("SPATE_BENCH_VENV", ROOT / "bench/.venv"))
    py = venv / "bin/python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if subprocess.run([str(py), "-c", "import opensearchpy"], capture_output=True).returncode:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "opensearch-py>=2.4,<4"], check=True)
    return str(py)


def es(method, path, body=None):
    req = urllib.request.Request(ES + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def count(index):
    es("POST", f"/{index}/_refresh")
    return es("GET", f"/{index}/_count")["count"]


def process_cpu(pid_files):
    """User + system CPU seconds of the processes named by the pid files (those that run)."""
    total = 0.0
    for f in pid_files:
        try:
            stat = Path(f"/proc/{Path(f).read_text().strip()}/stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def server_cpu():
    """CPU seconds so far of the OpenSearch node and of the Kafka brokers (their pid files)."""
    node = Path(os.environ.get("SPATE_OPENSEARCH_DIR", "/tmp/spate-opensearch")) / "pid"
    brokers = Path(os.environ.get("SPATE_KAFKA_DIR", "/tmp/spate-kafka")).glob("node*/pid")
    return process_cpu([node]), process_cpu(brokers)


def timed(cmd):
    """Runs cmd; returns (stdout, wall seconds, CPU seconds of the child, of the OpenSearch
    node and of the brokers meanwhile)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    node0, brokers0 = server_cpu()
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    node1, brokers1 = server_cpu()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r.stdout.decode(), wall, cpu, node1 - node0, brokers1 - brokers0


def bulk_file(spate, n, path):
    """The _bulk body spate index sends for the topic's records, rebuilt from `spate gen`:
    _id = transactionId, version = the record's offset in its partition, source = the line plus
    amountCents. Checked against spate's own output by the document count afterwards."""
    lines = recompute.split_lines(subprocess.run(
        [spate, "gen", "--records", str(n), "--malformed", "0"], check=True,
        stdout=subprocess.PIPE).stdout)
    offsets = {}
    with open(path, "w") as f:
        for line in lines:
            d = json.loads(line)
            p = recompute.partition_of(d["userId"].encode(), 6)
            o = offsets.get(p, 0)
            offsets[p] = o + 1
            text = line.decode()
            cents = recompute.amount_cents(text.split('"amount":')[1].split(",")[0])
            f.write(json.dumps({"index": {"_id": d["transactionId"], "version": o}}) + "\n")
            f.write(text[:-1] + f',"amountCents":{cents}}}' + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spate", default=str(ROOT / "build/spate"))
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="uncounted repetitions first")
    ap.add_argument("--no-id-bloom-filter", action="store_true",
                    help="spate index --no-id-bloom-filter, and the same template for Python")
    a = ap.parse_args()
    py = venv_python()
    tag = uuid.uuid4().hex[:6]
    topic = f"index_bench_{tag}"
    subprocess.run([ROOT / "deploy/kafka/cluster.sh", "topic", topic, "6"], check=True)
    subprocess.run([a.spate, "produce", "--brokers", BROKERS, "--topic", topic, "--records",
                    str(a.records), "--malformed", "0", "--no-progress", "--metrics-addr", ""],
                   check=True, stderr=subprocess.DEVNULL)
    docs = Path(f"/tmp/index_bench_{tag}.ndjson")
    bulk_file(a.spate, a.records, docs)
    rows = {"spate index": [], "opensearch-py parallel_bulk": []}
    load = os.getloadavg()
    template = None
    # Warm-up runs of both clients (not counted): the node's JIT and caches are cold after a
    # start, and in earlier runs the first measured repetition of either client was the
    # slowest by far.
    for rep in range(-a.warmup, a.reps):
        # spate first in the first repetition: its template gives the mapping both use.
        order = ["spate", "python"] if (rep + a.warmup) % 2 == 0 else ["python", "spate"]
        for who in order:
            index = f"bench-{tag}-{who}-{rep}"
            if who == "spate":
                out, wall, cpu, node_cpu, brokers_cpu = timed([a.spate, "index", "--brokers", BROKERS, "--topic", topic,
                                        "--group", f"bench_{index}", "--es", ES, "--index", index,
                                        "--metrics-addr", "", "--no-progress", "--json", "-e",
                                        *(["--no-id-bloom-filter"] if a.no_id_bloom_filter else [])])
                name = "spate index"
                if template is None:
                    template = es("GET", f"/_index_template/spate-{index}")[
                        "index_templates"][0]["index_template"]["template"]
                    print(f"  template settings: {template.get('settings', {})}", file=sys.stderr)
                es("DELETE", f"/_index_template/spate-{index}")
            else:
                # The template spate installed (mapping and settings) for the Python indices too.
                es("PUT", f"/_index_template/bench-{tag}-python", {
                    "index_patterns": [f"bench-{tag}-python-*"], "priority": 300,
                    "template": template})
                out, wall, cpu, node_cpu, brokers_cpu = timed([py, str(ROOT / "bench/baselines/python/opensearch_parallel_bulk.py"),
                                        "--es", ES, "--index", index, "--docs", str(docs)])
                name = "opensearch-py parallel_bulk"
            n = count(index)
            if n != a.records:
                sys.exit(f"{name}: {n} documents in {index}, expected {a.records}")
            if rep >= 0:
                rows[name].append((a.records / wall, cpu, node_cpu, brokers_cpu))
            print(f"  {name}: {a.records / wall:,.0f} docs/s ({wall:.1f} s wall, {cpu:.1f} CPU-s; "
                  f"node {node_cpu:.1f}, brokers {brokers_cpu:.1f})"
                  f"{' (warm-up)' if rep < 0 else ''}", file=sys.stderr)
            es("DELETE", f"/{index}")
    docs.unlink()
    es("DELETE", f"/_index_template/bench-{tag}-python")
    bloom = template.get("settings", {}).get("index", {}).get("optimize_doc_id_lookup")
    print(f"\n{a.records:,} transactions, {a.reps} runs each after {a.warmup} warm-up, alternating; "
          f"_id bloom filter {'on' if bloom else 'off'}; load average at start "
          f"{load[0]:.1f}\n")
    print("| client | docs/s (median) | client CPU-s | node CPU-s | node µs/doc | brokers CPU-s "
          "| runs |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, r in rows.items():
        med = [statistics.median(run[i] for run in r) for i in range(4)]
        print(f"| {name} | {med[0]:,.0f} | {med[1]:.1f} | {med[2]:.1f} | "
              f"{med[2] / a.records * 1e6:.1f} | {med[3]:.1f} | "
              f"{', '.join(f'{run[0]:,.0f}' for run in r)} |")
    s = statistics.median(run[0] for run in rows["spate index"])
    p = statistics.median(run[0] for run in rows["opensearch-py parallel_bulk"])
    print(f"\nspate index / parallel_bulk: {s / p:.2f}x (target >= 2x)")
    # The node and the brokers share this machine's cores with the client. Even a client that
    # cost no CPU at all could not index faster than the cores can run the node and the
    # brokers for these documents (their CPU-s in spate's runs).
    cores = os.cpu_count()
    server = statistics.median(run[2] + run[3] for run in rows["spate index"])
    ceiling = a.records / (server / cores)
    print(f"ceiling for any client on these {cores} cores (node + brokers: {server:.1f} CPU-s "
          f"in spate's runs): {ceiling:,.0f} docs/s = {ceiling / p:.2f}x parallel_bulk; "
          f"spate index reaches {s / ceiling:.0%} of it")


if __name__ == "__main__":
    main()
