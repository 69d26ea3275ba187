"""Kafka's default partitioner, bit for bit: which partition a keyed record goes to.

Part of the independent recomputation (tests/recompute.py): plain Python, standard library
only, never spate's engine."""

from __future__ import annotations


# --------------------------------------------------------------------------------------------
# Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), bit for bit.
# --------------------------------------------------------------------------------------------

_M32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's Java murmur2 of `data`; returns the signed 32-bit result like Java's int."""
    length = len(data)
    m = 0x5BD1E995
    r = 24
    h = (0x9747B28C ^ length) & _M32
    n4 = length // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & _M32
        k ^= k >> r
        k = (k * m) & _M32
        h = (h * m) & _M32
        h ^= k
    tail = length & 3
    base = n4 * 4
    # Java's switch falls through 3 -> 2 -> 1; bytes are sign-extended there but masked to 8 bits.
    if tail >= 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * m) & _M32
    h ^= h >> 13
    h = (h * m) & _M32
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partition of a keyed record: toPositive(murmur2(key)) % partitions."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
