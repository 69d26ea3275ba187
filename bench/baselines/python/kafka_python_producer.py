"""kafka-python (pure Python client) tuned for throughput: acks=all, idempotent, lz4,
linger_ms=5, 256 KiB batches; one thread (the GIL leaves nothing to gain from more); latency
from each send's callback.
"""
import argparse
import sys

from kafka import KafkaProducer

import record


def main() -> int:
    args = record.common_args(argparse.ArgumentParser(description=__doc__), tuned=True).parse_args()
    acks = args.acks if args.acks == "all" else int(args.acks)
    producer = KafkaProducer(
        bootstrap_servers=args.brokers.split(","), acks=acks,
        enable_idempotence=args.acks == "all", compression_type=args.compression,
        linger_ms=args.linger_ms, batch_size=262_144, max_request_size=8 << 20)

    def send(key, value, tally, sent_at):
        future = producer.send(args.topic, value=value, key=key)
        future.add_callback(lambda _md: tally.done(sent_at, None))
        future.add_errback(lambda e: tally.done(sent_at, e))

    try:
        return record.send_all(args, send, producer.flush)
    finally:
        producer.close()


if __name__ == "__main__":
    sys.exit(main())
