#!/usr/bin/env python3
"""Two `spate registry` instances sharing one compacted Kafka topic agree (ctest label `kafka`;
standard library only). Brokers: SPATE_BROKERS, as tests/kafka_test.py.

* a schema registered on instance A is served by B (by id, by subject and version), and a
  compatibility level set on B governs a registration on A;
* a restarted instance reads its state back from the topic;
* unreachable brokers are a clear start-up error.
Exit code 0 = all passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

from checks import FAILURES, check

BROKERS = os.environ.get("SPATE_BROKERS", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")
CT = "application/vnd.schemaregistry.v1+json"
V1 = json.dumps({"type": "record", "name": "Tx", "fields": [{"name": "id", "type": "string"}]})
V2_NO_DEFAULT = json.dumps({"type": "record", "name": "Tx", "fields": [
    {"name": "id", "type": "string"}, {"name": "n", "type": "int"}]})


def start(spate: str, topic: str):
    proc = subprocess.Popen([spate, "registry", "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--brokers", BROKERS,
                             "--topic", topic], stderr=subprocess.PIPE, text=True)
    seen = ""
    while True:  # librdkafka's log lines may come first
        line = proc.stderr.readline()
        seen += line
        m = re.search(r"listening on (http://[\d.]+:\d+)", line)
        if m:
            return proc, m.group(1)
        if not line:
            proc.kill()
            raise RuntimeError("spate registry did not start: " + seen)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return proc.returncode


def call(url: str, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": CT})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def eventually(fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spate", default="build/spate")
    spate = os.path.abspath(ap.parse_args().spate)
    topic = "_schemas_test_" + uuid.uuid4().hex[:8]
    print(f"two instances on {topic} at {BROKERS}")
    a, url_a = start(spate, topic)
    b, url_b = start(spate, topic)
    try:
        st, reg = call(url_a, "POST", "/subjects/tx-value/versions", {"schema": V1})
        check(st == 200, f"register on A ({st} {reg})")
        sid = reg.get("id")
        check(eventually(lambda: call(url_b, "GET", f"/schemas/ids/{sid}")[0] == 200),
              "B serves the id A assigned")
        st, v = call(url_b, "GET", "/subjects/tx-value/versions/latest")
        check(st == 200 and v.get("id") == sid and v.get("version") == 1, f"B: version 1 ({v})")
        st, _ = call(url_b, "PUT", "/config/tx-value", {"compatibility": "NONE"})
        check(st == 200, "set NONE for the subject on B")
        check(eventually(lambda: call(url_a, "GET", "/config/tx-value")[1]
                         .get("compatibilityLevel") == "NONE"), "A sees B's config")
        st, reg2 = call(url_a, "POST", "/subjects/tx-value/versions", {"schema": V2_NO_DEFAULT})
        check(st == 200 and reg2.get("id") == sid + 1,
              f"A registers an incompatible schema under B's NONE ({st} {reg2})")
    finally:
        check(stop(a) == 0, "A stops cleanly")
    a, url_a = start(spate, topic)
    try:
        st, versions = call(url_a, "GET", "/subjects/tx-value/versions")
        check(st == 200 and versions == [1, 2], f"restarted A reads its state back ({versions})")
        check(eventually(lambda: call(url_b, "GET", "/subjects/tx-value/versions")[1] == [1, 2]),
              "B agrees")
    finally:
        stop(a)
        check(stop(b) == 0, "B stops cleanly")
    proc = subprocess.run([spate, "registry", "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--brokers",
                           "127.0.0.1:1", "-X", "socket.connection.setup.timeout.ms=2000"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    check(proc.returncode == 1 and "127.0.0.1:1" in proc.stderr,
          f"unreachable brokers: a clear error ({proc.stderr.strip()})")
    if FAILURES:
        print(f"{len(FAILURES)} FAILED")
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
