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

Amounts are integer cents throughout.

Library use:   params = Params(partitions=6, ...); result = recompute(lines, params)
Command line:  python3 tests/recompute.py GEN.jsonl [--partitions 6 ...] [--out DIR]
               python3 tests/recompute.py --selftest
"""

from __future__ import annotations

import argparse
import bisect
import collections
import dataclasses
import json
import os
import random
import re
import sys
from typing import Iterable, NamedTuple

# --------------------------------------------------------------------------------------------
# Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), bit for bit.
# --------------------------------------------------------------------------------------------

_M32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's Java murmur2 of `data`; returns the signed 32-bit result like Java's int."""
    length = len(data)
    m = 0x5BD1E995
    r = 24
    h = (0x9747B28C ^ length) & _M32
    n4 = length // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & _M32
        k ^= k >> r
        k = (k * m) & _M32
        h = (h * m) & _M32
        h ^= k
    tail = length & 3
    base = n4 * 4
    # Java's switch falls through 3 -> 2 -> 1; bytes are sign-extended there but masked to 8 bits.
    if tail >= 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * m) & _M32
    h ^= h >> 13
    h = (h * m) & _M32
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partition of a keyed record: toPositive(murmur2(key)) % partitions."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


# --------------------------------------------------------------------------------------------
# Strict validation of one record line.
# --------------------------------------------------------------------------------------------

FIELDS = ("transactionId", "userId", "amount", "transactionTime", "merchantId",
          "transactionType", "location", "paymentMethod", "isInternational", "currency")
GROUP_FIELDS = ("merchantId", "userId", "location", "currency", "paymentMethod")
ERROR_CODES = frozenset({"invalid_json", "missing_field", "duplicate_field", "wrong_type",
                         "out_of_range", "bad_value", "trailing_content", "bad_binary",
                         "bad_avro", "unknown_schema", "schema_mismatch"})

MIN_AMOUNT_CENTS = 1
MAX_AMOUNT_CENTS = 10_000_000_000  # 100,000,000.00
MIN_TIME_MS = 946_684_800_000      # 2000-01-01
MAX_TIME_MS = 4_102_444_800_000    # 2100-01-01
MAX_ID = 2**31 - 1

_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ID_RES = {
    "userId": re.compile(r"user_([1-9][0-9]*)"),
    "merchantId": re.compile(r"merchant([1-9][0-9]*)"),
    "location": re.compile(r"location ([1-9][0-9]*)"),
}
_ENUMS = {
    "transactionType": ("purchase", "refund"),
    "paymentMethod": ("credit_card", "paypal", "bank_transfer"),
    "isInternational": ("True", "False"),
    "currency": ("USD", "EU", "GBP"),
}
# JSON number grammar (the parser has already enforced it; this only splits the parts).
_NUMBER_RE = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?([eE][-+]?[0-9]+)?")


class Txn(NamedTuple):
    """A valid record; amount in cents, time in epoch ms."""
    seq: int
    transactionId: str
    userId: str
    amount: int
    transactionTime: int
    merchantId: str
    transactionType: str
    location: str
    paymentMethod: str
    isInternational: str
    currency: str


