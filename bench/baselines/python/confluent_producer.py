"""confluent-kafka (librdkafka) tuned for throughput: one producer on one thread (more threads
only contend for the GIL), the settings of `spate produce` (acks=all, idempotent, lz4,
linger.ms=5, large batches), poll(0) after every produce and poll-and-retry on a full queue.
"""
import argparse
import random
import sys
import time

from confluent_kafka import Producer

import record


def main() -> int:
    ap = record.common_args(argparse.ArgumentParser(description=__doc__))
    ap.add_argument("--acks", default="all")
    ap.add_argument("--compression", default="lz4")
    ap.add_argument("--linger-ms", type=int, default=5)
    args = ap.parse_args()
    producer = Producer({
        "bootstrap.servers": args.brokers, "acks": args.acks,
        "enable.idempotence": args.acks == "all", "compression.type": args.compression,
        "partitioner": "murmur2_random", "linger.ms": args.linger_ms, "batch.size": 1_000_000,
        "batch.num.messages": 10_000, "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
    })
    tally = record.Tally()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    deadline = record.deadline(args.max_seconds, t0)
    for i in range(args.records):
        if i % 1024 == 0 and time.perf_counter() > deadline:
            break
        key, value = record.make(rng, i)
        sent_at = time.perf_counter()
        while True:
            try:
                producer.produce(args.topic, value, key,
                                 on_delivery=lambda err, msg, s=sent_at: tally.done(s, err))
                break
            except BufferError:
                producer.poll(0.05)
        tally.sent += 1
        tally.bytes += len(value)
        producer.poll(0)
    producer.flush()
    return tally.report(time.perf_counter() - t0, capped=tally.sent < args.records)


if __name__ == "__main__":
    sys.exit(main())
