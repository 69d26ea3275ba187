#!/usr/bin/env python3
"""The baseline of bench/index_bench.py: opensearch-py's helpers.parallel_bulk indexing the same
documents spate index sends (a file of `_bulk` action + source line pairs that
index_bench.py wrote), with the same batch size and as many threads as spate has requests in
flight. Prints {"docs": N, "errors": E, "seconds": S} on stdout; the time covers reading the
file, building the actions and indexing, as spate's covers consuming and indexing.
"""
import argparse
import json
import sys
import time

from opensearchpy import OpenSearch, helpers


def actions(path, index):
    with open(path, "rb") as f:
        while True:
            meta = f.readline()
            source = f.readline()
            if not source:
                return
            m = json.loads(meta)["index"]
            yield {"_op_type": "index", "_index": index, "_id": m["_id"], "version": m["version"],
                   "version_type": "external", "_source": json.loads(source)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--es", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--docs", required=True, help="file of _bulk action/source line pairs")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=2000)
    a = ap.parse_args()
    client = OpenSearch(a.es, timeout=120)
    t0 = time.monotonic()
    ok = errors = 0
    for success, _ in helpers.parallel_bulk(client, actions(a.docs, a.index), thread_count=a.threads,
                                            chunk_size=a.chunk, raise_on_error=False):
        ok += success
        errors += not success
    print(json.dumps({"docs": ok, "errors": errors, "seconds": time.monotonic() - t0}))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
