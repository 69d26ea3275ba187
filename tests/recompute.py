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

Library use:   params = Params(partitions=6, ...); result = recompute(lines, params)
Command line:  python3 tests/recompute.py GEN.jsonl [--partitions 6 ...] [--out DIR]
               python3 tests/recompute.py --selftest
"""

from __future__ import annotations

import argparse
import bisect
import collections
import dataclasses
import datetime
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
# Currencies: ISO 4217 codes and their minor digits, as ICU's currency data gives them (the
# digits are CLDR's: AFN, ALL, IQD, IRR, KPW, LAK, LBP, MMK, RSD, SLL, SOS, SYP and YER have
# 0 where ISO says 2 or 3). Written out here so that the recomputation does not ask spate.
# --------------------------------------------------------------------------------------------

_DIGITS_TEXT = """
AED:2 AFN:0 ALL:0 AMD:2 ANG:2 AOA:2 ARS:2 AUD:2 AWG:2 AZN:2 BAM:2 BBD:2 BDT:2 BGN:2 BHD:3
BIF:0 BMD:2 BND:2 BOB:2 BRL:2 BSD:2 BTN:2 BWP:2 BYN:2 BZD:2 CAD:2 CDF:2 CHF:2 CLP:0 CNY:2
COP:2 CRC:2 CUC:2 CUP:2 CVE:2 CZK:2 DJF:0 DKK:2 DOP:2 DZD:2 EGP:2 ERN:2 ETB:2 EUR:2 FJD:2
FKP:2 GBP:2 GEL:2 GHS:2 GIP:2 GMD:2 GNF:0 GTQ:2 GYD:2 HKD:2 HNL:2 HRK:2 HTG:2 HUF:2 IDR:2
ILS:2 INR:2 IQD:0 IRR:0 ISK:0 JMD:2 JOD:3 JPY:0 KES:2 KGS:2 KHR:2 KMF:0 KPW:0 KRW:0 KWD:3
KYD:2 KZT:2 LAK:0 LBP:0 LKR:2 LRD:2 LSL:2 LYD:3 MAD:2 MDL:2 MGA:0 MKD:2 MMK:0 MNT:2 MOP:2
MRU:2 MUR:2 MVR:2 MWK:2 MXN:2 MYR:2 MZN:2 NAD:2 NGN:2 NIO:2 NOK:2 NPR:2 NZD:2 OMR:3 PAB:2
PEN:2 PGK:2 PHP:2 PKR:2 PLN:2 PYG:0 QAR:2 RON:2 RSD:0 RUB:2 RWF:0 SAR:2 SBD:2 SCR:2 SDG:2
SEK:2 SGD:2 SHP:2 SLE:2 SLL:0 SOS:0 SRD:2 SSP:2 STN:2 SYP:0 SZL:2 THB:2 TJS:2 TMT:2 TND:3
TOP:2 TRY:2 TTD:2 TWD:2 TZS:2 UAH:2 UGX:0 USD:2 UYU:2 UZS:2 VEF:2 VES:2 VND:0 VUV:0 WST:2
XAF:0 XCD:2 XOF:0 XPF:0 YER:0 ZAR:2 ZMW:2 BOV:2 CHE:2 CHW:2 CLF:4 CNH:2 COU:2 MXV:2 USN:2
USS:2 UYI:0 UYW:4 VED:2 XAG:2 XAU:2 XBA:2 XBB:2 XBC:2 XBD:2 XDR:2 XFO:2 XFU:2 XPD:2 XPT:2
XSU:2 XTS:2 XUA:2 XXX:2
"""
DIGITS = {c: int(d) for c, d in (x.split(":") for x in _DIGITS_TEXT.split())}


def iso_code(spelling: str) -> str | None:
    """The ISO code of a record's currency text ("EU", the reference's spelling, is EUR)."""
    if spelling == "EU":
        return "EUR"
    return spelling if spelling in DIGITS else None


# --------------------------------------------------------------------------------------------
# Strict validation of one record line.
# --------------------------------------------------------------------------------------------

FIELDS = ("transactionId", "userId", "amount", "transactionTime", "merchantId",
          "transactionType", "location", "paymentMethod", "isInternational", "currency")
GROUP_FIELDS = ("merchantId", "userId", "location", "currency", "paymentMethod")
STRING_FIELDS = ("transactionId", "userId", "merchantId", "transactionType", "location",
                 "paymentMethod")
ERROR_CODES = frozenset({"invalid_json", "missing_field", "duplicate_field", "wrong_type",
                         "out_of_range", "bad_value", "trailing_content", "bad_binary",
                         "bad_avro", "unknown_schema", "schema_mismatch"})
TIME_FORMATS = ("epoch-ms", "epoch-s", "epoch-us", "rfc3339")

MAX_AMOUNT = 10**18 - 1            # in minor units, either sign
MIN_TIME_MS = 946_684_800_000      # 2000-01-01T00:00:00Z
MAX_TIME_MS = 4_102_444_800_000    # 2100-01-01T00:00:00Z (included)
MAX_ID_BYTES = 256


@dataclasses.dataclass(frozen=True)
class RecordFormat:
    """How the records are written: field names (role -> name), time format, id length limit."""
    names: tuple = FIELDS
    time: str = "epoch-ms"
    max_id_bytes: int = MAX_ID_BYTES

    def name(self, role: str) -> str:
        return self.names[FIELDS.index(role)]

    @staticmethod
    def with_fields(specs: Iterable[str], time: str = "epoch-ms",
                    max_id_bytes: int = MAX_ID_BYTES) -> "RecordFormat":
        """specs: ROLE=NAME texts (spate's --field)."""
        names = list(FIELDS)
        for s in specs:
            role, name = s.split("=", 1)
            names[FIELDS.index(role)] = name
        return RecordFormat(tuple(names), time, max_id_bytes)

    @property
    def canonical(self) -> bool:
        return self.names == FIELDS and self.time == "epoch-ms" and self.max_id_bytes >= 1


DEFAULT_FORMAT = RecordFormat()


class Txn(NamedTuple):
    """A valid record: amount in minor units of its currency, time in epoch ms, currency as
    its ISO code (spelling: as the record wrote it), isInternational "True" or "False"."""
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
    spelling: str

    @property
    def digits(self) -> int:
        return DIGITS[self.currency]


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
# JSON number grammar (the parser has already enforced it; this only splits the parts).
_NUMBER_RE = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?")


def amount_minor(text: str, digits: int = 2) -> int:
    """Exact minor units of a JSON number's text in a currency with `digits` decimals: zeros
    past them are fine, other digits are not (bad_value); at most 18 digits (out_of_range)."""
    m = _NUMBER_RE.fullmatch(text)
    if m is None:
        raise Reject("bad_value", f"amount {text!r} is not a decimal number")
    sign, whole, frac, exp = m.groups()
    frac = frac or ""
    sig = int(whole + frac)
    scale = digits - len(frac) + (int(exp) if exp else 0)
    if sig == 0:
        return 0
    while sig % 10 == 0:
        sig //= 10
        scale += 1
    if scale < 0:
        raise Reject("bad_value", f"amount {text!r} has more than {digits} decimals")
    if len(str(sig)) + scale > 18:
        raise Reject("out_of_range", f"amount {text!r} is more than 18 digits in minor units")
    v = sig * 10**scale
    return -v if sign else v


def amount_cents(text: str) -> int:
    """amount_minor of a two-decimal currency (USD, EUR, GBP)."""
    return amount_minor(text, 2)


def _days_from_civil(y: int, m: int, d: int) -> int:
    return (datetime.date(y, m, d) - datetime.date(1970, 1, 1)).days


_RFC3339_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                         r"(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))")
_EPOCH_RE = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?")