class Reject(Exception):
    """A dead letter: `code` is our best guess of spate's error code (informational only)."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class _RawInt(str):
    """The raw text of a JSON number without fraction or exponent."""


class _RawFloat(str):
    """The raw text of a JSON number with a fraction and/or an exponent."""


class _Object(list):
    """A JSON object as its list of (key, value) pairs, duplicates kept."""


def _reject_constant(name: str):
    raise Reject("invalid_json", f"non-standard constant {name}")


_DECODER = json.JSONDecoder(object_pairs_hook=_Object, parse_int=_RawInt,
                            parse_float=_RawFloat, parse_constant=_reject_constant, strict=True)


def amount_cents(text: str) -> int:
    """Exact cents of a decimal text with at most two decimals (raises Reject otherwise)."""
    m = _NUMBER_RE.fullmatch(text)
    if m is None:
        raise Reject("bad_value", f"amount {text!r} is not a plain decimal")
    sign, whole, frac, exp = m.groups()
    if exp is not None:
        raise Reject("bad_value", f"amount {text!r} has an exponent")
    frac = frac or ""
    if len(frac) > 2:
        raise Reject("bad_value", f"amount {text!r} has more than two decimals")
    if len(whole) > 15:
        raise Reject("out_of_range", f"amount {text!r} too large")
    cents = int(whole) * 100 + int((frac + "00")[:2])
    return -cents if sign else cents


def _string_field(name: str, value) -> str:
    if type(value) is not str:  # noqa: E721  (_RawInt/_RawFloat are str subclasses)
        raise Reject("wrong_type", f"{name} is not a string")
    return value


# Fast path: the exact shape spate gen writes for a valid record (a strict subset of what the
# full validator accepts). A line that matches and whose numbers are in range is valid with
# these values; anything else goes through the full validator.
_CANONICAL_RE = re.compile(
    rb'\{"transactionId":"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
    rb'[0-9a-fA-F]{12})","userId":"(user_[1-9][0-9]{0,9})",'
    rb'"amount":((?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,2})?),"transactionTime":([1-9][0-9]{11,12}),'
    rb'"merchantId":"(merchant[1-9][0-9]{0,9})","transactionType":"(purchase|refund)",'
    rb'"location":"(location [1-9][0-9]{0,9})","paymentMethod":"(credit_card|paypal|bank_transfer)",'
    rb'"isInternational":"(True|False)","currency":"(USD|EU|GBP)"\}')


def _id_ok(s: str, prefix_len: int) -> bool:
    return int(s[prefix_len:]) <= MAX_ID


def validate(line: bytes, seq: int = 0) -> Txn:
    """Parses one gen line strictly; returns a Txn or raises Reject."""
    m = _CANONICAL_RE.fullmatch(line)
    if m is not None:
        g = [x.decode() for x in m.groups()]
        cents = amount_cents(g[2])
        ttime = int(g[3])
        if (MIN_AMOUNT_CENTS <= cents <= MAX_AMOUNT_CENTS and MIN_TIME_MS <= ttime <= MAX_TIME_MS
                and _id_ok(g[1], 5) and _id_ok(g[4], 8) and _id_ok(g[6], 9)):
            return Txn(seq, g[0], g[1], cents, ttime, g[4], g[5], g[6], g[7], g[8], g[9])
    return validate_full(line, seq)


def validate_full(line: bytes, seq: int = 0) -> Txn:
    """The full strict validator (no fast path)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Reject("invalid_json", f"invalid UTF-8: {e}") from None
    try:
        obj = _DECODER.decode(text)
    except json.JSONDecodeError as e:
        code = "trailing_content" if e.msg == "Extra data" else "invalid_json"
        raise Reject(code, e.msg) from None
    except RecursionError:
        raise Reject("invalid_json", "nesting too deep") from None
    if not isinstance(obj, _Object):
        raise Reject("wrong_type", "record is not a JSON object")

    values = {}
    for key, value in obj:
        if key in _FIELD_SET:
            if key in values:
                raise Reject("duplicate_field", f"duplicate field {key}")
            values[key] = value
    for name in FIELDS:
        if name not in values:
            raise Reject("missing_field", f"missing field {name}")

    tid = _string_field("transactionId", values["transactionId"])
    if not _UUID_RE.fullmatch(tid):
        raise Reject("bad_value", "transactionId is not a UUID")

    ids = {}
    for name, regex in _ID_RES.items():
        s = _string_field(name, values[name])
        m = regex.fullmatch(s)
        if m is None:
            raise Reject("bad_value", f"{name} {s!r} does not match the pattern")
        if len(m.group(1)) > 10 or int(m.group(1)) > MAX_ID:
            raise Reject("out_of_range", f"{name} {s!r} number out of range")
        ids[name] = s

    amount = values["amount"]
    if not isinstance(amount, (_RawInt, _RawFloat)):
        raise Reject("wrong_type", "amount is not a number")
    cents = amount_cents(amount)
    if not MIN_AMOUNT_CENTS <= cents <= MAX_AMOUNT_CENTS:
        raise Reject("out_of_range", f"amount {amount} out of range")

    ttime = values["transactionTime"]
    if not isinstance(ttime, _RawInt):
        raise Reject("wrong_type", "transactionTime is not an integer")
    if len(ttime) > 20 or not MIN_TIME_MS <= int(ttime) <= MAX_TIME_MS:
        raise Reject("out_of_range", f"transactionTime {ttime} out of range")

    enums = {}
    for name, allowed in _ENUMS.items():
        s = _string_field(name, values[name])
        if s not in allowed:
            raise Reject("bad_value", f"{name} {s!r} not allowed")
        enums[name] = s

    return Txn(seq, str(tid), ids["userId"], cents, int(ttime), ids["merchantId"],
               enums["transactionType"], ids["location"], enums["paymentMethod"],
               enums["isInternational"], enums["currency"])


