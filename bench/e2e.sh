#!/usr/bin/env bash
# End-to-end throughput of the spate binary (generator threads + workers + output files), next
# to the single-core figures of spate_bench. Usage:
#   bench/e2e.sh [N]            N records per run (default 10,000,000; or env N)
# Environment: SPATE (binary, default build/spate), THREADS (default "1 2").
# Prints, for each `spate run --threads T`, the records/s of its JSON summary, and the timing of
# `spate gen --records N > /dev/null`; then a markdown table. Needs bash and python3 only.
set -euo pipefail

N="${1:-${N:-10000000}}"
SPATE="${SPATE:-build/spate}"
THREADS="${THREADS:-1 2}"

if [[ ! -x "$SPATE" ]]; then
  echo "e2e.sh: $SPATE not found; build it first (ninja -C build spate)" >&2
  exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
ROWS="$TMP/rows.tsv"
: > "$ROWS"

# Runs "$@" under bash's `time` (its stderr goes to $TMP/time.raw, shown if it fails); leaves
# "real user sys" (seconds) in $TMP/time.
timed() {
  local TIMEFORMAT='%3R %3U %3S' rc=0
  { time "$@" ; } 2> "$TMP/time.raw" || rc=$?
  if [[ $rc -ne 0 ]]; then
    cat "$TMP/time.raw" >&2
    echo "e2e.sh: failed ($rc): $*" >&2
    exit "$rc"
  fi
  tail -n 1 "$TMP/time.raw" > "$TMP/time"
}

for t in $THREADS; do
  out="$(mktemp -d "$TMP/run.XXXXXX")"
  echo "== $SPATE run --records $N --threads $t" >&2
  timed "$SPATE" run --records "$N" --threads "$t" --metrics-addr '' --no-progress --json \
    --out "$out" > "$TMP/summary.json"
  python3 - "$TMP/summary.json" "$TMP/time" "$t" >> "$ROWS" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
real, user, sys_ = (float(x) for x in open(sys.argv[2]).read().split())
t = sys.argv[3]
cpu = user + sys_
print(f"spate run --threads {t}\t{s['records']}\t{s['elapsedSeconds']:.3f}\t{real:.3f}\t{cpu:.3f}"
      f"\t{s['recordsPerSecond']:.0f}\t{s['records'] / cpu:.0f}\t{s['megabytesPerSecond']:.1f}"
      f"\tvalid={s['valid']} windows={s['windowsEmitted']} anomalies={s['anomalies']}")
PY
  rm -rf "$out"
done

echo "== $SPATE gen --records $N > /dev/null" >&2
timed "$SPATE" gen --records "$N" > /dev/null
python3 - "$TMP/time" "$N" >> "$ROWS" <<'PY'
import sys
real, user, sys_ = (float(x) for x in open(sys.argv[1]).read().split())
n = int(sys.argv[2])
cpu = user + sys_
print(f"spate gen > /dev/null\t{n}\t-\t{real:.3f}\t{cpu:.3f}\t{n / real:.0f}\t{n / cpu:.0f}\t-\t")
PY

python3 - "$ROWS" "$(nproc 2>/dev/null || echo '?')" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print()
print(f"machine: {sys.argv[2]} hardware threads")
print()
print("| command | records | engine elapsed s | wall s | CPU s | records/s | records per CPU-s | MB/s | notes |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
def num(x):
    try:
        return f"{int(x):,}"
    except ValueError:
        return x
for r in rows:
    cmd, recs, el, real, cpu, rps, rpc, mbs, notes = r
    print(f"| `{cmd}` | {num(recs)} | {el} | {real} | {cpu} | {num(rps)} | {num(rpc)} | {mbs} | {notes} |")
print()
print("records/s: `spate run` = recordsPerSecond of its JSON summary (records / engine elapsed);")
print("`spate gen` = records / wall time. records per CPU-s = records / (user + sys) of the process.")
PY