def time_ms(value, fmt: str) -> int:
    """Epoch ms of a transactionTime value (a raw JSON number or a string) in format fmt."""
    if fmt == "rfc3339":
        if type(value) is not str:  # noqa: E721
            raise Reject("wrong_type", "transactionTime is not a string")
        m = _RFC3339_RE.fullmatch(value)
        if m is None:
            raise Reject("bad_value", f"transactionTime {value!r} is not RFC 3339")
        y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
        if not (1 <= mo <= 12 and h <= 23 and mi <= 59 and s <= 60):
            raise Reject("bad_value", f"transactionTime {value!r} is not a date-time")
        try:
            days = _days_from_civil(y, mo, d)
        except ValueError:
            raise Reject("bad_value", f"transactionTime {value!r} is not a date") from None
        frac = ((m.group(7) or "") + "000")[:3]
        offset = 0
        if m.group(9):
            oh, om = int(m.group(10)), int(m.group(11))
            if oh > 23 or om > 59:
                raise Reject("bad_value", f"transactionTime {value!r}: bad offset")
            offset = (oh * 60 + om) * (-1 if m.group(9) == "-" else 1)
        ms = (days * 86400 + h * 3600 + mi * 60 + s - offset * 60) * 1000 + int(frac)
    else:
        if not isinstance(value, (_RawInt, _RawFloat)):
            raise Reject("wrong_type", "transactionTime is not a number")
        m = _EPOCH_RE.fullmatch(value)
        if m is None or (m.group(3) is not None and fmt != "epoch-s"):
            raise Reject("bad_value", f"transactionTime {value!r} is not an integer")
        if m.group(1):
            raise Reject("out_of_range", f"transactionTime {value} is negative")
        whole = int(m.group(2))
        if fmt == "epoch-ms":
            ms = whole
        elif fmt == "epoch-us":
            ms = whole // 1000
        else:
            ms = whole * 1000 + int(((m.group(3) or "") + "000")[:3])
    if not MIN_TIME_MS <= ms <= MAX_TIME_MS:
        raise Reject("out_of_range", f"transactionTime {value} out of range")
    return ms


