#!/usr/bin/env python3
"""Interoperability test of `spate registry` with a third-party client: confluent-kafka-python's
SchemaRegistryClient (installed into a virtualenv beside the build, build/test-venv, once).

    python3 tests/registry_test.py [--spate build/spate] [--venv build/test-venv]

* the client registers a schema, gets it by id, reads the latest version, tests compatibility,
  sets the compatibility level, and sees 404 / 409 / 422 as SchemaRegistryError with
  Confluent's error codes;
* `spate registry` stops cleanly on SIGTERM, refuses a port in use with a clear error, and
  with --store keeps its state across a restart;
* hostile requests (issue 17) get a 4xx in Confluent's error shape and the process lives on:
  a schema nested 50,000 deep, a body over 16 MiB (413), a subject that is not UTF-8 (422),
  a PATCH (405);
* a store holding Confluent's PROTOBUF and JSON schema records (a shared `_schemas` topic)
  serves them by id and version as Confluent does, with a warning at start.
Exit code 0 = all passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from checks import FAILURES, check


V1 = json.dumps({"type": "record", "name": "Tx", "namespace": "spate",
                 "fields": [{"name": "id", "type": "string"}]})
V2 = json.dumps({"type": "record", "name": "Tx", "namespace": "spate",
                 "fields": [{"name": "id", "type": "string"},
                            {"name": "amount", "type": "long", "default": 0}]})
V3_NO_DEFAULT = json.dumps({"type": "record", "name": "Tx", "namespace": "spate",
                            "fields": [{"name": "id", "type": "string"},
                                       {"name": "amount", "type": "long", "default": 0},
                                       {"name": "currency", "type": "string"}]})


class Registry:
    """A `spate registry` process on a free port; the port is read from its start-up line."""

    def __init__(self, spate: str, *args: str, listen: str = "127.0.0.1:0"):
        self.proc = subprocess.Popen([spate, "registry", "--listen", listen,
                                      "--metrics-addr", "127.0.0.1:0", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seen, self.metrics = "", None
        while True:  # "metrics on ..." comes first
            line = self.proc.stderr.readline()
            seen += line
            if mm := re.search(r"metrics on (http://[\d.]+:\d+/metrics)", line):
                self.metrics = mm.group(1)
            if m := re.search(r"listening on (https?://[\d.]+:(\d+))", line):
                break
            if not line:
                self.proc.kill()
                raise RuntimeError("spate registry did not start: " + seen)
        self.url, self.port = m.group(1), int(m.group(2))

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        try:
            rest = self.proc.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -1, "did not stop within 20 s"
        return self.proc.returncode, rest


def expect_error(fn, status: int, code: int, what: str):
    from confluent_kafka.schema_registry.error import SchemaRegistryError
    try:
        fn()
    except SchemaRegistryError as e:
        check(e.http_status_code == status and e.error_code == code,
              f"{what}: HTTP {status}, error_code {code} (got {e.http_status_code}, "
              f"{e.error_code}: {e.error_message})")
        return
    check(False, f"{what}: expected SchemaRegistryError {code}, got no error")


def test_client(spate: str):
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    print("confluent-kafka-python's SchemaRegistryClient against spate registry")
    reg = Registry(spate)
    try:
        client = SchemaRegistryClient({"url": reg.url})
        subject = "financial_transactions-value"
        sid = client.register_schema(subject, Schema(V1, "AVRO"))
        check(isinstance(sid, int) and sid > 0, f"register_schema returns an id ({sid})")
        again = SchemaRegistryClient({"url": reg.url}).register_schema(
            subject, Schema(json.dumps(json.loads(V1), indent=2), "AVRO"))
        check(again == sid, "the same schema, reformatted, gets the same id")
        fetched = SchemaRegistryClient({"url": reg.url}).get_schema(sid)
        check(json.loads(fetched.schema_str) == json.loads(V1), "get_schema(id) returns it")
        check(client.test_compatibility(subject, Schema(V2, "AVRO")) is True,
              "test_compatibility: a field with a default is compatible")
        check(client.test_compatibility(subject, Schema(V3_NO_DEFAULT, "AVRO")) is False,
              "test_compatibility: a field without a default is not (BACKWARD)")
        sid2 = client.register_schema(subject, Schema(V2, "AVRO"))
        latest = client.get_latest_version(subject)
        check(latest.version == 2 and latest.schema_id == sid2 and latest.subject == subject,
              f"get_latest_version: version 2, id {sid2}")
        check(client.get_versions(subject) == [1, 2], "get_versions: [1, 2]")
        check(subject in client.get_subjects(), "get_subjects lists the subject")
        found = client.lookup_schema(subject, Schema(V1, "AVRO"))
        check(found.version == 1 and found.schema_id == sid, "lookup_schema finds version 1")

        client.set_compatibility(level="FULL")
        check(client.get_compatibility() == "FULL", "set_compatibility / get_compatibility: FULL")
        client.set_compatibility(subject_name=subject, level="NONE")
        check(client.get_compatibility(subject) == "NONE", "subject-level compatibility: NONE")
        client.set_compatibility(subject_name=subject, level="BACKWARD")

        expect_error(lambda: client.get_latest_version("no-such-subject"), 404, 40401,
                     "unknown subject")
        expect_error(lambda: client.get_version(subject, 99), 404, 40402, "unknown version")
        expect_error(lambda: SchemaRegistryClient({"url": reg.url}).get_schema(9999), 404, 40403,
                     "unknown schema id")
        expect_error(lambda: client.register_schema(subject, Schema(V3_NO_DEFAULT, "AVRO")), 409,
                     409, "incompatible schema")
        expect_error(lambda: client.register_schema(
            subject, Schema('{"type":"record","name":"Broken"}', "AVRO")), 422, 42201,
            "invalid schema")
        expect_error(lambda: client.set_compatibility(level="SOMETIMES"), 422, 42203,
                     "invalid compatibility level")
        client.delete_version(subject, 2)
        check(client.get_versions(subject) == [1], "delete_version: version 2 is gone")
        # Basic auth settings reach the server (which is open here, so they are accepted).
        authed = SchemaRegistryClient({"url": reg.url, "basic.auth.user.info": "u:p"})
        check(authed.get_schema(sid) is not None, "a client with basic auth settings works")
    finally:
        rc, err = reg.stop()
    check(rc == 0 and "stopped" in err, f"SIGTERM stops it cleanly (exit {rc})")


def test_cli(spate: str):
    print("spate registry on the command line")
    reg = Registry(spate)
    try:
        proc = subprocess.run([spate, "registry", "--listen", f"127.0.0.1:{reg.port}", "--metrics-addr", ""],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        check(proc.returncode == 1 and "cannot listen" in proc.stderr and
              str(reg.port) in proc.stderr, f"a port in use is a clear error: {proc.stderr.strip()}")
    finally:
        reg.stop()
    proc = subprocess.run([spate, "registry", "--listen", "localhost"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=30)
    check(proc.returncode != 0 and "--listen" in proc.stderr,
          f"a bad --listen names the option: {proc.stderr.strip()}")
    proc = subprocess.run([spate, "registry", "--brokers", "127.0.0.1:1", "--store", "x"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    check(proc.returncode == 2 and "--store" in proc.stderr,
          f"--store with --brokers is refused: {proc.stderr.strip()}")

    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "schemas.jsonl")
        reg = Registry(spate, "--store", store)
        sid = SchemaRegistryClient({"url": reg.url}).register_schema("a-value", Schema(V1, "AVRO"))
        reg.stop()
        reg = Registry(spate, "--store", store)
        try:
            got = SchemaRegistryClient({"url": reg.url}).get_latest_version("a-value")
            check(got.schema_id == sid and got.version == 1, "--store: the state survives a restart")
        finally:
            reg.stop()


def http(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, object]:
    """(status, JSON body or None) of one request; urllib from the standard library, so that
    the request is exactly what is written here."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


