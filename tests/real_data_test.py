#!/usr/bin/env python3
"""Data nobody here generated, through `spate run --input`, checked against tests/recompute.py.

    python3 tests/real_data_test.py --spate build/spate [--venv build/test-venv] CASE

  faker      records written by Python Faker (PyPI, installed into the tests' virtualenv):
             UUID users, company names and cities in six locales (escaped as \\uXXXX or not),
             Faker's ISO 4217 codes (some of which ICU no longer lists: dead letters), amounts
             with 0, 2 or 3 decimals and some negative, RFC 3339 times with offsets and
             fractions, booleans and "True"/"false" for isInternational, other transaction
             types, extra fields, and a few broken records (an id of 300 bytes, invalid UTF-8,
             a bad time, too many decimals); gzip-compressed.
  reference  the reference producer's record (seed/reference-implementation.md): misspelled
             `amout` and `transationTime`, `merchantID`, time in epoch seconds, Python's
             json.dumps layout and float amounts; read with --field and --time-format epoch-s.
  idle       `spate gen` records whose partition 2 goes quiet for a third of the input and comes
             back late: late records with --idle-timeout 10s, none with 0.

Every output file of the run is compared with the recomputation, as tests/run_property.py
compares a generated run (the same checks).
"""

from __future__ import annotations

import argparse
import base64
import collections
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recompute as rc  # noqa: E402
import run_property as rp  # noqa: E402

FAKER_SCRIPT = r'''
import datetime, json, random, sys
from faker import Faker

n, seed, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
fake = Faker(["en_US", "de_DE", "ja_JP", "fr_FR", "pt_BR", "ru_RU"])
Faker.seed(seed)
rng = random.Random(seed)
users = [fake.uuid4() for _ in range(500)]
merchants = [fake.company() for _ in range(300)]
cities = [fake.city() for _ in range(100)]
currencies = [fake.currency_code() for _ in range(40)] + ["JPY", "KRW", "BHD", "KWD", "EUR", "USD"]
# How many decimals a writer would use; an unknown currency gets two.
decimals = {"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3,
            "OMR": 3, "TND": 3, "LYD": 3}
start = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
zones = [datetime.timezone(datetime.timedelta(minutes=m)) for m in (0, 60, -300, 330, 545, -570)]
with open(path, "wb") as f:
    for i in range(n):
        cur = rng.choice(currencies)
        d = decimals.get(cur, 2)
        minor = rng.randint(-20_000, 30_000_000) if rng.random() < 0.05 else rng.randint(1, 30_000_000)
        text = str(abs(minor)).rjust(d + 1, "0")
        amount = ("-" if minor < 0 else "") + (text[:-d] + "." + text[-d:] if d else text)
        late = 90_000 if rng.random() < 0.005 else 0
        t = start + datetime.timedelta(
            milliseconds=i * 40 - late - rng.choice([0, 0, 0, rng.randint(0, 4000)]))
        when = t.astimezone(rng.choice(zones)).isoformat(
            timespec=rng.choice(["seconds", "milliseconds", "microseconds"]))
        fields = [
            ("transactionId", json.dumps(fake.uuid4() if rng.random() < 0.7 else fake.bothify("TX-????-########"))),
            ("userId", None), ("amount", amount), ("transactionTime", json.dumps(when)),
            ("merchantId", None), ("transactionType", json.dumps(rng.choice(["purchase"] * 8 + ["refund", "chargeback"]))),
            ("location", None), ("paymentMethod", json.dumps(fake.credit_card_provider())),
            ("isInternational", json.dumps(rng.choice([True, False, "True", "false"]))),
            ("currency", json.dumps(cur)),
        ]
        ascii_only = rng.random() < 0.5
        strings = {"userId": rng.choice(users), "merchantId": rng.choice(merchants), "location": rng.choice(cities)}
        fields = [(k, v if v is not None else json.dumps(strings[k], ensure_ascii=ascii_only)) for k, v in fields]
        if rng.random() < 0.1:
            fields.insert(rng.randrange(len(fields)), ("device", json.dumps(fake.user_agent())))
        def put(name, value):
            fields[[k for k, _ in fields].index(name)] = (name, value)
        r = rng.random()
        if r < 0.003:
            put("userId", json.dumps("u" * 300))  # longer than --max-id-bytes
        elif r < 0.006:
            put("transactionTime", json.dumps("yesterday"))
        elif r < 0.009:
            put("amount", amount + "123" if "." in amount else amount + ".1234")
        elif r < 0.012:
            put("transactionTime", json.dumps("2026-02-30T10:00:00Z"))
        sep = ", " if rng.random() < 0.3 else ","
        line = ("{" + sep.join(f'"{k}":{v}' for k, v in fields) + "}").encode()
        if r > 0.997:
            line = line.replace(b'"transactionType":"', b'"transactionType":"\xff', 1)  # not UTF-8
        f.write(line + b"\n")
'''