# Fast path: the canonical shape (spate's names in its order, no escapes, epoch ms), a strict
# subset of what the full validator accepts. A line that matches and whose values check out is
# valid with these values; anything else goes through the full validator.
_S = rb'"([^"\\\x00-\x1f]+)"'
_CANONICAL_RE = re.compile(
    rb'\{"transactionId":' + _S + rb',"userId":' + _S +
    rb',"amount":(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?),"transactionTime":([1-9][0-9]{0,12}),'
    rb'"merchantId":' + _S + rb',"transactionType":' + _S + rb',"location":' + _S +
    rb',"paymentMethod":' + _S + rb',"isInternational":"(True|False)","currency":"([A-Z]{2,3})"\}')


def validate(line: bytes, seq: int = 0, fmt: RecordFormat = DEFAULT_FORMAT) -> Txn:
    """Parses one record line strictly; returns a Txn or raises Reject."""
    m = _CANONICAL_RE.fullmatch(line) if fmt.canonical else None
    if m is not None:
        g = m.groups()
        code = iso_code(g[9].decode())
        ttime = int(g[3])
        if (code is not None and MIN_TIME_MS <= ttime <= MAX_TIME_MS
                and all(len(g[i]) <= fmt.max_id_bytes for i in (0, 1, 4, 5, 6, 7))):
            try:
                s = [x.decode("utf-8") for x in g]
                amount = amount_minor(s[2], DIGITS[code])
            except (UnicodeDecodeError, Reject):
                return validate_full(line, seq, fmt)
            return Txn(seq, s[0], s[1], amount, ttime, s[4], s[5], s[6], s[7], s[8], code, s[9])
    return validate_full(line, seq, fmt)


def _string_field(name: str, value) -> str:
    if type(value) is not str:  # noqa: E721  (_RawInt/_RawFloat are str subclasses)
        raise Reject("wrong_type", f"{name} is not a string")
    return value


def validate_full(line: bytes, seq: int = 0, fmt: RecordFormat = DEFAULT_FORMAT) -> Txn:
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

    role_of = {n: r for r, n in zip(FIELDS, fmt.names)}
    values = {}
    for key, value in obj:
        role = role_of.get(key)
        if role is not None:
            if role in values:
                raise Reject("duplicate_field", f"duplicate field {key}")
            values[role] = value
    for role in FIELDS:
        if role not in values:
            raise Reject("missing_field", f"missing field {fmt.name(role)}")

    strings = {}
    for role in STRING_FIELDS:
        s = _string_field(role, values[role])
        try:
            n = len(s.encode("utf-8"))
        except UnicodeEncodeError:
            raise Reject("invalid_json", f"{role}: a lone surrogate") from None
        if n == 0:
            raise Reject("bad_value", f"{role} is empty")
        if n > fmt.max_id_bytes:
            raise Reject("bad_value", f"{role} is {n} bytes, more than {fmt.max_id_bytes}")
        strings[role] = s

    ttime = time_ms(values["transactionTime"], fmt.time)

    intl = values["isInternational"]
    if intl == "true" or intl == "True" or (type(intl) is bool and intl):
        intl = "True"
    elif intl == "false" or intl == "False" or (type(intl) is bool and not intl):
        intl = "False"
    elif type(intl) is str:  # noqa: E721
        raise Reject("bad_value", f"isInternational {intl!r} not allowed")
    else:
        raise Reject("wrong_type", "isInternational is not a boolean or a string")

    spelling = _string_field("currency", values["currency"])
    code = iso_code(spelling)
    if code is None:
        raise Reject("bad_value", f"currency {spelling!r} is not an ISO 4217 code")

    amount = values["amount"]
    if not isinstance(amount, (_RawInt, _RawFloat)):
        raise Reject("wrong_type", "amount is not a number")
    minor = amount_minor(amount, DIGITS[code])

    return Txn(seq, strings["transactionId"], strings["userId"], minor, ttime,
               strings["merchantId"], strings["transactionType"], strings["location"],
               strings["paymentMethod"], intl, code, spelling)


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


