#!/usr/bin/env bash
# The Kafka Streams baseline (issue 18): the windowed job a Kafka user would write for spate
# aggregate's windows (src/main/java/dev/spate/bench/streams/StreamsAggregate.java), over a
# pre-filled topic, measured and checked. The interface bench/run calls:
#
#   bench/baselines/kafka-streams/run.sh --brokers B --input TOPIC --records N --workdir DIR
#       [--window-ms 60000] [--grace-ms 5000]
#
# Prints ONE JSON object on stdout ({"engine":"kafka-streams",...}, see README.md); everything
# else goes to stderr. Builds the job with Maven when its sources changed (kafka-streams of the
# brokers' version, from Maven Central). Exit code non-zero when the job could not run.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)

log() { echo "kafka-streams-baseline: $*" >&2; }
die() { echo "kafka-streams-baseline: error: $*" >&2; exit 1; }

BROKERS= INPUT= RECORDS= WORKDIR= WINDOW_MS=60000 GRACE_MS=5000
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) BROKERS=$2; shift 2 ;;
    --input) INPUT=$2; shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --window-ms) WINDOW_MS=$2; shift 2 ;;
    --grace-ms) GRACE_MS=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument $1 (--help)" ;;
  esac
done
[ -n "$BROKERS" ] && [ -n "$INPUT" ] && [ -n "$RECORDS" ] && [ -n "$WORKDIR" ] \
  || die "usage: run.sh --brokers B --input TOPIC --records N --workdir DIR"
[[ "$RECORDS" =~ ^[0-9]+$ ]] || die "--records: a whole number (got '$RECORDS')"
command -v java >/dev/null || die "java not found (apt-get install openjdk-17-jre-headless)"

JAR=$HERE/target/spate-bench-kafka-streams-1.jar
if [ ! -f "$JAR" ] || [ -n "$(find "$HERE/src" "$HERE/pom.xml" -newer "$JAR" 2>/dev/null)" ]; then
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  log "building the job (mvn package)"
  mvn -q -B -f "$HERE/pom.xml" package >&2 || die "mvn package failed"
fi

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
RUN_ID=$(date +%s)-$$
RESULT=$WORKDIR/kafka-streams-$RUN_ID.json
log "$RECORDS records from $INPUT on $BROKERS"
java -Xmx1g -cp "$JAR:$HERE/target/lib/*" dev.spate.bench.streams.StreamsAggregate \
  --brokers "$BROKERS" --input "$INPUT" --output "kafka_streams_out_${RUN_ID//-/_}" \
  --records "$RECORDS" --window-ms "$WINDOW_MS" --grace-ms "$GRACE_MS" \
  --app-id "kafka-streams-bench-${RUN_ID}" --state-dir "$WORKDIR/state-$RUN_ID" > "$RESULT" \
  || die "the Kafka Streams job failed (its log is above)"
python3 "$HERE/check.py" --brokers "$BROKERS" --input "$INPUT" --result "$RESULT" \
  --window-ms "$WINDOW_MS"
