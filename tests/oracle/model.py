"""The run's parameters and the shapes of what it writes (aggregates, dead letters, late
records, anomalies, the whole result).

Part of the independent recomputation (tests/recompute.py): plain Python, standard library
only, never spate's engine."""

from __future__ import annotations

import collections
import dataclasses
import re
from typing import NamedTuple

from oracle.records import DEFAULT_FORMAT, DIGITS, RecordFormat, Txn, amount_minor, iso_code

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