_FIELD_SET = frozenset(FIELDS)


def split_lines(data: bytes) -> list[bytes]:
    """gen output -> list of record lines (the final newline does not start a record)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


# --------------------------------------------------------------------------------------------
# Parameters.
# --------------------------------------------------------------------------------------------

_DURATION_RE = re.compile(r"([0-9]+)(ms|s|m|h)")
_DURATION_UNIT = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def parse_duration(text: str) -> int:
    """'500ms' / '5s' / '2m' / '1h' -> milliseconds."""
    m = _DURATION_RE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"bad duration {text!r}")
    return int(m.group(1)) * _DURATION_UNIT[m.group(2)]


def format_duration(ms: int) -> str:
    for unit in ("h", "m", "s"):
        if ms and ms % _DURATION_UNIT[unit] == 0:
            return f"{ms // _DURATION_UNIT[unit]}{unit}"
    return f"{ms}ms"


def format_amount(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


@dataclasses.dataclass
class Params:
    partitions: int = 6
    batch_size: int = 32768
    window_ms: int = 60_000
    hop_ms: int | None = None  # None: tumbling (hop = window)
    lateness_ms: int = 5_000
    group_by: str = "merchantId"
    emit: str = "final"
    high_amount: int = 25_000_000        # cents (250000.00)
    intl_amount: int = 15_000_000        # cents (150000.00)
    velocity_span_ms: int = 10_000
    velocity_count: int = 10
    velocity_amount: int = 100_000_000   # cents (1000000.00)

    @property
    def hop(self) -> int:
        return self.hop_ms or self.window_ms


# --------------------------------------------------------------------------------------------
# The recomputation.
# --------------------------------------------------------------------------------------------

def new_agg(t: "Txn") -> list:
    """Aggregate of one (window, key) holding t:
    [transactionCount, totalAmount, minAmount, maxAmount, purchaseCount, refundCount]."""
    purchase = t.transactionType == "purchase"
    return [1, t.amount, t.amount, t.amount, int(purchase), int(not purchase)]


def add_to_agg(agg: list, t: "Txn"):
    agg[0] += 1
    agg[1] += t.amount
    if t.amount < agg[2]:
        agg[2] = t.amount
    if t.amount > agg[3]:
        agg[3] = t.amount
    if t.transactionType == "purchase":
        agg[4] += 1
    else:
        agg[5] += 1


class DeadLetter(NamedTuple):
    seq: int
    code: str
    reason: str


class LateRecord(NamedTuple):
    seq: int
    partition: int
    offset: int | None  # None when the partitions of the dead letters are not known
    watermark: int
    missed: tuple        # missed window starts, ascending
    partial: bool
    record: Txn


class Anomaly(NamedTuple):
    rule: str
    seq: int
    userId: str
    transactionId: str
    transactionTime: int
    amount: int
    evidence: tuple  # ("threshold", cents) or ("velocity", count, total, span, countLimit, amountLimit)


@dataclasses.dataclass
class Result:
    params: Params
    records: int
    valid: list            # [Txn]
    dead: list             # [DeadLetter]
    partition: dict        # seq -> partition (valid records, and dead letters when keys known)
    offset: dict           # seq -> offset within its partition (only when all partitions known)
    aggregates: list       # final values: [(start, end, key, value-tuple)] in emission order
    updates: list          # changes mode: [(batch, start, end, key, value-tuple)]
    totals: dict           # key -> (count, total)
    total_updates: list    # changes mode: [(batch, key, count, total)]
    late: list             # [LateRecord]
    anomalies: list        # [Anomaly]
    windows_closed: int    # number of window closures (distinct windows emitted)
    aggregated: int        # valid records added to at least one window
    # Diagnostics (not outputs): batches whose watermark is below the previous batch's (a
    # partition seen for the first time), and windows emitted again after being closed.
    wm_regressions: int = 0
    reopened: int = 0

    @property
    def fully_late(self) -> int:
        return sum(1 for r in self.late if not r.partial)

    @property
    def partially_late(self) -> int:
        return sum(1 for r in self.late if r.partial)

    def summary(self) -> dict:
        by_rule = collections.Counter(a.rule for a in self.anomalies)
        return {
            "records": self.records,
            "valid": len(self.valid),
            "deadLetters": len(self.dead),
            "aggregated": self.aggregated,
            "late": self.fully_late,
            "partiallyLate": self.partially_late,
            # (window, key) results written: aggregates.jsonl lines (per-batch updates in
            # changes mode). semantics.md leaves the unit open; this is what spate counts.
            "windowsEmitted": (len(self.updates) if self.params.emit == "changes"
                               else len(self.aggregates)),
            "windowsClosed": self.windows_closed,
            "anomalies": len(self.anomalies),
            "anomaliesByRule": dict(sorted(by_rule.items())),
        }


def window_starts(t: int, window: int, hop: int) -> list:
    """Starts s (multiples of hop) of the windows [s, s+window) containing t, ascending."""
    last = t - t % hop
    starts = []
    s = last
    while s > t - window:
        starts.append(s)
        s -= hop
    starts.reverse()
    return starts


def parse_all(lines: list) -> tuple:
    """-> (valid [Txn], dead [DeadLetter])"""
    valid, dead = [], []
    for seq, line in enumerate(lines):
        try:
            valid.append(validate(line, seq))
        except Reject as r:
            dead.append(DeadLetter(seq, r.code, r.reason))
    return valid, dead


def recompute(lines: list, p: Params, dead_keys: dict | None = None) -> Result:
    """Recomputes spate run's output for gen `lines` (list of bytes, no newlines).

    dead_keys: optional {seq: key bytes} for the dead letters (spate's dlq gives them); with it
    the partitions of dead letters are known, and so are the offsets of every record.
    """
    if p.group_by not in GROUP_FIELDS:
        raise ValueError(f"bad group_by {p.group_by}")
    valid, dead = parse_all(lines)
    n = len(lines)
    W, H, L = p.window_ms, p.hop, p.lateness_ms

    # Partitions and offsets (offsets count every record of the partition, dead letters too).
    partition = {}
    user_partition = {}
    for t in valid:
        part = user_partition.get(t.userId)
        if part is None:
            part = user_partition[t.userId] = partition_of(t.userId.encode(), p.partitions)
        partition[t.seq] = part
    offset = {}
    if dead_keys is not None or not dead:
        offset = offsets(n, partition, dead, dead_keys or {}, p.partitions)

    # Batches, watermarks, windows.
    gkey = FIELDS.index(p.group_by) + 1  # index into Txn (seq comes first)
    max_time = {}                        # partition -> max time of earlier batches
    windows = {}                         # start -> {key: aggregate list}
    aggregates, updates, total_updates, late = [], [], [], []
    totals = {}                          # key -> [count, total]
    windows_closed = 0
    closed_starts = set()                # for the diagnostics below
    wm_regressions = reopened = 0
    prev_wm = None
    aggregated = 0
    vi = 0                               # index into valid
    batch = 0
    for batch_start in range(0, max(n, 1), p.batch_size):
        batch_end = min(batch_start + p.batch_size, n)
        wm = min(max_time.values()) - L if max_time else None
        if wm is not None and prev_wm is not None and wm < prev_wm:
            wm_regressions += 1
        prev_wm = wm
        if wm is not None:
            for s in sorted(s for s in windows if s + W <= wm):
                for key, agg in sorted(windows.pop(s).items()):
                    aggregates.append((s, s + W, key, tuple(agg)))
                windows_closed += 1
                reopened += s in closed_starts
                closed_starts.add(s)
        touched, touched_keys = set(), set()
        batch_max = {}
        while vi < len(valid) and valid[vi].seq < batch_end:
            t = valid[vi]
            vi += 1
            key = t[gkey]
            tot = totals.setdefault(key, [0, 0])
            tot[0] += 1
            tot[1] += t.amount
            touched_keys.add(key)
            part = partition[t.seq]
            if t.transactionTime > batch_max.get(part, -1):
                batch_max[part] = t.transactionTime
            starts = window_starts(t.transactionTime, W, H)
            missed = []
            for s in starts:
                if wm is not None and s + W <= wm:
                    missed.append(s)
                    continue
                per_key = windows.get(s)
                if per_key is None:
                    per_key = windows[s] = {}
                agg = per_key.get(key)
                if agg is None:
                    per_key[key] = new_agg(t)
                else:
                    add_to_agg(agg, t)
                touched.add((s, key))
            if len(missed) < len(starts):
                aggregated += 1
            if missed:
                late.append(LateRecord(t.seq, part, offset.get(t.seq), wm, tuple(missed),
                                       len(missed) < len(starts), t))
        for part, mt in batch_max.items():
            if mt > max_time.get(part, -1):
                max_time[part] = mt
        for s, key in sorted(touched):
            updates.append((batch, s, s + W, key, tuple(windows[s][key])))
        for key in sorted(touched_keys):
            total_updates.append((batch, key, totals[key][0], totals[key][1]))
        batch += 1
    for s in sorted(windows):
        for key, agg in sorted(windows[s].items()):
            aggregates.append((s, s + W, key, tuple(agg)))
        windows_closed += 1
        reopened += s in closed_starts

    return Result(params=p, records=n, valid=valid, dead=dead, partition=partition,
                  offset=offset, aggregates=aggregates, updates=updates,
                  totals={k: tuple(v) for k, v in totals.items()}, total_updates=total_updates,
                  late=late, anomalies=anomalies(valid, p), windows_closed=windows_closed,
                  aggregated=aggregated, wm_regressions=wm_regressions, reopened=reopened)


def offsets(n: int, partition: dict, dead: list, dead_keys: dict, partitions: int) -> dict:
    """seq -> offset in its partition; dead letters are placed by their key (dead_keys)."""
    for d in dead:
        partition[d.seq] = partition_of(dead_keys[d.seq], partitions)
    next_offset = [0] * partitions
    offset = {}
    for seq in range(n):
        part = partition[seq]
        offset[seq] = next_offset[part]
        next_offset[part] += 1
    return offset


def assign_offsets(res: Result, dead_keys: dict):
    """Fills res.offset (and the late records' offsets) once the dead letters' keys are known."""
    res.offset = offsets(res.records, res.partition, res.dead, dead_keys, res.params.partitions)
    res.late = [r._replace(offset=res.offset[r.seq]) for r in res.late]


# --------------------------------------------------------------------------------------------
# Anomaly rules.
# --------------------------------------------------------------------------------------------

class _Fenwick:
    """Prefix sums of counts and amounts over a fixed, sorted list of distinct times."""
    __slots__ = ("times", "cnt", "amt")

    def __init__(self, times: list):
        self.times = times
        self.cnt = [0] * (len(times) + 1)
        self.amt = [0] * (len(times) + 1)

    def add(self, time: int, amount: int):
        i = bisect.bisect_left(self.times, time) + 1
        cnt, amt, n = self.cnt, self.amt, len(self.cnt)
        while i < n:
            cnt[i] += 1
            amt[i] += amount
            i += i & -i

    def upto(self, time: int) -> tuple:
        """(count, amount) of the inserted entries with time <= `time`."""
        i = bisect.bisect_right(self.times, time)
        c = a = 0
        cnt, amt = self.cnt, self.amt
        while i > 0:
            c += cnt[i]
            a += amt[i]
            i -= i & -i
        return c, a


def anomalies(valid: list, p: Params) -> list:
    """All anomalies of the valid records (sequence order), velocity rules via Fenwick trees."""
    span, lateness = p.velocity_span_ms, p.lateness_ms
    times_by_user = collections.defaultdict(set)
    for t in valid:
        times_by_user[t.userId].add(t.transactionTime)
    trees = {u: _Fenwick(sorted(ts)) for u, ts in times_by_user.items()}
    max_time = {}
    out = []
    for t in valid:
        amt, tt = t.amount, t.transactionTime
        if amt > p.high_amount:
            out.append(Anomaly("high_amount", t.seq, t.userId, t.transactionId, tt, amt,
                               ("threshold", p.high_amount)))
        if t.isInternational == "True" and amt > p.intl_amount:
            out.append(Anomaly("international_high", t.seq, t.userId, t.transactionId, tt, amt,
                               ("threshold", p.intl_amount)))
        m = max(max_time.get(t.userId, tt), tt)
        max_time[t.userId] = m
        # Kept earlier records: time > m - span - lateness (eviction is monotone, so a filter
        # on the current threshold equals permanent eviction). Counted: time in (tt - span, tt].
        lo = max(m - span - lateness, tt - span)
        tree = trees[t.userId]
        count, total = 1, amt  # this record
        if lo < tt:
            c_hi, a_hi = tree.upto(tt)
            c_lo, a_lo = tree.upto(lo)
            count, total = count + c_hi - c_lo, total + a_hi - a_lo
        ev = ("velocity", count, total, span, p.velocity_count, p.velocity_amount)
        if count > p.velocity_count:
            out.append(Anomaly("velocity_count", t.seq, t.userId, t.transactionId, tt, amt, ev))
        if total > p.velocity_amount:
            out.append(Anomaly("velocity_amount", t.seq, t.userId, t.transactionId, tt, amt, ev))
        tree.add(tt, amt)
    return out


def anomalies_naive(valid: list, p: Params) -> list:
    """The velocity rules written literally (quadratic); used by --selftest."""
    span, lateness = p.velocity_span_ms, p.lateness_ms
    state = {}  # user -> [M, [(time, amount)]]
    out = []
    for t in valid:
        amt, tt = t.amount, t.transactionTime
        if amt > p.high_amount:
            out.append(Anomaly("high_amount", t.seq, t.userId, t.transactionId, tt, amt,
                               ("threshold", p.high_amount)))
        if t.isInternational == "True" and amt > p.intl_amount:
            out.append(Anomaly("international_high", t.seq, t.userId, t.transactionId, tt, amt,
                               ("threshold", p.intl_amount)))
        st = state.setdefault(t.userId, [tt, []])
        st[0] = max(st[0], tt)
        st[1] = [(x, a) for x, a in st[1] if x > st[0] - span - lateness]
        inside = [(x, a) for x, a in st[1] + [(tt, amt)] if tt - span < x <= tt]
        count, total = len(inside), sum(a for _, a in inside)
        ev = ("velocity", count, total, span, p.velocity_count, p.velocity_amount)
        if count > p.velocity_count:
            out.append(Anomaly("velocity_count", t.seq, t.userId, t.transactionId, tt, amt, ev))
        if total > p.velocity_amount:
            out.append(Anomaly("velocity_amount", t.seq, t.userId, t.transactionId, tt, amt, ev))
        st[1].append((tt, amt))
    return out


# --------------------------------------------------------------------------------------------
# Rendering in spate's output shapes (as Python values; amounts as cents).
# --------------------------------------------------------------------------------------------

def txn_dict(t: Txn) -> dict:
    return {f: getattr(t, f) for f in FIELDS}


def aggregate_row(group_by: str, start: int, end: int, key: str, value: tuple) -> dict:
    count, total, mn, mx, purchases, refunds = value
    return {"windowStart": start, "windowEnd": end, group_by: key, "transactionCount": count,
            "totalAmount": total, "minAmount": mn, "maxAmount": mx,
            "purchaseCount": purchases, "refundCount": refunds}


def anomaly_row(a: Anomaly) -> dict:
    if a.evidence[0] == "threshold":
        evidence = {"threshold": a.evidence[1]}
    else:
        _, count, total, span, climit, alimit = a.evidence
        evidence = {"count": count, "totalAmount": total, "spanMs": span,
                    "countLimit": climit, "amountLimit": alimit}
    return {"rule": a.rule, "userId": a.userId, "transactionId": a.transactionId,
            "transactionTime": a.transactionTime, "amount": a.amount, "sequence": a.seq,
            "evidence": evidence}


_AMOUNT_KEYS = frozenset({"amount", "totalAmount", "minAmount", "maxAmount", "threshold",
                          "amountLimit"})


def to_json_text(value) -> str:
    """JSON text with every amount key rendered as a two-decimal number."""
    def conv(v, key=None):
        if isinstance(v, dict):
            return "{" + ",".join(f"{json.dumps(k)}:{conv(x, k)}" for k, x in v.items()) + "}"
        if isinstance(v, (list, tuple)):
            return "[" + ",".join(conv(x) for x in v) + "]"
        if key in _AMOUNT_KEYS and isinstance(v, int) and not isinstance(v, bool):
            return format_amount(v)
        return json.dumps(v)
    return conv(value)


def write_expected(res: Result, out_dir: str):
    """Writes the recomputed outputs (final-mode shapes) into out_dir, for eyeballing."""
    p = res.params
    os.makedirs(out_dir, exist_ok=True)

    def dump(name, rows):
        with open(os.path.join(out_dir, name), "w") as f:
            for r in rows:
                f.write(to_json_text(r) + "\n")

    dump("aggregates.jsonl", (aggregate_row(p.group_by, *a) for a in res.aggregates))
    dump("totals.jsonl", ({p.group_by: k, "totalAmount": v[1], "transactionCount": v[0]}
                          for k, v in sorted(res.totals.items())))
    dump("anomalies.jsonl", (anomaly_row(a) for a in res.anomalies))
    dump("late.jsonl", ({"sequence": r.seq, "partition": r.partition, "offset": r.offset,
                         "watermark": r.watermark, "missedWindows": list(r.missed),
                         "partial": r.partial, "record": txn_dict(r.record)} for r in res.late))
    dump("dlq.jsonl", ({"sequence": d.seq, "error": d.code, "reason": d.reason}
                       for d in res.dead))
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(res.summary(), f, indent=2)
        f.write("\n")


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
    ok &= t.amount == 12340 and t.transactionTime == 1700000000000
    bad = {
        b"": "invalid_json",
        good + b" x": "trailing_content",
        good.replace(b'"amount":123.4', b'"amount":123.456'): "bad_value",
        good.replace(b'"amount":123.4', b'"amount":1.2e2'): "bad_value",
        good.replace(b'"amount":123.4', b'"amount":NaN'): "invalid_json",
        good.replace(b'"amount":123.4', b'"amount":Infinity'): "invalid_json",
        good.replace(b'"amount":123.4', b'"amount":"123.40"'): "wrong_type",
        good.replace(b'"amount":123.4', b'"amount":true'): "wrong_type",
        good.replace(b'"amount":123.4', b'"amount":0'): "out_of_range",
        good.replace(b'"amount":123.4', b'"amount":-1.00'): "out_of_range",
        good.replace(b'"amount":123.4', b'"amount":100000000.01'): "out_of_range",
        good.replace(b'"transactionTime":1700000000000', b'"transactionTime":1.7e12'):
            "wrong_type",
        good.replace(b'"transactionTime":1700000000000', b'"transactionTime":true'):
            "wrong_type",
        good.replace(b'"transactionTime":1700000000000', b'"transactionTime":946684799999'):
            "out_of_range",
        good.replace(b'"user_7"', b'"user_07"'): "bad_value",
        good.replace(b'"user_7"', b'"user_2147483648"'): "out_of_range",
        good.replace(b'"merchant2"', b'"merchant 2"'): "bad_value",
        good.replace(b'"True"', b'true'): "wrong_type",
        good.replace(b'"EU"', b'"EUR"'): "bad_value",
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
                b[i] = rng.choice(b'0123456789.e-"{}, :aftuTF\\x\x00\xff')
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
                   velocity_count=rng.randint(1, 6), velocity_amount=rng.randint(1, 50) * 100_000)
        valid = []
        for seq in range(400):
            tt = 1_700_000_000_000 + seq * 50 - rng.choice([0, 0, 0, rng.randint(0, 8000)])
            valid.append(Txn(seq, "x", f"user_{rng.randint(1, 4)}", rng.randint(1, 10**7), tt,
                             "merchant1", "purchase", "location 1", "paypal",
                             rng.choice(["True", "False"]), "USD"))
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
    ap.add_argument("--group-by", default="merchantId", choices=GROUP_FIELDS)
    ap.add_argument("--emit", default="final", choices=("final", "changes"))
    ap.add_argument("--high-amount", default="250000.00")
    ap.add_argument("--intl-amount", default="150000.00")
    ap.add_argument("--velocity-span", default="10s")
    ap.add_argument("--velocity-count", type=int, default=10)
    ap.add_argument("--velocity-amount", default="1000000.00")


def params_from_args(a) -> Params:
    return Params(partitions=a.partitions, batch_size=a.batch_size,
                  window_ms=parse_duration(a.window),
                  hop_ms=parse_duration(a.hop) if a.hop else None,
                  lateness_ms=parse_duration(a.lateness), group_by=a.group_by, emit=a.emit,
                  high_amount=amount_cents(a.high_amount), intl_amount=amount_cents(a.intl_amount),
                  velocity_span_ms=parse_duration(a.velocity_span),
                  velocity_count=a.velocity_count,
                  velocity_amount=amount_cents(a.velocity_amount))


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
