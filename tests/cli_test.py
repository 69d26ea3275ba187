#!/usr/bin/env python3
"""Command-line and metrics-endpoint tests of spate (standard library only).

    python3 tests/cli_test.py [--spate build/spate]

* bad command lines exit non-zero (not by a signal) with a short message on stderr that names
  the offending option, and no crash output;
* a secret given on the command line (a -X value, a URL's password, --schema-registry-auth)
  is never echoed by a failure: a rejected -X, a bad or unreachable URL;
* --help works for spate, spate gen and spate run;
* spate index --print-template prints the index template for --index without any service;
* a rate-limited `spate run` serves Prometheus metrics over HTTP while it runs.
Exit code 0 = all passed.
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from checks import FAILURES, check

CRASH_MARKERS = ("Traceback", "terminate called", "Segmentation fault", "Aborted",
                 "core dumped", "AddressSanitizer", "runtime error:", "what():")


def bad_cases(tmp: str) -> list:
    """(args, tokens one of which the message must contain)."""
    out = os.path.join(tmp, "out")
    run = ["run", "--records", "1000", "--no-progress", "--metrics-addr", "127.0.0.1:0",
           "--out", out]
    gen = ["gen", "--records", "1000", "--out", os.path.join(tmp, "gen.jsonl")]
    return [
        (["frobnicate"], ["frobnicate"]),
        (gen + ["--frobnicate"], ["--frobnicate"]),
        (run + ["--frobnicate", "1"], ["--frobnicate"]),
        (["gen", "--records", "-5"], ["--records"]),
        (["gen", "--records", "abc"], ["--records"]),
        (run + ["--window", "0s"], ["--window"]),
        (run + ["--window", "10x"], ["--window"]),
        (run + ["--hop", "20s", "--window", "10s"], ["--hop"]),
        (run + ["--hop", "0s"], ["--hop"]),
        (gen + ["--out-of-order", "1.5"], ["--out-of-order"]),
        (gen + ["--malformed", "-0.1"], ["--malformed"]),
        (run + ["--group-by", "color"], ["--group-by"]),
        (run + ["--emit", "sometimes"], ["--emit"]),
        (run + ["--format", "xml"], ["--format"]),
        (gen + ["--format", "protobuf"], ["--format"]),
        (run + ["--format", "avro", "--schema-id", "-1"], ["--schema-id"]),
        (gen + ["--format", "avro", "--schema-id", "2147483648"], ["--schema-id"]),
        (["produce", "--schema-registry", "http://127.0.0.1:1"], ["--schema-registry", "avro"]),
        (["produce", "--format", "avro", "--schema-registry", "http://127.0.0.1:1",
          "--schema-id", "3"], ["--schema-id"]),
        (["produce", "--format", "avro", "--schema-registry", "ftp://x"], ["--schema-registry"]),
        (["consume", "-t", "x", "--schema-registry-auth", "u:p"], ["--schema-registry-auth"]),
        (["aggregate", "--output-format", "avro"], ["--output-format"]),
        (["aggregate", "--output-format", "xml"], ["--output-format"]),
        (["gen", "--records", "3", "--format", "avro", "--schema-registry", "http://127.0.0.1:1"],
         ["127.0.0.1:1"]),
        (["index", "--index", "", "--print-template"], ["--index"]),
        (run + ["--partitions", "0"], ["--partitions"]),
        (run + ["--threads", "0"], ["--threads"]),
        (gen + ["--threads", "0"], ["--threads"]),
        (run + ["--batch-size", "0"], ["--batch-size"]),
        (gen + ["--users", "-1"], ["--users"]),
        (gen + ["--skew", "pareto"], ["--skew"]),
        (gen + ["--high-amount", "12.34567"], ["--high-amount", "4 decimals"]),
        (gen + ["--high-amount", "XYZ=5"], ["--high-amount", "XYZ"]),
        (gen + ["--profile", "huge"], ["--profile"]),
        (gen + ["--time-format", "iso"], ["--time-format"]),
        (gen + ["--field", "amount"], ["--field"]),
        (gen + ["--field", "price=amount"], ["--field", "price"]),
        (gen + ["--max-id-bytes", "0"], ["--max-id-bytes"]),
        (run + ["--totals", "maybe"], ["--totals"]),
        (["run", "--records", "1000", "--no-progress", "--metrics-addr", "127.0.0.1:0",
          "--out", "/proc/forbidden/dir"], ["--out", "/proc/forbidden/dir"]),
    ]


def test_bad_command_lines(spate: str):
    print("bad command lines")
    with tempfile.TemporaryDirectory() as tmp:
        for args, tokens in bad_cases(tmp):
            shown = "spate " + " ".join(args)
            try:
                proc = subprocess.run([spate, *args], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, timeout=60, cwd=tmp)
            except subprocess.TimeoutExpired:
                check(False, f"{shown}: still running after 60 s")
                continue
            err = proc.stderr.decode(errors="replace")
            lines = [x for x in err.splitlines() if x.strip()]
            problems = []
            if proc.returncode == 0:
                problems.append("exit code 0")
            elif proc.returncode < 0 or proc.returncode >= 128:
                problems.append(f"killed by a signal / crashed (exit {proc.returncode})")
            if not lines:
                problems.append("nothing on stderr")
            elif not any(t in x for x in lines for t in tokens):
                problems.append(f"message does not name {' or '.join(tokens)}")
            if len(lines) > 2:
                problems.append(f"{len(lines)} lines on stderr, want one")
            if any(m in err for m in CRASH_MARKERS):
                problems.append("crash output on stderr")
            first = lines[0] if lines else ""
            check(not problems, f"{shown}: exit {proc.returncode}, {first[:110]!r}"
                                + (f"  [{'; '.join(problems)}]" if problems else ""))


SENTINEL = "S3ntinel-pw"


def secret_cases() -> list:
    """Failing command lines that carry SENTINEL; none needs a service (port 1 is closed)."""
    k = ["--brokers", "127.0.0.1:1"]
    url = f"http://user:{SENTINEL}@127.0.0.1:1"
    index = ["index", *k, "--metrics-addr", "127.0.0.1:0", "--es"]
    return [
        ["produce", *k, "-X", f"security.protocol={SENTINEL}"],
        ["produce", *k, "-X", f"sasl.jaas.config=x required password=\"{SENTINEL}\";"],
        ["produce", *k, "-X", f"debug=broker,{SENTINEL}"],
        ["produce", *k, "-X", f"sasl.password:{SENTINEL}"],
        ["registry", *k, "-X", f"enable.idempotence={SENTINEL}"],
        ["produce", *k, "--schema-registry", url],
        ["produce", *k, "--format", "avro", "--schema-registry", f"ftp://user:{SENTINEL}@x"],
        ["produce", *k, "--format", "avro", "--schema-registry", url],
        ["gen", "--records", "3", "--format", "avro", "--schema-registry", url],
        ["produce", *k, "--schema-registry-auth", f"user:{SENTINEL}"],
        ["produce", *k, "--format", "avro", "--schema-registry", "http://127.0.0.1:1",
         "--schema-registry-auth", SENTINEL],
        [*index, f"ftp://user:{SENTINEL}@127.0.0.1:1"],
        [*index, f"user:{SENTINEL}@127.0.0.1:1"],
        [*index, url],
    ]


def test_secrets_not_echoed(spate: str):
    print("secrets on failing command lines")
    with tempfile.TemporaryDirectory() as tmp:
        for args in secret_cases():
            shown = "spate " + " ".join(args)
            try:
                proc = subprocess.run([spate, *args], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                      timeout=60, cwd=tmp)
            except subprocess.TimeoutExpired:
                check(False, f"{shown}: still running after 60 s")
                continue
            out = (proc.stdout + proc.stderr).decode(errors="replace")
            last = out.strip().splitlines()[-1] if out.strip() else ""
            check(proc.returncode != 0 and SENTINEL not in out,
                  f"{shown}: exit {proc.returncode}, "
                  + ("the secret is printed" if SENTINEL in out else f"{last[:110]!r}"))


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 401 to everything and keeps the Authorization headers it was sent."""
    seen: list = []

    def log_message(self, *args):
        pass

    def _refuse(self):
        _Recorder.seen.append(self.headers.get("Authorization", ""))
        body = b'{"error":"unauthorized","error_code":40101,"message":"unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _refuse


