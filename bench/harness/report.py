"""Derived figures, medians, targets and the markdown report of bench/run."""
import statistics

from runner import Proc

TARGET_RECORDS_PER_HOUR = 1.2e9
REFERENCE_BYTES_PER_RECORD = 120          # the write-up's guess
REFERENCE_TB_PER_DAY = 3.3                # ... and its projection
TARGETS = [  # (key, description, minimum)
    ("producerCpu", "spate produce vs Java producer, records per CPU-second", 3.0),
    ("producerVsReferencePython", "spate produce vs reference Python as written, records/s", 100.0),
    ("aggregateReference", "spate aggregate vs Spark (reference mode), records/s", 20.0),
    ("aggregateWindowed", "spate aggregate vs Spark (windowed mode), records/s", 20.0),
    ("aggregateKafkaStreams", "spate aggregate vs Kafka Streams (windowed), records/s", 3.0),
    ("aggregateVsRead", "spate aggregate (windowed) vs merely reading the topic (kcat), records/s",
     0.5),
]


def derive(row: dict) -> None:
    """Adds recordsPerSecond, MB/s and CPU-seconds per million records to a producer row."""
    n, secs = row.get("records"), row.get("elapsedSeconds")
    if not n or not secs:
        return
    row["recordsPerSecond"] = n / secs
    row["megabytesPerSecond"] = (row.get("bytes") or 0) / secs / 1e6
    row["cpuSecondsPerMillion"] = row["cpuSeconds"] / n * 1e6
    row["recordsPerCpuSecond"] = n / row["cpuSeconds"] if row["cpuSeconds"] else None


def aggregate_row(engine: str, mode: str, rep: int, p: Proc, n: int) -> dict:
    j = p.last_json() or {}
    row = {"engine": engine, "mode": mode, "rep": rep, "rc": p.rc, "wall": p.wall,
           "cpuSeconds": p.cpu, "peakRssBytes": p.maxrss}
    if engine == "kcat":  # a plain read: one newline per record, timed by the harness
        n_read = p.stdout.count("\n")
        row.update(records=n_read, elapsedSeconds=p.wall,
                   recordsPerSecond=n_read / p.wall if p.rc == 0 and p.wall else None,
                   note="kcat -C -e -X isolation.level=read_committed (librdkafka's defaults), "
                   "output discarded" if p.rc == 0 else f"failed (exit {p.rc}): {p.stderr.strip()[-300:]}")
    elif engine == "spate":
        secs = j.get("elapsedSeconds")
        row.update(records=j.get("records"), elapsedSeconds=secs,
                   recordsPerSecond=j["records"] / secs if secs and j.get("records") else None,
                   latencyP50Ms=None, latencyP99Ms=None,
                   note="windows + totals + anomaly rules, exactly-once; same run for both modes; "
                   "latency = the live phase (bench/harness/spate_latency.py): record to committed "
                   "update with --emit changes, window close to committed result in final mode"
                   if j else f"failed (exit {p.rc}): {p.stderr.strip()[-300:]}")
    else:  # Spark and Kafka Streams report their own CPU and RSS (their JVMs); the harness's
        # wait4 figures (the checks included) are kept too
        row.update({k: j.get(k) for k in ("records", "elapsedSeconds", "recordsPerSecond",
                                           "latencyP50Ms", "latencyP99Ms", "resultsMatchSpate",
                                           "note")})
        row["harnessCpuSeconds"], row["harnessPeakRssBytes"] = p.cpu, p.maxrss
        row["cpuSeconds"] = j.get("cpuSeconds") or p.cpu
        row["peakRssBytes"] = j.get("peakRssBytes") or p.maxrss
        if not j:
            row["note"] = f"failed (exit {p.rc}): {p.stderr.strip()[-300:]}"
    if row.get("records") and row["records"] != n:
        row["note"] = f"{row.get('note') or ''} (read {row['records']} of {n})".strip()
    if row.get("records") and row.get("cpuSeconds"):
        row["cpuSecondsPerMillion"] = row["cpuSeconds"] / row["records"] * 1e6
    return row


def storage_row(fmt, comp, n, j, size, replicas, rc) -> dict:
    bpr = size / n if n else 0
    return {"format": fmt, "compression": comp, "records": n, "rc": rc,
            "payloadBytesPerRecord": (j.get("bytes") or 0) / n if n else None,
            "logBytes": size, "replicasFound": replicas, "bytesPerRecord": round(bpr, 2),
            "tbPerDay": bpr * TARGET_RECORDS_PER_HOUR * 24 / 1e12}


