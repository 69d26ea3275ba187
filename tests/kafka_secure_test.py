#!/usr/bin/env python3
"""Refused security settings against the secure local cluster (`cluster.sh up --secure`,
ctest label `kafka-secure`; the other tests of that label are the plain cluster's tests run
with SPATE_KAFKA_CONFIG and KCAT_CONFIG naming the cluster's client.properties).

  refused  spate produce, consume, aggregate, index and registry (its Kafka store), each with
           a wrong password, with a CA that did not sign the brokers' certificate, and as a
           plaintext client at the SASL_SSL listeners: exit 1 within 30 s with one line on
           stderr that says what the brokers refused; the wrong password is never printed.

  secrets  the cluster's real password (in the -F file), an OpenSearch password (a file) and a
           schema-registry password (the environment) are the sentinels: produce, consume,
           aggregate, registry and index run against the cluster with metrics on; nothing they
           print (--json summaries, logs) and no metric they serve holds a sentinel.

Environment: SPATE_BROKERS and SPATE_KAFKA_DIR (the secure cluster's directory);
SPATE_OPENSEARCH_PORT for `secrets` (default 9200).
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from aggregate_test import CLUSTER  # noqa: E402
from index_test import free_port  # noqa: E402

BROKERS = os.environ.get("SPATE_BROKERS", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")
DIR = os.environ.get("SPATE_KAFKA_DIR", "/tmp/spate-kafka")
SENTINEL = "sentinel-pw-7f3a9c"


def properties(path, **changes):
    """The cluster's client.properties with some settings changed (None: left out)."""
    lines = {}
    with open(os.path.join(DIR, "client.properties")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            lines[k] = v
    lines.update(changes)
    with open(path, "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in lines.items() if v is not None)
    return path


def commands(spate):
    common = ["--brokers", BROKERS, "--metrics-addr", ""]
    return {
        "produce": [spate, "produce", *common, "--topic", "financial_transactions", "--records",
                    "10", "--no-progress"],
        "consume": [spate, "consume", "--brokers", BROKERS, "--topic", "financial_transactions",
                    "-e"],
        "aggregate": [spate, "aggregate", *common, "--input", "financial_transactions", "-e",
                      "--no-progress"],
        "index": [spate, "index", *common, "--topic", "transaction_aggregates", "--es",
                  "http://127.0.0.1:9", "-e", "--no-progress"],
        "registry": [spate, "registry", "--listen", "127.0.0.1:0", "--metrics-addr", "",
                     "--brokers", BROKERS],
    }


def test_refused(spate):
    d = tempfile.mkdtemp()
    other_ca = os.path.join(d, "other-ca.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=not the cluster's CA", "-keyout", os.path.join(d, "other.key"),
                    "-out", other_ca], check=True, capture_output=True)
    cases = {
        "a wrong password": (properties(os.path.join(d, "pw"), **{"sasl.password": SENTINEL}),
                             "SASL authentication"),
        "an unknown CA": (properties(os.path.join(d, "ca"), **{"ssl.ca.location": other_ca}),
                          "certificate verify failed"),
        "plaintext": (properties(os.path.join(d, "plain"), **{
            "security.protocol": "plaintext", "sasl.mechanisms": None, "sasl.username": None,
            "sasl.password": None, "ssl.ca.location": None}), "security.protocol"),
    }
    env = {k: v for k, v in os.environ.items() if k not in ("SPATE_KAFKA_CONFIG", "KCAT_CONFIG")}
    failures = []
    for name, cmd in commands(spate).items():
        for what, (conf, reason) in cases.items():
            t0 = time.monotonic()
            try:
                r = subprocess.run(cmd + ["-F", conf], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=30, env=env)
            except subprocess.TimeoutExpired:
                failures.append(f"{name} with {what}: still running after 30 s")
                continue
            took = time.monotonic() - t0
            lines = [line for line in r.stderr.splitlines() if line.strip()]
            print(f"  {name}, {what}: exit {r.returncode} in {took:.1f} s: "
                  f"{lines[0][:110] if lines else ''}...")
            if r.returncode != 1 or len(lines) != 1 or "refuse" not in lines[0] or \
                    reason not in lines[0]:
                failures.append(f"{name} with {what}: exit {r.returncode}, stderr {r.stderr!r}")
            if SENTINEL in r.stderr + r.stdout:
                failures.append(f"{name} with {what}: the password was printed")
    return failures


def test_secrets(spate):
    conf = os.path.join(DIR, "client.properties")
    with open(conf) as f:
        kafka_pw = next(line.strip().split("=", 1)[1] for line in f
                        if line.startswith("sasl.password="))
    es_pw, sr_pw = "sentinel-es-3c1d", "sentinel-sr-9e2b"
    sentinels = (kafka_pw, es_pw, sr_pw)
    d = tempfile.mkdtemp()
    pw_file = os.path.join(d, "es-pw")
    with open(pw_file, "w") as f:
        f.write(es_pw + "\n")
    tag = uuid.uuid4().hex[:6]
    topic, agg = f"sec_in_{tag}", f"sec_agg_{tag}"
    for t in (topic, agg, f"sec_dlq_{tag}"):
        subprocess.run([CLUSTER, "topic", t, "3"], check=True)
    env = {**os.environ, "SPATE_SCHEMA_REGISTRY_AUTH": f"u:{sr_pw}"}
    env.pop("SPATE_KAFKA_CONFIG", None)
    reg_port = free_port()
    registry = subprocess.Popen([spate, "registry", "--listen", f"127.0.0.1:{reg_port}",
                                 "--metrics-addr", "127.0.0.1:0", "--brokers", BROKERS, "-F", conf,
                                 "--topic", f"_schemas_{tag}"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    es = f"http://127.0.0.1:{os.environ.get('SPATE_OPENSEARCH_PORT', '9200')}"
    k = ["--brokers", BROKERS, "-F", conf]
    runs = {  # name: (argv, seconds before the scrape; then SIGTERM, except for produce)
        "produce": ([spate, "produce", *k, "--topic", topic, "--records", "20000", "--rate",
                     "5000", "--format", "avro", "--schema-registry", f"http://127.0.0.1:{reg_port}",
                     "--json", "--no-progress"], 2.0),
        "aggregate": ([spate, "aggregate", *k, "--input", topic, "--format", "avro",
                       "--schema-registry", f"http://127.0.0.1:{reg_port}", "--group", f"g_{tag}",
                       "--aggregates-topic", agg, "--dlq-topic", f"sec_dlq_{tag}", "--json",
                       "--no-progress"], 4.0),
        "consume": ([spate, "consume", *k, "--topic", agg, "-G", f"c_{tag}"], 2.0),
        "index": ([spate, "index", *k, "--topic", agg, "--es", es, "--user", "u",
                   "--password-file", pw_file, "--index", f"spate-sec-{tag}", "--group", f"i_{tag}",
                   "--dlq-topic", f"sec_dlq_{tag}", "--json", "--no-progress"], 3.0),
    }
    failures = []
    try:
        time.sleep(2)  # the registry opens its topic
        for name, (argv, wait) in runs.items():
            port = free_port()
            p = subprocess.Popen(argv + ["--metrics-addr", f"127.0.0.1:{port}"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
            time.sleep(wait)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    metrics = r.read().decode()
            except OSError as e:
                metrics = ""
                failures.append(f"{name}: no metrics on 127.0.0.1:{port}: {e}")
            if name != "produce":  # it ends by itself, every record acknowledged
                p.send_signal(signal.SIGTERM)
            out = p.communicate(timeout=60)[0].decode(errors="replace")
            leaked = [s for s in sentinels if s in out or s in metrics]
            print(f"  {name}: exit {p.returncode}, {len(out)} bytes printed, {len(metrics)} bytes "
                  f"of metrics, {'a secret leaked' if leaked else 'no secret'}")
            if p.returncode != 0 or leaked:
                failures.append(f"{name}: exit {p.returncode}, leaked {len(leaked)} sentinel(s): "
                                f"{out[-600:]}")
    finally:
        registry.send_signal(signal.SIGTERM)
        reg_out = registry.communicate(timeout=60)[0].decode(errors="replace")
    if any(s in reg_out for s in sentinels):
        failures.append("registry: a secret in what it printed")
    return failures


TESTS = {"refused": test_refused, "secrets": test_secrets}

if __name__ == "__main__":
    sys.exit(checks.run_named(TESTS, "kafka secure"))
