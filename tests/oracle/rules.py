"""The anomaly rules (high_amount, international_high, velocity_count, velocity_amount).

Part of the independent recomputation (tests/recompute.py): plain Python, standard library
only, never spate's engine."""

from __future__ import annotations

import bisect
import collections

from oracle.kafka import partition_of
from oracle.records import Txn
from oracle.model import Anomaly, Params

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
