"""How bench/run starts each producer and aggregator, and reads its own figures back.

Every producer gets the same fresh topic settings (6 partitions, RF 3, min.insync.replicas 2)
and N records; each reports its own elapsed time and delivery latencies, and the harness adds
CPU seconds (wait4) and peak RSS (GNU time). Throughput clients share spate produce's
settings: acks=all, idempotent, lz4, linger 5 ms, large batches.
"""
import re
from dataclasses import dataclass
from pathlib import Path

from runner import ROOT, Proc

JAVA_DIR = ROOT / "bench/baselines/java"
PY_DIR = ROOT / "bench/baselines/python"
SPARK_RUN = ROOT / "bench/baselines/spark/run.sh"
KAFKA_STREAMS_RUN = ROOT / "bench/baselines/kafka-streams/run.sh"
JAVA_CP = f"{JAVA_DIR}/target/spate-bench-java-1.jar:{JAVA_DIR}/target/lib/*"


@dataclass
class Ctx:
    spate: str
    brokers: str
    python: str           # the venv's interpreter
    threads: int          # sender threads for multi-threaded clients
    payload_file: Path    # `spate gen` output for ProducerPerformance
    py_seconds: float     # time cap of the tuned Python clients
    ref_seconds: float    # time cap of the reference Python producer


@dataclass
class Producer:
    name: str
    describe: str

    def command(self, c: Ctx, topic: str, n: int) -> list[str]:
        raise NotImplementedError

    def figures(self, p: Proc) -> dict:
        """records, elapsedSeconds, bytes, p50/p99 ms from the client's own output."""
        j = p.last_json() or {}
        lat = j.get("latencyMs", {})
        return {"records": j.get("acknowledged"), "elapsedSeconds": j.get("elapsedSeconds"),
                "bytes": j.get("bytes"), "latencyP50Ms": lat.get("p50"),
                "latencyP99Ms": lat.get("p99"), "capped": j.get("capped", False)}


class Spate(Producer):
    def command(self, c, topic, n):
        return [c.spate, "produce", "--brokers", c.brokers, "--topic", topic, "--records", str(n),
                "--json", "--no-progress", "--metrics-addr", "", "-X", "linger.ms=5"]


class Java(Producer):
    def command(self, c, topic, n):
        return ["java", "-cp", JAVA_CP, "dev.spate.bench.JavaProducer", "--brokers", c.brokers,
                "--topic", topic, "--records", str(n), "--threads", str(c.threads),
                "--acks", "all", "--linger-ms", "5", "--batch-size", "1000000",
                "--compression", "lz4"]


class PerfTest(Producer):
    LAST = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), "
                      r"([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, "
                      r"(\d+) ms 95th, (\d+) ms 99th")

    def command(self, c, topic, n):
        return ["java", "-cp", JAVA_CP, "org.apache.kafka.tools.ProducerPerformance",
                "--topic", topic, "--num-records", str(n), "--throughput", "-1",
                "--payload-file", str(c.payload_file), "--producer-props",
                f"bootstrap.servers={c.brokers}", "acks=all", "enable.idempotence=true",
                "linger.ms=5", "batch.size=1000000", "compression.type=lz4"]

    def figures(self, p):
        m = None
        for m in self.LAST.finditer(p.stdout):
            pass
        if m is None:
            return {}
        n, rps, mib = int(m[1]), float(m[2]), float(m[3])
        return {"records": n, "elapsedSeconds": n / rps if rps else None,
                "bytes": int(mib * 1048576 * n / rps) if rps else None,
                "latencyP50Ms": float(m[6]), "latencyP99Ms": float(m[8]), "capped": False}


class Python(Producer):
    def __init__(self, name, describe, script, cap_attr):
        super().__init__(name, describe)
        self.script, self.cap_attr = script, cap_attr

    def command(self, c, topic, n):
        return [c.python, str(PY_DIR / self.script), "--brokers", c.brokers, "--topic", topic,
                "--records", str(n), "--max-seconds", str(getattr(c, self.cap_attr))]


PRODUCERS = [
    Spate("spate", "spate produce (C++, librdkafka): acks=all, idempotent, lz4, linger 5 ms, "
                   "one request in flight per connection"),
    Java("java", "reference-style Java producer (kafka-clients 3.9.1, threads share one "
                 "producer, same settings as spate)"),
    PerfTest("java-perf-test", "Kafka's ProducerPerformance (kafka-tools 3.9.1), "
                               "`spate gen` records as --payload-file, same settings"),
    Python("python-reference", "reference Python producer as written (confluent-kafka, 3 "
                               "threads, flush after every message, acks=1, gzip), time-capped",
           "reference_producer.py", "ref_seconds"),
    Python("python-confluent", "confluent-kafka tuned (1 thread, spate's settings), time-capped",
           "confluent_producer.py", "py_seconds"),
    Python("kafka-python", "kafka-python tuned (acks=all, idempotent, lz4, linger 5 ms, 256 KiB "
                           "batches), time-capped", "kafka_python_producer.py", "py_seconds"),
]


def spate_aggregate(c: Ctx, topic: str, group: str) -> list[str]:
    return [c.spate, "aggregate", "--brokers", c.brokers, "--input", topic, "--group", group,
            "-e", "--json", "--no-progress", "--metrics-addr", ""]


def kcat_read(c: Ctx, topic: str) -> list[str]:
    """Merely reading the topic to its end, read_committed, with librdkafka's defaults: the rate
    that an aggregation of it is compared with. One newline per record on stdout."""
    return ["kcat", "-C", "-e", "-q", "-b", c.brokers, "-t", topic, "-o", "beginning",
            "-X", "isolation.level=read_committed", "-f", "\\n"]


def spark(c: Ctx, topic: str, n: int, mode: str, workdir: Path,
          latency_seconds: float = 20, latency_rate: int = 1000) -> list[str]:
    return ["bash", str(SPARK_RUN), "--brokers", c.brokers, "--input", topic, "--records", str(n),
            "--mode", mode, "--workdir", str(workdir), "--latency-seconds", str(latency_seconds),
            "--latency-rate", str(latency_rate)]


def kafka_streams(c: Ctx, topic: str, n: int, workdir: Path) -> list[str]:
    """The windowed job on Kafka Streams (exactly-once v2, final results): spate's windows."""
    return ["bash", str(KAFKA_STREAMS_RUN), "--brokers", c.brokers, "--input", topic,
            "--records", str(n), "--workdir", str(workdir)]
