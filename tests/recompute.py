#!/usr/bin/env python3
"""Independent recomputation of everything `spate run` writes, from `spate gen` output.

This module re-implements docs/semantics.md in plain Python (standard library only) and never
calls spate's engine. Given the JSONL bytes of `spate gen` (line i = record i) and the run
parameters it computes:

  * which sequence numbers are dead letters (strict validation of the record table),
  * the Kafka partition of every keyed record (Java murmur2, as Kafka's default partitioner),
  * the batch / watermark simulation, the windows (tumbling and hopping), late and partially
    late records with their missed window starts,
  * per-(window, key) aggregates (final values and, for --emit changes, the per-batch updates),
  * all-time totals per key,
  * the anomalies (high_amount, international_high, velocity_count, velocity_amount).

Amounts are integers in the minor units of their currency throughout.

The parts live in tests/oracle/: kafka (the partitioner), records (currencies, validation),
model (parameters, result shapes), rules (anomalies), windows (the recomputation), outputs
(rendering); this module gathers them, with the self test and the command line.

Library use:   params = Params(partitions=6, ...); result = recompute(lines, params)
Command line:  python3 tests/recompute.py GEN.jsonl [--partitions 6 ...] [--out DIR]
               python3 tests/recompute.py --selftest
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Iterable

from oracle.kafka import (  # noqa: F401 (gathered here for the tests)
    murmur2, partition_of)
from oracle.records import (  # noqa: F401 (gathered here for the tests)
    DEFAULT_FORMAT, DIGITS, ERROR_CODES, FIELDS, GROUP_FIELDS, MAX_AMOUNT, MAX_ID_BYTES,
    MAX_TIME_MS, MIN_TIME_MS, RecordFormat, Reject, STRING_FIELDS, TIME_FORMATS, Txn,
    amount_cents, amount_minor, iso_code, split_lines, time_ms, validate, validate_full)
from oracle.model import (  # noqa: F401 (gathered here for the tests)
    Anomaly, DeadLetter, LateRecord, Limit, Params, Result, add_to_agg, format_amount,
    format_duration, new_agg, parse_duration)
from oracle.rules import (  # noqa: F401 (gathered here for the tests)
    anomalies, anomalies_naive)
from oracle.windows import (  # noqa: F401 (gathered here for the tests)
    assign_offsets, offsets, parse_all, recompute, window_starts)
from oracle.outputs import (  # noqa: F401 (gathered here for the tests)
    AMOUNT_KEYS, aggregate_row, anomaly_row, json_string, to_json_text, total_row, txn_dict,
    write_expected)

# --------------------------------------------------------------------------------------------
# Self test and command line.
# --------------------------------------------------------------------------------------------

def selftest() -> int:
    vectors = {b"21": -973932308, b"foobar": -790332482,
               b"a-little-bit-long-string": -985981536,
               b"a-little-bit-longer-string": -1486304829,
               b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
               b"abc": 479470107}
    ok = True
    for data, want in vectors.items():
        got = murmur2(data)
        if got != want:
            print(f"murmur2({data!r}) = {got}, want {want}")
            ok = False

    good = (b'{"transactionId":"0f8fad5b-d9cb-469f-a165-70867728950e","userId":"user_7",'
            b'"amount":123.4,"transactionTime":1700000000000,"merchantId":"merchant2",'
            b'"transactionType":"refund","location":"location 9","paymentMethod":"paypal",'
            b'"isInternational":"True","currency":"EU","extra":[1,{"a":1,"a":2}]}')
    t = validate(good)
    ok &= t.amount == 12340 and t.transactionTime == 1700000000000 and t.currency == "EUR"
    ok &= txn_dict(t)["currency"] == "EU"
    jpy = good.replace(b'"EU"', b'"JPY"').replace(b'123.4', b'1200')
    ok &= validate(jpy).amount == 1200
    ok &= validate(jpy.replace(b'1200', b'1.2e3')).amount == 1200
    ok &= validate(jpy.replace(b'1200', b'1200.00')).amount == 1200
    ok &= validate(good.replace(b'"EU"', b'"BHD"')).amount == 123400
    ok &= validate(good.replace(b'123.4', b'-5')).amount == -500
    ok &= validate(good.replace(b'"True"', b'true')).isInternational == "True"
    ok &= validate(good.replace(b'"True"', b'"false"')).isInternational == "False"
    ok &= validate(good.replace(b'"user_7"', b'"\\u00e9l\\u00e8ve \\"7\\""')).userId == 'élève "7"'
    ok &= validate(good.replace(b'"amount"', b'"amout"'),
                   fmt=RecordFormat.with_fields(["amount=amout"])).amount == 12340
    for fmt, text in (("epoch-s", b"1700000000.5"), ("epoch-us", b"1700000000000999"),
                      ("rfc3339", b'"2023-11-14T22:13:20.000Z"'),
                      ("rfc3339", b'"2023-11-15T00:13:20+02:00"')):
        line = good.replace(b"1700000000000", text)
        want = 1700000000500 if fmt == "epoch-s" else 1700000000000
        ok &= validate(line, fmt=RecordFormat(time=fmt)).transactionTime == want
    ok &= format_amount(-5, 2) == "-0.05" and format_amount(1200, 0) == "1200"
    ok &= format_amount(7, 3) == "0.007"
    ok &= Limit("250000", "JPY=30000000").minor("JPY") == 30000000
    ok &= Limit("250000.1234").minor("BHD") == 250000123
    ok &= Limit("250000.1234").minor("CLF") == 2500001234
    if not ok:
        print("selftest: a valid record was read wrongly")
    bad = {
        b"": "invalid_json",
        good + b" x": "trailing_content",
        good.replace(b'"amount":123.4', b'"amount":123.456'): "bad_value",
        good.replace(b'"amount":123.4', b'"amount":1.23456e2'): "bad_value",
        good.replace(b'"amount":123.4', b'"amount":NaN'): "invalid_json",
        good.replace(b'"amount":123.4', b'"amount":Infinity'): "invalid_json",
        good.replace(b'"amount":123.4', b'"amount":"123.40"'): "wrong_type",
        good.replace(b'"amount":123.4', b'"amount":true'): "wrong_type",
        good.replace(b'"amount":123.4', b'"amount":1e19'): "out_of_range",
        good.replace(b'"amount":123.4', b'"amount":10000000000000000.00'): "out_of_range",
        jpy.replace(b'1200', b'1200.5'): "bad_value",
        good.replace(b'"transactionTime":1700000000000', b'"transactionTime":1.7e12'):
            "bad_value",
        good.replace(b'"transactionTime":1700000000000', b'"transactionTime":true'):
            "wrong_type",
        good.replace(b'"transactionTime":1700000000000', b'"transactionTime":946684799999'):
            "out_of_range",
        good.replace(b'"transactionTime":1700000000000', b'"transactionTime":1700000000'):
            "out_of_range",
        good.replace(b'"user_7"', b'""'): "bad_value",
        good.replace(b'"user_7"', b'"' + b"x" * 257 + b'"'): "bad_value",
        good.replace(b'"user_7"', b'7'): "wrong_type",
        good.replace(b'"True"', b'"yes"'): "bad_value",
        good.replace(b'"True"', b'1'): "wrong_type",
        good.replace(b'"EU"', b'"XYZ"'): "bad_value",
        good.replace(b'"EU"', b'"usd"'): "bad_value",
        good.replace(b'"currency":"EU",', b'"currency":"EU","currency":"EU",'): "duplicate_field",
        good.replace(b'"currency":"EU",', b''): "missing_field",
        good.replace(b'user_7', b'user_\xff'): "invalid_json",
        b'[1,2]': "wrong_type",
    }
    for line, code in bad.items():
        try:
            validate(line)
            print(f"accepted {line!r}, want {code}")
            ok = False
        except Reject as r:
            if r.code != code:
                print(f"{line!r}: code {r.code}, want {code}")
                ok = False

    # The fast path must agree with the full validator, on valid lines and on mutations.
    rng = random.Random(5)
    corpus = [good.split(b',"extra"')[0] + b"}"]
    for _ in range(3000):
        b = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(b))
            op = rng.random()
            if op < 0.4:
                b[i] = rng.choice(b'0123456789.e-"{}, :aftuTFEJPY\\x\x00\xff\xc3\xa9')
            elif op < 0.7:
                del b[i]
            else:
                b.insert(i, rng.choice(b'0123456789."{},: '))
        line = bytes(b)
        outcome = []
        for fn in (validate, validate_full):
            try:
                outcome.append(fn(line))
            except Reject as r:
                outcome.append(r.code)
        if outcome[0] != outcome[1]:
            print(f"fast path disagrees on {line!r}: {outcome}")
            ok = False
        if rng.random() < 0.2 and not isinstance(outcome[1], str):
            corpus.append(line)

    assert window_starts(1_000, 60_000, 60_000) == [0]
    assert window_starts(65_000, 60_000, 20_000) == [20_000, 40_000, 60_000]
    assert window_starts(60_000, 60_000, 25_000) == [25_000, 50_000]

    rng = random.Random(7)
    for _ in range(30):
        p = Params(lateness_ms=rng.choice([0, 1000, 5000]), velocity_span_ms=rng.choice([1000, 5000]),
                   velocity_count=rng.randint(1, 6),
                   velocity_amount=Limit(str(rng.randint(1, 50) * 1000), "JPY=40000000"))
        valid = []
        for seq in range(400):
            tt = 1_700_000_000_000 + seq * 50 - rng.choice([0, 0, 0, rng.randint(0, 8000)])
            cur = rng.choice(["USD", "USD", "JPY", "BHD"])
            user = rng.randint(1, 4) if rng.random() < 0.8 else rng.randint(5, 40)  # some expire
            valid.append(Txn(seq, "x", f"u{user}", rng.randint(-10**5, 10**7), tt,
                             "m", "purchase", "l", "paypal", rng.choice(["True", "False"]),
                             cur, cur))
        if anomalies(valid, p) != anomalies_naive(valid, p):
            print("velocity: Fenwick and naive implementations disagree", p)
            ok = False
    print("selftest", "ok" if ok else "FAILED")
    return 0 if ok else 1


def add_param_args(ap: argparse.ArgumentParser):
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=32768)
    ap.add_argument("--window", default="60s")
    ap.add_argument("--hop", default=None)
    ap.add_argument("--lateness", default="5s")
    ap.add_argument("--idle-timeout", default="60s")
    ap.add_argument("--group-by", default="merchantId", choices=GROUP_FIELDS)
    ap.add_argument("--emit", default="final", choices=("final", "changes"))
    ap.add_argument("--high-amount", action="append", default=[])
    ap.add_argument("--intl-amount", action="append", default=[])
    ap.add_argument("--velocity-span", default="10s")
    ap.add_argument("--velocity-count", type=int, default=10)
    ap.add_argument("--velocity-amount", action="append", default=[])
    ap.add_argument("--rules", default="on", choices=("on", "off"))
    ap.add_argument("--totals", default="on", choices=("on", "off"))
    ap.add_argument("--field", action="append", default=[])
    ap.add_argument("--time-format", default="epoch-ms", choices=TIME_FORMATS)
    ap.add_argument("--max-id-bytes", type=int, default=MAX_ID_BYTES)


def params_from_args(a) -> Params:
    return Params(partitions=a.partitions, batch_size=a.batch_size,
                  window_ms=parse_duration(a.window),
                  hop_ms=parse_duration(a.hop) if a.hop else None,
                  lateness_ms=parse_duration(a.lateness),
                  idle_timeout_ms=parse_duration(a.idle_timeout), group_by=a.group_by, emit=a.emit,
                  high_amount=Limit("250000", *a.high_amount),
                  intl_amount=Limit("150000", *a.intl_amount),
                  velocity_span_ms=parse_duration(a.velocity_span),
                  velocity_count=a.velocity_count,
                  velocity_amount=Limit("1000000", *a.velocity_amount),
                  rules=a.rules == "on", totals=a.totals == "on",
                  format=RecordFormat.with_fields(a.field, a.time_format, a.max_id_bytes))


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", nargs="?", help="spate gen output (JSONL)")
    ap.add_argument("--out", help="write the recomputed files into this directory")
    ap.add_argument("--selftest", action="store_true")
    add_param_args(ap)
    a = ap.parse_args(argv)
    if a.selftest:
        return selftest()
    if not a.input:
        ap.error("input file required (or --selftest)")
    with open(a.input, "rb") as f:
        lines = split_lines(f.read())
    res = recompute(lines, params_from_args(a))
    if a.out:
        write_expected(res, a.out)
    print(json.dumps(res.summary(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
