"""The recomputation: the batch and watermark simulation, windows, late records, totals.

Part of the independent recomputation (tests/recompute.py): plain Python, standard library
only, never spate's engine."""

from __future__ import annotations


from oracle.kafka import partition_of
from oracle.records import DEFAULT_FORMAT, FIELDS, GROUP_FIELDS, RecordFormat, Reject, validate
from oracle.model import DeadLetter, LateRecord, Params, Result, add_to_agg, new_agg
from oracle.rules import anomalies

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