def test_hostile_requests(spate: str):
    print("spate registry against hostile requests")
    reg = Registry(spate)
    try:
        deep = "[" * 50000 + '"int"' + "]" * 50000
        status, j = http(reg.url + "/subjects/deep-value/versions", "POST",
                         json.dumps({"schema": deep}).encode())
        check(status == 422 and isinstance(j, dict) and j.get("error_code") == 42201 and
              "nested deeper" in j.get("message", ""),
              f"a schema nested 50,000 deep: 422 / 42201 ({status} {str(j)[:120]})")
        status, j = http(reg.url + "/subjects/big-value/versions", "POST",
                         b" " * ((16 << 20) + 1))
        check(status == 413 and isinstance(j, dict) and j.get("error_code") == 413,
              f"a body over 16 MiB: 413 ({status} {j})")
        with socket.create_connection(("127.0.0.1", reg.port), timeout=10) as sock:
            sock.sendall(b"POST /subjects/x/versions HTTP/1.1\r\nHost: x\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
            head = sock.recv(4096).split(b"\r\n", 1)[0]
        check(head.startswith(b"HTTP/1.1 422 "),  # "Unprocessable Content" since RFC 9110
              f"a chunked body is read within the limit: {{}} is 422 ({head!r})")
        for method, path in (("POST", "/subjects/%FF%FE/versions"), ("GET", "/subjects/a%C3/versions"),
                             ("GET", "/config/%FF")):
            status, j = http(reg.url + path, method,
                             json.dumps({"schema": V1}).encode() if method == "POST" else None)
            check(status == 422 and isinstance(j, dict) and j.get("error_code") == 42208,
                  f"{method} {path} (not UTF-8): 422 / 42208 ({status} {j})")
        status, j = http(reg.url + "/config", "PATCH", b'{"compatibility":"NONE"}')
        check(status == 405 and isinstance(j, dict) and j.get("error_code") == 405,
              f"PATCH, which no route takes, before its body: 405 ({status} {j})")
        check(reg.proc.poll() is None, "... and the registry is still running")
        status, j = http(reg.url + "/subjects/a-value/versions", "POST",
                         json.dumps({"schema": V1}).encode())
        check(status == 200 and isinstance(j, dict) and "id" in j,
              f"... and still registers a schema ({status} {j})")
        text = urllib.request.urlopen(reg.metrics, timeout=10).read().decode()
        counted = {(m.group(1), m.group(2)) for m in re.finditer(
            r'^spate_registry_requests_total\{code="(\d+)",method="(\w+)"\} [1-9]', text, re.M)}
        check({("200", "POST"), ("413", "POST"), ("422", "POST"), ("405", "PATCH")} <= counted
              and re.search(r"^spate_registry_schemas 1$", text, re.M) is not None
              and "spate_registry_request_duration_seconds_count" in text,
              f"its metrics count these requests by method and code: {sorted(counted)}")
    finally:
        rc, err = reg.stop()
    check(rc == 0, f"it stops cleanly afterwards (exit {rc}): {err.strip()[-200:]}")


def test_tls(spate: str):
    print("spate registry over HTTPS")
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        reg = Registry(spate, "--tls-cert", cert, "--tls-key", key)
        try:
            ctx = ssl.create_default_context(cafile=cert)
            with urllib.request.urlopen(reg.url + "/subjects", context=ctx, timeout=10) as r:
                body = r.read()
            check(reg.url.startswith("https://") and body == b"[]",
                  f"GET {reg.url}/subjects with the certificate as CA: {body!r}")
            try:
                urllib.request.urlopen(reg.url + "/subjects", timeout=10)  # the system's CAs
                check(False, "a client that does not trust the certificate is refused")
            except urllib.error.URLError as e:
                check("CERTIFICATE_VERIFY_FAILED" in str(e),
                      f"a client that does not trust the certificate is refused: {e}")
        finally:
            rc, err = reg.stop()
        check(rc == 0, f"it stops cleanly (exit {rc}): {err.strip()[-200:]}")
        proc = subprocess.run([spate, "registry", "--listen", "127.0.0.1:0", "--metrics-addr", "",
                               "--tls-cert", cert, "--tls-key", cert], capture_output=True,
                              text=True, timeout=30)
        check(proc.returncode == 1 and "--tls-key" in proc.stderr,
              f"a key that is not one is a clear error: {proc.stderr.strip()[-160:]}")


def test_shared_log(spate: str):
    print("spate registry on a log that Confluent's registry shares (PROTOBUF, JSON schemas)")
    proto = 'syntax = "proto3";\nmessage M { string a = 1; }\n'
    records = [("proto-value", 1, 3, {"schemaType": "PROTOBUF", "schema": proto}),
               ("json-value", 1, 4, {"schemaType": "JSON", "schema": '{"type":"object"}'})]
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "schemas.jsonl")
        with open(store, "w") as f:
            for subject, version, sid, extra in records:
                key = {"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}
                value = {"subject": subject, "version": version, "id": sid, "deleted": False,
                         **extra}
                f.write(json.dumps({"key": json.dumps(key), "value": json.dumps(value)}) + "\n")
        reg = Registry(spate, "--store", store)
        warning = reg.proc.stderr.readline()  # the line after the start-up line
        check("warning" in warning and "1 JSON, 1 PROTOBUF" in warning,
              f"a warning at start counts them: {warning.strip()}")
        try:
            status, j = http(reg.url + "/schemas/ids/3")
            check(status == 200 and j == {"schema": proto, "schemaType": "PROTOBUF"},
                  f"GET /schemas/ids/3: the PROTOBUF schema as stored ({status} {j})")
            status, j = http(reg.url + "/subjects/json-value/versions/1")
            check(status == 200 and isinstance(j, dict) and j.get("schemaType") == "JSON" and
                  j.get("id") == 4, f"GET /subjects/json-value/versions/1 ({status} {j})")
            status, j = http(reg.url + "/subjects/a-value/versions", "POST",
                             json.dumps({"schema": V1}).encode())
            check(status == 200 and j == {"id": 5}, f"a new Avro schema takes id 5 ({status} {j})")
        finally:
            reg.stop()


def ensure_venv(venv: str, probe: str = "import confluent_kafka.schema_registry",
                packages: tuple = ("confluent-kafka[schemaregistry]",)) -> str:
    """The virtualenv's python with `packages` installed unless `probe` already runs there."""
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    probe = subprocess.run([py, "-c", probe], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "--quiet", *packages], check=True)
    return py


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spate", default="build/spate")
    ap.add_argument("--venv", default="", help="default: test-venv beside the spate binary")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    spate = os.path.abspath(args.spate)
    if not args.inside:
        venv = args.venv or os.path.join(os.path.dirname(spate), "test-venv")
        py = ensure_venv(venv)
        return subprocess.run([py, os.path.abspath(__file__), "--spate", spate, "--inside"]).returncode
    test_client(spate)
    test_cli(spate)
    test_hostile_requests(spate)
    test_shared_log(spate)
    test_tls(spate)
    if FAILURES:
        print(f"{len(FAILURES)} FAILED")
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