def format_amount(minor: int, digits: int = 2) -> str:
    """Minor units as text with exactly `digits` decimals ("-12.05"; "1200" for digits 0)."""
    sign = "-" if minor < 0 else ""
    s = str(abs(minor)).rjust(digits + 1, "0")
    return sign + (s[:-digits] + "." + s[-digits:] if digits else s)


class Limit:
    """An amount limit in each currency's major units (spate's --high-amount and friends): a
    default, and per-currency values from CODE=AMOUNT specs; kept at four decimals and cut to
    a currency's precision."""

    def __init__(self, *specs: str):
        self.default = 0
        self.per_currency = {}
        for s in specs:
            code, _, amount = s.rpartition("=")
            v = amount_minor(amount, 4)
            if code:
                self.per_currency[iso_code(code)] = v
            else:
                self.default = v

    def minor(self, currency: str) -> int:
        v = self.per_currency.get(currency, self.default)
        return v // 10 ** (4 - DIGITS[currency])

    def __repr__(self):
        return "Limit(" + ", ".join([format_amount(self.default, 4)] + [
            f"{c}={format_amount(v, 4)}" for c, v in sorted(self.per_currency.items())]) + ")"


@dataclasses.dataclass
class Params:
    partitions: int = 6
    batch_size: int = 32768
    window_ms: int = 60_000
    hop_ms: int | None = None  # None: tumbling (hop = window)
    lateness_ms: int = 5_000
    idle_timeout_ms: int = 60_000  # spate run --idle-timeout (event time); 0: never
    group_by: str = "merchantId"
    emit: str = "final"
    high_amount: Limit = dataclasses.field(default_factory=lambda: Limit("250000"))
    intl_amount: Limit = dataclasses.field(default_factory=lambda: Limit("150000"))
    velocity_span_ms: int = 10_000
    velocity_count: int = 10
    velocity_amount: Limit = dataclasses.field(default_factory=lambda: Limit("1000000"))
    rules: bool = True
    totals: bool = True
    format: RecordFormat = DEFAULT_FORMAT

    @property
    def hop(self) -> int:
        return self.hop_ms or self.window_ms


# --------------------------------------------------------------------------------------------
# The recomputation.
# --------------------------------------------------------------------------------------------

def new_agg(t: "Txn") -> list:
    """Aggregate of one (window, key) holding t:
    [transactionCount, totalAmount, minAmount, maxAmount, purchaseCount, refundCount]."""
    return [1, t.amount, t.amount, t.amount, int(t.transactionType == "purchase"),
            int(t.transactionType == "refund")]


def add_to_agg(agg: list, t: "Txn"):
    agg[0] += 1
    agg[1] += t.amount
    if t.amount < agg[2]:
        agg[2] = t.amount
    if t.amount > agg[3]:
        agg[3] = t.amount
    agg[4] += t.transactionType == "purchase"
    agg[5] += t.transactionType == "refund"


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
    evidence: tuple  # ("threshold", limit) or ("velocity", count, total, span, countLimit, amountLimit)
    currency: str    # the ISO code; the amounts above are in its minor units


@dataclasses.dataclass
class Result:
    params: Params
    records: int
    valid: list            # [Txn]
    dead: list             # [DeadLetter]
    partition: dict        # seq -> partition (valid records, and dead letters when keys known)
    offset: dict           # seq -> offset within its partition (only when all partitions known)
    # A key is (the group field's value, the currency's ISO code): money in different
    # currencies is never added up.
    aggregates: list       # final values: [(start, end, key, value-tuple)] in emission order
    updates: list          # changes mode: [(batch, start, end, key, value-tuple)]
    totals: dict           # key -> (count, total); empty with --totals off
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


