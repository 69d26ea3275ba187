#!/usr/bin/env python3
"""spate aggregate against the real local cluster (ctest label `kafka`); the fault cases are in
tests/aggregate_faults_test.py, the cases on live input (idle, latency, state) in
tests/aggregate_live_test.py.

  exact   produce N records with seed S; aggregate with exactly-once until the input ends (a
          dynamic member, without --instance, which leaves the group as it ends); read every
          output topic with kcat (read_committed) and compare with tests/recompute.py run on
          `spate gen` output: aggregates, final totals, anomalies and dead letters, exactly.
  exact_realistic
          exact, on the realistic profile's values (string keys, many currencies).
  late    records far behind the others among them: each valid record is in the results of
          its windows or in the late output with the windows it missed (judged against the
          watermark its line gives), never both, never neither; the totals hold every one. The
          others cross the repartition topic combined into partial aggregates, the late ones
          one by one.
  poison  exact, with one input record of 2 MB and one of 900 KB (not transactions) among the
          valid ones: both are dead letters cut to 64 KiB with their size and SHA-256, the run
          exits 0, and everything else is exact.
  changelog_policy
          a changelog topic that exists and is not compacted is refused.
  changelog_open
          a changelog partition whose first transaction is still open is not taken for empty:
          the restore waits and reads what that transaction commits.
  scale   (realistic profile) three members of one group while records arrive: one is killed
          and its partitions move, state and all, to another; a third joins and takes some
          over. Still exact.
"""
import base64
import collections
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import checks  # noqa: E402
import recompute  # noqa: E402
import registry_test  # noqa: E402

CLUSTER = os.path.join(os.path.dirname(HERE), "deploy", "kafka", "cluster.sh")
# The local cluster (deploy/kafka/cluster.sh); SPATE_BROKERS goes with SPATE_KAFKA_PORT_OFFSET.
BROKERS = os.environ.get("SPATE_BROKERS", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")
GEN_ARGS = ["--seed", "21", "--out-of-order", "0.05", "--max-delay", "2s", "--malformed", "0.002",
            "--anomalies", "0.002", "--users", "20000", "--merchants", "300", "--event-rate", "2000"]
NODE = os.environ.get("SPATE_KILL_NODE", "3")  # the node the broker_kill test kills
ENGINE_ARGS = ["--window", "10s", "--hop", "5s", "--lateness", "5s"]


def topics(tag, *input_config):
    names = {k: f"{k}_{tag}" for k in ("in", "agg", "tot", "anom", "late", "dlq")}
    for k, n in names.items():
        subprocess.run([CLUSTER, "topic", n, "6", *(input_config if k == "in" else ())], check=True)
    return names


def aggregate_cmd(spate, t, group, exit_at_end, instance="a", extra=(), commit_interval="100ms"):
    """instance None: no --instance, a dynamic member of the group."""
    cmd = [spate, "aggregate", "--brokers", BROKERS, "--input", t["in"], "--group", group,
           *(["--instance", instance] if instance is not None else []),
           "--aggregates-topic", t["agg"], "--totals-topic", t["tot"],
           "--anomalies-topic", t["anom"], "--late-topic", t["late"], "--dlq-topic", t["dlq"],
           "--metrics-addr", "", "--no-progress", "--commit-interval", commit_interval, "--json",
           *ENGINE_ARGS, *extra]
    return cmd + (["-e"] if exit_at_end else [])


def run_to_end(cmd, timeout=300):
    """An `aggregate -e` run, to its end. One still running after `timeout` s is killed and fails
    the test with the end of its stderr, so that a hang shows where it was."""
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode(errors="replace")
        raise AssertionError(f"{' '.join(cmd[:2])} -e still running after {timeout} s; the end of "
                             f"its stderr:\n{err[-6000:]}") from None


def read(topic, with_key=False, with_partition=False):
    fmt = "%p\t%s\n" if with_partition else "%k\t%s\n" if with_key else "%s\n"
    out = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", topic, "-e", "-q", "-X",
                          "isolation.level=read_committed", "-f", fmt],
                         check=True, stdout=subprocess.PIPE, timeout=300).stdout.decode()
    return [line for line in out.split("\n") if line]


