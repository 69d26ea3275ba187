"""The reference design's Python producer, as it behaves (seed/reference-implementation.md):
confluent-kafka, acks=1, gzip, linger.ms=10, batch.num.messages=100; 3 threads share one
producer and each calls flush() after every single message.

Differences, on purpose: the record is spate's (correct field names and domains, record.py);
records are not printed (the reference prints every one, which would only slow it further);
and --max-seconds caps the run, because at 3-5k records/s a full-size run would take minutes.
Rates are over the records actually sent; the summary says whether the cap cut the run short.
"""
import argparse
import random
import sys
import threading
import time

from confluent_kafka import Producer

import record


def main() -> int:
    ap = record.common_args(argparse.ArgumentParser(description=__doc__))
    ap.add_argument("--threads", type=int, default=3)
    args = ap.parse_args()
    producer = Producer({
        "bootstrap.servers": args.brokers, "acks": "1", "compression.type": "gzip",
        "linger.ms": 10, "batch.num.messages": 100,
    })
    tally = record.Tally()
    lock = threading.Lock()
    next_seq = [0]
    t0 = time.perf_counter()
    deadline = record.deadline(args.max_seconds, t0)

    def worker(tid: int) -> None:
        rng = random.Random(args.seed * 1_000_003 + tid)
        while time.perf_counter() < deadline:
            with lock:
                i = next_seq[0]
                if i >= args.records:
                    return
                next_seq[0] += 1
            key, value = record.make(rng, i)
            sent_at = time.perf_counter()
            producer.produce(args.topic, value, key,
                             on_delivery=lambda err, msg, s=sent_at: tally.done(s, err))
            with lock:
                tally.sent += 1
                tally.bytes += len(value)
            producer.flush()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    producer.flush()
    elapsed = time.perf_counter() - t0
    return tally.report(elapsed, threads=args.threads, capped=tally.sent < args.records)


if __name__ == "__main__":
    sys.exit(main())
