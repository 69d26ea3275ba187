#!/usr/bin/env python3
"""The reference design's Spark Structured Streaming job, as a measured baseline for spate.

Written fresh from the reference design's description of its Spark job, with the two
record corrections of docs/semantics.md: amount is exact (DecimalType(12,2)) and transactionTime
is epoch milliseconds (the reference divided seconds by 1000).

  --mode reference  group by merchantId over all time: sum(amount) as totalAmount, count(*) as
                    transactionCount; output mode update; JSON {merchantId,totalAmount,
                    transactionCount} keyed by merchantId (the reference job).
  --mode windowed   spate's default window: 60 s tumbling event-time windows on transactionTime,
                    watermark 5 s (spate's --lateness); per (window, merchantId) transactionCount,
                    totalAmount, minAmount, maxAmount, purchaseCount, refundCount; output mode
                    append (each window once, when the watermark passes its end).

Phase 1 (throughput): the query reads the pre-filled input topic from the earliest offset with
Trigger.AvailableNow and stops when everything that was in the topic at start is processed.
Phase 2 (latency, --latency-seconds > 0): the same query on a fresh input topic with the default
trigger (next micro-batch as soon as the previous one ends) while `spate produce --rate R` writes
into it; see README.md for the definition of the latency.

Writes one JSON object to --result; logs go to stderr. run.sh is the interface.
"""
import argparse
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import time

T0 = time.time()  # before pyspark is imported: start-up includes the import and the JVM


