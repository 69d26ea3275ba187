#!/usr/bin/env python3
"""spate index against a misbehaving cluster: OpenSearch behind a proxy in this test (ctest
label `es`).

  proxy  the proxy answers some `_bulk` requests with 429 or 503 as a whole, answers some slowly
         (after --request-timeout, having forwarded them), and in the others refuses single
         documents: a document's first attempt with 429 now and then, and the documents whose
         transactionId starts with "00" with 503 every time. spate index -e exits 0; every
         other document is indexed exactly once; each always-refused one is a dead letter
         `retries_exhausted` after --max-retries, with the last status; nothing else is.

  group  spate index -e shares its group with another member that holds half the partitions
         and never commits (spate consume -G with auto commit off), then is killed with -9 and
         stays a member until its session times out. spate index -e reads its own half to
         the end and waits: it exits only once the group's rebalance has handed it the other
         half and it has indexed that too. Every record is indexed, and the group's committed
         offsets are at the partitions' ends.

Environment: as tests/index_test.py.
"""
import base64
import collections
import http.server
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import checks  # noqa: E402
import index_test as it  # noqa: E402
import recompute  # noqa: E402


def refused_always(source: bytes) -> bool:
    return json.loads(source).get("transactionId", "").startswith("00")


class Proxy(http.server.ThreadingHTTPServer):
    """Forwards to OpenSearch, with the faults above. Counts what it did."""
    daemon_threads = True

    def __init__(self, seed):
        super().__init__(("127.0.0.1", 0), Handler)
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.seen = set()  # _ids refused once already
        self.done = collections.Counter()

    def roll(self):
        with self.lock:
            return self.rng.random()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self, body):
        req = urllib.request.Request(it.ES + self.path, data=body, method=self.command,
                                     headers={"Content-Type": self.headers.get(
                                         "Content-Type", "application/json")})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a slow answer: the client gave up, as intended

    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        if not self.path.startswith("/_bulk"):
            return self.answer(*self.forward(body))
        p, s = self.server, self.server.roll()
        if s < 0.1:
            p.done["request_429"] += 1
            return self.answer(429, b'{"error":{"type":"es_rejected_execution_exception"},"status":429}')
        if s < 0.2:
            p.done["request_503"] += 1
            return self.answer(503, b'{"error":{"type":"unavailable"},"status":503}')
        lines = body.split(b"\n")
        kept, items = [], []  # items: the reply's entries, None where OpenSearch's goes
        for action, source in zip(lines[0::2], lines[1::2]):
            op = next(iter(json.loads(action)))
            _id = json.loads(action)[op].get("_id")
            if refused_always(source):
                p.done["item_503"] += 1
                items.append({op: {"status": 503, "error": {
                    "type": "unavailable_shards_exception", "reason": "proxy: never this one"}}})
                continue
            with p.lock:
                first = _id not in p.seen
                p.seen.add(_id)
            if first and p.rng.random() < 0.1:
                p.done["item_429"] += 1
                items.append({op: {"status": 429, "error": {
                    "type": "es_rejected_execution_exception", "reason": "proxy: not now"}}})
                continue
            kept += [action, source]
            items.append(None)
        theirs = []
        if kept:
            status, reply = self.forward(b"\n".join(kept) + b"\n")
            if status != 200:
                return self.answer(status, reply)
            theirs = json.loads(reply).get("items", [])
        merged = iter(theirs)
        items = [x if x is not None else next(merged) for x in items]
        reply = json.dumps({"errors": True, "items": items}).encode()
        if s < 0.25:  # slow: answered after the client gave up (it retries; 409s then)
            p.done["slow"] += 1
            time.sleep(1.5)
        self.answer(200, reply)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any