def parse_all(lines: list, fmt: RecordFormat = DEFAULT_FORMAT) -> tuple:
    """-> (valid [Txn], dead [DeadLetter])"""
    valid, dead = [], []
    for seq, line in enumerate(lines):
        try:
            valid.append(validate(line, seq, fmt))
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
    valid, dead = parse_all(lines, p.format)
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
        wm = None
        if max_time:
            # --idle-timeout: a partition this far behind the newest is left out; the
            # watermark never moves backwards when it is back.
            newest, idle = max(max_time.values()), p.idle_timeout_ms
            wm = min(m for m in max_time.values() if not idle or m >= newest - idle) - L
            if prev_wm is not None:
                wm = max(wm, prev_wm)
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
            key = (t[gkey], t.currency)
            if p.totals:
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
                  late=late, anomalies=anomalies(valid, p) if p.rules else [], windows_closed=windows_closed,
                  aggregated=aggregated, wm_regressions=wm_regressions, reopened=reopened)


def offsets(n: int, partition: dict, dead: list, dead_keys: dict, partitions: int) -> dict:
    """seq -> offset in its partition; dead letters are placed by their key (dead_keys)."""
    for d in dead:
        # A record without a readable key goes round-robin by its sequence number.
        key = dead_keys[d.seq]
        partition[d.seq] = partition_of(key, partitions) if key else d.seq % partitions
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


def _amount_rules(t: Txn, p: Params, out: list):
    limit = p.high_amount.minor(t.currency)
    if t.amount > limit:
        out.append(Anomaly("high_amount", t.seq, t.userId, t.transactionId, t.transactionTime,
                           t.amount, ("threshold", limit), t.currency))
    limit = p.intl_amount.minor(t.currency)
    if t.isInternational == "True" and t.amount > limit:
        out.append(Anomaly("international_high", t.seq, t.userId, t.transactionId,
                           t.transactionTime, t.amount, ("threshold", limit), t.currency))


def _velocity_rules(t: Txn, p: Params, count: int, total: int, out: list):
    limit = p.velocity_amount.minor(t.currency)
    ev = ("velocity", count, total, p.velocity_span_ms, p.velocity_count, limit)
    if count > p.velocity_count:
        out.append(Anomaly("velocity_count", t.seq, t.userId, t.transactionId,
                           t.transactionTime, t.amount, ev, t.currency))
    if total > limit:
        out.append(Anomaly("velocity_amount", t.seq, t.userId, t.transactionId,
                           t.transactionTime, t.amount, ev, t.currency))


def _generations(valid: list, p: Params) -> list:
    """Per valid record, the generation of its user's rule state. A new one starts when the
    state has expired: when its partition's largest time so far (before this record), minus
    the lateness, has passed the user's largest time plus the span. The state is then dropped,
    and the record starts afresh (docs/semantics.md, "Anomaly rules")."""
    after = p.velocity_span_ms + p.lateness_ms
    part_of, part_max, state, gens = {}, {}, {}, []
    for t in valid:
        u, tt = t.userId, t.transactionTime
        part = part_of.get(u)
        if part is None:
            part = part_of[u] = partition_of(u.encode(), p.partitions)
        pm = part_max.get(part)
        st = state.get(u)
        if st is None:
            st = state[u] = [0, tt]
        elif pm is not None and st[1] + after <= pm:
            st[0] += 1
            st[1] = tt
        else:
            st[1] = max(st[1], tt)
        gens.append(st[0])
        part_max[part] = tt if pm is None else max(pm, tt)
    return gens


def anomalies(valid: list, p: Params) -> list:
    """All anomalies of the valid records (sequence order), velocity rules via Fenwick trees:
    one per user state for the counts (every currency), one per (state, currency) for the
    sums."""
    span, lateness = p.velocity_span_ms, p.lateness_ms
    gens = _generations(valid, p)
    times = collections.defaultdict(set)
    for t, g in zip(valid, gens):
        times[(t.userId, g)].add(t.transactionTime)
        times[(t.userId, g, t.currency)].add(t.transactionTime)
    trees = {k: _Fenwick(sorted(ts)) for k, ts in times.items()}
    max_time = {}
    out = []
    for t, g in zip(valid, gens):
        _amount_rules(t, p, out)
        amt, tt = t.amount, t.transactionTime
        m = max(max_time.get((t.userId, g), tt), tt)
        max_time[(t.userId, g)] = m
        # Kept earlier records: time > m - span - lateness (eviction is monotone, so a filter
        # on the current threshold equals permanent eviction). Counted: time in (tt - span, tt].
        lo = max(m - span - lateness, tt - span)
        users, own = trees[(t.userId, g)], trees[(t.userId, g, t.currency)]
        count, total = 1, amt  # this record
        if lo < tt:
            count += users.upto(tt)[0] - users.upto(lo)[0]
            total += own.upto(tt)[1] - own.upto(lo)[1]
        _velocity_rules(t, p, count, total, out)
        users.add(tt, amt)
        own.add(tt, amt)
    return out