def log(msg):
    print(f"spark-baseline: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# CPU and memory of the process tree (this Python driver, the JVM it launched, their children).
# ---------------------------------------------------------------------------------------------
CLK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()  # fields after "pid (comm)", from field 3 (state)
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK  # ppid, utime+stime


def tree(root):
    """root and all its live descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid, _ = _stat(int(d))
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _hwm_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_sum(root, value):
    """Sum of value(pid) over root and its live descendants (processes that vanish count 0)."""
    total = 0
    for p in tree(root):
        try:
            total += value(p)
        except (OSError, ValueError, IndexError):
            pass
    return total


def tree_cpu(root):
    return tree_sum(root, lambda p: _stat(p)[1])


def tree_hwm_bytes(root):
    """Sum of the peak resident set sizes (VmHWM) of the tree's processes."""
    return tree_sum(root, _hwm_bytes)


# ---------------------------------------------------------------------------------------------
# The job.
# ---------------------------------------------------------------------------------------------
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--input", required=True, help="pre-filled input topic")
    ap.add_argument("--records", type=int, required=True, help="records expected in --input")
    ap.add_argument("--mode", choices=("reference", "windowed"), required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--result", required=True, help="JSON file to write the measurements to")
    ap.add_argument("--run-id", default=str(int(time.time())))
    ap.add_argument("--jars", default="", help="comma-separated connector jars (spark.jars)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="1g")
    ap.add_argument("--shuffle-partitions", type=int, default=20)
    ap.add_argument("--max-offsets-per-trigger", type=int, default=0,
                    help="0: Spark's default (no limit: AvailableNow reads the backlog in one batch)")
    ap.add_argument("--window", default="60 seconds")
    ap.add_argument("--watermark", default="5 seconds")
    ap.add_argument("--latency-seconds", type=float, default=20)
    ap.add_argument("--latency-rate", type=int, default=5000)
    ap.add_argument("--spate", default="", help="spate binary, for the latency phase's producer")
    return ap.parse_args(argv)


def build_query(spark, a, input_topic, output_topic, checkpoint, trigger):
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType, LongType, StringType, StructField, StructType

    # spate's record (docs/semantics.md). Decimal(12,2) holds 0.01 .. 100,000,000.00 exactly.
    schema = StructType([
        StructField("transactionId", StringType()),
        StructField("userId", StringType()),
        StructField("amount", DecimalType(12, 2)),
        StructField("transactionTime", LongType()),
        StructField("merchantId", StringType()),
        StructField("transactionType", StringType()),
        StructField("location", StringType()),
        StructField("paymentMethod", StringType()),
        StructField("isInternational", StringType()),
        StructField("currency", StringType()),
    ])
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", a.brokers)
              .option("subscribe", input_topic)
              .option("startingOffsets", "earliest"))
    if a.max_offsets_per_trigger > 0:
        reader = reader.option("maxOffsetsPerTrigger", a.max_offsets_per_trigger)
    tx = (reader.load()
          .select(F.from_json(F.col("value").cast("string"), schema).alias("t"))
          .select("t.*"))

    if a.mode == "reference":
        agg = (tx.groupBy("merchantId")
               .agg(F.sum("amount").alias("totalAmount"), F.count("*").alias("transactionCount")))
        out = agg.select(F.col("merchantId").alias("key"),
                         F.to_json(F.struct("merchantId", "totalAmount", "transactionCount"))
                         .alias("value"))
        output_mode = "update"
    else:
        timed = tx.withColumn("eventTime", F.expr("timestamp_millis(transactionTime)"))
        agg = (timed.withWatermark("eventTime", a.watermark)
               .groupBy(F.window("eventTime", a.window), F.col("merchantId"))
               .agg(F.count("*").alias("transactionCount"),
                    F.sum("amount").alias("totalAmount"),
                    F.min("amount").alias("minAmount"),
                    F.max("amount").alias("maxAmount"),
                    F.sum(F.when(F.col("transactionType") == "purchase", 1).otherwise(0))
                    .alias("purchaseCount"),
                    F.sum(F.when(F.col("transactionType") == "refund", 1).otherwise(0))
                    .alias("refundCount")))
        rows = agg.select(F.expr("unix_millis(window.start)").alias("windowStart"),
                          F.expr("unix_millis(window.end)").alias("windowEnd"),
                          "merchantId", "transactionCount", "totalAmount", "minAmount",
                          "maxAmount", "purchaseCount", "refundCount")
        out = rows.select(F.col("merchantId").alias("key"),
                          F.to_json(F.struct(*rows.columns)).alias("value"))
        output_mode = "append"

    return (out.writeStream.format("kafka")
            .option("kafka.bootstrap.servers", a.brokers)
            .option("topic", output_topic)
            .option("checkpointLocation", checkpoint)
            .outputMode(output_mode)
            .queryName(f"{a.mode}-{os.path.basename(checkpoint)}")
            .trigger(**trigger)
            .start())


def create_topics(spark, brokers, names, partitions):
    """Creates topics with the Kafka admin client on Spark's classpath (the local cluster has
    auto-creation off). RF = min(3, brokers)."""
    jvm = spark.sparkContext._jvm
    props = jvm.java.util.Properties()
    props.put("bootstrap.servers", brokers)
    admin = jvm.org.apache.kafka.clients.admin.AdminClient.create(props)
    try:
        nodes = admin.describeCluster().nodes().get().size()
        rf = min(3, nodes)
        topics = jvm.java.util.ArrayList()
        for n in names:
            topics.add(jvm.org.apache.kafka.clients.admin.NewTopic(n, partitions, rf))
        admin.createTopics(topics).all().get()
    finally:
        admin.close()


def topic_partitions(spark, brokers, topic):
    jvm = spark.sparkContext._jvm
    props = jvm.java.util.Properties()
    props.put("bootstrap.servers", brokers)
    admin = jvm.org.apache.kafka.clients.admin.AdminClient.create(props)
    try:
        lst = jvm.java.util.ArrayList()
        lst.add(topic)
        return admin.describeTopics(lst).allTopicNames().get().get(topic).partitions().size()
    finally:
        admin.close()


def progress_ms(p):
    """(start, end) of a micro-batch in epoch ms from its progress report."""
    ts = datetime.datetime.strptime(p["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    start = ts.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000.0
    return start, start + p["durationMs"].get("triggerExecution", 0)


def as_dict(p):
    """A progress report as a dict (pyspark 3.5 gives dicts; later versions objects)."""
    return p if isinstance(p, dict) else json.loads(p.json)


def rows_of(progress):
    return sum(p.get("numInputRows", 0) for p in progress)


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q * len(sorted_values) + 0.5)) - 1))
    return sorted_values[i]


