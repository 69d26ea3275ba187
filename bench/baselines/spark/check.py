#!/usr/bin/env python3
"""Checks the Spark baseline's output topic against tests/recompute.py (spate's semantics,
recomputed independently) and prints run.sh's one JSON object on stdout.

  reference  the last value per merchantId in the output topic (update mode) must equal the exact
             all-time totals (transactionCount, totalAmount in cents) recomputed from the input:
             spate aggregate writes the same totals to its --totals-topic.
  windowed   every window Spark emitted (append mode) must equal spate's window, and Spark must
             have emitted every window whose end is <= its final watermark (largest event time
             - 5 s); the windows still open at the end are emitted by spate at the end of the
             input but never by Spark's append mode (no later data moves its watermark): they
             are counted in the note, not compared.
The comparison is where the semantics agree: an input with dead letters (which spate rejects and
Spark's fixed-schema parse turns into nulls) or with records Spark drops as late gives false.
"""
import argparse
import decimal
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests"))
import recompute  # noqa: E402

FIELDS = ("engine", "mode", "records", "elapsedSeconds", "startupSeconds", "recordsPerSecond",
          "cpuSeconds", "peakRssBytes", "latencyP50Ms", "latencyP99Ms", "resultsMatchSpate", "note")


def log(msg):
    print(f"spark-check: {msg}", file=sys.stderr, flush=True)


