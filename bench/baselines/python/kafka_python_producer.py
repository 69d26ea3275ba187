"""kafka-python (pure Python client) tuned for throughput: acks=all, idempotent, lz4,
linger_ms=5, 256 KiB batches; one thread (the GIL leaves nothing to gain from
more); latency from each send's callback.
"""
import argparse
import random
import sys
import time

from kafka import KafkaProducer

import record


def main() -> int:
    ap = record.common_args(argparse.ArgumentParser(description=__doc__))
    ap.add_argument("--acks", default="all")
    ap.add_argument("--compression", default="lz4")
    ap.add_argument("--linger-ms", type=int, default=5)
    args = ap.parse_args()
    acks = args.acks if args.acks == "all" else int(args.acks)
    producer = KafkaProducer(
        bootstrap_servers=args.brokers.split(","), acks=acks,
        enable_idempotence=args.acks == "all", compression_type=args.compression,
        linger_ms=args.linger_ms, batch_size=262_144, max_request_size=8 << 20)
    tally = record.Tally()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    deadline = record.deadline(args.max_seconds, t0)
    for i in range(args.records):
        if i % 1024 == 0 and time.perf_counter() > deadline:
            break
        key, value = record.make(rng, i)
        sent_at = time.perf_counter()
        future = producer.send(args.topic, value=value, key=key)
        future.add_callback(lambda _md, s=sent_at: tally.done(s, None))
        future.add_errback(lambda e, s=sent_at: tally.done(s, e))
        tally.sent += 1
        tally.bytes += len(value)
    producer.flush()
    elapsed = time.perf_counter() - t0
    producer.close()
    return tally.report(elapsed, capped=tally.sent < args.records)


if __name__ == "__main__":
    sys.exit(main())
