#!/usr/bin/env bash
# The Spark baseline (issue 4): the reference Spark Structured Streaming job over a pre-filled
# Kafka topic, measured. The interface bench/run calls:
#
#   bench/baselines/spark/run.sh --brokers B --input TOPIC --records N \
#       --mode reference|windowed --workdir DIR [--latency-seconds S] [--latency-rate R] \
#       [--max-offsets-per-trigger M] [--no-check] [--spate-topic T]
#
# Prints ONE JSON object on stdout ({"engine":"spark","mode",...}, see README.md); everything
# else goes to stderr. Exit code non-zero when the job could not run. --spate-topic names spate
# aggregate's totals topic (reference) or aggregates topic (windowed) for the same input: the
# output is compared with it too, besides the recomputation from the input.
#
# Environment: SPATE_BENCH_VENV (Python venv, default <repo>/bench/.venv; pyspark is installed
# into it when missing), SPATE_CACHE (jar cache, default ~/.cache/spate), SPATE_BIN (spate, for
# the latency phase's producer; default <repo>/build/spate), SPARK_DRIVER_MEMORY (default 1g).
set -euo pipefail

SPARK_VERSION=3.5.7   # pyspark (PyPI) and spark-sql-kafka-0-10_2.12 (pom.xml) must agree
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
VENV=${SPATE_BENCH_VENV:-$REPO/bench/.venv}
CACHE=${SPATE_CACHE:-$HOME/.cache/spate}
JARS_DIR=$CACHE/spark-kafka-$SPARK_VERSION
SPATE_BIN=${SPATE_BIN:-$REPO/build/spate}

log() { echo "spark-baseline: $*" >&2; }
die() { echo "spark-baseline: error: $*" >&2; exit 1; }

BROKERS= INPUT= RECORDS= MODE= WORKDIR= LAT_S=20 LAT_RATE=1000 MAX_OFFSETS=0 CHECK=1 SPATE_TOPIC=
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) BROKERS=$2; shift 2 ;;
    --input) INPUT=$2; shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --latency-seconds) LAT_S=$2; shift 2 ;;
    --latency-rate) LAT_RATE=$2; shift 2 ;;
    --max-offsets-per-trigger) MAX_OFFSETS=$2; shift 2 ;;
    --no-check) CHECK=0; shift ;;
    --spate-topic) SPATE_TOPIC=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument $1 (--help)" ;;
  esac
done
[ -n "$BROKERS" ] && [ -n "$INPUT" ] && [ -n "$RECORDS" ] && [ -n "$MODE" ] && [ -n "$WORKDIR" ] \
  || die "usage: run.sh --brokers B --input TOPIC --records N --mode reference|windowed --workdir DIR"
case "$MODE" in reference|windowed) ;; *) die "--mode: reference or windowed (got '$MODE')" ;; esac
[[ "$RECORDS" =~ ^[0-9]+$ ]] || die "--records: a whole number (got '$RECORDS')"

# Java: Spark 3.5 runs on Java 8/11/17 (scripts/deps.sh installs 17).
command -v java >/dev/null || die "java not found (apt-get install openjdk-17-jre-headless)"
JAVA_MAJOR=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
case "$JAVA_MAJOR" in 8|11|17) ;; *) log "warning: Java $JAVA_MAJOR; Spark $SPARK_VERSION supports 8, 11 and 17" ;; esac

# pyspark in the venv, installed once.
if ! "$VENV/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$SPARK_VERSION')" 2>/dev/null; then
  log "installing pyspark==$SPARK_VERSION into $VENV"
  t=$(date +%s)
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || die "could not create the venv $VENV"
  "$VENV/bin/pip" install -q "pyspark==$SPARK_VERSION" >&2 || die "pip could not install pyspark==$SPARK_VERSION"
  log "pyspark installed in $(( $(date +%s) - t )) s"
fi

# The Kafka connector and the libraries pyspark does not ship, resolved once with Maven.
if [ ! -f "$JARS_DIR/.complete" ]; then
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  log "fetching spark-sql-kafka-0-10_2.12 $SPARK_VERSION and its dependencies into $JARS_DIR"
  t=$(date +%s)
  rm -rf "$JARS_DIR"; mkdir -p "$JARS_DIR"
  mvn -q -B -f "$HERE/pom.xml" -Dspark.version="$SPARK_VERSION" dependency:copy-dependencies \
    -DoutputDirectory="$JARS_DIR" -DincludeScope=runtime \
    -DincludeArtifactIds=spark-sql-kafka-0-10_2.12,spark-token-provider-kafka-0-10_2.12,kafka-clients,commons-pool2 >&2 \
    || die "could not resolve the Spark Kafka connector $SPARK_VERSION with Maven"
  touch "$JARS_DIR/.complete"
  log "jars fetched in $(( $(date +%s) - t )) s"
fi
JARS=$(ls "$JARS_DIR"/*.jar | paste -sd, -)

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
RUN_ID=$(date +%s)-$$
RESULT=$WORKDIR/spark-$MODE-$RUN_ID.json
log "mode $MODE, $RECORDS records from $INPUT on $BROKERS"
# PYSPARK_PYTHON: no Python UDFs run, but keep workers on the venv's interpreter anyway.
PYSPARK_PYTHON="$VENV/bin/python" "$VENV/bin/python" "$HERE/job.py" --brokers "$BROKERS" \
  --input "$INPUT" --records "$RECORDS" --mode "$MODE" --workdir "$WORKDIR" --result "$RESULT" \
  --run-id "${RUN_ID//-/_}" --jars "$JARS" --driver-memory "${SPARK_DRIVER_MEMORY:-1g}" \
  --latency-seconds "$LAT_S" --latency-rate "$LAT_RATE" --max-offsets-per-trigger "$MAX_OFFSETS" \
  --spate "$SPATE_BIN" >&2 || die "the Spark job failed (its log is above)"

check=()
[ "$CHECK" = 1 ] || check=(--no-check)
[ -z "$SPATE_TOPIC" ] || check+=(--spate-topic "$SPATE_TOPIC")
"$VENV/bin/python" "$HERE/check.py" --brokers "$BROKERS" --input "$INPUT" --result "$RESULT" "${check[@]}"
