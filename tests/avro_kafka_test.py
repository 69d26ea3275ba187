#!/usr/bin/env python3
"""Avro through Kafka with `spate registry` and third-party clients (ctest label `kafka`):
confluent-kafka-python's SchemaRegistryClient, AvroSerializer and AvroDeserializer (PyPI,
installed into build/test-venv on first use, as tests/registry_test.py does).

  produce    `spate produce --format avro --schema-registry URL`: confluent's AvroDeserializer,
             pointed at spate registry, reads every record, and each equals the line `spate gen`
             writes for the same options (amounts as exact decimals, in cents); the frames carry
             the id registered under <topic>-value; each partition holds its records in
             generator order; `spate consume --format avro --schema-registry URL` prints the
             `spate gen` lines.
  aggregate  confluent's AvroSerializer writes the records (schemas/transaction.avsc,
             auto-registered in spate registry), keyed by userId with the Java partitioner,
             followed by bad records: an unregistered schema id, a registered schema of another
             record, garbage after a valid header, and no magic byte. `spate aggregate --format
             avro --schema-registry URL -e`: every output equals tests/recompute.py's
             recomputation, and the bad records, and only they, are dead letters with the
             reasons unknown_schema, schema_mismatch, bad_avro, bad_avro. Then again with
             --output-format avro: confluent's AvroDeserializer reads the aggregates and
             anomalies topics, equal to the recomputation.
  outage     the registry is stopped while records with an id the aggregator has not seen
             (the same schema registered under another subject) arrive: no dead letter, the
             aggregator retries from its last commit, and once the registry is back every
             output is exact.

Brokers: SPATE_BROKERS, as the other Kafka tests. Exit code 0 = all passed.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import decimal
import json
import os
import struct
import subprocess
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import aggregate_test  # noqa: E402
import recompute  # noqa: E402
import registry_test  # noqa: E402

BROKERS = aggregate_test.BROKERS
SCHEMA = os.path.join(ROOT, "schemas", "transaction.avsc")
# aggregate_test's workload without --malformed (JSON mistakes have no Avro form).
GEN_ARGS = ["--seed", "23", "--out-of-order", "0.05", "--max-delay", "2s", "--anomalies", "0.002",
            "--users", "20000", "--merchants", "300", "--event-rate", "2000"]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
OTHER = json.dumps({"type": "record", "name": "Other", "namespace": "test",
                    "fields": [{"name": "x", "type": "long"}]})
FAILURES = registry_test.FAILURES
check = registry_test.check


def gen_lines(spate, n):
    out = subprocess.run([spate, "gen", "--records", str(n), *GEN_ARGS], check=True,
                         stdout=subprocess.PIPE).stdout
    return recompute.split_lines(out)


def as_gen_dict(rec: dict) -> dict:
    """A record as AvroDeserializer (fastavro) returns it, in the JSON line's terms."""
    d = dict(rec)
    d["transactionId"] = str(rec["transactionId"])
    d["transactionTime"] = (rec["transactionTime"] - EPOCH) // datetime.timedelta(milliseconds=1)
    d["isInternational"] = "True" if rec["isInternational"] else "False"
    return d


def consume_all(topic: str, n: int, on_message) -> int:
    from confluent_kafka import Consumer, KafkaError
    c = Consumer({"bootstrap.servers": BROKERS, "group.id": "avro-test-" + uuid.uuid4().hex[:8],
                  "auto.offset.reset": "earliest", "enable.partition.eof": True,
                  "isolation.level": "read_committed"})
    c.subscribe([topic])
    seen, idle = 0, 0
    try:
        while seen < n and idle < 60:
            m = c.poll(1.0)
            if m is None:
                idle += 1
                continue
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(str(m.error()))
                continue
            idle = 0
            on_message(m)
            seen += 1
    finally:
        c.close()
    return seen


