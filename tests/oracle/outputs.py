"""Rendering in spate's output shapes, and the expected files a test compares against.

Part of the independent recomputation (tests/recompute.py): plain Python, standard library
only, never spate's engine."""

from __future__ import annotations

import json
import os

from oracle.records import DIGITS, FIELDS, GROUP_FIELDS, Txn, iso_code
from oracle.model import Anomaly, Result, format_amount

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
