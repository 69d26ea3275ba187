#!/usr/bin/env python3
"""The monitoring configuration in deploy/ (ctest label `monitoring`).

  promtool     promtool checks deploy/prometheus/prometheus.yml (as committed, as rendered for
               shifted local ports, and the compose rendering, which must equal the committed
               prometheus-compose.yml) and alerts.yml, and runs the alert unit tests
               (alerts_test.yml: input series -> expected alerts).
  dashboards   Grafana: the provisioning YAML and every dashboard JSON, structurally (the data
               source uid each panel names is provisioned, ids and uids unique, every panel has
               queries), and every query parses as PromQL (promtool, as recording rules).
  saved_objects  OpenSearch Dashboards: deploy/opensearch-dashboards/spate.ndjson parses, every
               reference resolves, visState / searchSourceJSON / panelsJSON parse, and every
               field a visualisation or search uses is in the documents spate writes.
  panels       against the real Prometheus (deploy/prometheus/prometheus.sh) while it scrapes a
               running pipeline on the local Kafka cluster (spate produce, aggregate, run, and
               spate index into the local OpenSearch): every panel query of every dashboard, with
               Grafana's variables replaced, must return data (a series with a number that is not
               NaN, and above 0 unless 0 is the healthy value: ZERO_IS_DATA). Prints one line
               per query.

Ports: Prometheus on SPATE_PROMETHEUS_PORT (default 9090); the spate processes on their default
metrics ports + SPATE_METRICS_PORT_OFFSET; the cluster of SPATE_BROKERS /
SPATE_KAFKA_PORT_OFFSET, as the other Kafka tests.
"""
import argparse
import glob
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