def reference_lines(n: int, seed: int) -> list:
    """The reference producer's records, as its Python code writes them."""
    rng = random.Random(seed)
    base = 1_767_225_600  # seconds
    out = []
    for i in range(n):
        rec = {
            "transactionId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "userId": f"user_{rng.randint(1, 100)}",
            "amout": round(rng.uniform(50_000, 150_000), 2),
            "transationTime": base + i // 20,
            "merchantID": f"merchant{rng.randint(1, 3)}",
            "transactionType": rng.choice(["purchase", "refund"]),
            "location": f"location {rng.randint(1, 50)}",
            "paymentMethod": rng.choice(["credit_card", "paypal", "bank_transfer"]),
            "isInternational": rng.choice(["True", "False"]),
            "currency": rng.choice(["USD", "EU", "GBP"]),
        }
        out.append(json.dumps(rec).encode())
    return out


def file_key(line: bytes):
    """The key spate reads from a file's line: the userId string of a JSON object; none if it
    has no userId string. A line that is not valid JSON is keyed as far as spate could read it
    (docs/run.md): not checked (None)."""
    try:
        d = json.loads(line.decode("utf-8"))
    except ValueError:
        return None
    user = d.get("userId") if isinstance(d, dict) else None
    return user.encode() if isinstance(user, str) else b""


def ensure_faker(venv: str) -> str:
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    if subprocess.run([py, "-c", "import faker"], capture_output=True).returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "-q", "faker"], check=True)
    return py


def run_and_compare(spate: str, lines: list, path: str, params: rc.Params, options: list,
                    work: str, want_dead: bool = True) -> list:
    """spate run --input path with options; every output compared with the recomputation."""
    out = os.path.join(work, "out")
    engine = ["--partitions", str(params.partitions), "--batch-size", str(params.batch_size),
              "--window", rc.format_duration(params.window_ms),
              "--lateness", rc.format_duration(params.lateness_ms),
              "--idle-timeout", rc.format_duration(params.idle_timeout_ms),
              "--group-by", params.group_by, "--velocity-count", str(params.velocity_count)]
    results = {}
    for threads in (1, 3):
        cmd = [spate, "run", "--input", path, *engine, *options, "--threads", str(threads),
               "--out", out + str(threads), "--no-progress", "--metrics-addr", ""]
        r = subprocess.run(cmd, capture_output=True, timeout=600)
        if r.returncode != 0:
            return [f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.decode()[-500:]}"]
        results[threads] = {f: open(os.path.join(out + str(threads), f), "rb").read()
                            for f in rp.OUTPUT_FILES}
    rep = rp.Report()
    out1 = out + "1"
    dlq_rows = rp.load_jsonl(os.path.join(out1, "dlq.jsonl"), rep, amounts=False)
    res = rc.recompute(lines, params)
    dead_keys = {r["sequence"]: base64.b64decode(r["key"]) for r in dlq_rows}
    if all(d.seq in dead_keys for d in res.dead):
        rc.assign_offsets(res, dead_keys)
    rp.check_aggregates(rep, res, rp.load_jsonl(os.path.join(out1, "aggregates.jsonl"), rep, True))
    rp.check_totals(rep, res, rp.load_jsonl(os.path.join(out1, "totals.jsonl"), rep, True))
    rp.check_anomalies(rep, res, rp.load_jsonl(os.path.join(out1, "anomalies.jsonl"), rep, True))
    rp.check_late(rep, res, rp.load_jsonl(os.path.join(out1, "late.jsonl"), rep, True))
    codes = collections.Counter()
    rp.check_dlq(rep, res, dlq_rows, lines, "json", codes, key_of=file_key)
    rp.check_summary(rep, res, os.path.join(out1, "summary.json"))
    with open(os.path.join(out1, "summary.json")) as f:
        cut = json.load(f).get("deadLettersTruncated")
    want_cut = sum(len(line) > rp.DLQ_MAX for line in lines)
    rep.check(cut == want_cut, "dead letters cut", f"deadLettersTruncated {cut}, want {want_cut}")
    for f in rp.OUTPUT_FILES:
        rep.check(results[1][f] == results[3][f], "thread determinism", f"{f}: --threads 1 and 3 differ")
    s = res.summary()
    print(f"  {s['records']} records: {s['valid']} valid, {s['deadLetters']} dead letters "
          f"({dict(collections.Counter(d.code for d in res.dead))}), {len(res.aggregates)} window "
          f"results, {len(res.totals)} totals, {s['anomalies']} anomalies, {s['late']} late; "
          f"{len({t.currency for t in res.valid})} currencies")
    if codes:
        print("  note: dead-letter codes differing from the recomputation's guess: "
              + ", ".join(f"{w}->{g} x{c}" for (w, g), c in codes.most_common(5)))
    rep.print()
    failures = [f"{k}: {v[0]}" for k, v in rep.failures.items()]
    if not res.valid or (want_dead and not res.dead):
        failures.append("the input should have valid records" + (" and dead letters" if want_dead else ""))
    return failures


