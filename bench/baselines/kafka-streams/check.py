#!/usr/bin/env python3
"""Checks the Kafka Streams baseline's output topic against tests/recompute.py (spate's
semantics, recomputed independently from the input topic) and prints run.sh's one JSON object.

Every (window, merchantId, currency) result the job emitted must equal spate's, exactly and
once; and every window ending a full window before the input's last event time (so closed in
every task, whatever its own stream time) must have been emitted. The windows still open at the
end are emitted by spate at the end of its input, never by a suppressed Kafka Streams window
(no later record moves its stream time): they are counted in the note, not compared. An input
with dead letters gives false (spate rejects them; the job skips what it cannot parse).
"""
import argparse
import decimal
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "spark"))
import recompute  # noqa: E402
from check import kcat_values  # noqa: E402  (the Spark baseline's reader of a topic)


def expected(values, window_ms):
    records = dead = 0
    windows, max_time = {}, None
    for seq, v in enumerate(values):
        records += 1
        try:
            t = recompute.validate(v, seq)
        except recompute.Reject:
            dead += 1
            continue
        for s in recompute.window_starts(t.transactionTime, window_ms, window_ms):
            k = (s, s + window_ms, t.merchantId, t.currency)
            agg = windows.get(k)
            if agg is None:
                windows[k] = [recompute.new_agg(t), t.digits]
            else:
                recompute.add_to_agg(agg[0], t)
        if max_time is None or t.transactionTime > max_time:
            max_time = t.transactionTime
    return records, dead, windows, max_time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--result", required=True, help="the job's JSON line")
    ap.add_argument("--window-ms", type=int, default=60_000)
    a = ap.parse_args()
    with open(a.result) as f:
        r = json.loads(f.read().strip().splitlines()[-1])
    records, dead, want, max_time = expected(kcat_values(a.brokers, a.input), a.window_ms)
    got, dup = {}, 0
    for v in kcat_values(a.brokers, r["outputTopic"], committed=True):
        if not v:
            continue
        d = json.loads(v, parse_float=decimal.Decimal)
        k = (d["windowStart"], d["windowEnd"], d["merchantId"], d["currency"])
        dup += k in got
        got[k] = d
    problems = []

    def same(k):
        agg, digits = want[k]
        d, scale = got[k], decimal.Decimal(10) ** digits
        return [d["transactionCount"], decimal.Decimal(d["totalAmount"]) * scale,
                decimal.Decimal(d["minAmount"]) * scale, decimal.Decimal(d["maxAmount"]) * scale,
                d["purchaseCount"], d["refundCount"]] == agg

    wrong = [k for k in got if k in want and not same(k)]
    # Records Kafka Streams dropped as late: its stream time is the largest event time its task
    # has seen from any input partition, spate's watermark follows the slowest one. Each of them
    # belongs to a window that had closed, and so was emitted without it.
    late = r.get("late", 0)
    short = sum(want[k][0][0] - got[k]["transactionCount"] for k in wrong)
    explained = late and all(got[k]["transactionCount"] < want[k][0][0] for k in wrong) \
        and short == late
    extra = [k for k in got if k not in want]
    closed = [k for k in want if max_time is not None and k[1] <= max_time - a.window_ms]
    missing = [k for k in closed if k not in got]
    if dup:
        problems.append(f"{dup} results emitted more than once")
    if wrong and explained:
        problems.append(f"{len(wrong)} results lack, together, exactly the {late} records Kafka "
                        "Streams dropped as late (grace = spate's lateness, measured from its "
                        f"task's stream time); the other {len(got) - len(wrong)} equal spate's")
    elif wrong:
        problems.append(f"{len(wrong)} results differ, e.g. {wrong[0]}: {got[wrong[0]]} against "
                        f"{want[wrong[0]][0]} (minor units)")
    if extra:
        problems.append(f"{len(extra)} results spate does not have, e.g. {extra[0]}")
    if missing:
        problems.append(f"{len(missing)} closed windows missing, e.g. {missing[0]}")
    if records != r["records"]:
        problems.append(f"the input holds {records} records, not {r['records']}")
    if dead:
        problems.append(f"{dead} dead letters in the input: the semantics differ there")
    if problems:
        ok, why = False, "; ".join(problems)
    elif not got:
        ok, why = None, (f"nothing to compare: no window closed (the input spans "
                         f"{len({k[0] for k in want})} windows, all still open at its end)")
    else:
        ok, why = True, (f"{len(got)} (window, merchant, currency) results in "
                         f"{len({k[0] for k in got})} windows equal spate's; "
                         f"{len(want) - len(got)} results of windows still open at the end "
                         "are emitted by spate at the end of its input, never by suppress()")
    r.update(resultsMatchSpate=ok, note=f"{why}; Kafka Streams {r.get('kafkaStreamsVersion')}, "
             "exactly_once_v2, 2 stream threads, suppress(untilWindowCloses)")
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