from debian_yaml import yaml  # noqa: E402
from checks import FAILURES, check  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEPLOY = os.path.join(ROOT, "deploy")
PROM_DIR = os.path.join(DEPLOY, "prometheus")
GRAFANA = os.path.join(DEPLOY, "grafana")
CLUSTER = os.path.join(DEPLOY, "kafka", "cluster.sh")
BROKERS = os.environ.get("SPATE_BROKERS", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")
PROM_PORT = int(os.environ.get("SPATE_PROMETHEUS_PORT", "9090"))
METRICS_OFF = int(os.environ.get("SPATE_METRICS_PORT_OFFSET", "0"))

# What Grafana puts in place of its variables. $__rate_interval is at least 4 x the data
# source's scrape interval (timeInterval 5s); "All" of a multi-value variable is its allValue.
GRAFANA_VARS = {"$__rate_interval": "20s", "$__interval": "5s", "$__range": "5m"}


def promtool(*args, **kw):
    r = subprocess.run(["promtool", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    out = r.stdout.decode()
    check(r.returncode == 0, f"promtool {' '.join(args)}:\n{out}")
    return out


# ---------------------------------------------------------------------------------- promtool
def test_promtool():
    promtool("check", "config", os.path.join(PROM_DIR, "prometheus.yml"))
    promtool("check", "rules", os.path.join(PROM_DIR, "alerts.yml"))
    promtool("test", "rules", "alerts_test.yml", cwd=PROM_DIR)
    render = os.path.join(PROM_DIR, "render.py")
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(os.path.join(PROM_DIR, "alerts.yml"), d)
        local = subprocess.run([sys.executable, render, "local", "--prometheus-port", "9390",
                                "--kafka-offset", "300", "--metrics-offset", "300"],
                               check=True, stdout=subprocess.PIPE).stdout.decode()
        for port in (9390, 9764, 9767, 29394, 39394, 49394):
            check(f"127.0.0.1:{port}" in local, f"render.py local: no target 127.0.0.1:{port}")
        check("kafka-controller" not in re.findall(r"job_name: (\S+)", local),
              "render.py local: a combined cluster has no dedicated controllers to scrape")
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(local)
        promtool("check", "config", os.path.join(d, "prometheus.yml"))
        split = subprocess.run([sys.executable, render, "local", "--topology", "split"], check=True,
                               stdout=subprocess.PIPE).stdout.decode()
        for port in (29094, 29095, 49095):
            check(f"127.0.0.1:{port}" in split, f"render.py local --topology split: no target 127.0.0.1:{port}")
    compose = subprocess.run([sys.executable, render, "compose"], check=True,
                             stdout=subprocess.PIPE).stdout.decode()
    with open(os.path.join(PROM_DIR, "prometheus-compose.yml")) as f:
        check(f.read() == compose, "deploy/prometheus/prometheus-compose.yml differs from "
              "`render.py compose` (regenerate it: deploy/prometheus/render.py compose > "
              "deploy/prometheus/prometheus-compose.yml)")
    promtool("check", "config", os.path.join(PROM_DIR, "prometheus-compose.yml"))
    # Every alert in alerts.yml has a unit test.
    with open(os.path.join(PROM_DIR, "alerts.yml")) as f:
        alerts = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r}
    with open(os.path.join(PROM_DIR, "alerts_test.yml")) as f:
        tested = {a["alertname"] for t in yaml.safe_load(f)["tests"] for a in t.get("alert_rule_test", [])
                  if a.get("exp_alerts")}
    check(alerts <= tested, f"alerts without a firing unit test: {sorted(alerts - tested)}")
    print(f"promtool: config, {len(alerts)} alerts, unit tests, local and compose renderings")


# -------------------------------------------------------------------------------- dashboards
def load_dashboards():
    out = []
    for path in sorted(glob.glob(os.path.join(GRAFANA, "dashboards", "*.json"))):
        with open(path) as f:
            out.append((os.path.basename(path), json.load(f)))
    return out


def panels_of(d):
    for p in d.get("panels", []):
        yield p
        yield from p.get("panels", [])  # panels inside collapsed rows


def substitute(expr, dashboard):
    for k, v in GRAFANA_VARS.items():
        expr = expr.replace(k, v)
    for var in dashboard.get("templating", {}).get("list", []):
        value = var.get("allValue") or ".*"
        expr = re.sub(r"\$\{" + var["name"] + r"(:\w+)?\}|\$" + var["name"] + r"\b", value, expr)
    return expr


def queries():
    """(dashboard file, panel title, refId, PromQL with variables replaced) of every panel."""
    for name, d in load_dashboards():
        for p in panels_of(d):
            for t in p.get("targets", []):
                yield name, p.get("title", ""), t.get("refId", ""), substitute(t.get("expr", ""), d)


def test_dashboards():
    with open(os.path.join(GRAFANA, "provisioning", "datasources", "prometheus.yml")) as f:
        ds = yaml.safe_load(f)
    check(ds.get("apiVersion") == 1, "datasources: apiVersion must be 1")
    uids = {d["uid"]: d for d in ds.get("datasources", [])}
    check(any(d.get("type") == "prometheus" for d in uids.values()), "no Prometheus data source")
    with open(os.path.join(GRAFANA, "provisioning", "dashboards", "spate.yml")) as f:
        prov = yaml.safe_load(f)
    check(prov.get("apiVersion") == 1 and prov.get("providers"), "dashboards provisioning: no providers")
    for pr in prov.get("providers", []):
        check(pr.get("type") == "file" and pr.get("options", {}).get("path"),
              f"dashboard provider {pr.get('name')}: needs type file and options.path")

    dashboards = load_dashboards()
    check(len(dashboards) >= 5, f"expected the 5 dashboards, found {len(dashboards)}")
    seen_uids = set()
    rules = []
    for name, d in dashboards:
        for key in ("uid", "title", "panels", "schemaVersion"):
            check(key in d, f"{name}: no {key}")
        check(d.get("uid") not in seen_uids, f"{name}: uid {d.get('uid')} used twice")
        seen_uids.add(d.get("uid"))
        ids = [p.get("id") for p in panels_of(d)]
        check(len(ids) == len(set(ids)) and None not in ids, f"{name}: panel ids missing or repeated")
        for var in d.get("templating", {}).get("list", []):
            if "datasource" in var:
                check(var["datasource"].get("uid") in uids,
                      f"{name}: variable {var['name']} names data source {var['datasource']}")
        for p in panels_of(d):
            title = p.get("title", "?")
            if p.get("type") == "row":
                continue
            check(p.get("datasource", {}).get("uid") in uids,
                  f"{name} / {title}: data source {p.get('datasource')} is not provisioned")
            check("gridPos" in p, f"{name} / {title}: no gridPos")
            check(p.get("targets"), f"{name} / {title}: no queries")
            for t in p.get("targets", []):
                check(t.get("datasource", p.get("datasource", {})).get("uid") in uids,
                      f"{name} / {title} / {t.get('refId')}: unknown data source")
                check(t.get("expr"), f"{name} / {title} / {t.get('refId')}: empty expr")
                rules.append({"record": f"panel:check:{len(rules)}", "expr": substitute(t.get("expr", ""), d)})
    # promtool parses every query: as recording rules, since it has no offline query check.
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}, f)
        f.flush()
        promtool("check", "rules", f.name)
    print(f"dashboards: {len(dashboards)} dashboards, {len(rules)} queries parse, data source uids {sorted(uids)}")


