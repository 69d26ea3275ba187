#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/ (committed; run again after a format changes).

The records come from `spate gen` (both profiles, every wire format and time format, the
reference producer's field names, malformed records); the frames, changelog entries,
registry requests and `_bulk` responses are built here in the formats their headers describe.
The targets that read their input with FuzzedDataProvider get seeds in its layout (Fdp).

  fuzz/make_corpus.py [--spate build/spate]
"""
import argparse
import json
import struct
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz/corpus"


class Fdp:
    """Bytes that FuzzedDataProvider reads back as the values given, in the order given:
    strings (ConsumeRandomLengthString: a backslash doubled, ended by a backslash and another
    byte) from the front, integers and bools (one byte each here) from the back."""

    def __init__(self):
        self.front, self.back = bytearray(), bytearray()

    def string(self, s):
        b = s.encode() if isinstance(s, str) else bytes(s)
        self.front += b.replace(b"\\", b"\\\\") + b"\\n"
        return self

    def byte(self, v):
        self.back.append(v & 0xFF)
        return self

    def rest(self, s):  # ConsumeRemainingBytesAsString
        self.front += s.encode() if isinstance(s, str) else bytes(s)
        return self

    def bytes(self):
        return bytes(self.front) + bytes(reversed(self.back))


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def gen(spate, *args, records=4):
    return subprocess.run([spate, "gen", "--records", str(records), "--threads", "1", *args],
                          check=True, capture_output=True).stdout


def framed(blob):  # gen --format binary|avro: each record after its 4-byte big-endian length
    out, i = [], 0
    while i < len(blob):
        (n,) = struct.unpack_from(">I", blob, i)
        out.append(blob[i + 4:i + 4 + n])
        i += 4 + n
    return out


def i64(*vs):
    return b"".join(struct.pack("<q", v) for v in vs)


def records(spate):
    reference_names = ["--field", "amount=amout", "--field", "transactionTime=transationTime",
                       "--field", "merchantId=merchantID"]
    # The JSON target's first byte: bits 0-1 the time format, bit 2 the reference's names.
    for b, fmt in enumerate(["epoch-ms", "epoch-s", "epoch-us", "rfc3339"]):
        for profile in ("reference", "realistic"):
            for i, line in enumerate(gen(spate, "--profile", profile, "--time-format", fmt)
                                     .splitlines()):
                write("json_decode", f"{profile}-{fmt}-{i}", bytes([b]) + line)
        for i, line in enumerate(gen(spate, "--time-format", fmt, *reference_names)
                                 .splitlines()):
            write("json_decode", f"names-{fmt}-{i}", bytes([4 | b]) + line)
    for i, line in enumerate(gen(spate, "--malformed", "1", records=24).splitlines()):
        write("json_decode", f"malformed-{i}", b"\0" + line)
    binary = []
    for profile in ("reference", "realistic"):
        for i, r in enumerate(framed(gen(spate, "--profile", profile, "--format", "binary"))):
            write("binary_decode", f"{profile}-{i}", r)
            binary.append(r)
        for i, r in enumerate(framed(gen(spate, "--profile", profile, "--format", "avro"))):
            write("avro_decode", f"{profile}-{i}", b"\1" + r)
    return binary


def repartition(binary):
    def frame(entries):
        out = bytearray(b"F")
        for e in entries:
            n = len(e)
            while n >= 0x80:
                out.append(n & 0x7F | 0x80)
                n >>= 7
            out.append(n)
            out += e
        return bytes(out)

    recs = [b"R" + struct.pack("<Iq", p, 1000 + p) + r for p, r in enumerate(binary)]
    marks = [b"W" + struct.pack("<Iq", p, t) + bytes([s])
             for p, (t, s) in enumerate([(1767225600000, 0), (-2**63, 1), (1767225660000, 2)])]
    write("repartition", "records", frame(recs))
    write("repartition", "markers", frame(marks))
    write("repartition", "mixed", frame(recs[:2] + marks[:1] + recs[2:4] + marks[1:]))
    stamped = [b"S" + struct.pack("<Iqq", p, 1000 + p, 1767225600000 + p) + r
               for p, r in enumerate(binary)]
    write("repartition", "stamped", frame(stamped[:3] + marks[:1] + recs[:1]))

    def partial(p, key, currency, records, windows, stamps=()):
        out = b"P" + struct.pack("<Iq", p, records) + bytes([2 if stamps else 0])
        out += currency.encode() + bytes([len(key)]) + key + struct.pack("<qq", 7000, 0)
        out += bytes([len(windows)])
        for start, count, total, mn, mx in windows:
            out += struct.pack("<qqqqqqqqB", start, count, total, 0, mn, mx, count, 0, 0)
        return out + b"".join(struct.pack("<q", t) for t in stamps)

    partials = [partial(0, b"merchant1", "USD", 2, [(1767225600000, 2, 7000, 1000, 6000)]),
                partial(1, "Caf\u00e9 \"Z\"".encode(), "JPY", 1,
                        [(1767225600000, 1, 7000, 7000, 7000), (1767225630000, 1, 7000, 7000, 7000)],
                        stamps=[1767225700000])]
    write("repartition", "partials", frame(partials + recs[:1] + marks[:1]))


def changelog():
    def user_state(max_time, histories):
        out = i64(max_time) + bytes([len(histories)])
        for cur, entries in histories:
            out += cur.encode() + struct.pack("<I", len(entries))
            out += b"".join(i64(t, a) for t, a in entries)
        return out

    t0 = 1767225600000
    state = user_state(t0 + 9000, [("USD", [(t0, 1050), (t0 + 9000, 250000)]),
                                   ("JPY", [(t0 + 5, 3)])])
    def lp(b):  # a length-prefixed string (one varint byte: short here)
        return bytes([len(b)]) + b

    snapshot = lp(b"user_1") + lp(state) + lp("7945fe38-da35-47f1-a2f2-1448702ab663".encode()) + \
        lp(state)
    def zz(v):  # a zigzag varint
        u, out = (v << 1) ^ (v >> 63), bytearray()
        u &= (1 << 64) - 1
        while u >= 0x80:
            out.append(u & 0x7F | 0x80)
            u >>= 7
        return bytes(out + bytes([u]))

    # Rule changes: a record, a record on an emptied state (time as the difference), a drop.
    changes = lp(b"user_1") + b"\0" + zz(t0 + 9500) + zz(700) + b"USD" + \
        lp(b"user_3") + b"\1" + zz(100) + zz(-5) + b"BHD" + lp(b"user_1") + b"\2"
    fdp = Fdp()
    for flags, key, value in [
            (0, "m", b"v5 partitions=6 window=60000"), (0, "p", i64(t0 + 9000)),
            (0, "r", i64(2)), (0, "r0", snapshot[:30]), (0, "r1", snapshot[30:]),
            (0, "d0", changes), (2, "d0", b""), (0, "d1", changes[:25]),
            (0, "uuser_1", state),
            (1, "m", b"v5 partitions=6 window=60000"), (1, "s0", i64(t0 + 60000, 1)),
            (1, "s2", i64(t0, 2)),
            (1, f"w{t0}:USD:merchant1", i64(3, 5000, 0, 100, 2500, 2, 1, 0)),
            (1, f"w{t0}:KWD:Cedar Supplies Pty Ltd", i64(1, -2**62, 0, -2**62, -2**62, 0, 1, 0)),
            (3, f"w{t0}:USD:merchant1", b""),
            (1, "tEUR:Ünïcödé merchant", i64(7, 2**63 - 1, 1))]:
        fdp.byte(flags).string(key).string(value)
    write("changelog", "tasks", fdp.bytes())


def avro_schemas():
    avsc = {p.stem: p.read_text() for p in (ROOT / "schemas").glob("*.avsc")}
    pairs = [("transaction", "transaction-v1"), ("transaction-v1", "transaction"),
             ("aggregate", "aggregate"), ("anomaly", "transaction")]
    for level in range(7):
        for a, b in pairs:
            write("avro_schema", f"{level}-{a}-{b}", Fdp().byte(level).string(avsc[a])
                  .rest(avsc[b]).bytes())
    small = ['"long"', '{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}',
             '["null","string"]', '{"type":"array","items":{"type":"map","values":"int"}}',
             '{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}',
             '{"type":"fixed","name":"F","size":16,"logicalType":"decimal","precision":9}',
             '{"type":"bytes","logicalType":"decimal","precision":18,"scale":2}']
    for i, s in enumerate(small):
        write("avro_schema", f"small-{i}", Fdp().byte(1).string(s).rest(small[(i + 1) % 7])
              .bytes())


def registry():
    avsc = {p.stem: p.read_text() for p in (ROOT / "schemas").glob("*.avsc")}
    body = {k: json.dumps({"schema": v}) for k, v in avsc.items()}
    GET, POST, PUT, DELETE, HEAD = range(5)  # registry_fuzz.cc's kMethods

    def seed(name, log, requests):
        fdp = Fdp().byte(len(log))
        for k, v in log:
            fdp.string(k).string(v)
        for method, flag, path, b in requests:
            fdp.byte(method).byte(flag).string(path).string(b)
        write("registry", name, fdp.bytes())

    s = "/subjects/financial_transactions-value"
    seed("lifecycle", [], [
        (POST, 0, s + "/versions", body["transaction-v1"]),
        (POST, 0, s + "/versions", body["transaction"]), (GET, 0, s + "/versions", ""),
        (GET, 0, s + "/versions/latest", ""), (GET, 0, s + "/versions/1/schema", ""),
        (POST, 0, s, body["transaction"]), (GET, 0, "/schemas/ids/2", ""),
        (GET, 0, "/schemas/ids/2/versions", ""),
        (POST, 1, "/compatibility" + s + "/versions/latest", body["transaction-v1"]),
        (PUT, 0, "/config/financial_transactions-value", '{"compatibility": "FULL"}'),
        (GET, 1, "/config/financial_transactions-value", ""), (DELETE, 0, s + "/versions/1", ""),
        (GET, 1, "/subjects", ""), (DELETE, 0, s, ""), (HEAD, 0, "/config", ""),
        (DELETE, 0, "/config/financial_transactions-value", ""),
        (PUT, 0, "/config", '{"compatibility": "BACKWARD_TRANSITIVE"}'), (GET, 0, "/", "")])
    # The same with small schemas: what a long run with a small -max_len starts from.
    small = [json.dumps({"schema": json.dumps(x)}) for x in (
        {"type": "record", "name": "r", "fields": [{"name": "a", "type": "long"}]},
        {"type": "record", "name": "r", "fields": [{"name": "a", "type": "long"},
                                                   {"name": "b", "type": "string",
                                                    "default": ""}]},
        {"type": "enum", "name": "e", "symbols": ["A", "B"]}, "int")]
    seed("small", [], [
        (POST, 0, "/subjects/s/versions", small[0]), (POST, 0, "/subjects/s/versions", small[1]),
        (POST, 0, "/subjects/s/versions", small[2]), (PUT, 0, "/config/s",
                                                      '{"compatibility": "NONE"}'),
        (POST, 0, "/subjects/s/versions", small[2]), (POST, 0, "/subjects/t", small[3]),
        (POST, 1, "/compatibility/subjects/s/versions", small[0]),
        (DELETE, 0, "/subjects/s/versions/2", ""), (GET, 1, "/subjects/s/versions", ""),
        (GET, 0, "/schemas/ids/1", "")])
    seed("escapes", [], [
        (POST, 0, "/subjects/a%2Fb%00%C3%A9/versions", body["aggregate"]),
        (GET, 0, "/subjects/a%2Fb%00%C3%A9/versions/%31", ""), (GET, 0, "/subjects//versions", ""),
        (GET, 0, "*", ""), (GET, 0, "/subjects/%ZZ", "")])
    schema_key = json.dumps({"keytype": "SCHEMA", "subject": "other-value", "version": 1,
                             "magic": 1})
    proto = json.dumps({"subject": "other-value", "version": 1, "id": 1, "deleted": False,
                        "schemaType": "PROTOBUF",
                        "schema": 'syntax = "proto3"; message M { string a = 1; }'})
    avro = json.dumps({"subject": "t-value", "version": 1, "id": 2, "deleted": False,
                       "schema": avsc["aggregate"]})
    config = json.dumps({"keytype": "CONFIG", "subject": None, "magic": 0})
    seed("shared-log", [(schema_key, proto), (schema_key.replace("other-value", "t-value"), avro),
                        (config, '{"compatibilityLevel": "NONE"}')], [
        (GET, 0, "/schemas/ids/1", ""), (GET, 0, "/schemas/ids/2/versions", ""),
        (GET, 0, "/subjects/other-value/versions/1/schema", ""),
        (POST, 0, "/subjects/other-value/versions", body["aggregate"]),
        (POST, 1, "/compatibility/subjects/t-value/versions", body["anomaly"])])


def bulk():
    item = lambda st, **kw: {"index": {"_index": "a", "_id": "k", "status": st, **kw}}
    err = {"type": "mapper_parsing_exception", "reason": "failed to parse",
           "caused_by": {"type": "x", "reason": "bad number"}}
    for name, n, body in [
            ("ok", 2, {"took": 3, "errors": False, "items": [item(201), item(200)]}),
            ("mixed", 3, {"took": 3, "errors": True,
                          "items": [item(201), item(400, error=err), item(429, error="busy")]}),
            ("conflict", 1, {"errors": True, "items": [item(409, error={"type": "conflict"})]})]:
        write("bulk_response", name, bytes([n]) + json.dumps(body).encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spate", default=str(ROOT / "build/spate"))
    args = ap.parse_args()
    repartition(records(args.spate))
    changelog()
    avro_schemas()
    registry()
    bulk()


if __name__ == "__main__":
    main()