def expected(spate, n, gen_args=GEN_ARGS, **params):
    lines = recompute.split_lines(subprocess.run(
        [spate, "gen", "--records", str(n), *gen_args], check=True, stdout=subprocess.PIPE).stdout)
    # One batch and no watermark movement: every window is emitted once at the end, as the
    # aggregator must when nothing is late (lateness >= max-delay).
    p = recompute.Params(partitions=6, batch_size=n + 1, window_ms=10_000, hop_ms=5_000,
                         lateness_ms=5_000, **params)
    return lines, recompute.recompute(lines, p)


def final_totals(t):
    """{(merchantId, currency): (count, sum in minor units)} of each key's last total line."""
    last = {}
    for row in read(t["tot"]):
        d = json.loads(row)
        last[(d["merchantId"], d["currency"])] = (d["transactionCount"], recompute.amount_minor(
            row.split('"totalAmount":')[1].split(",")[0], recompute.DIGITS[d["currency"]]))
    return last


def compare(spate, t, n, gen_args=GEN_ARGS, extra_dlq=(), **params):
    """extra_dlq: payloads put into the input besides `spate gen`'s records, each expected once
    among the dead letters. params: recompute.Params fields besides the defaults here."""
    lines, res = expected(spate, n, gen_args, **params)
    failures = []
    want_aggs = sorted(recompute.to_json_text(recompute.aggregate_row("merchantId", s, e, k, v))
                       for s, e, k, v in res.aggregates)
    got_aggs = sorted(read(t["agg"]))
    dup = [k for k, c in collections.Counter(got_aggs).items() if c > 1]
    if dup:
        failures.append(f"{len(dup)} aggregate lines appear more than once, e.g. {dup[0]}")
    if got_aggs != want_aggs:
        missing = set(want_aggs) - set(got_aggs)
        extra = set(got_aggs) - set(want_aggs)
        failures.append(f"aggregates differ: {len(got_aggs)} read, {len(want_aggs)} expected; "
                        f"missing e.g. {sorted(missing)[:1]}, unexpected e.g. {sorted(extra)[:1]}")
    last_total = final_totals(t)
    want_totals = {k: (c, s) for k, (c, s) in res.totals.items()}
    if last_total != want_totals:
        diff = [k for k in want_totals if last_total.get(k) != want_totals[k]]
        failures.append(f"final totals differ for {len(diff)} keys, e.g. {diff[:1]}")

    def anomaly_key(d):
        return (d["rule"], d["transactionId"], json.dumps(d["evidence"], sort_keys=True))
    got_anom = collections.Counter(anomaly_key(json.loads(r)) for r in read(t["anom"]))
    want_anom = collections.Counter(
        anomaly_key(json.loads(recompute.to_json_text(recompute.anomaly_row(a)))) for a in res.anomalies)
    if got_anom != want_anom:
        failures.append(f"anomalies differ: {sum(got_anom.values())} read, {sum(want_anom.values())} "
                        f"expected; extra {list((got_anom - want_anom).items())[:1]}, missing "
                        f"{list((want_anom - got_anom).items())[:1]}")
    got_dlq = collections.Counter(dlq_identity(json.loads(r)) for r in read(t["dlq"]))
    want_dlq = collections.Counter(payload_identity(lines[d.seq]) for d in res.dead) + \
        collections.Counter(payload_identity(p) for p in extra_dlq)
    if got_dlq != want_dlq:
        failures.append(f"dead letters differ: {sum(got_dlq.values())} read, {sum(want_dlq.values())} expected")
    late = read(t["late"])
    if late:
        failures.append(f"{len(late)} late records; none expected with lateness >= max-delay")
    print(f"  {len(got_aggs)} window results, {len(last_total)} totals, {sum(got_anom.values())} "
          f"anomalies, {sum(got_dlq.values())} dead letters, {len(late)} late")
    return failures


