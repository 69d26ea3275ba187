"""The spate record (docs/semantics.md) for the Python baselines, and their common summary.

Same fields, order, domains and sizes as `spate gen` with its defaults: 100,000 users, 1,000
merchants, 200 locations, amounts 50,000.00 .. 150,000.00 with two decimals, 10% refunds, 10%
international, epoch-ms times at 10,000 records per event-time second. Drawn from Python's own
random stream, so the records are not byte-identical to spate's, only alike.
"""
import json
import random
import sys
import time

START_MS = 1767225600000
_TYPES = ("purchase",) * 9 + ("refund",)
_METHODS = ("credit_card", "paypal", "bank_transfer")
_CURRENCIES = ("USD", "EU", "GBP")
_INTL = ("True",) + ("False",) * 9


def make(rng: random.Random, i: int) -> tuple[bytes, bytes]:
    """Record i as (key, value): key = userId, as in the reference producer."""
    b = rng.getrandbits(128)
    h = f"{(b & ~(0xF << 76) & ~(0x3 << 62)) | (0x4 << 76) | (0x2 << 62):032x}"
    user = f"user_{rng.randint(1, 100_000)}"
    cents = rng.randint(5_000_000, 15_000_000)
    value = (
        f'{{"transactionId":"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",'
        f'"userId":"{user}","amount":{cents // 100}.{cents % 100:02d},'
        f'"transactionTime":{START_MS + i // 10},"merchantId":"merchant{rng.randint(1, 1000)}",'
        f'"transactionType":"{rng.choice(_TYPES)}","location":"location {rng.randint(1, 200)}",'
        f'"paymentMethod":"{rng.choice(_METHODS)}","isInternational":"{rng.choice(_INTL)}",'
        f'"currency":"{rng.choice(_CURRENCIES)}"}}'
    )
    return user.encode(), value.encode()


class Tally:
    """Delivery latencies (ms) and counts, filled from delivery callbacks."""

    def __init__(self):
        self.latencies: list[float] = []
        self.failed = 0
        self.sent = 0
        self.bytes = 0
        self.errors: dict[str, int] = {}

    def done(self, sent_at: float, err) -> None:
        if err is not None:
            self.failed += 1
            self.errors[str(err)] = self.errors.get(str(err), 0) + 1
        else:
            self.latencies.append((time.perf_counter() - sent_at) * 1000.0)

    def report(self, elapsed: float, **extra) -> int:
        """Prints the JSON summary on stdout (the Java baseline's fields); returns an exit code."""
        lat = sorted(self.latencies)

        def q(f):
            return lat[min(len(lat) - 1, int(f * len(lat)))] if lat else 0.0

        out = {
            "sent": self.sent, "acknowledged": len(lat), "failed": self.failed,
            "bytes": self.bytes, "elapsedSeconds": elapsed,
            "recordsPerSecond": len(lat) / elapsed if elapsed > 0 else 0.0,
            "megabytesPerSecond": self.bytes / elapsed / 1e6 if elapsed > 0 else 0.0,
            "latencyMs": {"avg": sum(lat) / len(lat) if lat else 0.0, "p50": q(0.5),
                          "p99": q(0.99), "max": lat[-1] if lat else 0.0},
            **extra,
        }
        print(json.dumps(out))
        for err, n in self.errors.items():
            print(f"{n} record(s) failed: {err}", file=sys.stderr)
        return 0 if self.failed == 0 and len(lat) == self.sent else 1


def common_args(parser, tuned=False):
    """The options every Python baseline takes; tuned adds the throughput clients' settings."""
    if tuned:
        parser.add_argument("--acks", default="all")
        parser.add_argument("--compression", default="lz4")
        parser.add_argument("--linger-ms", type=int, default=5)
    parser.add_argument("--brokers", default="127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092")
    parser.add_argument("--topic", default="financial_transactions")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-seconds", type=float, default=0,
                        help="stop sending after this many seconds (0: none); rates stay valid")
    return parser


def deadline(max_seconds: float, t0: float) -> float:
    return t0 + max_seconds if max_seconds > 0 else float("inf")


def send_all(args, send, flush) -> int:
    """The single-threaded clients' loop: records 0..N-1 (or until --max-seconds), each handed
    to send(key, value, tally, sent_at); then flush() and the summary. Returns the exit code."""
    tally = Tally()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    end = deadline(args.max_seconds, t0)
    for i in range(args.records):
        if i % 1024 == 0 and time.perf_counter() > end:
            break
        key, value = make(rng, i)
        send(key, value, tally, time.perf_counter())
        tally.sent += 1
        tally.bytes += len(value)
    flush()
    return tally.report(time.perf_counter() - t0, capped=tally.sent < args.records)