def test_produce(spate: str):
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    n = 20_000
    topic = "avro_produce_" + uuid.uuid4().hex[:6]
    subprocess.run([aggregate_test.CLUSTER, "topic", topic, "6"], check=True)
    reg = registry_test.Registry(spate)
    try:
        p = subprocess.run([spate, "produce", "--brokers", BROKERS, "--topic", topic, "--records",
                            str(n), "--no-progress", "--metrics-addr", "", "--format", "avro",
                            "--schema-registry", reg.url, *GEN_ARGS],
                           stderr=subprocess.PIPE, text=True, timeout=300)
        check(p.returncode == 0, f"spate produce --schema-registry exits 0 ({p.stderr.strip()[-300:]})")
        client = SchemaRegistryClient({"url": reg.url})
        sid = client.get_latest_version(topic + "-value").schema_id
        check(json.loads(client.get_schema(sid).schema_str) == json.load(open(SCHEMA)),
              f"<topic>-value holds schemas/transaction.avsc as id {sid}")
        lines = gen_lines(spate, n)
        want = {}
        for i, line in enumerate(lines):
            d = json.loads(line, parse_float=decimal.Decimal)
            want[d["transactionId"].lower()] = (i, d)
        deser = AvroDeserializer(client)
        bad, ids = [], collections.Counter()
        last_index = collections.defaultdict(lambda: -1)
        order_ok = [True]

        def on_message(m):
            value = m.value()
            ids[struct.unpack(">bI", value[:5])] += 1
            rec = as_gen_dict(deser(value, SerializationContext(topic, MessageField.VALUE)))
            i, exp = want.pop(rec["transactionId"], (None, None))
            if exp is None or rec != exp:
                bad.append((rec, exp))
                return
            if i <= last_index[m.partition()]:
                order_ok[0] = False
            last_index[m.partition()] = i
            if int(rec["amount"].scaleb(2)) != recompute.amount_cents(
                    lines[i].split(b'"amount":')[1].split(b",")[0].decode()):
                bad.append((rec, "cents"))

        seen = consume_all(topic, n, on_message)
        check(seen == n and not want, f"AvroDeserializer read {seen} of {n} records")
        check(not bad, f"every record equals spate gen's line ({len(bad)} differ, e.g. {bad[:1]})")
        check(set(ids) == {(0, sid)}, f"every frame: magic 0 and id {sid} ({dict(ids)})")
        check(order_ok[0], "each partition holds its records in generator order")
        c = subprocess.run([spate, "consume", "--brokers", BROKERS, "--topic", topic, "-e",
                            "--format", "avro", "--schema-registry", reg.url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        got = sorted(c.stdout.splitlines())
        check(c.returncode == 0 and got == sorted(lines),
              f"spate consume --format avro --schema-registry prints spate gen's lines "
              f"({len(got)} lines, exit {c.returncode})")
        # Another registered schema is printed generically (avro-c's JSON); an unknown id is
        # reported with its reason.
        from confluent_kafka import Producer
        other_id = client.register_schema("other-value", Schema(OTHER, "AVRO"))
        other = b"\x00" + struct.pack(">I", other_id) + b"\x0e"  # {"x": 7}: zigzag 14
        prod = Producer({"bootstrap.servers": BROKERS})
        prod.produce(topic, value=other, partition=0)
        prod.produce(topic, value=b"\x00" + struct.pack(">I", 987654) + b"\x0e", partition=0)
        prod.flush(60)
        c = subprocess.run([spate, "consume", "--brokers", BROKERS, "--topic", topic, "-e",
                            "--format", "avro", "--schema-registry", reg.url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        tail = [json.loads(x) for x in c.stdout.splitlines() if not x.startswith('{"transactionId"')]
        check(tail == [{"x": 7}] and "unknown_schema" in c.stderr and "987654" in c.stderr
              and c.returncode == 1 and "Sanitizer" not in c.stderr,
              f"spate consume prints test.Other as {tail} and reports the unknown id (exit "
              f"{c.returncode})")
    finally:
        reg.stop()


def test_aggregate(spate: str):
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    import io

    import fastavro
    n = 60_000
    t = aggregate_test.topics("avro_" + uuid.uuid4().hex[:6])
    reg = registry_test.Registry(spate)
    try:
        client = SchemaRegistryClient({"url": reg.url})
        ser = AvroSerializer(client, open(SCHEMA).read(), lambda obj, ctx: obj)
        ctx = SerializationContext(t["in"], MessageField.VALUE)
        # The Java client's partitioner (murmur2), as spate produce: a user's records stay in
        # one partition, in order, which the anomaly rules and the recomputation assume.
        prod = Producer({"bootstrap.servers": BROKERS, "partitioner": "murmur2_random",
                         "enable.idempotence": True, "linger.ms": 50})
        lines = gen_lines(spate, n)
        for line in lines:
            d = json.loads(line, parse_float=decimal.Decimal)
            d["isInternational"] = d["isInternational"] == "True"
            prod.produce(t["in"], key=d["userId"].encode(), value=ser(d, ctx))
            prod.poll(0)
        sid = client.get_latest_version(t["in"] + "-value").schema_id
        other_id = client.register_schema("other-value", Schema(OTHER, "AVRO"))
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, fastavro.parse_schema(json.loads(OTHER)), {"x": 7})
        good_datum = ser(json.loads(lines[0], parse_float=decimal.Decimal) | {
            "isInternational": False}, ctx)[5:]
        bad = [  # (the reason expected, the payload)
            ("unknown_schema", b"\x00" + struct.pack(">I", 987654) + good_datum),
            ("schema_mismatch", b"\x00" + struct.pack(">I", other_id) + buf.getvalue()),
            ("bad_avro", b"\x00" + struct.pack(">I", sid) + b"\xff\xff\xff\xff"),
            ("bad_avro", lines[1]),  # JSON: no magic byte
        ]
        for _, payload in bad:
            prod.produce(t["in"], key=b"bad", value=payload)
        check(prod.flush(60) == 0, f"AvroSerializer wrote {n} records (schema id {sid}) and "
                                   f"{len(bad)} bad ones")
        r = subprocess.run(aggregate_test.aggregate_cmd(
            spate, t, "g_" + t["in"], True,
            extra=["--format", "avro", "--schema-registry", reg.url]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        check(r.returncode == 0, f"spate aggregate --format avro --schema-registry exits 0 "
                                 f"({r.stderr.decode()[-300:]})")
        if r.returncode != 0:
            return
        summary = json.loads(r.stdout)
        check(summary["records"] == n + len(bad) and summary["deadLetters"] == len(bad),
              f"{summary['records']} records, {summary['deadLetters']} dead letters")
        for f in aggregate_test.compare(spate, t, n, GEN_ARGS, [p for _, p in bad]):
            check(False, f)
        reasons = collections.Counter(json.loads(x)["error"] for x in aggregate_test.read(t["dlq"]))
        check(reasons == collections.Counter(k for k, _ in bad),
              f"dead-letter reasons {dict(reasons)}")
        check(not FAILURES, "aggregates, totals, anomalies and dead letters equal the recomputation")
        avro_outputs(spate, reg.url, t, n)
    finally:
        reg.stop()


def cents(d: decimal.Decimal) -> int:
    return int(d.scaleb(2))


def avro_outputs(spate: str, url: str, t: dict, n: int):
    """The same input again with --output-format avro: confluent's AvroDeserializer reads the
    aggregates and anomalies topics, and they equal the recomputation."""
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    out = aggregate_test.topics("avro_out_" + uuid.uuid4().hex[:6])
    out["in"] = t["in"]
    r = subprocess.run(aggregate_test.aggregate_cmd(
        spate, out, "g_" + out["agg"], True,
        extra=["--format", "avro", "--schema-registry", url, "--output-format", "avro"]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    if not check(r.returncode == 0, "spate aggregate --output-format avro exits 0 "
                                    f"({r.stderr.decode()[-300:]})"):
        return
    _, res = aggregate_test.expected(spate, n, GEN_ARGS)
    deser = AvroDeserializer(SchemaRegistryClient({"url": url}))

    def read(topic, n):
        rows = []
        consume_all(topic, n, lambda m: rows.append(
            deser(m.value(), SerializationContext(topic, MessageField.VALUE))))
        return rows

    def ms(v):
        return (v - EPOCH) // datetime.timedelta(milliseconds=1)
    got_aggs = collections.Counter(
        (ms(a["windowStart"]), ms(a["windowEnd"]), (a["merchantId"], a["currency"]),
         a["transactionCount"],
         cents(a["totalAmount"]), cents(a["minAmount"]), cents(a["maxAmount"]),
         a["purchaseCount"], a["refundCount"], a["userId"], a["emit"])
        for a in read(out["agg"], len(res.aggregates)))
    want_aggs = collections.Counter((s, e, k, *v, None, None) for s, e, k, v in res.aggregates)
    check(got_aggs == want_aggs, f"AvroDeserializer reads the aggregates topic: "
                                 f"{sum(got_aggs.values())} windows equal the recomputation's "
                                 f"{sum(want_aggs.values())}")

    def evidence(ev):
        return tuple(sorted((k, cents(v) if isinstance(v, decimal.Decimal) else v)
                            for k, v in ev.items()))
    got_anom = collections.Counter(
        (a["rule"], str(a["transactionId"]), cents(a["amount"]), evidence(a["evidence"]))
        for a in read(out["anom"], len(res.anomalies)))
    want_anom = collections.Counter()
    for a in res.anomalies:
        row = recompute.anomaly_row(a)
        want_anom[(row["rule"], row["transactionId"], row["amount"],
                   tuple(sorted(row["evidence"].items())))] += 1
    check(got_anom == want_anom, f"AvroDeserializer reads the anomalies topic: "
                                 f"{sum(got_anom.values())} anomalies equal the recomputation's "
                                 f"{sum(want_anom.values())}")


def test_outage(spate: str):
    """The registry goes away while records with an id the aggregator has not seen arrive: no
    record becomes a dead letter; once the registry is back (same --store, same port) they are
    read like the others and every output is exact."""
    import tempfile
    import time

    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    n, m = 20_000, 2_000
    t = aggregate_test.topics("avro_outage_" + uuid.uuid4().hex[:6])
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "schemas.jsonl")
        reg = registry_test.Registry(spate, "--store", store)
        port = reg.port
        subprocess.run([spate, "produce", "--brokers", BROKERS, "--topic", t["in"], "--records",
                        str(n), "--no-progress", "--metrics-addr", "", "--format", "avro",
                        "--schema-registry", reg.url, *GEN_ARGS], check=True,
                       stderr=subprocess.DEVNULL, timeout=300)
        # The same encoding under another id (only the doc differs): read like ours, once known.
        variant = json.load(open(SCHEMA)) | {"doc": "the same record, registered elsewhere"}
        vid = SchemaRegistryClient({"url": reg.url}).register_schema(
            "variant-value", Schema(json.dumps(variant), "AVRO"))
        agg = subprocess.Popen(aggregate_test.aggregate_cmd(
            spate, t, "g_" + t["in"], False, extra=["--format", "avro", "--schema-registry",
                                                    reg.url]),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(4)
        reg.stop()
        # Records n.. with the variant's id, which the aggregator must ask about.
        lines = gen_lines(spate, n + m)
        frames = subprocess.run([spate, "gen", "--records", str(n + m), "--format", "avro",
                                 *GEN_ARGS], check=True, stdout=subprocess.PIPE).stdout
        prod = Producer({"bootstrap.servers": BROKERS, "partitioner": "murmur2_random",
                         "enable.idempotence": True})
        pos = 0
        for i in range(n + m):
            (size,) = struct.unpack_from(">I", frames, pos)
            frame = frames[pos + 4:pos + 4 + size]
            pos += 4 + size
            if i >= n:
                key = json.loads(lines[i])["userId"].encode()
                prod.produce(t["in"], key=key, value=b"\x00" + struct.pack(">I", vid) + frame[5:])
        check(prod.flush(60) == 0, f"{m} records with schema id {vid} written, registry down")
        time.sleep(6)
        check(agg.poll() is None, "the aggregator waits for the registry instead of exiting")
        reg = registry_test.Registry(spate, "--store", store, listen=f"127.0.0.1:{port}")
        try:
            time.sleep(6)
            agg.terminate()
            _, err = agg.communicate(timeout=120)
            check(agg.returncode == 0 and "schema registry unavailable" in err,
                  f"it abandoned batches while the registry was down, then carried on "
                  f"(exit {agg.returncode})")
            r = subprocess.run(aggregate_test.aggregate_cmd(
                spate, t, "g_" + t["in"], True,
                extra=["--format", "avro", "--schema-registry", reg.url]),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
            check(r.returncode == 0, f"the aggregator finishes ({r.stderr.decode()[-200:]})")
            for f in aggregate_test.compare(spate, t, n + m, GEN_ARGS):
                check(False, f)
            check(not FAILURES, "no dead letters; every output equals the recomputation")
        finally:
            reg.stop()


TESTS = {"produce": test_produce, "aggregate": test_aggregate, "outage": test_outage}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spate", default="build/spate")
    ap.add_argument("--venv", default="", help="default: test-venv beside the spate binary")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("test", choices=sorted(TESTS))
    args = ap.parse_args()
    spate = os.path.abspath(args.spate)
    if not args.inside:
        venv = args.venv or os.path.join(os.path.dirname(spate), "test-venv")
        # confluent-kafka's Avro serdes need fastavro.
        py = registry_test.ensure_venv(venv, "import confluent_kafka.schema_registry.avro, fastavro",
                                       ("confluent-kafka[avro,schemaregistry]", "fastavro"))
        return subprocess.run([py, os.path.abspath(__file__), "--spate", spate, "--inside",
                               args.test]).returncode
    TESTS[args.test](spate)
    print(f"avro {args.test}: " + (f"{len(FAILURES)} FAILED" if FAILURES else "all passed"))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