# ------------------------------------------------------------------------------ saved objects
SAVED_OBJECTS = os.path.join(DEPLOY, "opensearch-dashboards", "spate.ndjson")


def document_fields(spate):
    """The fields of the documents spate writes, by index pattern id: from a small `spate run`."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([spate, "run", "--records", "20000", "--window", "10s", "--anomalies", "0.01",
                        "--out", d, "--metrics-addr", "", "--no-progress"], check=True,
                       stdout=subprocess.DEVNULL)
        out = {}
        for pattern, name in (("spate-aggregates", "aggregates.jsonl"), ("spate-anomalies", "anomalies.jsonl")):
            fields = set()
            with open(os.path.join(d, name)) as f:
                for line in f:
                    fields |= set(json.loads(line))
            out[pattern] = fields
        return out


def test_saved_objects(spate):
    fields = document_fields(spate)
    objs = {}
    with open(SAVED_OBJECTS) as f:
        for n, line in enumerate(f, 1):
            o = json.loads(line)
            for key in ("type", "id", "attributes", "references"):
                check(key in o, f"spate.ndjson line {n}: no {key}")
            check((o["type"], o["id"]) not in objs, f"spate.ndjson: {o['type']} {o['id']} twice")
            objs[(o["type"], o["id"])] = o
    patterns = {i: o for (t, i), o in objs.items() if t == "index-pattern"}
    check({p["attributes"]["title"] for p in patterns.values()} == {"spate-transaction_aggregates*", "spate-transaction_anomalies*"},
          "index patterns must be spate-transaction_aggregates* and spate-transaction_anomalies*")
    for i, p in patterns.items():
        check(p["attributes"].get("timeFieldName") in fields.get(i, ()),
              f"index pattern {i}: time field {p['attributes'].get('timeFieldName')} is not in spate's documents")
    counts = {}
    for (t, i), o in objs.items():
        counts[t] = counts.get(t, 0) + 1
        refs = {r["name"]: r for r in o["references"]}
        for r in o["references"]:
            check((r["type"], r["id"]) in objs, f"{t} {i}: reference to missing {r['type']} {r['id']}")
        a = o["attributes"]
        meta = a.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        index = None
        if meta is not None:
            src = json.loads(meta)
            if "indexRefName" in src:
                check(src["indexRefName"] in refs, f"{t} {i}: indexRefName {src['indexRefName']} has no reference")
                index = refs.get(src["indexRefName"], {}).get("id")
        if t == "visualization":
            vs = json.loads(a["visState"])
            check(vs.get("type") and vs.get("aggs"), f"visualization {i}: visState without type or aggs")
            json.loads(a.get("uiStateJSON", "{}"))
            for ag in vs.get("aggs", []):
                field = ag.get("params", {}).get("field")
                if field:
                    check(field in fields.get(index, ()), f"visualization {i}: field {field} is not in "
                          f"the documents of {index} ({sorted(fields.get(index, ()))})")
        if t == "search":
            for c in a.get("columns", []) + [s[0] for s in a.get("sort", [])]:
                check(c in fields.get(index, ()), f"search {i}: column {c} is not in the documents of {index}")
        if t == "dashboard":
            panels = json.loads(a["panelsJSON"])
            json.loads(a.get("optionsJSON", "{}"))
            check(panels, f"dashboard {i}: no panels")
            for pnl in panels:
                check(pnl.get("panelRefName") in refs, f"dashboard {i}: panel {pnl.get('panelIndex')} has no reference")
                check({"x", "y", "w", "h", "i"} <= set(pnl.get("gridData", {})), f"dashboard {i}: panel without gridData")
    check(counts.get("dashboard", 0) >= 1, "no dashboard")
    print(f"saved objects: {counts}, every reference and field resolves")


# ------------------------------------------------------------------------------------ panels
def prom_query(expr):
    url = f"http://127.0.0.1:{PROM_PORT}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(body)
    return body["data"]["result"]


# Panels whose healthy value is 0 (nothing under-replicated, no lag, no sink errors): they need
# a series with a number. Every other panel needs a value above 0, so that a query whose
# labels match only idle series (a wrong component, a counter that never moves) fails.
ZERO_IS_DATA = {
    ("kafka.json", "Under-replicated partitions"), ("kafka.json", "Offline partitions"),
    ("overview.json", "Consumer lag (records)"), ("aggregator.json", "Consumer lag by partition"),
    ("producer.json", "Messages in librdkafka's queue"), ("sink.json", "Consumer lag"),
    ("sink.json", "Documents dropped/s by reason"), ("sink.json", "Errors/s by type"),
    ("sink.json", "Retries/s"), ("sink.json", "Requests in flight"),
}


def values(result):
    out = []
    for s in result:
        try:
            v = float(s.get("value", [0, "NaN"])[1])
        except ValueError:
            continue
        if not math.isnan(v):
            out.append(v)
    return out


def has_data(q, result):
    v = values(result)
    return bool(v) and ((q[0], q[1]) in ZERO_IS_DATA or any(x > 0 for x in v))


class Procs:
    """The processes this test starts: stopped (SIGINT, then SIGKILL) whatever happens."""

    def __init__(self, logdir):
        self.logdir, self.procs, self.cleanups = logdir, [], []

    def start(self, name, cmd, env=None):
        log = open(os.path.join(self.logdir, name + ".log"), "wb")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append((name, p, log))
        return p

    def dead(self):
        return [(n, p.returncode) for n, p, _ in self.procs if p.poll() is not None and p.returncode != 0]

    def log_tail(self, name):
        with open(os.path.join(self.logdir, name + ".log"), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")

    def stop(self):
        for _, p, _ in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for _, p, log in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()
        for c in self.cleanups:
            c()


def mport(base):
    return f"127.0.0.1:{base + METRICS_OFF}"


def test_panels(spate, deadline_s):
    tag = uuid.uuid4().hex[:8]
    tmp = tempfile.mkdtemp(prefix="spate-monitoring-")
    env = dict(os.environ, SPATE_PROMETHEUS_DIR=os.path.join(tmp, "prometheus"),
               SPATE_PROMETHEUS_PORT=str(PROM_PORT), SPATE_METRICS_PORT_OFFSET=str(METRICS_OFF))
    prom = os.path.join(PROM_DIR, "prometheus.sh")
    topics = {k: f"mon_{k}_{tag}" for k in ("in", "agg", "tot", "anom", "late", "dlq")}
    for t in topics.values():
        subprocess.run([CLUSTER, "topic", t, "6"], check=True)
    if not check(subprocess.run([prom, "up"], env=env).returncode == 0, "prometheus.sh up failed"):
        return
    procs = Procs(tmp)
    try:
        # Event time runs 10x faster than the wall clock (--event-rate 100 at --rate 1000), so
        # 10 s windows close within seconds; 1% malformed and 1% late records feed the dead
        # letter and late panels.
        gen = ["--rate", "1000", "--event-rate", "100", "--malformed", "0.01", "--late", "0.01",
               "--late-delay", "2m", "--anomalies", "0.005", "--users", "2000", "--merchants", "50"]
        procs.start("produce", [spate, "produce", "--brokers", BROKERS, "--topic", topics["in"],
                                "--duration", f"{deadline_s + 60}s", "--records", "0", *gen,
                                "--metrics-addr", mport(9465), "--no-progress"])
        procs.start("aggregate", [spate, "aggregate", "--brokers", BROKERS, "--input", topics["in"],
                                  "--group", f"mon_{tag}", "--aggregates-topic", topics["agg"],
                                  "--totals-topic", topics["tot"], "--anomalies-topic", topics["anom"],
                                  "--late-topic", topics["late"], "--dlq-topic", topics["dlq"],
                                  "--window", "10s", "--lateness", "5s",
                                  "--metrics-addr", mport(9466), "--no-progress"])
        procs.start("run", [spate, "run", "--duration", f"{deadline_s + 60}s", "--records", "0", *gen,
                            "--window", "10s", "--lateness", "5s", "--out", os.path.join(tmp, "run-out"),
                            "--metrics-addr", mport(9464), "--no-progress"])
        start_index(procs, spate, topics, tag)
        # Two documents OpenSearch or the sink refuses, for the sink's drop and error panels:
        # a string in a long field (a mapping error from OpenSearch) and a line that is not JSON.
        bad = ('{"windowStart":1767225600000,"windowEnd":1767225610000,"merchantId":"merchant900",'
               '"transactionCount":"many","totalAmount":1.00,"minAmount":1.00,"maxAmount":1.00,'
               '"purchaseCount":1,"refundCount":0}\nthis is not {json\n')
        subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", topics["agg"]], input=bad.encode(),
                       check=True)
        wanted = list(queries())
        start = time.monotonic()
        missing = wanted
        while True:
            if procs.dead():
                for n, rc in procs.dead():
                    check(False, f"spate {n} exited with {rc}:\n{procs.log_tail(n)}")
                return
            results = {}
            for q in wanted:
                try:
                    results[q] = prom_query(q[3])
                except Exception as e:  # a query Prometheus rejects: report it, keep going
                    results[q] = e
            missing = [q for q in wanted if isinstance(results[q], Exception) or not has_data(q, results[q])]
            if not missing or time.monotonic() - start > deadline_s:
                break
            time.sleep(5)
        elapsed = time.monotonic() - start
        for q in wanted:
            r = results[q]
            if isinstance(r, Exception):
                status = f"ERROR {r}"
            else:
                ok = has_data(q, r)
                status = f"{'ok' if ok else 'NO DATA' if not values(r) else 'ALL ZERO'} ({len(r)} series, max {max(values(r), default='-')})"
            print(f"{q[0]:16} {q[1][:36]:36} {q[2]}  {status}")
        check(not missing, f"{len(missing)} of {len(wanted)} panel queries returned no data after "
              f"{elapsed:.0f} s: " + "; ".join(f"{q[0]} / {q[1]} / {q[2]}: {q[3]}" for q in missing))
        if not missing:
            print(f"panels: all {len(wanted)} queries returned data after {elapsed:.0f} s")
    finally:
        procs.stop()
        subprocess.run([prom, "down"], env=env)
        if not FAILURES:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs kept in {tmp}")


def start_index(procs, spate, topics, tag):
    """`spate index` from the aggregates and anomalies topics into the local OpenSearch, which
    the ctest fixture `opensearch` runs (deploy/opensearch/opensearch.sh)."""
    es = "http://127.0.0.1:" + os.environ.get("SPATE_OPENSEARCH_PORT", "9200")
    procs.start("index", [spate, "index", "--brokers", BROKERS, "--topic", topics["agg"],
                          "--topic", topics["anom"], "--dlq-topic", topics["dlq"],
                          "--group", f"mon_index_{tag}", "--es", es, "--index", f"mon-{tag}-{{topic}}",
                          "--linger", "200ms", "--metrics-addr", mport(9467), "--no-progress"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spate", default="build/spate")
    ap.add_argument("--deadline", type=int, default=120, help="panels: seconds to wait for data")
    ap.add_argument("test", choices=["promtool", "dashboards", "saved_objects", "panels"])
    a = ap.parse_args()
    if shutil.which("promtool") is None:
        print("promtool not found (scripts/deps.sh installs the prometheus package)")
        return 1
    if a.test == "promtool":
        test_promtool()
    elif a.test == "dashboards":
        test_dashboards()
    elif a.test == "saved_objects":
        test_saved_objects(os.path.abspath(a.spate))
    else:
        test_panels(os.path.abspath(a.spate), a.deadline)
    if FAILURES:
        print(f"{len(FAILURES)} FAILED")
        return 1
    print("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
