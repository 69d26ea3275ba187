"""confluent-kafka (librdkafka) tuned for throughput: one producer on one thread (more threads
only contend for the GIL), the settings of `spate produce` (acks=all, idempotent, lz4,
linger.ms=5, large batches, one request in flight per connection), poll(0) after every
produce and poll-and-retry on a full queue.
"""
import argparse
import sys

from confluent_kafka import Producer

import record


def main() -> int:
    args = record.common_args(argparse.ArgumentParser(description=__doc__), tuned=True).parse_args()
    producer = Producer({
        "bootstrap.servers": args.brokers, "acks": args.acks,
        "enable.idempotence": args.acks == "all", "compression.type": args.compression,
        "partitioner": "murmur2_random", "linger.ms": args.linger_ms, "batch.size": 1_000_000,
        "batch.num.messages": 10_000, "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 32_768,  # 32 MiB: Java's buffer.memory
        # As spate produce when idempotent (docs/produce-consume.md#in-flight): librdkafka's
        # broker threads would otherwise poll without waiting while a batch waits for the
        # answer to the partition's last one.
        **({"max.in.flight.requests.per.connection": 1} if args.acks == "all" else {}),
    })

    def send(key, value, tally, sent_at):
        while True:
            try:
                producer.produce(args.topic, value, key,
                                 on_delivery=lambda err, msg: tally.done(sent_at, err))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)

    return record.send_all(args, send, producer.flush)


if __name__ == "__main__":
    sys.exit(main())