def test_faker(spate: str, venv: str) -> list:
    py = ensure_faker(venv)
    with tempfile.TemporaryDirectory() as work:
        raw = os.path.join(work, "faker.jsonl")
        subprocess.run([py, "-c", FAKER_SCRIPT, "20000", "17", raw], check=True)
        with open(raw, "rb") as f:
            data = f.read()
        # Two oversized records among them (2 MB, 900 KB): dead letters cut to 64 KiB.
        rows = data.split(b"\n")
        rows.insert(100, b'{"transactionId":"' + b"a" * 2_000_000 + b'"}')
        rows.insert(5000, b'{"userId":"u1","note":"' + "\u00e9".encode() * 450_000 + b'"')
        data = b"\n".join(rows)
        path = raw + ".gz"
        with gzip.open(path, "wb") as f:
            f.write(data)
        lines = rc.split_lines(data)
        params = rc.Params(partitions=4, batch_size=500, window_ms=10_000, lateness_ms=1_000,
                           group_by="merchantId", velocity_count=5,
                           format=rc.RecordFormat(time="rfc3339"))
        return run_and_compare(spate, lines, path, params, ["--time-format", "rfc3339"], work)


def test_reference(spate: str, venv: str) -> list:
    del venv
    with tempfile.TemporaryDirectory() as work:
        lines = reference_lines(20_000, 5)
        path = os.path.join(work, "reference.jsonl")
        with open(path, "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
        fields = ["amount=amout", "transactionTime=transationTime", "merchantId=merchantID"]
        params = rc.Params(partitions=6, batch_size=5000, window_ms=60_000, lateness_ms=5_000,
                           velocity_count=3,
                           format=rc.RecordFormat.with_fields(fields, "epoch-s"))
        options = [x for f in fields for x in ("--field", f)] + ["--time-format", "epoch-s"]
        return run_and_compare(spate, lines, path, params, options, work, want_dead=False)


def test_idle(spate: str, venv: str) -> list:
    """`spate gen` records of which partition 2's go quiet for the middle third of the input
    and come back, all at once, before the last third: with --idle-timeout 10s the others'
    watermark has moved on without partition 2, and those records are late; with 0 it held the
    watermark back, and none is."""
    del venv
    n, partitions = 30_000, 6
    out = subprocess.run([spate, "gen", "--records", str(n), "--seed", "8", "--users", "3000",
                          "--event-rate", "200", "--malformed", "0"],
                         check=True, stdout=subprocess.PIPE).stdout
    lines = rc.split_lines(out)

    def quiet(i, line):
        user = json.loads(line)["userId"].encode()
        return n // 3 <= i < 2 * n // 3 and rc.partition_of(user, partitions) == 2
    held = [line for i, line in enumerate(lines) if quiet(i, line)]
    rest = [line for i, line in enumerate(lines) if not quiet(i, line)]
    cut = 2 * n // 3 - len(held)  # where the last third starts in `rest`
    lines = rest[:cut] + held + rest[cut:]
    failures = []
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "idle.jsonl")
        with open(path, "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
        for idle, want_late in ((10_000, True), (0, False)):
            params = rc.Params(partitions=partitions, batch_size=1000, window_ms=10_000,
                               lateness_ms=2_000, idle_timeout_ms=idle)
            late = len(rc.recompute(lines, params).late)
            print(f"  --idle-timeout {rc.format_duration(idle)}: {late} late records")
            if (late > 0) != want_late:
                failures.append(f"--idle-timeout {idle} ms: {late} late records")
            failures += run_and_compare(spate, lines, path, params, [], work, want_dead=False)
    return failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spate", required=True)
    ap.add_argument("--venv", default=None)
    ap.add_argument("test", choices=("faker", "reference", "idle"))
    a = ap.parse_args()
    spate = os.path.abspath(a.spate)
    venv = a.venv or os.path.join(os.path.dirname(spate), "test-venv")
    fails = {"faker": test_faker, "reference": test_reference, "idle": test_idle}[a.test](spate, venv)
    for f in fails:
        print("FAIL:", f)
    print(f"real data {a.test}: " + ("FAILED" if fails else "every output equals the recomputation"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
