#!/usr/bin/env python3
"""spate index against the real local Kafka cluster and a real OpenSearch node (ctest label `es`).

  exact    produce N records (seed S), spate aggregate -e, spate index -e of the aggregates and
           anomalies topics; every document is read back through the search API (scroll) and
           compared with tests/recompute.py's recomputation from `spate gen` output, and the
           sums computed by OpenSearch (sum aggregations over counts and cents) with its sums.
  outage   spate index runs on a transactions topic; OpenSearch is stopped for 60 s while more
           records arrive, then started again: every transactionId is indexed exactly once
           (count == distinct ids == expected), and the retries show in the metrics.
  exact_avro  the same with the aggregates and anomalies in Avro (aggregate --output-format
           avro, ids from spate registry) and spate index --format avro --schema-registry; a
           frame of an unregistered id and one that does not decode go to the dead letters.
  auth     TLS (--ca-file, --insecure, a client certificate), basic auth and an API key against
           OpenSearch behind an HTTPS proxy that demands them; wrong or missing ones fail clearly.
  dlq      documents that OpenSearch refuses (a wrong type, an unknown field) and one that is
           not JSON go to the dead-letter topic with OpenSearch's error; the valid ones are
           indexed unchanged.

exact and dlq also run against OpenSearch 1.3 and Elasticsearch 7.17 and 8.8 (label
es-compat); every test runs on any of them by hand with the variables below. The Elasticsearch 8
node has no scaled_float (Elastic publishes no mapper-extras for 8.x; deploy/elasticsearch/pom.xml):
there spate's template cannot be installed, which spate must say clearly; the tests then
install it themselves from `spate index --print-template` with the amounts as double, and run
spate index --no-template (own_template).

Environment: SPATE_BROKERS (the cluster of deploy/kafka/cluster.sh), SPATE_OPENSEARCH_PORT
(deploy/opensearch/opensearch.sh, default 9200) and SPATE_OPENSEARCH_DIR; for another engine
also SPATE_SEARCH_ENGINE and SPATE_SEARCH_VERSION (outage restarts the node with them).
"""
import base64
import collections
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import checks  # noqa: E402
import recompute  # noqa: E402