def anomalies_naive(valid: list, p: Params) -> list:
    """The velocity rules written literally (quadratic); used by --selftest."""
    span, lateness = p.velocity_span_ms, p.lateness_ms
    state = {}  # user -> [M, [(time, amount, currency)]]
    part_max = {}
    out = []
    for t in valid:
        _amount_rules(t, p, out)
        amt, tt = t.amount, t.transactionTime
        part = partition_of(t.userId.encode(), p.partitions)
        pm = part_max.get(part)
        part_max[part] = tt if pm is None else max(pm, tt)
        if t.userId in state and pm is not None and state[t.userId][0] + span + lateness <= pm:
            del state[t.userId]  # expired
        st = state.setdefault(t.userId, [tt, []])
        st[0] = max(st[0], tt)
        st[1] = [e for e in st[1] if e[0] > st[0] - span - lateness]
        inside = [e for e in st[1] + [(tt, amt, t.currency)] if tt - span < e[0] <= tt]
        count = len(inside)
        total = sum(a for _, a, c in inside if c == t.currency)
        _velocity_rules(t, p, count, total, out)
        st[1].append((tt, amt, t.currency))
    return out


# --------------------------------------------------------------------------------------------
# Rendering in spate's output shapes (as Python values; amounts in minor units).
# --------------------------------------------------------------------------------------------

def txn_dict(t: Txn) -> dict:
    """The record as spate re-encodes it (late records): the currency as it was spelt."""
    d = {f: getattr(t, f) for f in FIELDS}
    d["currency"] = t.spelling
    return d


# The key fields of a result in schemas/aggregate.avsc's order: the group field, and the
# currency (once when grouping by currency).
def _key_fields(group_by: str, key: tuple) -> dict:
    value, currency = key
    return {f: (value if f == group_by else currency) for f in GROUP_FIELDS
            if f in (group_by, "currency")}


def aggregate_row(group_by: str, start: int, end: int, key: tuple, value: tuple) -> dict:
    count, total, mn, mx, purchases, refunds = value
    return {"windowStart": start, "windowEnd": end, **_key_fields(group_by, key),
            "transactionCount": count, "totalAmount": total, "minAmount": mn, "maxAmount": mx,
            "purchaseCount": purchases, "refundCount": refunds}


def total_row(group_by: str, key: tuple, count: int, total: int) -> dict:
    return {**_key_fields(group_by, key), "totalAmount": total, "transactionCount": count}


def anomaly_row(a: Anomaly) -> dict:
    if a.evidence[0] == "threshold":
        evidence = {"threshold": a.evidence[1]}
    else:
        _, count, total, span, climit, alimit = a.evidence
        evidence = {"count": count, "totalAmount": total, "spanMs": span,
                    "countLimit": climit, "amountLimit": alimit}
    return {"rule": a.rule, "userId": a.userId, "transactionId": a.transactionId,
            "transactionTime": a.transactionTime, "amount": a.amount, "sequence": a.seq,
            "evidence": evidence, "currency": a.currency}


AMOUNT_KEYS = frozenset({"amount", "totalAmount", "minAmount", "maxAmount", "threshold",
                         "amountLimit"})


def json_string(s: str) -> str:
    """A JSON string as spate writes one: '"' and '\\' escaped, controls as \\u00XX, the rest
    as is (UTF-8)."""
    out = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def to_json_text(value) -> str:
    """JSON text as spate writes it (no spaces, non-ASCII as is), every amount with the
    decimals of the currency of its object (or of the enclosing one)."""
    def conv(v, key=None, digits=2):
        if isinstance(v, dict):
            cur = iso_code(v["currency"]) if isinstance(v.get("currency"), str) else None
            d = DIGITS[cur] if cur else digits
            return "{" + ",".join(f"{json_string(k)}:{conv(x, k, d)}"
                                  for k, x in v.items()) + "}"
        if isinstance(v, (list, tuple)):
            return "[" + ",".join(conv(x, None, digits) for x in v) + "]"
        if key in AMOUNT_KEYS and isinstance(v, int) and not isinstance(v, bool):
            return format_amount(v, digits)
        if isinstance(v, str):
            return json_string(v)
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
    dump("totals.jsonl", (total_row(p.group_by, k, *v) for k, v in sorted(res.totals.items())))
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
