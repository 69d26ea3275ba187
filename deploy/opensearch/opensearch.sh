#!/usr/bin/env bash
# A local single-node OpenSearch on 127.0.0.1, without Docker or a distribution tarball:
#   deploy/opensearch/opensearch.sh up       fetch the jars (cached), start, wait for health
#   deploy/opensearch/opensearch.sh down     stop only the node this script started (pid file)
#   deploy/opensearch/opensearch.sh status   one line
#   deploy/opensearch/opensearch.sh stop     = down, but keep the data (restart with up)
#
# The node is OpenSearch's server jar with the netty4 transport, common analysis and
# mapper-extras plugins on the classpath, started by Launcher.java (compiled here with javac);
# pom.xml pins the version (2.19.x, the last line that runs on Java 17). Running `up` twice is harmless.
# Elasticsearch 7 and 8 start the same way from deploy/elasticsearch/pom.xml:
#   SPATE_SEARCH_ENGINE=elasticsearch deploy/opensearch/opensearch.sh up          (7.17.29)
#   SPATE_SEARCH_ENGINE=elasticsearch SPATE_SEARCH_VERSION=8.8.2 deploy/opensearch/opensearch.sh up
#     (the pom's es8 profile; no mapper-extras, so no scaled_float: README)
#   SPATE_SEARCH_VERSION=1.3.17 deploy/opensearch/opensearch.sh up                (OpenSearch 1.3)
#
# Environment: SPATE_SEARCH_ENGINE (opensearch or elasticsearch, default opensearch),
# SPATE_SEARCH_VERSION (default: the engine's pom.xml), SPATE_CACHE (jar cache, default
# ~/.cache/spate), SPATE_OPENSEARCH_DIR (data, log, pid; default /tmp/spate-opensearch),
# SPATE_OPENSEARCH_PORT (HTTP, default 9200; the transport port is HTTP + 100, so 9300 for the
# default), SPATE_OPENSEARCH_HEAP (default 512m).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ENGINE=${SPATE_SEARCH_ENGINE:-opensearch}
case "$ENGINE" in
  opensearch) POM=$HERE/pom.xml ;;
  elasticsearch) POM=$HERE/../elasticsearch/pom.xml ;;
  *) echo "opensearch: error: SPATE_SEARCH_ENGINE is opensearch or elasticsearch (got '$ENGINE')" >&2
     exit 2 ;;
esac
VERSION=${SPATE_SEARCH_VERSION:-$(sed -n "s:.*<$ENGINE.version>\(.*\)</$ENGINE.version>.*:\1:p" "$POM")}
CACHE=${SPATE_CACHE:-$HOME/.cache/spate}
LIBS=$CACHE/$ENGINE-$VERSION/libs
DIR=${SPATE_OPENSEARCH_DIR:-/tmp/spate-opensearch}
PORT=${SPATE_OPENSEARCH_PORT:-9200}
TPORT=$((PORT + 100))
HEAP=${SPATE_OPENSEARCH_HEAP:-512m}
URL=http://127.0.0.1:$PORT

# Whole seconds since boot: deadlines on the monotonic clock, not on bash's SECONDS, which
# follows the wall clock (deploy/kafka/cluster.sh says why).
mono() { local up; read -r up _ < /proc/uptime; echo "${up%.*}"; }

log() { echo "$ENGINE: $*" >&2; }
die() { echo "$ENGINE: error: $*" >&2; exit 1; }