ROOT = os.path.dirname(HERE)
CLUSTER = os.path.join(ROOT, "deploy", "kafka", "cluster.sh")
OPENSEARCH = os.path.join(ROOT, "deploy", "opensearch", "opensearch.sh")
BROKERS = os.environ.get("SPATE_BROKERS", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")
ES = "http://127.0.0.1:" + os.environ.get("SPATE_OPENSEARCH_PORT", "9200")
COMMON_ARGS = ["--out-of-order", "0.05", "--max-delay", "2s", "--anomalies", "0.002", "--users",
               "20000", "--merchants", "300", "--event-rate", "2000"]
GEN_ARGS = ["--seed", "33", "--malformed", "0.002", *COMMON_ARGS]


def clean_args(seed):
    """Generator options without malformed records: every record is a document."""
    return ["--seed", str(seed), "--malformed", "0", *COMMON_ARGS]
ENGINE_ARGS = ["--window", "10s", "--hop", "5s", "--lateness", "5s"]


def es(method, path, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(ES + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def all_docs(index):
    """Every document of an index through the scroll API."""
    es("POST", f"/{index}/_refresh")
    page = es("POST", f"/{index}/_search?scroll=1m", {"size": 5000, "query": {"match_all": {}}})
    docs = []
    while page["hits"]["hits"]:
        docs += [(h["_id"], h["_source"]) for h in page["hits"]["hits"]]
        page = es("POST", "/_search/scroll", {"scroll": "1m", "scroll_id": page["_scroll_id"]})
    es("DELETE", "/_search/scroll", {"scroll_id": page["_scroll_id"]})
    return docs


def count(index):
    es("POST", f"/{index}/_refresh")
    return es("GET", f"/{index}/_count")["count"]


def topics(tag, names=("in", "agg", "tot", "anom", "late", "dlq"), *config):
    t = {k: f"{k}_{tag}" for k in names}
    for n in t.values():
        subprocess.run([CLUSTER, "topic", n, "6", *config], check=True)
    return t


def read(topic):
    out = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", topic, "-e", "-q", "-X",
                          "isolation.level=read_committed", "-f", "%s\n"],
                         check=True, stdout=subprocess.PIPE, timeout=300).stdout.decode()
    return [line for line in out.split("\n") if line]


def produce(spate, topic, n, gen_args=GEN_ARGS):
    subprocess.run([spate, "produce", "--brokers", BROKERS, "--topic", topic, "--records", str(n),
                    "--no-progress", "--metrics-addr", "", *gen_args], check=True,
                   stderr=subprocess.DEVNULL)


def index_cmd(spate, topics_, index, group, exit_at_end=True, metrics="", dlq="transaction_dlq",
              extra=()):
    cmd = [spate, "index", "--brokers", BROKERS, "--es", ES, "--index", index, "--group", group,
           "--dlq-topic", dlq, "--metrics-addr", metrics, "--no-progress", "--json", *extra]
    for t in topics_:
        cmd += ["--topic", t]
    return cmd + (["-e"] if exit_at_end else [])


def run_index(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port, name):
    """The sum of a metric's samples on spate's /metrics endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def has_scaled_float():
    """Whether the node maps scaled_float, asked with a throwaway index: every distribution
    has it (the mapper-extras module), a node from Elasticsearch 8's Maven Central jars not."""
    probe = "spate-probe-" + uuid.uuid4().hex[:6]
    try:
        es("PUT", f"/{probe}", {"mappings": {"properties": {
            "amount": {"type": "scaled_float", "scaling_factor": 100}}}})
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        if e.code == 400 and "scaled_float" in body:
            return False
        raise
    es("DELETE", f"/{probe}")
    return True


def check_id_bloom_filter(index, failures):
    """spate's template turns on the bloom filter on _id where the node has it (OpenSearch
    2.13 and later) and leaves it out elsewhere (other nodes refuse the setting)."""
    version = es("GET", "/")["version"]
    major, minor = (int(x) for x in version["number"].split(".")[:2])
    want = version.get("distribution") == "opensearch" and (major, minor) >= (2, 13)
    settings = es("GET", f"/{index}/_settings")[index]["settings"]["index"]
    got = settings.get("optimize_doc_id_lookup", {}).get("fuzzy_set", {}).get("enabled") == "true"
    if got != want:
        failures.append(f"{index}: _id bloom filter {'on' if got else 'off'} on "
                        f"{version.get('distribution', 'elasticsearch')} {version['number']}")
    print(f"  _id bloom filter {'on' if got else 'off'} ({version.get('distribution', 'elasticsearch')} "
          f"{version['number']})")


def own_template(spate, index, failures):
    """The extra spate index options for `index`: none on a node with scaled_float (spate
    installs its template). On one without: spate index must refuse to start with a hint (and
    without the untested-version warning: Elasticsearch 8 is tested), and
    then the template from --print-template, its amounts as double (the exact sums are checked
    on the ...Cents longs), is installed here under the name spate names, and spate index runs
    with --no-template."""
    if has_scaled_float():
        return []
    print("  this node has no scaled_float: spate's template from --print-template, amounts "
          "as double, installed by the test; spate index --no-template")
    r = subprocess.run([spate, "index", "--brokers", BROKERS, "--es", ES, "--index", index,
                        "--topic", "unused", "--metrics-addr", "", "--no-progress", "-e"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    err = r.stderr.decode(errors="replace")
    if r.returncode == 0 or "scaled_float" not in err or "--no-template" not in err:
        failures.append(f"spate index with its own template on a node without scaled_float: "
                        f"exit {r.returncode}, {err[-300:]}")
    if "not a version spate is tested against" in err:
        failures.append(f"spate index warns that the node's version is untested: {err[:300]}")
    r = subprocess.run([spate, "index", "--index", index, "--print-template"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
    template = json.loads(r.stdout)
    name = r.stderr.decode().split("/_index_template/")[1].split()[0]
    properties = template["template"]["mappings"]["properties"]
    for field, mapping in properties.items():
        if mapping["type"] == "scaled_float":
            properties[field] = {"type": "double"}
    es("PUT", f"/_index_template/{name}", template)
    return ["--no-template"]


def test_exact(spate, avro=False):
    n = 60_000
    tag = uuid.uuid4().hex[:6]
    t = topics("esx_" + tag)
    produce(spate, t["in"], n)
    registry, out_format, in_format = None, [], []
    if avro:
        # The aggregator writes its aggregates and anomalies in Avro, ids from spate registry;
        # spate index reads them back by id. Two frames it must refuse go in as well.
        import registry_test
        registry = registry_test.Registry(spate)
        out_format = ["--output-format", "avro", "--schema-registry", registry.url]
        in_format = ["--format", "avro", "--schema-registry", registry.url]
    try:
        r = subprocess.run([spate, "aggregate", "--brokers", BROKERS, "--input", t["in"], "--group",
                            "g_" + t["in"], "--aggregates-topic", t["agg"], "--totals-topic",
                            t["tot"], "--anomalies-topic", t["anom"], "--late-topic", t["late"],
                            "--dlq-topic", t["dlq"], "--metrics-addr", "", "--no-progress",
                            "--commit-interval", "100ms", *ENGINE_ARGS, *out_format, "-e"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        assert r.returncode == 0, r.stderr.decode()
        bad = {}
        if avro:
            bad = {"unknown_schema": b"\x00\x00\x00\x99\x99" + b"\x02",  # id 39321: not registered
                   "bad_avro": b"\x00\x00\x00\x00\x01" + b"\xff" * 3}  # id 1, not a datum
            for payload in bad.values():
                subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", t["agg"], "-k", "bad"],
                               input=payload, check=True)
        index = f"spate-esx-{tag}-{{topic}}"
        failures = []
        extra = in_format + own_template(spate, index, failures)
        s = run_index(index_cmd(spate, [t["agg"], t["anom"]], index, "gi_" + tag, dlq=t["dlq"],
                                extra=extra))
        print(f"  spate index: {s}")
    finally:
        if registry:
            registry.stop()

    lines = recompute.split_lines(subprocess.run([spate, "gen", "--records", str(n), *GEN_ARGS],
                                                 check=True, stdout=subprocess.PIPE).stdout)
    res = recompute.recompute(lines, recompute.Params(partitions=6, batch_size=n + 1,
                                                      window_ms=10_000, hop_ms=5_000,
                                                      lateness_ms=5_000))
    agg_index = index.replace("{topic}", t["agg"])
    if "--no-template" not in extra:
        check_id_bloom_filter(agg_index, failures)
    docs = all_docs(agg_index)
    ids = [i for i, _ in docs]
    got = sorted((d["windowStart"], d["windowEnd"], (d["merchantId"], d["currency"]),
                  d["transactionCount"],
                  d["totalAmountCents"], d["minAmountCents"], d["maxAmountCents"],
                  d["purchaseCount"], d["refundCount"]) for _, d in docs)
    want = sorted((s_, e, k, v[0], v[1], v[2], v[3], v[4], v[5]) for s_, e, k, v in res.aggregates)
    if len(set(ids)) != len(ids):
        failures.append("duplicate _ids in the aggregates index")
    if got != want:
        failures.append(f"aggregates differ: {len(got)} indexed, {len(want)} expected; missing e.g. "
                        f"{sorted(set(want) - set(got))[:1]}, unexpected {sorted(set(got) - set(want))[:1]}")
    # The same sums computed by OpenSearch itself: exact over longs (cents).
    aggs = es("POST", f"/{agg_index}/_search", {"size": 0, "aggs": {
        "n": {"sum": {"field": "transactionCount"}}, "cents": {"sum": {"field": "totalAmountCents"}},
        "windows": {"value_count": {"field": "windowStart"}}}})["aggregations"]
    want_n = sum(v[0] for _, _, _, v in res.aggregates)
    want_cents = sum(v[1] for _, _, _, v in res.aggregates)
    if (int(aggs["n"]["value"]), int(aggs["cents"]["value"])) != (want_n, want_cents):
        failures.append(f"search-API sums {aggs['n']['value']} / {aggs['cents']['value']} cents, "
                        f"expected {want_n} / {want_cents}")
    anom_index = index.replace("{topic}", t["anom"])
    got_anom = collections.Counter((d["transactionId"], d["rule"], d["amountCents"])
                                   for _, d in all_docs(anom_index))
    want_anom = collections.Counter((a.transactionId, a.rule, a.amount) for a in res.anomalies)
    if got_anom != want_anom:
        failures.append(f"anomalies differ: {sum(got_anom.values())} indexed, "
                        f"{sum(want_anom.values())} expected")
    if s["deadLetters"] != len(bad):
        failures.append(f"{s['deadLetters']} dead letters, expected {len(bad)}")
    got_dl = sorted(json.loads(line)["error"] for line in read(t["dlq"]) if '"topic"' in line)
    if got_dl != sorted(bad):
        failures.append(f"dead letters of spate index: {got_dl}, expected {sorted(bad)}")
    print(f"  {len(got)} window results ({want_n} transactions, {want_cents} cents), "
          f"{sum(got_anom.values())} anomalies indexed and equal to the recomputation")
    return failures


def test_outage(spate):
    """OpenSearch stopped for 30 s mid-run (six times --retry-max-backoff), then restarted:
    nothing lost, nothing twice."""
    tag = uuid.uuid4().hex[:6]
    t = topics("eso_" + tag, ("in",))
    index = f"spate-eso-{tag}"
    produce(spate, t["in"], 40_000, clean_args(33))
    port = free_port()
    log = tempfile.TemporaryFile()  # not a pipe: nobody reads it while the test waits
    failures = []
    p = subprocess.Popen(index_cmd(spate, [t["in"]], index, "go_" + tag, exit_at_end=False,
                                   metrics=f"127.0.0.1:{port}",
                                   extra=["--batch-docs", "500", "--retry-max-backoff", "5s",
                                          *own_template(spate, index, failures)]),
                         stdout=subprocess.PIPE, stderr=log)

    def stderr():
        log.seek(0)
        return log.read().decode(errors="replace")
    try:
        deadline = time.monotonic() + 120
        while not (_exists(index) and count(index) > 0):
            assert time.monotonic() < deadline, "nothing indexed in 120 s"
            assert p.poll() is None, stderr()
            time.sleep(0.2)
        subprocess.run([OPENSEARCH, "stop"], check=True)
        t0 = time.monotonic()
        # More records arrive while the index is down (a second run of the generator).
        produce(spate, t["in"], 40_000, clean_args(34))
        time.sleep(max(0.0, 30 - (time.monotonic() - t0)))
        retries = scrape(port, "spate_sink_retries_total")
        errors = scrape(port, "spate_errors_total")
        # Backpressure: with the index down, the sink reads no further than the batches in
        # flight and two more (--batch-docs 500, --inflight 4), although 40,000 records wait.
        ahead = scrape(port, "spate_records_received_total") - scrape(port,
                                                                      "spate_records_sent_total")
        assert p.poll() is None, "spate index stopped during the outage: " + stderr()
        down = time.monotonic() - t0
        subprocess.run([OPENSEARCH, "up"], check=True)
        print(f"  OpenSearch stopped for {down:.0f} s (+ {time.monotonic() - t0 - down:.0f} s to start "
              f"again); meanwhile {int(retries)} documents retried, {int(errors)} errors counted")
        if retries == 0 or errors == 0:
            failures.append("no retries or errors were counted during the outage")
        print(f"  records read and not yet acknowledged during the outage: {int(ahead)}")
        if not 0 < ahead <= 500 * (4 + 2) + 1:
            failures.append(f"{int(ahead)} records read ahead during the outage, expected 1..3001")
        want = set()
        for seed in (33, 34):
            out = subprocess.run([spate, "gen", "--records", "40000", *clean_args(seed)],
                                 check=True, stdout=subprocess.PIPE).stdout
            want |= {json.loads(line)["transactionId"] for line in recompute.split_lines(out)}
        deadline = time.monotonic() + 180
        while scrape(port, "spate_records_sent_total") < len(want) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        subprocess.run([OPENSEARCH, "up"], check=False)
        p.terminate()  # graceful: commits what is acknowledged
        out, _ = p.communicate(timeout=120)
    assert p.returncode == 0, stderr()
    summary = json.loads(out)
    docs = all_docs(index)
    ids = [i for i, _ in docs]
    got = {d["transactionId"] for _, d in docs}
    if len(ids) != len(want) or len(set(ids)) != len(ids) or got != want:
        failures.append(f"{len(ids)} documents, {len(set(ids))} distinct ids, expected {len(want)}; "
                        f"missing {len(want - got)}")
    if summary["records"] != 80_000 or summary["deadLetters"] != 0:
        failures.append(f"summary: {summary}")
    print(f"  {len(ids)} documents = {len(want)} distinct transactionIds; summary {summary}")
    return failures


def _exists(index):
    try:
        es("HEAD", f"/{index}")
        return True
    except (urllib.error.HTTPError, json.JSONDecodeError):
        return False


def test_dlq(spate):
    tag = uuid.uuid4().hex[:6]
    # Records of up to 4 MB (the brokers' default is 1 MB): one of 2 MB is among the bad ones.
    t = topics("esd_" + tag, ("agg", "dlq"), "max.message.bytes=4194304")
    index = f"spate-esd-{tag}"
    good = [json.dumps({"windowStart": 1767225600000 + i * 10000, "windowEnd": 1767225610000 + i * 10000,
                        "merchantId": f"merchant{i}", "transactionCount": i + 1,
                        "totalAmount": 10.05, "minAmount": 1.00, "maxAmount": 9.05,
                        "purchaseCount": i + 1, "refundCount": 0}, separators=(",", ":"))
            for i in range(50)]
    bad = {
        "wrong_type": '{"windowStart":1767225600000,"windowEnd":1767225610000,"merchantId":"merchant900",'
                      '"transactionCount":"many","totalAmount":1.00,"minAmount":1.00,"maxAmount":1.00,'
                      '"purchaseCount":1,"refundCount":0}',
        "unknown_field": '{"windowStart":1767225600000,"windowEnd":1767225610000,"merchantId":"merchant901",'
                         '"transactionCount":1,"colour":"blue"}',
        "bad_date": '{"windowStart":"yesterday","windowEnd":1767225610000,"merchantId":"merchant902",'
                    '"transactionCount":1}',
        "not_json": 'this is not {json',
        # Its dead letter keeps the first 64 KiB, the size and the SHA-256 (whole, it would not
        # fit the dead-letter topic's 1 MB): it must not stop the partition.
        "oversized": '{"merchantId":"' + "m" * 2_000_000,
    }
    payload = "\n".join(good[:25] + list(bad.values()) + good[25:]) + "\n"
    subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", t["agg"], "-k", "k", "-X",
                    "message.max.bytes=4194304"], input=payload.encode(), check=True)
    failures = []
    s = run_index(index_cmd(spate, [t["agg"]], index, "gd_" + tag, dlq=t["dlq"],
                            extra=own_template(spate, index, failures)))
    letters = [json.loads(r) for r in read(t["dlq"])]
    by_payload = {base64.b64decode(d["payload"]).decode(): d for d in letters}
    dlq_max = 64 * 1024  # stream/output_format.h: kDeadLetterMaxBytes
    for name, line in bad.items():
        d = by_payload.get(line[:dlq_max])
        if d is not None and len(line) > dlq_max and (
                d.get("payloadBytes") != len(line)
                or d.get("payloadSha256") != hashlib.sha256(line.encode()).hexdigest()):
            failures.append(f"{name}: cut dead letter without the right size and SHA-256")
        if d is None:
            failures.append(f"{name}: no dead letter")
            continue
        # Elasticsearch 8 calls a document that does not fit the mapping a
        # document_parsing_exception, the others a mapper_parsing_exception.
        parsing = ("mapper_parsing_exception", "document_parsing_exception")
        want_error, want_reasons = {
            "wrong_type": ("mapping", parsing),
            "unknown_field": ("mapping", ("strict_dynamic_mapping_exception",)),
            "bad_date": ("mapping", parsing),
            "not_json": ("bad_document", ("not JSON",)),
            "oversized": ("bad_document", ("not JSON",)),
        }[name]
        if (d["error"] != want_error or not any(r in d["reason"] for r in want_reasons)
                or d["topic"] != t["agg"]):
            failures.append(f"{name}: dead letter {d}")
        print(f"  {name}: {d['error']}: {d['reason'][:110]}")
    if len(letters) != len(bad):
        failures.append(f"{len(letters)} dead letters, expected {len(bad)}")
    docs = {i: d for i, d in all_docs(index)}
    want = {f"{g['windowStart']}-{g['windowEnd']}-merchantId-{g['merchantId']}": g
            for g in map(json.loads, good)}
    got = {i: {k: v for k, v in d.items() if not k.endswith("Cents")} for i, d in docs.items()}
    if got != want or any(d["totalAmountCents"] != 1005 for d in docs.values()):
        failures.append(f"valid documents differ: {len(got)} indexed, {len(want)} expected")
    if s["deadLetters"] != len(bad) or s["indexed"] != len(good):
        failures.append(f"summary {s}")
    return failures



class AuthProxy:
    """HTTPS in front of the real OpenSearch node, as a secured cluster (or its gateway) is met
    in production: TLS with a certificate from the test's own CA, optionally requiring a client
    certificate, and an Authorization header that must equal `auth` (else 401 with an
    Elasticsearch-style security error). With read_only, a user without write permission:
    `_bulk` is refused with 403 (after the start's checks and template succeed). Everything
    else is forwarded to OpenSearch."""

    def __init__(self, certs, auth, client_ca=None, read_only=False):
        import http.server
        import ssl
        import threading
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
                if self.headers.get("Authorization") != auth:
                    proxy.refused += 1
                    out = json.dumps({"error": {"type": "security_exception", "reason":
                                                "missing or wrong authentication"}, "status": 401})
                    self.send(401, out.encode(), "application/json")
                    return
                if read_only and "_bulk" in self.path:
                    out = json.dumps({"error": {"type": "security_exception", "reason":
                                                "no permissions for [indices:data/write/bulk]"},
                                      "status": 403})
                    self.send(403, out.encode(), "application/json")
                    return
                req = urllib.request.Request(ES + self.path, data=body, method=self.command,
                                             headers={"Content-Type": self.headers.get(
                                                 "Content-Type", "application/json")})
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        self.send(r.status, r.read(), r.headers.get("Content-Type"))
                except urllib.error.HTTPError as e:
                    self.send(e.code, e.read(), e.headers.get("Content-Type"))

            def send(self, status, data, ctype):
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

        self.refused = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs["server.pem"], certs["server.key"])
        if client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_ca)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, with openssl."""
    def ssl_(*args):
        subprocess.run(["openssl", *args], check=True, cwd=d, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ssl_("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-days", "2", "-subj", "/CN=spate test CA")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        ssl_("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN=spate {name}")
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        ssl_("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")
    return {n: os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key", "client.pem",
                                              "client.key")}


def test_auth(spate):
    """spate index's TLS and authentication options against OpenSearch behind HTTPS that
    demands them: basic auth, an API key, a client certificate; verified with --ca-file or
    skipped with --insecure. Wrong or missing credentials stop it at start with a clear error,
    and nothing is committed: the next run with the right ones indexes everything."""
    tag = uuid.uuid4().hex[:6]
    t = topics("esa_" + tag, ("in",))
    n = 2_000
    produce(spate, t["in"], n, clean_args(35))
    basic = "Basic " + base64.b64encode(b"spate:s3cret").decode()
    failures = []
    template = own_template(spate, f"spate-esa-{tag}-{{topic}}", failures)  # each case's index
    with tempfile.TemporaryDirectory() as d:
        certs = make_certs(d)
        proxies = {"basic": AuthProxy(certs, basic), "apikey": AuthProxy(certs, "ApiKey a2V5OnNlY3JldA=="),
                   "mtls": AuthProxy(certs, basic, client_ca=certs["ca.pem"]),
                   "read-only": AuthProxy(certs, basic, read_only=True)}
        ca = ["--ca-file", certs["ca.pem"]]
        client = ["--client-cert", certs["client.pem"], "--client-key", certs["client.key"]]
        cases = [  # (name, proxy, options, must succeed, what the error must say)
            ("no CA", "basic", ["--user", "spate", "--password", "s3cret"], False, "--ca-file"),
            ("wrong password", "basic", [*ca, "--user", "spate", "--password", "nope"], False, "401"),
            ("basic auth", "basic", [*ca, "--user", "spate", "--password", "s3cret"], True, None),
            ("--insecure", "basic", ["--insecure", "--user", "spate", "--password", "s3cret"], True, None),
            ("no API key", "apikey", ca, False, "401"),
            ("API key", "apikey", [*ca, "--api-key", "a2V5OnNlY3JldA=="], True, None),
            ("no client certificate", "mtls", [*ca, "--user", "spate", "--password", "s3cret"], False,
             "--client-cert"),
            ("client certificate", "mtls", [*ca, *client, "--user", "spate", "--password", "s3cret"], True, None),
            # Refused mid-run, with records read and in flight: a clear error, not a crash or
            # a hang on the way out, and nothing committed (checked below).
            ("no write permission", "read-only", [*ca, "--user", "spate", "--password", "s3cret"],
             False, "403"),
        ]
        try:
            for i, (name, px, opts, ok, says) in enumerate(cases):
                index = f"spate-esa-{tag}-{i}"
                cmd = index_cmd(spate, [t["in"]], index, f"ga_{tag}_{i}")
                cmd[cmd.index("--es") + 1] = proxies[px].url
                r = subprocess.run(cmd + opts + template, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=300)
                err = r.stderr.decode(errors="replace")
                if ok:
                    got = count(index) if r.returncode == 0 else None
                    print(f"  {name}: exit {r.returncode}, {got} documents")
                    if r.returncode != 0 or got != n:
                        failures.append(f"{name}: exit {r.returncode}, {got} documents of {n}: {err[-300:]}")
                else:
                    first = next((ln for ln in err.splitlines() if "error" in ln), err[-200:])
                    print(f"  {name}: exit {r.returncode}: {first}")
                    if r.returncode == 0 or (says and says not in err):
                        failures.append(f"{name}: expected a clear failure mentioning {says!r}, "
                                        f"got exit {r.returncode}: {err[-300:]}")
                    if r.returncode != 1:
                        failures.append(f"{name}: exit {r.returncode}, expected 1 (an error)")
                    if _exists(index) and count(index) > 0:
                        failures.append(f"{name}: documents were indexed without the credentials")
            # The refused run committed nothing: its group, given write permission, indexes all.
            i = len(cases) - 1
            cmd = index_cmd(spate, [t["in"]], f"spate-esa-{tag}-{i}", f"ga_{tag}_{i}")
            cmd[cmd.index("--es") + 1] = proxies["basic"].url
            r = subprocess.run(cmd + [*ca, "--user", "spate", "--password", "s3cret"] + template,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
            got = count(f"spate-esa-{tag}-{i}") if r.returncode == 0 else None
            print(f"  the refused run's group again, with write permission: exit {r.returncode}, "
                  f"{got} documents")
            if got != n:
                failures.append(f"after the refused run: exit {r.returncode}, {got} documents of "
                                f"{n}: {r.stderr.decode(errors='replace')[-300:]}")
        finally:
            for p in proxies.values():
                p.close()
    return failures

TESTS = {"exact": test_exact, "exact_avro": lambda spate: test_exact(spate, avro=True),
         "outage": test_outage, "dlq": test_dlq, "auth": test_auth}

if __name__ == "__main__":
    sys.exit(checks.run_named(TESTS, "index"))