def test_proxy(spate):
    tag = uuid.uuid4().hex[:6]
    t = it.topics("esf_" + tag, ("in", "dlq"))
    index = f"spate-esf-{tag}"
    n = 20_000
    it.produce(spate, t["in"], n, it.clean_args(35))
    records = recompute.split_lines(subprocess.run(
        [spate, "gen", "--records", str(n), *it.clean_args(35)], check=True,
        stdout=subprocess.PIPE).stdout)
    refused = {json.loads(r)["transactionId"] for r in records if refused_always(r)}
    want = {json.loads(r)["transactionId"] for r in records} - refused
    proxy = Proxy(seed=35)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    failures = []
    try:
        cmd = it.index_cmd(spate, [t["in"]], index, "gf_" + tag, dlq=t["dlq"],
                           extra=["--batch-docs", "500", "--max-retries", "3",
                                  "--retry-max-backoff", "1s", "--request-timeout", "1s",
                                  *it.own_template(spate, index, failures)])
        cmd[cmd.index("--es") + 1] = f"http://127.0.0.1:{proxy.server_address[1]}"
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    finally:
        proxy.shutdown()
    if r.returncode != 0:
        return failures + [f"spate index exited {r.returncode}: {r.stderr.decode()[-2000:]}"]
    summary = json.loads(r.stdout)
    print(f"  the proxy: {dict(proxy.done)}; spate index: {summary}")
    for what in ("request_429", "request_503", "item_429", "item_503", "slow"):
        if proxy.done[what] == 0:
            failures.append(f"the proxy never did {what}: the test proves less than it says")
    docs = it.all_docs(index)
    ids = [d["transactionId"] for _, d in docs]
    if len(ids) != len(set(ids)) or set(ids) != want:
        failures.append(f"{len(ids)} documents ({len(set(ids))} distinct), expected {len(want)}: "
                        f"{len(want - set(ids))} missing, {len(set(ids) - want)} unexpected")
    dead = [json.loads(line) for line in it.read(t["dlq"])]
    got = collections.Counter(json.loads(base64.b64decode(d["payload"]))["transactionId"]
                              for d in dead)
    if got != collections.Counter(refused):
        failures.append(f"{sum(got.values())} dead letters, expected the {len(refused)} always "
                        f"refused documents once each")
    bad = [d for d in dead if d["error"] != "retries_exhausted" or "HTTP 503" not in d["reason"]
           or "refused 4 times" not in d["reason"]]
    if bad:
        failures.append(f"{len(bad)} dead letters without the reason expected, e.g. {bad[0]}")
    if summary["retries"] == 0 or summary["deadLetters"] != len(refused):
        failures.append(f"summary: {summary}")
    print(f"  {len(ids)} documents indexed once each; {len(dead)} dead letters, e.g. "
          f"{dead[0]['reason'] if dead else '-'}")
    return failures


def test_group(spate):
    tag = uuid.uuid4().hex[:6]
    t = it.topics("esg_" + tag, ("in", "dlq"))
    index, group = f"spate-esg-{tag}", "gg_" + tag
    n = 20_000
    it.produce(spate, t["in"], n, it.clean_args(36))
    # The other member: reads every record it is given, commits none.
    other = subprocess.Popen([spate, "consume", "--brokers", it.BROKERS, "--topic", t["in"], "-G",
                              group, "--metrics-addr", "", "-X", "enable.auto.commit=false",
                              "-X", "session.timeout.ms=6000"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures = []
    log = tempfile.TemporaryFile()
    try:
        time.sleep(4)  # joined, with all six partitions
        p = subprocess.Popen(it.index_cmd(spate, [t["in"]], index, group, dlq=t["dlq"]),
                             stdout=subprocess.PIPE, stderr=log)
        deadline, waited = time.monotonic() + 60, ""
        while time.monotonic() < deadline and p.poll() is None and "waiting for the others" not in waited:
            time.sleep(0.5)
            log.seek(0)
            waited = log.read().decode(errors="replace")
        if p.poll() is not None:
            failures.append(f"spate index -e exited ({p.returncode}) while another member held "
                            f"partitions it had not read; {it.count(index)} of {n} indexed")
        else:
            print(f"  with half the partitions read: {it.count(index)} of {n} indexed, waiting")
        other.kill()  # no LeaveGroup: a member until its session times out (6 s)
        t0 = time.monotonic()
        out, _ = p.communicate(timeout=120)
        log.seek(0)
        if p.returncode != 0:
            return failures + [f"spate index -e exited {p.returncode}: {log.read().decode()[-1500:]}"]
        print(f"  the other member killed; spate index -e done {time.monotonic() - t0:.1f} s later: "
              f"{json.loads(out)}")
    finally:
        other.kill()
        other.wait()
    got = it.count(index)
    if got != n:
        failures.append(f"{got} documents indexed, {n} records")
    # Committed at the ends: a second -e run of the group reads nothing.
    again = it.run_index(it.index_cmd(spate, [t["in"]], index, group, dlq=t["dlq"]))
    if again["records"] != 0:
        failures.append(f"a second run read {again['records']} records: offsets not committed")
    return failures


TESTS = {"proxy": test_proxy, "group": test_group}

if __name__ == "__main__":
    sys.exit(checks.run_named(TESTS, "index faults", ok="nothing lost, nothing twice"))