DLQ_MAX = 64 * 1024  # stream/output_format.h: kDeadLetterMaxBytes


def payload_identity(payload):
    """What a dead letter of this payload must carry: all of it, or when it passes the bound its
    first DLQ_MAX bytes, its size and its SHA-256."""
    if len(payload) <= DLQ_MAX:
        return (payload,)
    return (payload[:DLQ_MAX], len(payload), hashlib.sha256(payload).hexdigest())


def dlq_identity(d):
    p = base64.b64decode(d["payload"])
    return (p, d["payloadBytes"], d["payloadSha256"]) if "payloadBytes" in d else (p,)


def produce(spate, t, n):
    subprocess.run([spate, "produce", "--brokers", BROKERS, "--topic", t["in"], "--records", str(n),
                    "--no-progress", "--metrics-addr", "", *GEN_ARGS], check=True,
                   stderr=subprocess.DEVNULL)


def test_exact(spate):
    n = 150_000
    t = topics("exact_" + uuid.uuid4().hex[:6])
    produce(spate, t, n)
    group = "g_" + t["in"]
    # Without --instance (a dynamic member), as users start it first.
    r = subprocess.run(aggregate_cmd(spate, t, group, True, instance=None),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    summary = json.loads(r.stdout)
    assert summary["records"] == n, summary
    # It left the group as it ended: the next run with the group gets its partitions at once
    # rather than after the session timeout.
    described = subprocess.run([CLUSTER, "group", group], capture_output=True, text=True)
    assert "has no active members" in described.stdout + described.stderr, described
    # Read from the start, nothing can be late: every valid record is combined before the
    # repartition (stream/partial.h).
    rep = summary["repartitioned"]
    assert rep["single"] == 0 and rep["combined"] == summary["valid"], summary
    assert 0 < rep["partials"] <= rep["combined"], summary
    return compare(spate, t, n)


def test_late(spate):
    n = 120_000
    gen_args = GEN_ARGS + ["--late", "0.01", "--late-delay", "20s"]
    t = topics("late_" + uuid.uuid4().hex[:6])
    subprocess.run([spate, "produce", "--brokers", BROKERS, "--topic", t["in"], "--records", str(n),
                    "--no-progress", "--metrics-addr", "", *gen_args], check=True,
                   stderr=subprocess.DEVNULL)
    # A late record is judged against its window task's watermark: the least over the input
    # partitions of what the input tasks had read, as of the batch before. So no partition may
    # run far ahead of the others (with 96 MiB of prefetch, one broker's partitions could be
    # read whole before another's began, and none was judged late), and batches must be short
    # against the late delay (40,000 records): 2 MiB of prefetch, 10 ms batches.
    r = run_to_end(aggregate_cmd(spate, t, "g_" + t["in"], True, commit_interval="10ms",
                                 extra=["-X", "queued.max.messages.kbytes=2048"]))
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    summary = json.loads(r.stdout)
    rep = summary["repartitioned"]
    failures = []
    lines = recompute.split_lines(subprocess.run(
        [spate, "gen", "--records", str(n), *gen_args], check=True, stdout=subprocess.PIPE).stdout)
    valid, _ = recompute.parse_all(lines)
    W, H = 10_000, 5_000
    # The late output: which windows each late record missed, judged against its watermark.
    missed = {}
    for row in read(t["late"]):
        d = json.loads(row)
        tid, wm, starts = d["record"]["transactionId"], d["watermark"], d["missedWindows"]
        all_starts = recompute.window_starts(d["record"]["transactionTime"], W, H)
        if tid in missed:
            failures.append(f"{tid} is in the late output twice")
        if starts != [s for s in all_starts if s + W <= wm] or \
                d["partial"] != (len(starts) < len(all_starts)):
            failures.append(f"late line against its own watermark: {row}")
        missed[tid] = set(starts)
    if not missed or rep["single"] < len(missed) or rep["combined"] == 0:
        failures.append(f"{len(missed)} late records, repartitioned {rep}: the test needs both")
    # Every window result: its valid records minus those that missed it.
    windows, totals = {}, {}
    for tx in valid:
        key = (tx.merchantId, tx.currency)
        c, s = totals.get(key, (0, 0))
        totals[key] = (c + 1, s + tx.amount)
        for s in recompute.window_starts(tx.transactionTime, W, H):
            if s in missed.get(tx.transactionId, ()):
                continue
            agg = windows.get((s, key))
            if agg is None:
                windows[(s, key)] = recompute.new_agg(tx)
            else:
                recompute.add_to_agg(agg, tx)
    want = sorted(recompute.to_json_text(recompute.aggregate_row("merchantId", s, s + W, k, tuple(v)))
                  for (s, k), v in windows.items())
    got = sorted(read(t["agg"]))
    if got != want:
        failures.append(f"aggregates differ: {len(got)} read, {len(want)} expected; missing e.g. "
                        f"{sorted(set(want) - set(got))[:1]}, unexpected e.g. "
                        f"{sorted(set(got) - set(want))[:1]}")
    last = final_totals(t)
    if last != totals:
        failures.append(f"final totals differ for {sum(last.get(k) != v for k, v in totals.items())} keys")
    print(f"  {len(got)} window results, {len(missed)} late records ({summary['late']} fully); "
          f"repartitioned {rep}")
    return failures


def test_poison(spate):
    n = 100_000
    # The input topic takes records of up to 4 MB (the brokers' default is 1 MB).
    t = topics("poison_" + uuid.uuid4().hex[:6], "max.message.bytes=4194304")
    # 2 MB and 900 KB, neither with a newline (kcat -P splits at one).
    big = [b'{"transactionId":"' + b"a" * 2_000_000 + b'"}', b"x" * 921_600]

    def inject(payload):
        subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", t["in"], "-k", "big", "-X",
                        "message.max.bytes=4194304"], input=payload, check=True, timeout=60)
    inject(big[0])  # one before the valid records, one after them
    produce(spate, t, n)
    inject(big[1])
    r = subprocess.run(aggregate_cmd(spate, t, "g_" + t["in"], True), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    summary = json.loads(r.stdout)
    assert summary["records"] == n + 2 and summary["deadLettersTruncated"] == 2, summary
    cut = sorted(json.loads(x)["payloadBytes"] for x in read(t["dlq"]) if '"payloadBytes"' in x)
    assert cut == sorted(map(len, big)), f"cut dead letters of {cut} bytes, want {sorted(map(len, big))}"
    return compare(spate, t, n, extra_dlq=big) + internal_topics("g_" + t["in"])


def internal_topics(group):
    """The internal topics: replicated on the 3 brokers, writes acknowledged by 2, the changelog
    compacted, whatever the brokers' defaults."""
    failures = []
    for name, want in ((group + "-repartition", ("min.insync.replicas=2",)),
                       (group + "-changelog", ("min.insync.replicas=2", "cleanup.policy=compact"))):
        d = subprocess.run([CLUSTER, "describe", name], capture_output=True, text=True,
                           timeout=120).stdout
        head = d.split("\n")[0]
        if "ReplicationFactor: 3" not in head or not all(w in head for w in want):
            failures.append(f"{name}: {head.strip()}")
    return failures


def test_changelog_policy(spate):
    """An existing changelog topic that is not compacted is refused, with a clear line."""
    t = topics("policy_" + uuid.uuid4().hex[:6])
    group = "g_" + t["in"]
    subprocess.run([CLUSTER, "topic", group + "-changelog", "12", "cleanup.policy=delete"],
                   check=True)
    produce(spate, t, 1000)
    r = subprocess.run(aggregate_cmd(spate, t, group, True), capture_output=True, text=True,
                       timeout=120)
    print(f"  exit {r.returncode}: {r.stderr.strip()[-300:]}")
    if r.returncode == 0 or "cleanup.policy=delete" not in r.stderr or read(t["agg"]):
        return [f"a changelog with cleanup.policy=delete was not refused (exit {r.returncode})"]
    return []


# Holds a transaction open on every partition of a topic, and commits it when told: run with
# the test venv's python (confluent-kafka), the topic on argv, "commit" on stdin.
OPEN_TXN = """
import sys
from confluent_kafka import Producer
brokers, topic, partitions, value = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
p = Producer({"bootstrap.servers": brokers, "transactional.id": "spate-test-" + topic})
p.init_transactions(30)
p.begin_transaction()
for i in range(partitions):
    p.produce(topic, key=b"m", value=value.encode(), partition=i)
p.flush(30)
print("open", flush=True)
sys.stdin.readline()
p.commit_transaction(30)
print("committed", flush=True)
"""


def test_changelog_open(spate):
    """A changelog partition whose first transaction is still open when a task is restored is
    not taken for empty: the restore waits for that transaction and reads what it commits.
    Here the transaction (another writer's, with a marker of other settings) commits while the
    aggregator waits, and the aggregator must refuse that state rather than run without it."""
    t = topics("open_" + uuid.uuid4().hex[:6])
    group = "g_" + t["in"]
    changelog = group + "-changelog"
    subprocess.run([CLUSTER, "topic", changelog, "12", "cleanup.policy=compact"], check=True)
    produce(spate, t, 1000)
    py = registry_test.ensure_venv(os.path.join(os.path.dirname(spate), "test-venv"))
    writer = subprocess.Popen([py, "-c", OPEN_TXN, BROKERS, changelog, "12", "v0 another writer"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "open", "the writer could not open its transaction"
        member = Member(spate, t, group, "a", True, ())
        member.wait_for("the restore waits for the open transaction",
                        lambda m: any("waiting for the transaction open" in ln for ln in m.lines))
        writer.stdin.write("commit\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "committed", "the writer could not commit"
        member.p.wait(timeout=120)
        member.reader.join(timeout=10)
    finally:
        writer.kill()
        writer.wait()
    log = "\n    ".join(ln for ln in member.lines[-6:] if "CONFWARN" not in ln)
    print(f"  exit {member.p.returncode}:\n    {log}")
    if member.p.returncode == 0 or not any("other settings" in ln for ln in member.lines):
        return [f"the state committed while the restore waited was not read (exit "
                f"{member.p.returncode})"]
    return []


class Member:
    """One `spate aggregate` process whose stderr is collected as it runs, so the test can wait
    for what the member says (its assignments) instead of sleeping for a guessed time."""

    def __init__(self, spate, t, group, name, exit_at_end, extra):
        self.name = name
        self.lines = []
        self.cond = threading.Condition()
        self.p = subprocess.Popen(aggregate_cmd(spate, t, group, exit_at_end, name, extra),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.p.stderr:
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self.cond.notify_all()

    def held(self):
        """Partitions (input + window) the member holds now, from its assign/hand-over lines."""
        n = 0
        for ln in self.lines:
            m = re.search(r"(assigned|handed over|lost) (\d+) input and (\d+) window", ln)
            if m:
                k = int(m.group(2)) + int(m.group(3))
                n += k if m.group(1) == "assigned" else -k
        return n

    def wait_for(self, what, pred, timeout=120):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self):
                left = deadline - time.monotonic()
                assert left > 0 and self.p.poll() is None, \
                    f"member {self.name}: {what} did not happen:\n    " + "\n    ".join(self.lines[-8:])
                self.cond.wait(min(left, 1.0))

    def finish(self, timeout=300):
        try:
            out, _ = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Its own last lines say where it stood; the bare timeout said nothing.
            self.p.kill()
            self.p.communicate()
            self.reader.join(timeout=10)
            raise AssertionError(f"member {self.name} did not finish in {timeout} s:\n    " +
                                 "\n    ".join(ln for ln in self.lines[-15:] if "CONFWARN" not in ln))
        self.reader.join(timeout=10)
        log = [ln for ln in self.lines if "CONFWARN" not in ln]
        print(f"  member {self.name} (exit {self.p.returncode}):\n    " + "\n    ".join(log[-8:]))
        assert self.p.returncode == 0, f"member {self.name} failed"
        return json.loads(out)


def test_scale(spate):
    """Member a runs alone, then b joins and takes a share; b is killed (-9) and, once its
    session expires, its tasks move back to a, restored from the changelog; then c joins and
    the cooperative rebalance hands some of a's partitions over (a commits first). All this
    while the producer runs; a and c then finish with -e. Each step waits for the members to
    report their assignments, so a slow machine only makes it slower."""
    n = 300_000
    t = topics("scale_" + uuid.uuid4().hex[:6])
    group = "g_" + t["in"]
    fast = ["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"]

    def member(name, exit_at_end=False):
        return Member(spate, t, group, name, exit_at_end, fast)

    prod = subprocess.Popen([spate, "produce", "--brokers", BROKERS, "--topic", t["in"], "--records",
                             str(n), "--rate", "12000", "--no-progress", "--metrics-addr", "",
                             *GEN_ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    a = member("a")
    a.wait_for("a holds partitions", lambda m: m.held() > 0)
    b = member("b")
    b.wait_for("b is given a share", lambda m: m.held() > 0)
    time.sleep(2)  # b works on its share and commits state
    b.p.kill()
    b.p.wait()
    a.wait_for("a takes b's partitions back", lambda m: m.held() == 12)
    c = member("c")
    c.wait_for("c is given a share", lambda m: m.held() > 0)
    _, perr = prod.communicate(timeout=600)
    assert prod.returncode == 0, perr.decode()
    time.sleep(3)
    a.p.terminate()  # graceful: each commits what it has
    c.p.terminate()
    sa, sc = a.finish(), c.finish()
    print(f"  live: a ran {sa['inputPartitions']} input / {sa['windowPartitions']} window partitions, "
          f"{sa['records']} records, {sa['restoredEntries']} state entries restored, "
          f"{sa['rewinds']} rewinds; c ran {sc['inputPartitions']} / {sc['windowPartitions']}, "
          f"{sc['records']} records, {sc['rewinds']} rewinds")
    failures = []
    if sa["restoredEntries"] == 0:
        failures.append("a took over b's partitions but restored no state")
    a, c = member("a", True), member("c", True)
    a.finish()
    c.finish()
    # b's open transaction holds read_committed readers at its first offset in every partition
    # it wrote to, until the coordinator aborts it (transaction.timeout.ms): results may
    # become visible late, but must end up exact. Nothing read twice ever goes away.
    deadline = time.monotonic() + 90
    while True:
        failures_now = failures + compare(spate, t, n)
        if not failures_now or time.monotonic() > deadline:
            return failures_now
        print("  not yet exact: " + failures_now[0][:200])
        time.sleep(10)


def realistic(test):
    """The test on the realistic profile's values (UUID users, merchant names in many
    scripts, 32 currencies with 0, 2 and 3 decimals), same sizes."""
    def run(spate):
        GEN_ARGS.extend(["--profile", "realistic", "--locations", "300"])  # the defaults' list too
        return test(spate)
    return run


TESTS = {"exact": test_exact, "exact_realistic": realistic(test_exact), "late": test_late,
         "poison": test_poison, "changelog_policy": test_changelog_policy,
         "changelog_open": test_changelog_open,
         "scale": realistic(test_scale)}

if __name__ == "__main__":
    sys.exit(checks.run_named(TESTS, "aggregate", ok="exactly the recomputed results"))