def latency_phase(spark, a, partitions, jvm_pid):
    """Runs the query with the default trigger while spate produce writes --latency-rate records a
    second for --latency-seconds into a fresh topic. Latency of a record = end of the micro-batch
    that processed it (its trigger start + triggerExecution: output written, offsets committed)
    minus the record's Kafka timestamp (CreateTime, set by the producer)."""
    lat_in = f"spark_lat_in_{a.mode}_{a.run_id}"
    lat_out = f"spark_lat_out_{a.mode}_{a.run_id}"
    create_topics(spark, a.brokers, [lat_in, lat_out], partitions)
    ckpt = os.path.join(a.workdir, f"checkpoint-latency-{a.mode}-{a.run_id}")
    shutil.rmtree(ckpt, ignore_errors=True)
    q = build_query(spark, a, lat_in, lat_out, ckpt, {"processingTime": "0 seconds"})
    while not q.recentProgress:  # wait for the first (empty) batch: the query is running
        time.sleep(0.1)
    n = int(a.latency_rate * a.latency_seconds)
    log(f"latency phase: {n} records at {a.latency_rate}/s into {lat_in}")
    # The same event-time speed as wall time, so that windows close while the phase runs.
    prod = subprocess.run([a.spate, "produce", "--brokers", a.brokers, "--topic", lat_in,
                           "--records", str(n), "--rate", str(a.latency_rate),
                           "--event-rate", str(a.latency_rate), "--start-time",
                           str(int(time.time() * 1000)), "--no-progress", "--metrics-addr", ""],
                          stdout=sys.stderr, stderr=sys.stderr)
    if prod.returncode != 0:
        q.stop()
        raise RuntimeError("spate produce failed in the latency phase")
    deadline = time.time() + 120
    while rows_of(as_dict(p) for p in q.recentProgress) < n and time.time() < deadline:
        time.sleep(0.2)
    while q.status["isTriggerActive"] and time.time() < deadline + 30:
        time.sleep(0.05)  # stop between micro-batches, not in the middle of a write
    progress = [as_dict(p) for p in q.recentProgress]
    q.stop()
    got = rows_of(progress)
    # Input timestamps: kcat prints partition, offset, timestamp per record.
    out = subprocess.run(["kcat", "-C", "-b", a.brokers, "-t", lat_in, "-e", "-q",
                          "-f", "%p %o %T\n"], check=True, stdout=subprocess.PIPE).stdout.decode()
    stamp = {}
    for line in out.split("\n"):
        if line:
            p, o, t = line.split()
            stamp[(int(p), int(o))] = int(t)
    lat = []
    for pr in progress:
        if not pr.get("numInputRows"):
            continue
        _, end = progress_ms(pr)
        src = pr["sources"][0]
        so = json.loads(src["startOffset"]) if isinstance(src["startOffset"], str) else src["startOffset"]
        eo = json.loads(src["endOffset"]) if isinstance(src["endOffset"], str) else src["endOffset"]
        so, eo = (so or {}).get(lat_in, {}), eo.get(lat_in, {})
        for part, end_off in eo.items():
            for off in range(int(so.get(part, 0)), int(end_off)):
                t = stamp.get((int(part), off))
                if t is not None:
                    lat.append(end - t)
    lat.sort()
    batches = [pr for pr in progress if pr.get("numInputRows")]
    return {"latencyP50Ms": percentile(lat, 0.50), "latencyP99Ms": percentile(lat, 0.99),
            "latencyRecords": len(lat), "latencyProduced": n, "latencyProcessed": got,
            "latencyRate": a.latency_rate, "latencyBatches": len(batches),
            "latencyMeanBatchMs": (sum(pr["durationMs"]["triggerExecution"] for pr in batches)
                                   / len(batches)) if batches else None,
            "latencyInputTopic": lat_in, "latencyOutputTopic": lat_out}


