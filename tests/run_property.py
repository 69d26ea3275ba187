#!/usr/bin/env python3
"""Property test: `spate run` output equals the independent recomputation (tests/recompute.py).

For each case a seeded RNG draws generator and engine settings; the script runs `spate gen` and
`spate run` with the same generator options, recomputes everything from the gen output and
compares every output file exactly. It then reruns the case with another --threads value and
requires byte-identical output files.

    python3 tests/run_property.py --spate build/spate [--cases 12] [--seed 1] [--keep]

Exit code 0 = every case passed. On failure the first mismatches of each kind are printed with
the commands that reproduce the case.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recompute as rc  # noqa: E402

MAX_SHOWN = 5
OUTPUT_FILES = ("aggregates.jsonl", "totals.jsonl", "anomalies.jsonl", "late.jsonl", "dlq.jsonl")
AMOUNT_KEYS = rc.AMOUNT_KEYS
_RAW_AMOUNT_RE = re.compile(r'"(%s)"\s*:\s*([^,}\]\s]*)' % "|".join(AMOUNT_KEYS))
_UUID_RE = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_USER_RE = re.compile(rb'"userId":"([^"\\]+)"')
RULES = ("high_amount", "international_high", "velocity_count", "velocity_amount")


# --------------------------------------------------------------------------------------------
# Drawing a case.
# --------------------------------------------------------------------------------------------

def dur(ms: int) -> str:
    return rc.format_duration(ms)


def draw_case(rng) -> dict:
    """Random generator + engine settings. Returns {'gen': [...], 'engine': [...], 'params': Params}."""
    records = rng.randint(20_000, 150_000)
    event_rate = rng.choice([50, 200, 1000, 5000, rng.randint(20, 20_000)])
    profile = rng.choice(["reference", "reference", "realistic"])
    users = rng.choice([3, 10, rng.randint(3, 100), 1000, rng.randint(100, 100_000)])
    merchants = rng.choice([3, rng.randint(3, 50), rng.randint(50, 100_000)])
    locations = rng.choice([50, rng.randint(3, 1000)])
    window = rng.choice([1000, 2000, 5000, 10_000, 30_000, 60_000, 120_000,
                         rng.randint(1, 120) * 1000, rng.randint(500, 120_000)])
    hop_kind = rng.choice(["tumbling", "tumbling", "divisor", "fraction"])
    if hop_kind == "divisor":
        divisors = [k for k in (2, 3, 4) if window % k == 0]
        hop = window // rng.choice(divisors) if divisors else None
    elif hop_kind == "fraction":  # generally not a divisor of the window
        hop = max(1, int(window * rng.uniform(0.3, 0.95)))
    else:
        hop = None
    lateness = rng.choice([0, 1000, 5000, 10_000, rng.randint(0, 10_000)])
    span = rng.choice([1000, 5000, 10_000, 60_000])
    skew = rng.choice(["uniform", "zipf"])
    # Velocity limits near what the busiest user does in a span (zipf: the top user has a share
    # 1/H(users, 1.1)), so that the rules fire sometimes but not on every record.
    top_share = 1 / users if skew == "uniform" else 1 / sum(
        k ** -1.1 for k in range(1, min(users, 100_000) + 1))
    # ... and short enough that a velocity_amount limit (at most 99999999.99) can exceed what
    # the busiest user spends in a span (about 100000.00 a record).
    span = max(1, min(span, int(500_000 / (event_rate * top_share))))
    per_span = event_rate * top_share * span / 1000
    vcount = max(1, int(per_span * rng.uniform(1.0, 2.0))) + rng.choice([0, 1, 2])
    gen = [
        "--seed", str(rng.randrange(1, 2**32)),
        "--records", str(records),
        "--event-rate", str(event_rate),
        "--users", str(users), "--merchants", str(merchants), "--locations", str(locations),
        "--skew", skew,
        "--out-of-order", f"{rng.choice([0, 0.01, 0.1, rng.uniform(0, 0.3)]):.4f}",
        "--max-delay", dur(rng.choice([500, 2000, 5000, rng.randint(0, 15_000)])),
        "--late", f"{rng.choice([0, 0.001, rng.uniform(0, 0.02)]):.4f}",
        "--late-delay", dur(rng.choice([10_000, 60_000, rng.randint(1000, 300_000)])),
        "--malformed", f"{rng.choice([0, 0.001, 0.01, rng.uniform(0, 0.02)]):.4f}",
        "--anomalies", f"{rng.choice([0, 0.001, rng.uniform(0, 0.01)]):.4f}",
        "--velocity-span", dur(span),
        "--velocity-count", str(vcount),
        "--velocity-amount", rc.format_amount(min(9_999_999_999, int(10_000_000 * max(
            3.0, per_span * rng.uniform(1.0, 2.0))))),
        "--profile", profile,
        "--time-format", rng.choice(["epoch-ms", "epoch-ms", *rc.TIME_FORMATS]),
    ]
    if rng.random() < 0.3:
        gen += ["--high-amount", rc.format_amount(rng.randint(140_000, 200_000) * 100)]
    if rng.random() < 0.3:
        gen += ["--intl-amount", rc.format_amount(rng.randint(100_000, 160_000) * 100)]
    if profile == "realistic" and rng.random() < 0.5:  # one currency's own limits
        gen += ["--high-amount", f"JPY={rng.randint(100_000, 200_000) * 100}",
                "--velocity-amount", f"KWD={rng.randint(1000, 100_000)}.{rng.randint(0, 999):03d}"]
    if rng.random() < 0.1:
        gen += ["--rules", "off"]
    if rng.random() < 0.3:
        gen += ["--start-time", str(rng.randint(946_684_800_000, 4_000_000_000_000))]
    partitions = rng.randint(1, 8)
    batch = rng.choice([1000, 4096, 32768, rng.randint(1000, 40_000)])
    group_by = rng.choice(rc.GROUP_FIELDS)
    emit = rng.choice(["final", "changes"])
    engine = [
        "--totals", rng.choice(["on", "on", "on", "off"]),
        "--threads", str(rng.randint(1, 4)),
        "--partitions", str(partitions),
        "--batch-size", str(batch),
        "--window", dur(window),
        "--lateness", dur(lateness),
        "--group-by", group_by,
        "--emit", emit,
        "--format", rng.choice(["json", "binary"]),
    ]
    if hop:
        engine += ["--hop", dur(hop)]
    return {"gen": gen, "engine": engine, "params": params_of(gen, engine)}


def params_of(gen: list, engine: list) -> rc.Params:
    """The recomputation's parameters of spate options (docs/semantics.md's defaults)."""
    p = rc.Params()
    specs = {"--high-amount": [], "--intl-amount": [], "--velocity-amount": []}
    for opts in (gen, engine):
        for k, v in zip(opts[::2], opts[1::2]):
            if k in specs:
                specs[k].append(v)
            elif k == "--partitions":
                p.partitions = int(v)
            elif k == "--batch-size":
                p.batch_size = int(v)
            elif k == "--window":
                p.window_ms = rc.parse_duration(v)
            elif k == "--hop":
                p.hop_ms = rc.parse_duration(v)
            elif k == "--lateness":
                p.lateness_ms = rc.parse_duration(v)
            elif k == "--idle-timeout":
                p.idle_timeout_ms = rc.parse_duration(v)
            elif k == "--group-by":
                p.group_by = v
            elif k == "--emit":
                p.emit = v
            elif k == "--velocity-span":
                p.velocity_span_ms = rc.parse_duration(v)
            elif k == "--velocity-count":
                p.velocity_count = int(v)
            elif k == "--rules":
                p.rules = v == "on"
            elif k == "--totals":
                p.totals = v == "on"
            elif k == "--time-format":
                p.format = rc.RecordFormat(time=v)
    p.high_amount = rc.Limit("250000", *specs["--high-amount"])
    p.intl_amount = rc.Limit("150000", *specs["--intl-amount"])
    p.velocity_amount = rc.Limit("1000000", *specs["--velocity-amount"])
    return p


# --------------------------------------------------------------------------------------------
# Reading spate's output.
# --------------------------------------------------------------------------------------------

class _RawNum(str):
    pass


class Report:
    """Collects failures, printing at most MAX_SHOWN examples per kind."""

    def __init__(self):
        self.failures = collections.OrderedDict()

    def fail(self, kind: str, detail: str):
        self.failures.setdefault(kind, []).append(detail)

    def check(self, cond: bool, kind: str, detail: str):
        if not cond:
            self.fail(kind, detail)
        return cond

    @property
    def ok(self) -> bool:
        return not self.failures

    def print(self):
        for kind, details in self.failures.items():
            print(f"  FAIL {kind}: {len(details)} problem(s)")
            for d in details[:MAX_SHOWN]:
                print(f"      {d}")


def _digits_of(obj) -> int | None:
    """The minor digits of the currency of a result line (of its record, for a late one)."""
    cur = obj.get("currency")
    if not isinstance(cur, str) and isinstance(obj.get("record"), dict):
        cur = obj["record"].get("currency")
    code = rc.iso_code(cur) if isinstance(cur, str) else None
    return rc.DIGITS[code] if code else None


def _normalize(v, digits, key=None):
    """Raw numbers -> int (amount keys -> minor units); containers recursively. An amount that
    is not a decimal with exactly the currency's digits stays a string (and compares unequal;
    its format is reported separately)."""
    if isinstance(v, dict):
        return {k: _normalize(x, digits, k) for k, x in v.items()}
    if isinstance(v, list):
        return [_normalize(x, digits) for x in v]
    if isinstance(v, _RawNum):
        if key in AMOUNT_KEYS:
            try:
                return rc.amount_minor(v, digits) if digits is not None else str(v)
            except rc.Reject:
                return str(v)
        try:
            return int(v)
        except ValueError:
            return float(v)
    return v


def load_jsonl(path: str, rep: Report, amounts: bool) -> list:
    """Every line must be a JSON object; amounts must be written with exactly the decimals of
    their currency."""
    name = os.path.basename(path)
    rows = []
    if not os.path.exists(path):
        rep.fail("missing file", name)
        return rows
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        rep.fail("format", f"{name}: last line has no newline")
    for i, raw in enumerate(rc.split_lines(data)):
        try:
            text = raw.decode("utf-8")
            obj = json.loads(text, parse_float=_RawNum, parse_int=_RawNum)
        except ValueError as e:
            rep.fail("unparsable line", f"{name}:{i + 1}: {e}: {raw[:200]!r}")
            continue
        if not isinstance(obj, dict):
            rep.fail("unparsable line", f"{name}:{i + 1}: not an object")
            continue
        digits = _digits_of(obj)
        if amounts:
            if digits is None:
                rep.fail("amount format", f"{name}:{i + 1}: no known currency")
            for k, val in _RAW_AMOUNT_RE.findall(text):
                if digits is None:
                    break
                try:
                    exact = rc.format_amount(rc.amount_minor(val, digits), digits) == val
                except rc.Reject:
                    exact = False
                if not exact:
                    rep.fail("amount format", f"{name}:{i + 1}: {k}={val} is not written with "
                                              f"the currency's {digits} decimals")
        rows.append(_normalize(obj, digits))
    return rows


# --------------------------------------------------------------------------------------------
# Comparing.
# --------------------------------------------------------------------------------------------

def diff_counters(rep: Report, kind: str, want: collections.Counter, got: collections.Counter,
                  key=None):
    """Reports the difference of two multisets of lines. With key (line -> identity, e.g. the
    (rule, sequence) of an anomaly), a line whose identity is on both sides is shown once as
    'differs' with both values."""
    missing = want - got
    extra = got - want
    if key is not None:
        got_by_key = {}
        for item in extra:
            got_by_key.setdefault(key(item), item)
        paired = []
        for item in sorted(missing, key=repr):
            other = got_by_key.get(key(item))
            if other is not None:
                paired.append((item, other))
        for w, g in paired[:MAX_SHOWN]:
            rep.fail(kind, f"differs at {key(w)}:\n          want {w}\n          got  {g}")
        if paired:
            shown = {key(w) for w, _ in paired}
            missing = collections.Counter({i: n for i, n in missing.items() if key(i) not in shown})
            extra = collections.Counter({i: n for i, n in extra.items() if key(i) not in shown})
            rep.fail(kind, f"{len(paired)} line(s) differ in value")
    for item, n in sorted(missing.items(), key=repr)[:MAX_SHOWN]:
        rep.fail(kind, f"expected but missing (x{n}): {item}")
    for item, n in sorted(extra.items(), key=repr)[:MAX_SHOWN]:
        rep.fail(kind, f"unexpected (x{n}): {item}")
    if missing or extra:
        rep.fail(kind, f"{sum(missing.values())} missing, {sum(extra.values())} unexpected "
                       f"(expected {sum(want.values())} lines, got {sum(got.values())})")


def by_window_key(item):
    return item[:3]


def agg_fields(group_by: str, changes: bool) -> set:
    f = {"windowStart", "windowEnd", group_by, "currency", "transactionCount", "totalAmount",
         "minAmount", "maxAmount", "purchaseCount", "refundCount"}
    return f | {"emit"} if changes else f


def agg_tuple(row: dict, group_by: str) -> tuple:
    return (row.get("windowStart"), row.get("windowEnd"), (row.get(group_by), row.get("currency")),
            (row.get("transactionCount"), row.get("totalAmount"), row.get("minAmount"),
             row.get("maxAmount"), row.get("purchaseCount"), row.get("refundCount")))


def check_aggregates(rep: Report, res: rc.Result, rows: list):
    p = res.params
    changes = p.emit == "changes"
    fields = agg_fields(p.group_by, changes)
    for r in rows:
        if set(r) != fields:
            rep.fail("aggregates fields", f"{sorted(r)} != {sorted(fields)}")
            break
        if changes and r.get("emit") != "update":
            rep.fail("aggregates fields", f'"emit" is {r.get("emit")!r}, want "update"')
            break
    want_final = collections.Counter((s, e, k, v) for s, e, k, v in res.aggregates)
    got = [agg_tuple(r, p.group_by) for r in rows]
    if not changes:
        diff_counters(rep, "aggregates", want_final, collections.Counter(got), by_window_key)
        return
    last = {}
    for s, e, k, v in got:
        last[(s, e, k)] = v
    want_last = {(s, e, k): v for s, e, k, v in res.aggregates}
    diff_counters(rep, "aggregates (changes: last update per window,key vs final value)",
                  collections.Counter(want_last.items()), collections.Counter(last.items()),
                  lambda item: item[0])
    # Strict reading of semantics.md: after every batch, one line per (window, key) it changed.
    want_updates = collections.Counter((s, e, k, v) for _, s, e, k, v in res.updates)
    diff_counters(rep, "aggregates (changes: per-batch update lines)", want_updates,
                  collections.Counter(got))


def check_totals(rep: Report, res: rc.Result, rows: list):
    p = res.params
    fields = {p.group_by, "currency", "totalAmount", "transactionCount"}
    for r in rows:
        if set(r) != fields:
            rep.fail("totals fields", f"{sorted(r)} != {sorted(fields)}")
            break
    got = [((r.get(p.group_by), r.get("currency")), r.get("transactionCount"),
            r.get("totalAmount")) for r in rows]
    want = collections.Counter((k, c, t) for k, (c, t) in res.totals.items())
    if p.emit == "final":
        diff_counters(rep, "totals", want, collections.Counter(got), lambda x: x[0])
        return
    last = {}
    for k, c, t in got:
        last[k] = (k, c, t)
    diff_counters(rep, "totals (changes: last line per key)", want,
                  collections.Counter(last.values()))
    per_batch = collections.Counter((k, c, t) for _, k, c, t in res.total_updates)
    got_c = collections.Counter(got)
    if got_c != per_batch and got_c != per_batch + want:
        diff_counters(rep, "totals (changes: per-batch lines)", per_batch, got_c)


def anomaly_tuple(r: dict) -> tuple:
    ev = r.get("evidence")
    if not isinstance(ev, dict):
        ev_t = ("bad evidence", repr(ev))
    elif set(ev) == {"threshold"}:
        ev_t = ("threshold", ev["threshold"])
    elif set(ev) == {"count", "totalAmount", "spanMs", "countLimit", "amountLimit"}:
        ev_t = ("velocity", ev["count"], ev["totalAmount"], ev["spanMs"], ev["countLimit"],
                ev["amountLimit"])
    else:
        ev_t = ("bad evidence", repr(sorted(ev)))
    tid = r.get("transactionId")
    return (r.get("rule"), r.get("sequence"), r.get("userId"),
            tid.lower() if isinstance(tid, str) else tid, r.get("transactionTime"),
            r.get("amount"), ev_t, r.get("currency"))


def check_anomalies(rep: Report, res: rc.Result, rows: list):
    fields = {"rule", "userId", "transactionId", "transactionTime", "amount", "sequence",
              "evidence", "currency"}
    for r in rows:
        if set(r) != fields:
            rep.fail("anomalies fields", f"{sorted(r)} != {sorted(fields)}")
            break
    want = collections.Counter((a.rule, a.seq, a.userId, a.transactionId.lower(),
                                a.transactionTime, a.amount, a.evidence, a.currency)
                               for a in res.anomalies)
    diff_counters(rep, "anomalies", want, collections.Counter(anomaly_tuple(r) for r in rows),
                  lambda a: a[:2])


def txn_tuple(d) -> tuple:
    if not isinstance(d, dict):
        return ("bad record", repr(d))
    vals = [d.get(f) for f in rc.FIELDS]
    if isinstance(vals[0], str):
        vals[0] = vals[0].lower()
    return tuple(vals) + (("extra fields", tuple(sorted(set(d) - set(rc.FIELDS)))),)


def check_late(rep: Report, res: rc.Result, rows: list):
    fields = {"sequence", "partition", "offset", "watermark", "missedWindows", "partial", "record"}
    for r in rows:
        if set(r) != fields:
            rep.fail("late fields", f"{sorted(r)} != {sorted(fields)}")
            break

    def want_t(x: rc.LateRecord):
        rec = txn_tuple(rc.txn_dict(x.record))
        return (x.seq, x.partition, x.offset, x.watermark, x.missed, x.partial, rec)

    def got_t(r: dict):
        missed = r.get("missedWindows")
        missed = tuple(sorted(missed)) if isinstance(missed, list) else missed
        return (r.get("sequence"), r.get("partition"), r.get("offset"), r.get("watermark"),
                missed, r.get("partial"), txn_tuple(r.get("record")))

    diff_counters(rep, "late", collections.Counter(map(want_t, res.late)),
                  collections.Counter(map(got_t, rows)), lambda x: x[0])


def key_in_line(line: bytes):
    """The userId a generated line carries (its message key), or None if it has none."""
    m = _USER_RE.search(line)
    return m.group(1) if m else None


# A dead letter keeps at most this many bytes of its record (stream/output_format.h).
DLQ_MAX = 64 * 1024


def check_dlq(rep: Report, res: rc.Result, rows: list, lines: list, wire: str,
              code_mismatch: collections.Counter, key_of=key_in_line):
    """key_of(line): the key the dead letter of that line must have (None: not checked)."""
    fields = {"sequence", "partition", "offset", "error", "reason", "key", "payload"}
    cut_fields = {"payloadBytes", "payloadSha256"}  # a payload over DLQ_MAX bytes
    want_codes = {d.seq: d.code for d in res.dead}
    got_seqs = collections.Counter()
    for r in rows:
        if set(r) != fields and set(r) != fields | cut_fields:
            rep.fail("dlq fields", f"{sorted(r)} != {sorted(fields)}")
        seq = r.get("sequence")
        got_seqs[seq] += 1
        if not isinstance(seq, int) or not 0 <= seq < len(lines):
            rep.fail("dlq", f"bad sequence {seq!r}")
            continue
        try:
            payload = base64.b64decode(r.get("payload", ""), validate=True)
            key = base64.b64decode(r.get("key", ""), validate=True)
        except (ValueError, TypeError) as e:
            rep.fail("dlq base64", f"seq {seq}: {e}")
            continue
        if "payloadBytes" in r:
            whole = lines[seq]
            rep.check(len(whole) > DLQ_MAX and payload == whole[:DLQ_MAX]
                      and r["payloadBytes"] == len(whole)
                      and r["payloadSha256"] == hashlib.sha256(whole).hexdigest(),
                      "dlq cut payload", f"seq {seq}: not the first {DLQ_MAX} bytes, size and "
                      f"SHA-256 of the {len(whole)}-byte line")
        elif wire == "json":
            rep.check(payload == lines[seq], "dlq payload",
                      f"seq {seq}: payload {payload[:120]!r} != gen line {lines[seq][:120]!r}")
        elif wire == "avro":
            # The (broken) Avro encoding of the record of gen line seq: a 5-byte frame, the
            # transactionId's length byte (72 = zigzag 36), then its text.
            m = _UUID_RE.search(lines[seq])
            rep.check(m is None or payload[6:42].lower() == m.group(0).lower(),
                      "dlq payload (avro)",
                      f"seq {seq}: payload {payload[:60]!r} is not the Avro form of "
                      f"{lines[seq][:120]!r}")
        else:
            # --format binary: the payload is the (broken) binary encoding of the record whose
            # JSON form is gen line seq: byte 0 version, byte 1 the transactionId's length (36),
            # then its text.
            m = _UUID_RE.search(lines[seq])
            rep.check(m is None or payload[2:38].lower() == m.group(0).lower(),
                      "dlq payload (binary)",
                      f"seq {seq}: payload {payload[:40].hex()} is not the binary form of "
                      f"{lines[seq][:120]!r}")
        want_key = key_of(lines[seq])
        if want_key is not None:
            rep.check(key == want_key, "dlq key",
                      f"seq {seq}: key {key!r} but the line has userId {want_key!r}")
        rep.check(r.get("error") in rc.ERROR_CODES, "dlq error code",
                  f"seq {seq}: error {r.get('error')!r} not in the fixed set")
        rep.check(isinstance(r.get("reason"), str) and r.get("reason"), "dlq reason",
                  f"seq {seq}: empty reason")
        want_part = (rc.partition_of(key, res.params.partitions) if key
                     else seq % res.params.partitions)  # keyless: round-robin
        rep.check(r.get("partition") == want_part, "dlq partition",
                  f"seq {seq}: partition {r.get('partition')} but key {key!r} maps to {want_part}")
        if res.offset:
            rep.check(r.get("offset") == res.offset.get(seq), "dlq offset",
                      f"seq {seq}: offset {r.get('offset')} want {res.offset.get(seq)}")
        if wire == "json" and seq in want_codes and r.get("error") != want_codes[seq]:
            code_mismatch[(want_codes[seq], r.get("error"))] += 1
    diff_counters(rep, "dlq sequences", collections.Counter(want_codes.keys()), got_seqs)


def check_summary(rep: Report, res: rc.Result, path: str):
    if not os.path.exists(path):
        rep.fail("missing file", "summary.json")
        return
    try:
        with open(path, "rb") as f:
            s = json.loads(f.read())
    except ValueError as e:
        rep.fail("summary.json", f"does not parse: {e}")
        return
    want = res.summary()
    for k in ("records", "valid", "deadLetters", "aggregated", "late", "partiallyLate",
              "anomalies"):
        rep.check(s.get(k) == want[k], "summary", f"{k}: got {s.get(k)!r}, want {want[k]}")
    # windowsEmitted: semantics.md does not pin it; spate counts the (window, key) results it
    # writes, i.e. the lines of aggregates.jsonl (per-batch updates in changes mode).
    rep.check(s.get("windowsEmitted") == want["windowsEmitted"], "summary",
              f"windowsEmitted: got {s.get('windowsEmitted')!r}, want {want['windowsEmitted']} "
              f"(lines of aggregates.jsonl)")
    by_rule = s.get("anomaliesByRule")
    if isinstance(by_rule, dict):
        by_rule = {k: v for k, v in by_rule.items() if v}
    rep.check(by_rule == want["anomaliesByRule"], "summary",
              f"anomaliesByRule: got {s.get('anomaliesByRule')!r}, want {want['anomaliesByRule']}")
    if all(isinstance(s.get(k), int) for k in ("aggregated", "late", "deadLetters", "records")):
        rep.check(s["aggregated"] + s["late"] + s["deadLetters"] == s["records"], "accounting",
                  f"aggregated {s['aggregated']} + late {s['late']} + deadLetters "
                  f"{s['deadLetters']} != records {s['records']}")
    rep.check(res.aggregated + res.fully_late + len(res.dead) == res.records, "accounting",
              "recomputation itself violates aggregated + late + deadLetters = records")


def check_sequence_order(rep: Report, name: str, rows: list):
    """Lines of one batch are sorted by sequence, and batches come in order, so the sequence
    numbers of anomalies, late records and dead letters never decrease in their files."""
    seqs = [r.get("sequence") for r in rows]
    for i in range(1, len(seqs)):
        if not (isinstance(seqs[i], int) and isinstance(seqs[i - 1], int)) or seqs[i] < seqs[i - 1]:
            rep.fail("line order", f"{name}: line {i + 1} has sequence {seqs[i]!r} after {seqs[i - 1]!r}")
            return


def check_injected(rep: Report, path: str, lines: list, anomaly_rows: list):
    if not os.path.exists(path):
        rep.fail("missing file", "injected file")
        return
    fired = {(r.get("rule"), r.get("sequence")): r.get("transactionId") for r in anomaly_rows}
    with open(path, "rb") as f:
        for i, raw in enumerate(rc.split_lines(f.read())):
            try:
                inj = json.loads(raw)
                rule, seq, tid = inj["rule"], inj["sequence"], inj["transactionId"]
            except (ValueError, KeyError, TypeError) as e:
                rep.fail("injected file", f"line {i + 1}: {e}: {raw[:200]!r}")
                continue
            rep.check(rule in RULES, "injected file", f"line {i + 1}: unknown rule {rule!r}")
            if not isinstance(seq, int) or not 0 <= seq < len(lines):
                rep.fail("injected file", f"line {i + 1}: bad sequence {seq!r}")
                continue
            rep.check(tid.encode() in lines[seq], "injected file",
                      f"line {i + 1}: transactionId {tid} is not in gen line {seq}")
            got_tid = fired.get((rule, seq))
            rep.check(got_tid is not None and got_tid.lower() == tid.lower(), "injected anomaly",
                      f"{rule} at sequence {seq} ({tid}) not in anomalies.jsonl")


# --------------------------------------------------------------------------------------------
# Running a case.
# --------------------------------------------------------------------------------------------

# Hand-picked edge cases, run before the random ones: (generator options, engine options).
FIXED_CASES = [
    # A second partition appears only after some batches, with a late first record: the
    # watermark (a minimum over partitions that have data) moves back, and windows that were
    # already closed receive records again.
    ("--seed 10 --records 30000 --event-rate 1000 --users 2 --skew zipf --zipf-exponent 9.5 "
     "--late 0.3 --late-delay 2m --malformed 0.01 --velocity-span 100ms --velocity-count 1000 "
     "--velocity-amount 99999999.99",
     "--threads 2 --partitions 2 --batch-size 200 --window 10s --lateness 0s --emit final"),
    ("--seed 10 --records 30000 --event-rate 1000 --users 2 --skew zipf --zipf-exponent 9.5 "
     "--late 0.3 --late-delay 2m --malformed 0.01 --velocity-span 100ms --velocity-count 1000 "
     "--velocity-amount 99999999.99",
     "--threads 2 --partitions 2 --batch-size 200 --window 10s --hop 3s --lateness 0s "
     "--emit changes --format binary"),
    # Avro in the Confluent frame, with a schema id other than the default.
    ("--seed 11 --records 40000 --event-rate 2000 --out-of-order 0.2 --late 0.05 "
     "--malformed 0.02 --anomalies 0.01",
     "--threads 2 --partitions 3 --batch-size 1000 --window 5s --hop 1s --lateness 1s "
     "--emit final --format avro --schema-id 7"),
    # One record per batch (a watermark step per record), hopping windows whose hop does not
    # divide the window, heavy disorder: many late and partially late records.
    ("--seed 9 --records 20000 --event-rate 20 --users 5 --out-of-order 0.5 --max-delay 10s "
     "--late 0.05 --late-delay 30s --malformed 0.02 --anomalies 0.01 --velocity-count 3",
     "--threads 3 --partitions 8 --batch-size 1 --window 7s --hop 3s --lateness 2s"),
    # Realistic values (UUID users, merchant names in many scripts, 32 currencies with 0, 2
    # and 3 decimals), RFC 3339 times, limits of their own for JPY and KWD, by currency.
    ("--seed 12 --profile realistic --records 40000 --users 300 --event-rate 2000 "
     "--out-of-order 0.1 --late 0.01 --malformed 0.02 --anomalies 0.01 --time-format rfc3339 "
     "--high-amount JPY=20000000 --velocity-amount KWD=3000.5 --velocity-count 4",
     "--threads 2 --partitions 4 --batch-size 5000 --window 10s --group-by currency "
     "--emit changes"),
    # A single user and partition: all velocity state in one place, eviction at every record
    # (velocity_amount can only fire on a wrong sum: 100 records x 150000.00 < 20000000.00).
    ("--seed 3 --records 20000 --event-rate 100 --users 1 --velocity-span 1s "
     "--velocity-count 1000 --velocity-amount 20000000.00",
     "--threads 1 --partitions 1 --batch-size 1000 --window 1s --lateness 0s"),
]


def fixed_case(gen: str, engine: str) -> dict:
    gen_l, engine_l = gen.split(), engine.split()
    if "--format" not in engine_l:
        engine_l += ["--format", "json"]
    return {"gen": gen_l, "engine": engine_l, "params": params_of(gen_l, engine_l)}


def run(cmd: list, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


def run_case(spate: str, case: dict, work: str, rng) -> tuple:
    """Runs gen, run and run again with another --threads (chosen with rng) in `work`, and
    compares. Returns (ok, the commands as text)."""
    p: rc.Params = case["params"]
    gen_out = os.path.join(work, "gen.jsonl")
    injected = os.path.join(work, "injected.jsonl")
    out1, out2 = os.path.join(work, "run1"), os.path.join(work, "run2")
    gen_cmd = [spate, "gen"] + case["gen"] + ["--injected", injected, "--out", gen_out]
    run_cmd = [spate, "run"] + case["gen"] + case["engine"] + [
        "--out", out1, "--metrics-addr", "127.0.0.1:0", "--no-progress"]
    threads = int(case["engine"][case["engine"].index("--threads") + 1])
    other = rng.choice([t for t in (1, 2, 3, 4) if t != threads])
    run_cmd2 = list(run_cmd)
    run_cmd2[run_cmd2.index("--threads") + 1] = str(other)
    run_cmd2[run_cmd2.index(out1)] = out2
    cmds = "\n".join("    " + shlex.join(c) for c in (gen_cmd, run_cmd, run_cmd2))
    rep = Report()

    for cmd in (gen_cmd, run_cmd, run_cmd2):
        t0 = time.monotonic()
        proc = run(cmd)
        if proc.returncode != 0:
            rep.fail("exit code", f"{cmd[1]} exited {proc.returncode}: "
                                  f"{proc.stderr.decode(errors='replace')[-800:]}")
            rep.print()
            return False, cmds
        case.setdefault("times", []).append(time.monotonic() - t0)

    t0 = time.monotonic()
    with open(gen_out, "rb") as f:
        lines = rc.split_lines(f.read())
    n = int(case["gen"][case["gen"].index("--records") + 1])
    rep.check(len(lines) == n, "gen", f"{len(lines)} lines, --records {n}")

    dlq_rows = load_jsonl(os.path.join(out1, "dlq.jsonl"), rep, amounts=False)
    dead_keys = {}
    for r in dlq_rows:
        try:
            dead_keys[r["sequence"]] = base64.b64decode(r["key"])
        except (KeyError, ValueError, TypeError):
            pass
    res = rc.recompute(lines, p)
    if all(d.seq in dead_keys for d in res.dead):
        rc.assign_offsets(res, dead_keys)
    else:
        rep.fail("dlq", "some dead letters are missing from dlq.jsonl; offsets not checked")
    t_re = time.monotonic() - t0

    agg_rows = load_jsonl(os.path.join(out1, "aggregates.jsonl"), rep, amounts=True)
    tot_rows = load_jsonl(os.path.join(out1, "totals.jsonl"), rep, amounts=True)
    ano_rows = load_jsonl(os.path.join(out1, "anomalies.jsonl"), rep, amounts=True)
    late_rows = load_jsonl(os.path.join(out1, "late.jsonl"), rep, amounts=True)
    code_mismatch = collections.Counter()
    check_aggregates(rep, res, agg_rows)
    check_totals(rep, res, tot_rows)
    check_anomalies(rep, res, ano_rows)
    check_late(rep, res, late_rows)
    wire = case["engine"][case["engine"].index("--format") + 1]
    check_dlq(rep, res, dlq_rows, lines, wire, code_mismatch)
    check_summary(rep, res, os.path.join(out1, "summary.json"))
    for name, rows in (("anomalies.jsonl", ano_rows), ("late.jsonl", late_rows),
                       ("dlq.jsonl", dlq_rows)):
        check_sequence_order(rep, name, rows)
    check_injected(rep, injected, lines, ano_rows)
    for name in OUTPUT_FILES:
        a, b = os.path.join(out1, name), os.path.join(out2, name)
        if os.path.exists(a) and os.path.exists(b):
            with open(a, "rb") as fa, open(b, "rb") as fb:
                rep.check(fa.read() == fb.read(), "thread determinism",
                          f"{name} differs between --threads {threads} and --threads {other}")

    s = res.summary()
    print(f"  records={s['records']} valid={s['valid']} dead={s['deadLetters']} "
          f"anomalies={s['anomalies']} ({', '.join(f'{k} {v}' for k, v in s['anomaliesByRule'].items())}) "
          f"late={s['late']} partial={s['partiallyLate']} windows={s['windowsClosed']} "
          f"rows={len(agg_rows)} "
          + (f"wm-regressions={res.wm_regressions} reopened={res.reopened} "
             if res.wm_regressions else "") +
          f"(spate {'+'.join(f'{t:.1f}' for t in case['times'])}s, check {time.monotonic() - t0:.1f}s"
          f" of which recompute {t_re:.1f}s)")
    if code_mismatch:
        print("  note: dead-letter codes differing from the recomputation's guess "
              "(informational, not a failure): " +
              ", ".join(f"{w}->{g} x{c}" for (w, g), c in code_mismatch.most_common(6)))
    rep.print()
    return rep.ok, cmds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spate", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                    "spate"))
    ap.add_argument("--cases", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    ap.add_argument("--no-fixed", action="store_true",
                    help="skip the hand-picked edge cases that run before the random ones")
    a = ap.parse_args()
    spate = os.path.abspath(a.spate)
    if not os.access(spate, os.X_OK):
        print(f"spate binary not found: {spate}")
        return 2
    rng = random.Random(a.seed)
    failed = []
    t_start = time.monotonic()
    cases = [] if a.no_fixed else [fixed_case(g, e) for g, e in FIXED_CASES]
    cases += [None] * a.cases
    for i, case in enumerate(cases):
        case = case or draw_case(rng)
        work = tempfile.mkdtemp(prefix=f"spate-prop-{i}-")
        print(f"case {i + 1}/{len(cases)}: {' '.join(case['gen'])} {' '.join(case['engine'])}")
        try:
            ok, cmds = run_case(spate, case, work, random.Random(f"{a.seed}/{i}"))
        except subprocess.TimeoutExpired as e:
            ok, cmds = False, f"    {e}"
            print(f"  FAIL timeout: {e}")
        except Exception:  # a bug in this script: report it, keep going
            ok, cmds = False, "    (a bug in run_property.py: see the traceback)"
            traceback.print_exc()
        if not ok:
            failed.append(i + 1)
            print("  reproduce with:\n" + cmds)
        if ok and not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif not ok:
            print(f"  outputs kept in {work}")
    print(f"{len(cases) - len(failed)}/{len(cases)} cases passed in {time.monotonic() - t_start:.0f}s"
          + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