fetch() {
  if [ ! -f "$LIBS/.complete" ] || [ "$POM" -nt "$LIBS/.complete" ]; then
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    log "fetching $ENGINE $VERSION from Maven Central into $LIBS"
    rm -rf "$LIBS"
    mkdir -p "$LIBS"
    # Elasticsearch 8 publishes its plugins under other names: the pom's es8 profile.
    local profile=()
    if [ "$ENGINE" = elasticsearch ] && [ "${VERSION%%.*}" = 8 ]; then profile=(-Pes8); fi
    mvn -q -B -f "$POM" "${profile[@]}" dependency:copy-dependencies -DoutputDirectory="$LIBS" \
      -D"$ENGINE.version=$VERSION" -DincludeScope=runtime >&2 \
      || die "could not resolve $ENGINE $VERSION from Maven Central (README, \"OpenSearch, locally\", lists the versions that can be)"
    touch "$LIBS/.complete"
  fi
  # The launcher is rebuilt when its source changes.
  local classes=$CACHE/launcher
  if [ ! -f "$classes/Launcher.class" ] || [ "$HERE/Launcher.java" -nt "$classes/Launcher.class" ]; then
    command -v javac >/dev/null || die "javac not found (apt-get install openjdk-17-jdk-headless)"
    mkdir -p "$classes"
    javac -d "$classes" "$HERE/Launcher.java" || die "could not compile Launcher.java"
  fi
}

pid_of() {  # prints the pid if our node runs
  local pid
  [ -f "$DIR/pid" ] || return 1
  pid=$(cat "$DIR/pid")
  [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-Epath.home=$DIR " \
    && echo "$pid"
}

health() { curl -fsS --max-time 2 "$URL/_cluster/health" 2>/dev/null; }

up() {
  # Before fetch: a changed pom.xml makes fetch replace the jars, which a running node still reads.
  if pid=$(pid_of); then
    log "already running (pid $pid) on $URL"
    return
  fi
  fetch
  # A port held by someone else would make the node fail later with a less clear message.
  if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then
    die "127.0.0.1:$PORT is already in use by another process (SPATE_OPENSEARCH_PORT picks another)"
  fi
  mkdir -p "$DIR/config" "$DIR/data" "$DIR/logs"
  cp "$HERE/log4j2.properties" "$DIR/config/"
  local t0; t0=$(mono)
  nohup java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC \
    -Dfile.encoding=UTF-8 -Djava.awt.headless=true -Dio.netty.noUnsafe=true \
    -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
    -cp "$CACHE/launcher:$LIBS/*" Launcher \
    -Epath.home="$DIR" -Epath.data="$DIR/data" -Epath.logs="$DIR/logs" \
    -Ecluster.name=spate -Enode.name=spate-os -Ediscovery.type=single-node \
    -Enetwork.host=127.0.0.1 -Ehttp.port="$PORT" -Etransport.port="$TPORT" \
    -Ecluster.routing.allocation.disk.threshold_enabled=false \
    > "$DIR/node.log" 2>&1 &
  local pid=$!
  echo "$pid" > "$DIR/pid"
  local deadline=$(($(mono) + ${SPATE_OPENSEARCH_WAIT:-120}))
  while [ "$(mono)" -lt "$deadline" ]; do
    if health | grep -qE '"status":"(green|yellow)"'; then
      log "up on $URL (pid $pid, $(($(mono) - t0)) s)"
      return
    fi
    # By pid, not pid_of: until the forked shell has exec'd java its cmdline is not the node's.
    kill -0 "$pid" 2>/dev/null || { tail -20 "$DIR/node.log" >&2; die "the node exited (log: $DIR/node.log)"; }
    sleep 1
  done
  tail -20 "$DIR/node.log" >&2
  die "no green/yellow health on $URL after ${SPATE_OPENSEARCH_WAIT:-120} s (log: $DIR/node.log)"
}

stop() {
  local pid
  if ! pid=$(pid_of); then
    rm -f "$DIR/pid"
    return
  fi
  kill "$pid"
  for _ in $(seq 1 60); do
    [ -d "/proc/$pid" ] || break
    sleep 0.5
  done
  if [ -d "/proc/$pid" ]; then
    log "pid $pid did not stop in 30 s: kill -9"
    kill -9 "$pid"
  fi
  rm -f "$DIR/pid"
}

case "${1:-}" in
  up) up ;;
  stop) stop ;;
  down) stop; rm -rf "$DIR" ;;
  status)
    if pid=$(pid_of); then
      echo "$ENGINE $VERSION pid $pid $URL $(health || echo 'no answer')"
    else
      echo "$ENGINE: not running"
    fi ;;
  *) echo "usage: $0 up|down|stop|status" >&2; exit 2 ;;
esac