def test_secret_sources(spate: str):
    """Each secret from a file or an environment variable instead of argv: the server is sent
    it, nothing prints it, and plain http gets a warning."""
    print("secrets from files and the environment")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    basic = "Basic " + base64.b64encode(f"u:{SENTINEL}".encode()).decode()
    k = ["--brokers", "127.0.0.1:1", "--metrics-addr", ""]
    with tempfile.TemporaryDirectory() as tmp:
        pw, auth = os.path.join(tmp, "pw"), os.path.join(tmp, "auth")
        for path, text in ((pw, SENTINEL + "\n"), (auth, f"u:{SENTINEL}\n")):
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o600)
        cases = [
            (["index", *k, "--es", url, "--user", "u", "--password-file", pw], {}, basic),
            (["index", *k, "--es", url, "--user", "u"], {"SPATE_ES_PASSWORD": SENTINEL}, basic),
            (["index", *k, "--es", url, "--api-key-file", pw], {}, "ApiKey " + SENTINEL),
            (["index", *k, "--es", url], {"SPATE_ES_API_KEY": SENTINEL}, "ApiKey " + SENTINEL),
            (["produce", *k, "--format", "avro", "--schema-registry", url,
              "--schema-registry-auth-file", auth], {}, basic),
            (["produce", *k, "--format", "avro", "--schema-registry", url],
             {"SPATE_SCHEMA_REGISTRY_AUTH": f"u:{SENTINEL}"}, basic),
        ]
        for args, env, want in cases:
            shown = " ".join(f"{k}=..." for k in env) + " spate " + " ".join(args)
            _Recorder.seen = []
            proc = subprocess.run([spate, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, timeout=60,
                                  env={**os.environ, **env})
            out = (proc.stdout + proc.stderr).decode(errors="replace")
            check(proc.returncode != 0 and SENTINEL not in out and want in _Recorder.seen
                  and "plain http" in out,
                  f"{shown}: exit {proc.returncode}, sent {_Recorder.seen[:1]}, "
                  + ("the secret is printed" if SENTINEL in out else f"{out.strip()[-120:]!r}"))
    server.shutdown()
    # The registry's own credentials, from the environment: demanded, and never printed.
    port = free_port()
    proc = subprocess.Popen([spate, "registry", "--listen", f"127.0.0.1:{port}", "--metrics-addr",
                             "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "SPATE_REGISTRY_BASIC_AUTH": f"u:{SENTINEL}"})
    codes = []
    try:
        for header in ({}, {"Authorization": basic}):
            for _ in range(50):
                try:
                    req = urllib.request.Request(f"http://127.0.0.1:{port}/subjects", headers=header)
                    codes.append(urllib.request.urlopen(req, timeout=5).status)
                    break
                except urllib.error.HTTPError as e:
                    codes.append(e.code)
                    break
                except OSError:
                    time.sleep(0.1)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    text = (out + err).decode(errors="replace")
    check(codes == [401, 200] and SENTINEL not in text and "plain http" in text,
          f"spate registry with SPATE_REGISTRY_BASIC_AUTH: answers {codes} (want [401, 200]), "
          + ("the secret is printed" if SENTINEL in text else "not printed"))


def test_help(spate: str):
    print("--help")
    for args in (["--help"], ["gen", "--help"], ["run", "--help"]):
        proc = subprocess.run([spate, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=30)
        out = proc.stdout.decode(errors="replace")
        check(proc.returncode == 0 and len(out.strip()) > 0,
              f"spate {' '.join(args)}: exit {proc.returncode}, {len(out)} bytes of help")
        if args[0] in ("gen", "run"):
            names = ["--seed", "--records", "--malformed"] + (
                ["--window", "--hop", "--lateness", "--group-by", "--emit", "--format",
                 "--metrics-addr"] if args[0] == "run" else ["--injected"])
            missing = [n for n in names if n not in out]
            check(not missing, f"spate {args[0]} --help mentions {', '.join(names)}"
                               + (f" (missing {missing})" if missing else ""))


def test_print_template(spate: str):
    """spate index --print-template: the template spate would install for --index, on stdout as
    JSON, its name on stderr; no Kafka or Elasticsearch needed (--es names a closed port)."""
    print("index --print-template")
    proc = subprocess.run([spate, "index", "--index", "spate-x-{topic}", "--es",
                           "http://127.0.0.1:1", "--print-template"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)
    err = proc.stderr.decode(errors="replace")
    if not check(proc.returncode == 0, f"exit {proc.returncode} {err[-200:]!r}"):
        return
    try:
        t = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        check(False, f"stdout is not JSON ({e}): {proc.stdout[:200]!r}")
        return
    check(t.get("index_patterns") == ["spate-x-*"], f"index_patterns {t.get('index_patterns')}")
    check(t.get("priority") == 100 + len("spate-x-"),
          f"priority {t.get('priority')}: 100 + the pattern's literal characters")
    mappings = t["template"]["mappings"]
    props = mappings["properties"]
    check(mappings.get("dynamic") == "strict", "dynamic: strict")
    want = {"merchantId": {"type": "keyword"},
            "windowStart": {"type": "date", "format": "epoch_millis"},
            "totalAmountCents": {"type": "long"},
            "totalAmount": {"type": "scaled_float", "scaling_factor": 100},
            "evidence": {"type": "object", "enabled": False}}
    check(all(props.get(k) == v for k, v in want.items()),
          "keys keyword, dates epoch_millis, cents long, amounts scaled_float x100, evidence "
          f"not indexed ({ {k: props.get(k) for k in want} })")
    check("/_index_template/spate-spate-x-all" in err, f"stderr names the template: {err.strip()!r}")


METRICS = ("spate_records_received_total", "spate_records_sent_total", "spate_dead_letters_total",
           "spate_late_records_total", "spate_windows_emitted_total",
           "spate_watermark_lag_seconds", "spate_processing_latency_seconds_bucket")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def present(text: str) -> set:
    found = set()
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            found.add(m.group(1))
    return found


def sample(text: str, name: str) -> float | None:
    total = None
    for line in text.splitlines():
        m = re.match(r"%s(\{[^}]*\})?\s+(\S+)" % re.escape(name), line)
        if m:
            total = (total or 0.0) + float(m.group(2))
    return total


def test_metrics(spate: str):
    print("metrics endpoint during a rate-limited run")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [spate, "run", "--rate", "20000", "--records", "60000", "--malformed", "0.01",
               "--late", "0.01", "--metrics-addr", f"127.0.0.1:{port}", "--out",
               os.path.join(tmp, "out"), "--no-progress"]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        text, found, err = "", set(), None
        try:
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                                timeout=1) as resp:
                        text = resp.read().decode(errors="replace")
                    found = present(text)
                    # Names first; then wait until some record has been counted.
                    if all(m in found for m in METRICS) and \
                            (sample(text, "spate_records_received_total") or 0) > 0:
                        break
                except (urllib.error.URLError, ConnectionError, OSError) as e:
                    err = e
                time.sleep(0.1)
            scraped_at = time.monotonic() - t0
            running = proc.poll() is None
            out, errout = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        elapsed = time.monotonic() - t0
        missing = [m for m in METRICS if m not in found]
        check(not missing, f"scrape at {scraped_at:.1f}s has {len(METRICS)} metric names"
                           + (f" (missing {missing}; last error {err})" if missing else ""))
        check(running, "the scrape happened while spate was still running")
        received = sample(text, "spate_records_received_total")
        check(received is not None and 0 < received <= 60000,
              f"spate_records_received_total mid-run = {received}")
        check(proc.returncode == 0, f"spate run exited {proc.returncode} "
                                    f"{errout.decode(errors='replace')[-300:]!r}")
        check(elapsed >= 2.0, f"--rate 20000 --records 60000 took {elapsed:.1f}s (>= ~3s expected)")


def test_interrupt(spate: str):
    """SIGINT ends the input early; the run still emits every open window and exits 0, and
    what it processed is the sequence prefix its summary counts."""
    import signal
    import tempfile
    import time
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.Popen([spate, "run", "--rate", "50000", "--records", "10000000", "--out", out,
                              "--metrics-addr", "", "--no-progress", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
        check(p.returncode == 0, f"SIGINT: exit code {p.returncode} ({stderr.decode()[-200:]})")
        summary = json.loads(stdout)
        n = summary["records"]
        check(0 < n < 10000000, f"SIGINT ended the input early ({n} records)")
        with open(os.path.join(out, "totals.jsonl")) as f:
            counted = sum(json.loads(line)["transactionCount"] for line in f)
        check(counted == summary["valid"] == n,
              f"totals count every processed record ({counted} = {summary['valid']} = {n})")
        check(os.path.getsize(os.path.join(out, "aggregates.jsonl")) > 0,
              "open windows were emitted after SIGINT")


def test_peak_rss_is_its_own(spate: str):
    """peakRssBytes is spate's own peak: not its parent's, which Linux's ru_maxrss carries
    across exec. This process holds 768 MiB, touched, while a small run reports."""
    import tempfile
    held = bytearray(768 << 20)
    for i in range(0, len(held), 4096):
        held[i] = 1
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run([spate, "run", "--records", "1000", "--out", out, "--metrics-addr", "",
                            "--no-progress", "--json"], capture_output=True, timeout=60)
    check(r.returncode == 0, f"a small run: exit code {r.returncode}")
    rss = json.loads(r.stdout)["peakRssBytes"]
    check(0 < rss < 256 << 20, f"a 1,000-record run reports its own peak RSS ({rss} bytes), "
          "not its parent's 768 MiB")
    del held


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spate", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                    "spate"))
    a = ap.parse_args()
    spate = os.path.abspath(a.spate)
    if not os.access(spate, os.X_OK):
        print(f"spate binary not found: {spate}")
        return 2
    test_bad_command_lines(spate)
    test_secrets_not_echoed(spate)
    test_secret_sources(spate)
    test_help(spate)
    test_print_template(spate)
    test_metrics(spate)
    test_interrupt(spate)
    test_peak_rss_is_its_own(spate)
    print(f"{len(FAILURES)} failure(s)" if FAILURES else "all CLI checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