def kcat_values(brokers, topic, committed=False):
    """Yields every message value of the topic as bytes, streamed from kcat (length-prefixed:
    a malformed value may hold newlines)."""
    cmd = ["kcat", "-C", "-b", brokers, "-t", topic, "-e", "-q", "-f", "%S:%s"]
    if committed:  # spate writes in transactions
        cmd += ["-X", "isolation.level=read_committed"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    buf = b""
    while True:
        chunk = proc.stdout.read(1 << 20)
        if not chunk:
            break
        buf += chunk
        i = 0
        while True:
            j = buf.find(b":", i)
            if j < 0:
                break
            n = int(buf[i:j])
            if n < 0:  # null value
                yield b""
                i = j + 1
                continue
            if j + 1 + n > len(buf):
                break
            yield buf[j + 1:j + 1 + n]
            i = j + 1 + n
        buf = buf[i:]
    if proc.wait() != 0 or buf:
        raise RuntimeError(f"kcat could not read {topic} ({len(buf)} bytes left over)")


class Expected:
    """spate's results for the input, in one pass and O(keys) memory, with tests/recompute.py's
    validator and aggregate functions. The input is one batch (as in tests/aggregate_test.py):
    no watermark moves during it, so nothing is late and every window holds all its records."""

    def __init__(self, values, window_ms=60_000):
        self.records = self.dead = 0
        self.totals = {}   # merchantId -> [count, cents]
        self.windows = {}  # (start, end, merchantId) -> recompute aggregate list
        self.max_time = None
        for seq, v in enumerate(values):
            self.records += 1
            try:
                t = recompute.validate(v, seq)
            except recompute.Reject:
                self.dead += 1
                continue
            tot = self.totals.setdefault(t.merchantId, [0, 0])
            tot[0] += 1
            tot[1] += t.amount
            for s in recompute.window_starts(t.transactionTime, window_ms, window_ms):
                k = (s, s + window_ms, t.merchantId)
                agg = self.windows.get(k)
                if agg is None:
                    self.windows[k] = recompute.new_agg(t)
                else:
                    recompute.add_to_agg(agg, t)
            if self.max_time is None or t.transactionTime > self.max_time:
                self.max_time = t.transactionTime


def cents(d):
    """An exact decimal amount as integer cents (None stays None)."""
    if d is None:
        return None
    c = decimal.Decimal(d) * 100
    if c != c.to_integral_value():
        raise ValueError(f"amount with more than two decimals: {d}")
    return int(c)


def parse_out(value):
    return json.loads(value, parse_float=decimal.Decimal, parse_int=int)


def check_reference(exp, out_rows):
    last = {}
    for v in out_rows:
        d = parse_out(v)
        # to_json leaves out null fields: a malformed record gives a null merchantId or amount.
        last[d.get("merchantId")] = (d.get("transactionCount"), cents(d.get("totalAmount")))
    want = {k: tuple(v) for k, v in exp.totals.items()}
    if last == want:
        return True, f"final totals of all {len(want)} merchants equal the recomputation"
    diff = sorted((k for k in set(want) | set(last) if last.get(k) != want.get(k)), key=str)
    eg = "; ".join(f"{k}: Spark {last.get(k)}, spate {want.get(k)}" for k in diff[:2])
    return False, (f"final totals (count, cents) differ for {len(diff)} of {len(want)} merchants, "
                   f"e.g. {eg}")


def check_windowed(exp, out_rows):
    got, dup = {}, 0
    for v in out_rows:
        d = parse_out(v)
        k = (d.get("windowStart"), d.get("windowEnd"), d.get("merchantId"))
        dup += k in got
        got[k] = (d.get("transactionCount"), cents(d.get("totalAmount")), cents(d.get("minAmount")),
                  cents(d.get("maxAmount")), d.get("purchaseCount"), d.get("refundCount"))
    want = {k: tuple(v) for k, v in exp.windows.items()}
    wm = exp.max_time - 5000 if exp.max_time is not None else None
    closed = {k: v for k, v in want.items() if wm is not None and k[1] <= wm}
    still_open = len(want) - len(closed)
    problems = []
    if dup:
        problems.append(f"{dup} (window, merchant) rows emitted more than once")
    wrong = [k for k in got if k in want and got[k] != want[k]]
    extra = [k for k in got if k not in want]
    missing = [k for k in closed if k not in got]
    if wrong:
        problems.append(f"{len(wrong)} windows differ, e.g. {wrong[0]}: Spark {got[wrong[0]]}, "
                        f"spate {want[wrong[0]]}")
    if extra:
        problems.append(f"{len(extra)} windows spate does not have, e.g. {extra[0]}")
    if missing:
        problems.append(f"{len(missing)} closed windows missing, e.g. {missing[0]}")
    windows = len({(s, e) for s, e, _ in got})
    if problems:
        return False, "; ".join(problems)
    if not closed:  # e.g. fewer than ~650k records at spate's default event rate (10000/s)
        return None, (f"nothing to compare: no window ends before the final watermark {wm}; "
                      f"the input spans {len({k[0] for k in want})} windows, all still open, "
                      "which spate emits at the end of the input and Spark's append mode never")
    return True, (f"{len(got)} (window, merchant) results in {windows} windows equal spate's; "
                  f"{still_open} results of the windows still open at the end (end > final "
                  f"watermark {wm}) are emitted by spate at end of input, never by Spark's append mode")


def keyed(mode, rows):
    """Output rows as {key: value}; the last row per key wins (update mode)."""
    out = {}
    for v in rows:
        d = parse_out(v)
        if mode == "reference":
            out[d.get("merchantId")] = (d.get("transactionCount"), cents(d.get("totalAmount")))
        else:
            out[(d.get("windowStart"), d.get("windowEnd"), d.get("merchantId"))] = tuple(
                cents(d.get(f)) if f.endswith("Amount") else d.get(f)
                for f in ("transactionCount", "totalAmount", "minAmount", "maxAmount",
                          "purchaseCount", "refundCount"))
    return out


def check_spate_topic(mode, spark_rows, spate_rows, topic):
    """Spark's output against what spate aggregate wrote for the same input (its totals topic in
    reference mode, its aggregates topic in windowed mode, read committed)."""
    spark, spate = keyed(mode, spark_rows), keyed(mode, spate_rows)
    if mode == "reference":
        bad = [k for k in set(spark) | set(spate) if spark.get(k) != spate.get(k)]
    else:
        bad = [k for k in spark if spark[k] != spate.get(k)]
    if bad:
        return False, f"{len(bad)} results differ from spate aggregate's {topic}, e.g. {bad[0]}"
    return True, (f"all {len(spark)} results equal spate aggregate's {topic}"
                  + (f" ({len(spate) - len(spark)} more there: windows open at Spark's end)"
                     if len(spate) > len(spark) else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--result", required=True, help="job.py's JSON")
    ap.add_argument("--no-check", action="store_true", help="resultsMatchSpate: null")
    ap.add_argument("--spate-topic", default="",
                    help="also compare with spate aggregate's output for the same input: its "
                         "totals topic (reference) or aggregates topic (windowed)")
    a = ap.parse_args()
    with open(a.result) as f:
        r = json.load(f)
    notes = list(r.pop("jobNotes", []))
    r["resultsMatchSpate"] = None
    if not a.no_check:
        t = time.time()
        exp = Expected(kcat_values(a.brokers, a.input))
        out_rows = [v for v in kcat_values(a.brokers, r["outputTopic"]) if v]
        log(f"recomputed {exp.records} records ({exp.dead} dead letters) and read "
            f"{len(out_rows)} output rows in {time.time() - t:.1f} s")
        ok, why = (check_reference if r["mode"] == "reference" else check_windowed)(exp, out_rows)
        if exp.records != r["records"]:
            ok = False
            why += f"; the input topic holds {exp.records} records, not {r['records']}"
        if exp.dead:
            ok = False
            why += (f"; {exp.dead} dead letters in the input: spate rejects them, Spark's "
                    f"fixed-schema parse does not (the semantics differ)")
        if a.spate_topic:
            ok2, why2 = check_spate_topic(r["mode"], out_rows, [v for v in kcat_values(
                a.brokers, a.spate_topic, committed=True) if v], a.spate_topic)
            ok = ok2 if ok is None else ok and ok2
            why += "; " + why2
        r["resultsMatchSpate"] = ok
        notes.append(why)
    notes.append(f"Spark {r.get('sparkVersion')} {r.get('master')}, {r['microBatches']} micro-batches "
                 f"({r['microBatchesWithData']} with data), output topic {r['outputTopic']}")
    if r.get("latencyP50Ms") is not None:
        notes.append("latency = end of the micro-batch that processed a record minus the record's "
                     f"Kafka timestamp, live phase of {r['latencyProduced']} records at "
                     f"{r['latencyRate']} rec/s")
    else:
        notes.append("no latency phase")
    r["note"] = "; ".join(notes)
    out = {k: r.get(k) for k in FIELDS}
    out.update({k: v for k, v in r.items() if k not in out})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
