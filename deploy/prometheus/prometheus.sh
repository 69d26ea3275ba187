#!/usr/bin/env bash
# Prometheus on 127.0.0.1 for the local system, as our own process (not the Debian package's
# systemd service):
#   deploy/prometheus/prometheus.sh up       render the config, start, wait until ready
#   deploy/prometheus/prometheus.sh down     stop only the process this script started
#   deploy/prometheus/prometheus.sh status   one line
#
# It scrapes every spate process on its default --metrics-addr (run 9464, produce 9465,
# aggregate 9466, index 9467) and the Kafka nodes' JMX exporters (deploy/kafka/cluster.sh,
# broker port + 2: 29094/39094/49094; controllers of --split: 29095/39095/49095), every 5 s,
# and evaluates alerts.yml. Start it after the cluster (make up does), or run `up` again after
# changing the topology: it reloads.
#
# Environment: SPATE_PROMETHEUS_PORT (default 9090), SPATE_PROMETHEUS_DIR (config, data, log,
# pid; default /tmp/spate-prometheus), SPATE_PROMETHEUS_RETENTION (default 1d),
# SPATE_KAFKA_PORT_OFFSET (as cluster.sh: shifts the Kafka targets), SPATE_METRICS_PORT_OFFSET
# (shifts the spate targets, for processes started with --metrics-addr 127.0.0.1:9464+N ...),
# SPATE_KAFKA_DIR (as cluster.sh: where it records the topology).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${SPATE_PROMETHEUS_PORT:-9090}
DIR=${SPATE_PROMETHEUS_DIR:-/tmp/spate-prometheus}
RETENTION=${SPATE_PROMETHEUS_RETENTION:-1d}
URL=http://127.0.0.1:$PORT

# Whole seconds since boot: deadlines on the monotonic clock, not on bash's SECONDS, which
# follows the wall clock (deploy/kafka/cluster.sh says why).
mono() { local up; read -r up _ < /proc/uptime; echo "${up%.*}"; }

log() { echo "prometheus: $*" >&2; }
die() { echo "prometheus: error: $*" >&2; exit 1; }

pid_of() {  # prints the pid if our Prometheus runs (its command line names our config)
  local pid
  [ -f "$DIR/pid" ] || return 1
  pid=$(cat "$DIR/pid")
  [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$DIR/prometheus.yml" \
    && echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# Debian's package installs a systemd service on 9090 (and starts it where systemd runs).
# scripts/deps.sh disables it; if something else still holds the port, say what, and stop.
check_port() {
  port_busy || return 0
  local hint=""
  if command -v systemctl >/dev/null && systemctl is-active -q prometheus 2>/dev/null; then
    hint=" (the Debian prometheus service: systemctl disable --now prometheus)"
  fi
  die "port $PORT is in use$hint; choose another with SPATE_PROMETHEUS_PORT"
}

render() {
  mkdir -p "$DIR/data"
  # cluster.sh records the topology it started: dedicated controllers are scraped only if any.
  local topology
  topology=$(cat "${SPATE_KAFKA_DIR:-/tmp/spate-kafka}/topology" 2>/dev/null || echo combined)
  python3 "$HERE/render.py" local --prometheus-port "$PORT" --topology "$topology" \
    --kafka-offset "${SPATE_KAFKA_PORT_OFFSET:-0}" --metrics-offset "${SPATE_METRICS_PORT_OFFSET:-0}" \
    > "$DIR/prometheus.yml.new"
  cp "$HERE/alerts.yml" "$DIR/alerts.yml"
  mv "$DIR/prometheus.yml.new" "$DIR/prometheus.yml"
  promtool check config "$DIR/prometheus.yml" >/dev/null || die "promtool rejects $DIR/prometheus.yml"
}

cmd_up() {
  command -v prometheus >/dev/null || die "prometheus not found (scripts/deps.sh, or apt-get install prometheus)"
  if pid=$(pid_of); then
    render
    kill -HUP "$pid"  # reload: targets or rules may have changed
    log "already running (pid $pid), config reloaded: $URL"
    return 0
  fi
  check_port
  render
  nohup prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
    --storage.tsdb.retention.time="$RETENTION" --web.listen-address="127.0.0.1:$PORT" \
    --web.enable-lifecycle > "$DIR/prometheus.log" 2>&1 &
  echo $! > "$DIR/pid"
  local deadline=$(($(mono) + 60))
  while [ "$(mono)" -lt "$deadline" ]; do
    if python3 - "$URL/-/ready" <<'PY' 2>/dev/null; then
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
PY
      log "up: $URL (config $DIR/prometheus.yml)"
      return 0
    fi
    pid_of >/dev/null || die "exited at start-up; log: $DIR/prometheus.log"
    sleep 0.5
  done
  die "not ready after 60 s; log: $DIR/prometheus.log"
}

cmd_down() {
  local pid
  pid=$(pid_of) || { rm -f "$DIR/pid"; return 0; }
  kill "$pid"
  for _ in $(seq 1 40); do [ -d "/proc/$pid" ] || break; sleep 0.25; done
  [ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -f "$DIR/pid"
  log "stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid=$(pid_of); then echo "prometheus  $URL  running (pid $pid)"; else echo "prometheus  $URL  stopped"; fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  clean) cmd_down; rm -rf "$DIR" ;;
  *) echo "usage: $0 up | down | status | clean" >&2; exit 2 ;;
esac
