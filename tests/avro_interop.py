#!/usr/bin/env python3
"""Interop of spate's Avro with third-party code: fastavro (from PyPI, in a virtualenv).

    python3 tests/avro_interop.py [--spate build/spate] [--venv build/test-venv]

`spate gen --format avro` writes length-prefixed Confluent frames (4-byte big-endian length,
then magic byte 0, the 4-byte schema id and the Avro datum). For every record:
(a) the frame has magic 0 and the --schema-id given;
(b) fastavro decodes the datum against schemas/transaction.avsc, consuming exactly its bytes;
(c) the decoded record equals the line `spate gen --format json` writes for the same options,
    field by field (amount as an exact decimal, transactionTime as epoch ms, isInternational
    as the strings "True"/"False");
(d) fastavro's own encoding of that JSON line is byte for byte spate's datum.
The virtualenv is created and fastavro installed on first use (pip, default index); exit code
77 (ctest: skipped) when that is impossible, e.g. offline. Exit code 0 = all passed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(ROOT, "schemas", "transaction.avsc")
SKIP = 77

# Runs inside the virtualenv: argv = schema, avro file, json file, schema id.
CHECKER = r'''
import datetime, decimal, io, json, struct, sys
import fastavro

schema = fastavro.parse_schema(json.load(open(sys.argv[1])))
frames = open(sys.argv[2], "rb").read()
lines = open(sys.argv[3], "rb").read().splitlines()
want_id = int(sys.argv[4])
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
failures = 0

def fail(i, what):
    global failures
    failures += 1
    if failures <= 10:
        print(f"  FAIL  record {i}: {what}")

pos = i = 0
while pos < len(frames):
    (n,) = struct.unpack_from(">I", frames, pos)
    frame = frames[pos + 4:pos + 4 + n]
    pos += 4 + n
    if i >= len(lines):
        fail(i, "more Avro records than JSON lines")
        break
    want = json.loads(lines[i], parse_float=decimal.Decimal)
    magic, schema_id = struct.unpack_from(">bI", frame, 0)
    if magic != 0 or schema_id != want_id:
        fail(i, f"frame magic {magic} id {schema_id}, expected 0 and {want_id}")
    bio = io.BytesIO(frame[5:])
    rec = fastavro.schemaless_reader(bio, schema)
    if bio.tell() != len(frame) - 5:
        fail(i, f"fastavro read {bio.tell()} of {len(frame) - 5} bytes")
    got = dict(rec)
    got["transactionId"] = str(rec["transactionId"])
    got["transactionTime"] = (rec["transactionTime"] - EPOCH) // datetime.timedelta(milliseconds=1)
    got["isInternational"] = "True" if rec["isInternational"] else "False"
    exp = dict(want)
    exp["transactionId"] = want["transactionId"].lower()
    if got != exp:
        diff = {k: (got.get(k), exp.get(k)) for k in set(got) | set(exp) if got.get(k) != exp.get(k)}
        fail(i, f"fastavro read {diff} (got, want)")
    # fastavro's encoding of the JSON record: byte for byte ours.
    rec_in = dict(want)
    rec_in["isInternational"] = want["isInternational"] == "True"
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema, rec_in)
    if out.getvalue() != frame[5:]:
        fail(i, f"fastavro writes {out.getvalue().hex()}, spate wrote {frame[5:].hex()}")
    i += 1
if i != len(lines):
    fail(i, f"{i} Avro records but {len(lines)} JSON lines")
print(f"  {'ok  ' if failures == 0 else 'FAIL'}  {i} records: fastavro {fastavro.__version__} "
      f"reads spate's Avro as the JSON lines, and writes the same bytes ({failures} failures)")
sys.exit(1 if failures else 0)
'''


def ensure_venv(venv: str) -> str | None:
    """The virtualenv's python with fastavro importable, or None if it cannot be made."""
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(py) and subprocess.run([py, "-c", "import fastavro"],
                                             capture_output=True).returncode == 0:
        return py
    if not os.path.exists(py):
        r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"cannot create the virtualenv {venv}: {r.stderr.strip()}")
            return None
    r = subprocess.run([py, "-m", "pip", "install", "-q", "fastavro"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        print(f"cannot install fastavro into {venv}: {r.stderr.strip()[-500:]}")
        return None
    return py


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spate", default=os.path.join(ROOT, "build", "spate"))
    ap.add_argument("--venv", help="virtualenv for fastavro (default: test-venv next to spate)")
    ap.add_argument("--records", type=int, default=20000)
    a = ap.parse_args()
    venv = a.venv or os.path.join(os.path.dirname(os.path.abspath(a.spate)), "test-venv")
    py = ensure_venv(venv)
    if py is None:
        print("SKIPPED: no fastavro")
        return SKIP
    # Anomalies give large amounts (wide decimals); several ids and skews for variety.
    common = ["--records", str(a.records), "--seed", "7", "--anomalies", "0.02", "--skew", "zipf",
              "--users", "5000000", "--threads", "2"]
    with tempfile.TemporaryDirectory() as tmp:
        avro_path, json_path = os.path.join(tmp, "tx.avro"), os.path.join(tmp, "tx.jsonl")
        subprocess.run([a.spate, "gen", *common, "--format", "avro", "--schema-id", "300",
                        "--out", avro_path], check=True)
        subprocess.run([a.spate, "gen", *common, "--format", "json", "--out", json_path],
                       check=True)
        checker = os.path.join(tmp, "check.py")
        with open(checker, "w") as f:
            f.write(CHECKER)
        return subprocess.run([py, checker, SCHEMA, avro_path, json_path, "300"]).returncode


if __name__ == "__main__":
    sys.exit(main())