def main(argv=None):
    a = parse_args(argv)
    os.makedirs(a.workdir, exist_ok=True)
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(a.master).appName(f"spate-baseline-{a.mode}")
               .config("spark.driver.memory", a.driver_memory)
               .config("spark.sql.shuffle.partitions", str(a.shuffle_partitions))
               .config("spark.sql.streaming.numRecentProgressUpdates", "100000")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.local.dir", os.path.join(a.workdir, "spark-local")))
    if a.jars:
        builder = builder.config("spark.jars", a.jars)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    jvm_pid = spark.sparkContext._gateway.proc.pid
    me = os.getpid()
    startup = time.time() - T0
    log(f"Spark {spark.version} up in {startup:.1f} s (JVM pid {jvm_pid})")

    output_topic = f"spark_{a.mode}_{a.run_id}"
    try:
        partitions = topic_partitions(spark, a.brokers, a.input)
    except Exception as e:  # py4j wraps the admin client's ExecutionException
        log(f"error: cannot describe the input topic {a.input} on {a.brokers}: "
            f"{str(e).splitlines()[-1] if str(e) else e}")
        spark.stop()
        return 1
    create_topics(spark, a.brokers, [output_topic], partitions)
    ckpt = os.path.join(a.workdir, f"checkpoint-{a.mode}-{a.run_id}")
    shutil.rmtree(ckpt, ignore_errors=True)

    # Phase 1: throughput over the pre-filled topic.
    cpu0 = tree_cpu(me)
    t1 = time.time()
    q = build_query(spark, a, a.input, output_topic, ckpt, {"availableNow": True})
    q.awaitTermination()
    elapsed = time.time() - t1
    cpu = tree_cpu(me) - cpu0
    peak = tree_hwm_bytes(me)
    if q.exception() is not None:
        raise RuntimeError(f"query failed: {q.exception()}")
    progress = [as_dict(p) for p in q.recentProgress]
    processed = rows_of(progress)
    batches = [p for p in progress if p.get("numInputRows")]
    log(f"phase 1: {processed} records in {elapsed:.2f} s, {len(progress)} micro-batches "
        f"({len(batches)} with data), {cpu:.1f} CPU-s")
    res = {"engine": "spark", "mode": a.mode, "records": a.records,
           "recordsProcessed": processed, "elapsedSeconds": round(elapsed, 3),
           "startupSeconds": round(startup, 3),
           "recordsPerSecond": round(processed / elapsed, 1) if elapsed > 0 else None,
           "cpuSeconds": round(cpu, 2), "peakRssBytes": peak,
           "startupCpuSeconds": round(cpu0 + sum(getattr(resource.getrusage(
               resource.RUSAGE_CHILDREN), f) for f in ("ru_utime", "ru_stime")), 2),
           "microBatches": len(progress), "microBatchesWithData": len(batches),
           # Where the time went (Spark's own breakdown: addBatch, queryPlanning, walCommit...).
           "batchDurationsMs": [p["durationMs"] for p in progress[:10]],
           "outputTopic": output_topic, "inputPartitions": partitions,
           "sparkVersion": spark.version, "master": a.master,
           "shufflePartitions": a.shuffle_partitions, "driverMemory": a.driver_memory,
           "latencyP50Ms": None, "latencyP99Ms": None}
    notes = []
    if processed != a.records:
        notes.append(f"processed {processed} records, expected {a.records}")

    # Phase 2: latency.
    if a.latency_seconds > 0 and a.spate and os.access(a.spate, os.X_OK):
        res.update(latency_phase(spark, a, partitions, jvm_pid))
    elif a.latency_seconds > 0:
        notes.append("no latency phase: spate binary not found (--spate / SPATE_BIN)")
    res["jobNotes"] = notes
    spark.stop()
    with open(a.result, "w") as f:
        json.dump(res, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