FIELDS = ["recordsPerSecond", "megabytesPerSecond", "cpuSecondsPerMillion", "recordsPerCpuSecond",
          "latencyP50Ms", "latencyP99Ms", "windowCloseP50Ms", "windowCloseP99Ms", "peakRssBytes",
          "records", "elapsedSeconds", "brokerCpuSecondsPerMillion"]


def medians(rows: list[dict], key) -> dict:
    groups: dict = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    out = {}
    for k, rs in groups.items():
        m = {"runs": len(rs), "capped": any(r.get("capped") for r in rs),
             "notes": sorted({r["note"] for r in rs if r.get("note")})}
        for f in FIELDS:
            vals = [r[f] for r in rs if isinstance(r.get(f), (int, float))]
            m[f] = statistics.median(vals) if vals else None
        if any("resultsMatchSpate" in r for r in rs):
            m["resultsMatchSpate"] = [r.get("resultsMatchSpate") for r in rs]
        out[k] = m
    return out


def ratio(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def assemble(settings, env, producers, aggregates, storage) -> dict:
    pm = medians(producers, lambda r: r["engine"])
    am = medians(aggregates, lambda r: f"{r['engine']}/{r['mode']}")

    def get(m, k, f):
        return (m.get(k) or {}).get(f)

    values = {
        "producerCpu": ratio(get(pm, "spate", "recordsPerCpuSecond"), get(pm, "java", "recordsPerCpuSecond")),
        "producerVsReferencePython": ratio(get(pm, "spate", "recordsPerSecond"),
                                           get(pm, "python-reference", "recordsPerSecond")),
        "aggregateReference": ratio(get(am, "spate/reference", "recordsPerSecond"),
                                    get(am, "spark/reference", "recordsPerSecond")),
        "aggregateWindowed": ratio(get(am, "spate/windowed", "recordsPerSecond"),
                                   get(am, "spark/windowed", "recordsPerSecond")),
        "aggregateKafkaStreams": ratio(get(am, "spate/windowed", "recordsPerSecond"),
                                       get(am, "kafka-streams/windowed", "recordsPerSecond")),
        "aggregateVsRead": ratio(get(am, "spate/windowed", "recordsPerSecond"),
                                 get(am, "kcat/read", "recordsPerSecond")),
    }
    targets = [{"key": k, "what": what, "target": t, "ratio": values[k],
                "met": None if values[k] is None else values[k] >= t} for k, what, t in TARGETS]
    return {"settings": settings, "environment": env, "producers": producers,
            "producerMedians": pm, "aggregates": aggregates, "aggregateMedians": am,
            "storage": storage, "targets": targets,
            "reference": {"bytesPerRecord": REFERENCE_BYTES_PER_RECORD,
                          "tbPerDay": REFERENCE_TB_PER_DAY,
                          "recordsPerHour": TARGET_RECORDS_PER_HOUR}}


def missing(result: dict, spark_modes) -> list[str]:
    """What --check fails on: an engine without a number (Spark: in spark_modes), or a storage
    figure of 0."""
    out = []
    from engines import PRODUCERS
    for p in PRODUCERS:
        if not (result["producerMedians"].get(p.name) or {}).get("recordsPerSecond"):
            out.append(f"producer {p.name}: no records/s")
    for eng, modes in (("spate", ("reference", "windowed")), ("spark", spark_modes),
                       ("kafka-streams", ("windowed",)), ("kcat", ("read",))):
        for mode in modes:
            if not (result["aggregateMedians"].get(f"{eng}/{mode}") or {}).get("recordsPerSecond"):
                out.append(f"aggregate {eng}/{mode}: no records/s")
    for f in ("latencyP99Ms", "windowCloseP99Ms"):  # spate's latency phase
        if (result["aggregateMedians"].get("spate/reference") or {}).get(f) is None:
            out.append(f"aggregate spate: no {f}")
    for s in result["storage"]:
        if not s["bytesPerRecord"] or s["rc"] != 0:
            out.append(f"storage {s['format']}/{s['compression']}: no size")
    return out


def _n(v, digits=0):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"


def markdown(r: dict) -> str:
    s, env = r["settings"], r["environment"]
    lines = [
        f"# spate vs the reference design ({env['host']}, {env['cpus']} CPUs, spate {env['spateCommit']})",
        "",
        f"Settings: {s['records']:,} records per producer run, {s['reps']} repetition(s), medians shown; "
        f"aggregation over {s['agg_records']:,} records; storage from {s['storage_records']:,} records per "
        f"topic.{' Quick mode: figures for checking the harness, not for quoting.' if s['quick'] else ''}",
        "",
        "## Producers (6 partitions, RF 3, min.insync.replicas 2)",
        "",
        "| client | records/s | MB/s | CPU-s per 1M records | records per CPU-s | p50 ms | p99 ms | peak RSS MiB | records |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    from engines import PRODUCERS
    for p in PRODUCERS:
        m = r["producerMedians"].get(p.name, {})
        cap = " (time-capped)" if m.get("capped") else ""
        lines.append(
            f"| {p.name}{cap} | {_n(m.get('recordsPerSecond'))} | {_n(m.get('megabytesPerSecond'), 1)} | "
            f"{_n(m.get('cpuSecondsPerMillion'), 1)} | {_n(m.get('recordsPerCpuSecond'))} | "
            f"{_n(m.get('latencyP50Ms'), 1)} | {_n(m.get('latencyP99Ms'), 1)} | "
            f"{_n((m.get('peakRssBytes') or 0) / 2**20, 0)} | {_n(m.get('records'))} |")
    lines += ["", *[f"- `{p.name}`: {p.describe}" for p in PRODUCERS], "",
              "## Aggregation over a pre-filled topic", "",
              "| engine | mode | records/s | elapsed s | CPU-s per 1M records | brokers' CPU-s per 1M records | record to result p50 / p99 ms | window close to result p50 / p99 ms | peak RSS MiB | results match spate | note |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for key, m in sorted(r["aggregateMedians"].items()):
        eng, mode = key.split("/")
        match = m.get("resultsMatchSpate")
        lines.append(
            f"| {eng} | {mode} | {_n(m.get('recordsPerSecond'))} | {_n(m.get('elapsedSeconds'), 1)} | "
            f"{_n(m.get('cpuSecondsPerMillion'), 1)} | {_n(m.get('brokerCpuSecondsPerMillion'), 1)} | "
            f"{_n(m.get('latencyP50Ms'), 1)} / "
            f"{_n(m.get('latencyP99Ms'), 1)} | {_n(m.get('windowCloseP50Ms'), 1)} / "
            f"{_n(m.get('windowCloseP99Ms'), 1)} | "
            f"{_n((m.get('peakRssBytes') or 0) / 2**20) if m.get('peakRssBytes') else 'n/a'} | "
            f"{'' if match is None else ', '.join(map(str, match))} | {'; '.join(m['notes'])} |")
    ref = r["reference"]
    lines += ["", "## Storage: bytes per record in the brokers' log segments (one replica)", "",
              "| format | compression | payload bytes/record | on disk bytes/record | TB/day at 1.2B records/hour |",
              "|---|---|---:|---:|---:|"]
    for st in r["storage"]:
        lines.append(f"| {st['format']} | {st['compression']} | {_n(st['payloadBytesPerRecord'], 1)} | "
                     f"{_n(st['bytesPerRecord'], 1)} | {_n(st['tbPerDay'], 2)} |")
    lines.append(f"| reference's guess | (uncompressed) | | ~{ref['bytesPerRecord']} | ~{ref['tbPerDay']} |")
    lines += ["", "## Targets", "", "| comparison | target | measured | |", "|---|---:|---:|---|"]
    for t in r["targets"]:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        measured = "n/a" if t["ratio"] is None else f"{t['ratio']:.1f}x"
        lines.append(f"| {t['what']} | >= {t['target']:g}x | {measured} | {verdict} |")
    ref_py = (r["producerMedians"].get("python-reference") or {}).get("recordsPerSecond")
    spate = (r["producerMedians"].get("spate") or {}).get("recordsPerSecond")
    if spate:
        lines += ["", f"The reference write-up claims 3,000-5,000 records/s for its Python producer; "
                  f"against that claim spate produce is {spate / 5000:.1f}x-{spate / 3000:.1f}x "
                  f"(measured here: {_n(ref_py)} records/s as written)."]
    lines.append("")
    return "\n".join(lines)
