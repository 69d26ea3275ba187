#!/usr/bin/env python3
"""Refused security settings against the secure local cluster (`cluster.sh up --secure`,
ctest label `kafka-secure`; the other tests of that label are the plain cluster's tests run
with SPATE_KAFKA_CONFIG and KCAT_CONFIG naming the cluster's client.properties).

  refused  spate produce, consume, aggregate, index and registry (its Kafka store), each with
           a wrong password, with a CA that did not sign the brokers' certificate, and as a
           plaintext client at the SASL_SSL listeners: exit 1 within 30 s with one line on
           stderr that says what the brokers refused; the wrong password is never printed.

Environment: SPATE_BROKERS and SPATE_KAFKA_DIR (the secure cluster's directory).
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402

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
            t0 = time.time()
            try:
                r = subprocess.run(cmd + ["-F", conf], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=30, env=env)
            except subprocess.TimeoutExpired:
                failures.append(f"{name} with {what}: still running after 30 s")
                continue
            took = time.time() - t0
            lines = [line for line in r.stderr.splitlines() if line.strip()]
            print(f"  {name}, {what}: exit {r.returncode} in {took:.1f} s: "
                  f"{lines[0][:110] if lines else ''}...")
            if r.returncode != 1 or len(lines) != 1 or "refuse" not in lines[0] or \
                    reason not in lines[0]:
                failures.append(f"{name} with {what}: exit {r.returncode}, stderr {r.stderr!r}")
            if SENTINEL in r.stderr + r.stdout:
                failures.append(f"{name} with {what}: the password was printed")
    return failures


TESTS = {"refused": test_refused}

if __name__ == "__main__":
    sys.exit(checks.run_named(TESTS, "kafka secure"))
