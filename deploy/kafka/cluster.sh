#!/usr/bin/env bash
# A local Apache Kafka cluster in KRaft mode on 127.0.0.1, without Docker:
#   deploy/kafka/cluster.sh up [--split] [--secure] [--fresh]   fetch Kafka (cached), format,
#                                          start, wait, create topics; --fresh: delete earlier
#                                          data first; --secure: SASL_SSL (below)
#   deploy/kafka/cluster.sh down [--kill]  stop only the processes this script started;
#                                          --kill: SIGKILL, no controlled shutdown (the tests'
#                                          clusters, whose data the next up --fresh deletes)
#   deploy/kafka/cluster.sh status         one line per node
#   deploy/kafka/cluster.sh kill NODE      kill -9 one node (failure tests)
#   deploy/kafka/cluster.sh start NODE     start one stopped node again
#   deploy/kafka/cluster.sh pause NODE     SIGSTOP one node: it hangs without dying; resume NODE
#   deploy/kafka/cluster.sh topic NAME PARTITIONS [key=value...]   create a topic (RF 3)
#   deploy/kafka/cluster.sh describe NAME  the topic's partitions, replicas and configs
#   deploy/kafka/cluster.sh delete NAME... delete topics (a benchmark's, before the disk fills)
#   deploy/kafka/cluster.sh quota CLIENT_ID BYTES_PER_SECOND   a producer quota (0: none)
#
# Default topology: 3 combined nodes (broker+controller, ids 1-3). --split gives the reference's
# 3 controllers (ids 1-3) + 3 brokers (ids 4-6). Either way clients bootstrap from
# 127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092 (as in the reference).
#
# Environment: KAFKA_VERSION (default pinned below), SPATE_CACHE (jar cache, default
# ~/.cache/spate), SPATE_KAFKA_DIR (data, logs, pids; default /tmp/spate-kafka),
# SPATE_KAFKA_HEAP (default 1g: 512m ran out in bench_quick, which makes many topics), SPATE_KAFKA_PARTITIONS (financial_transactions, default 6),
# SPATE_KAFKA_PORT_OFFSET (added to every port, default 0: a second cluster beside the first,
# e.g. 100 gives 29192/39192/49192; tests read the matching SPATE_BROKERS),
# SPATE_KAFKA_JMX_EXPORTER (default 1; 0 starts the nodes without the agent below).
#
# --secure: the brokers' listeners are SASL_SSL (SCRAM-SHA-512; TLS with a certificate for
# 127.0.0.1 signed by a CA that the script makes with openssl; nothing is fetched). The users
# `admin` (between the brokers, and the script's own tools) and `spate` are created when the
# nodes are formatted, each with a random password. A client's settings, the librdkafka
# properties that `spate ... -F` and `kcat -F` take, are written to $DIR/client.properties;
# the CA to $DIR/tls/ca.pem. The controllers' listener stays PLAINTEXT on 127.0.0.1.
#
# Metrics: every node runs the Prometheus JMX exporter as a java agent
# (io.prometheus.jmx:jmx_prometheus_javaagent from Maven Central, cached beside Kafka's jars;
# rules in jmx-exporter.yml) and serves /metrics on its broker port + 2 (127.0.0.1:29094,
# 39094, 49094), or on its controller port + 2 for the controllers of --split (29095, 39095,
# 49095); SPATE_KAFKA_PORT_OFFSET shifts them too. deploy/prometheus scrapes them.
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-3.9.1}
JMX_EXPORTER_VERSION=1.0.1
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SPATE_CACHE:-$HOME/.cache/spate}
LIBS=$CACHE/kafka-$KAFKA_VERSION/libs
DIR=${SPATE_KAFKA_DIR:-/tmp/spate-kafka}
HEAP=${SPATE_KAFKA_HEAP:-1g}
PARTITIONS=${SPATE_KAFKA_PARTITIONS:-6}
OFF=${SPATE_KAFKA_PORT_OFFSET:-0}
JMX_EXPORTER=${SPATE_KAFKA_JMX_EXPORTER:-1}
AGENT=$CACHE/jmx-exporter-$JMX_EXPORTER_VERSION/jmx_prometheus_javaagent-$JMX_EXPORTER_VERSION.jar
BROKER_PORTS=($((29092 + OFF)) $((39092 + OFF)) $((49092 + OFF)))
CONTROLLER_PORTS=($((29093 + OFF)) $((39093 + OFF)) $((49093 + OFF)))
BOOTSTRAP=127.0.0.1:${BROKER_PORTS[0]},127.0.0.1:${BROKER_PORTS[1]},127.0.0.1:${BROKER_PORTS[2]}
SECURE=$( [ "$(cat "$DIR/security" 2>/dev/null)" = secure ] && echo 1 || echo 0)
TOPICS=(transaction_aggregates transaction_totals transaction_anomalies transaction_late transaction_dlq)

# Whole seconds on the monotonic clock (since boot): deadlines are kept on it, not on bash's
# SECONDS, which follows the wall clock. A stepped wall clock (this VM paused and resumed, a
# time sync) once ended a 30 s wait after 4 s in CI.
mono() { local up; read -r up _ < /proc/uptime; echo "${up%.*}"; }

log() { echo "kafka: $*" >&2; }
die() { echo "kafka: error: $*" >&2; exit 1; }

fetch() {
  if [ -f "$LIBS/.complete" ]; then return; fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  command -v java >/dev/null || die "java not found (apt-get install openjdk-17-jre-headless)"
  log "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $LIBS"
  rm -rf "$LIBS"
  mkdir -p "$LIBS"
  local profile=()
  case "$KAFKA_VERSION" in 4.*) profile=(-Dkafka4) ;; esac
  mvn -q -B -f "$HERE/pom.xml" -Dkafka.version="$KAFKA_VERSION" "${profile[@]}" \
    dependency:copy-dependencies -DoutputDirectory="$LIBS" -DincludeScope=runtime >&2 \
    || die "could not resolve Kafka $KAFKA_VERSION from Maven Central"
  touch "$LIBS/.complete"
}

fetch_agent() {
  [ "$JMX_EXPORTER" = 1 ] && [ ! -f "$AGENT" ] || return 0
  log "fetching the Prometheus JMX exporter $JMX_EXPORTER_VERSION from Maven Central"
  mvn -q -B dependency:copy -Dartifact="io.prometheus.jmx:jmx_prometheus_javaagent:$JMX_EXPORTER_VERSION" \
    -DoutputDirectory="$(dirname "$AGENT")" >&2 \
    || die "could not resolve jmx_prometheus_javaagent $JMX_EXPORTER_VERSION from Maven Central"
}

# The client settings of the script's own kcat and Java tools.
kcat_conf() { [ "$SECURE" = 1 ] && echo "-F $DIR/client.properties" || true; }
admin_conf() { [ "$SECURE" = 1 ] && echo "--command-config $DIR/admin.properties" || true; }

LOG_FLAGS=(-Dlog4j.configuration="file:$HERE/log4j.properties" -Dlog4j2.configurationFile="$HERE/log4j2.properties")
java_cp() { java -cp "$LIBS/*" "${LOG_FLAGS[@]}" -Dkafka.logs.dir="$DIR" "$@"; }

# Node layout: "id roles broker_port controller_port" (port "-" when absent).
nodes() {
  if [ "$(cat "$DIR/topology" 2>/dev/null || echo combined)" = split ]; then
    for i in 0 1 2; do echo "$((i + 1)) controller - ${CONTROLLER_PORTS[$i]}"; done
    for i in 0 1 2; do echo "$((i + 4)) broker ${BROKER_PORTS[$i]} -"; done
  else
    for i in 0 1 2; do echo "$((i + 1)) broker,controller ${BROKER_PORTS[$i]} ${CONTROLLER_PORTS[$i]}"; done
  fi
}

write_config() {  # id roles broker_port controller_port
  local id=$1 roles=$2 bport=$3 cport=$4 voters="" listeners="" advertised=""
  for i in 0 1 2; do voters+="${voters:+,}$((i + 1))@127.0.0.1:${CONTROLLER_PORTS[$i]}"; done
  local proto=PLAINTEXT
  [ "$SECURE" = 1 ] && proto=SASL_SSL
  [ "$bport" != - ] && listeners="$proto://127.0.0.1:$bport" && advertised="$proto://127.0.0.1:$bport"
  [ "$cport" != - ] && listeners+="${listeners:+,}CONTROLLER://127.0.0.1:$cport"
  mkdir -p "$DIR/node$id/data"
  cat > "$DIR/node$id/server.properties" <<PROPS
process.roles=$roles
node.id=$id
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listeners=$listeners
${advertised:+advertised.listeners=$advertised}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/node$id/data
num.partitions=$PARTITIONS
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.segment.bytes=268435456
num.network.threads=2
num.io.threads=4
PROPS
  [ "$SECURE" = 1 ] || return 0
  sed -i -e 's/^listener.security.protocol.map=PLAINTEXT:PLAINTEXT,/listener.security.protocol.map=SASL_SSL:SASL_SSL,/' \
    -e 's/^inter.broker.listener.name=PLAINTEXT$/inter.broker.listener.name=SASL_SSL/' \
    "$DIR/node$id/server.properties"
  cat >> "$DIR/node$id/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$DIR/secrets/admin")";
ssl.keystore.type=PEM
ssl.keystore.location=$DIR/tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$DIR/tls/ca.pem
PROPS
}

# --secure: a CA, the brokers' certificate (for 127.0.0.1 and localhost), the users' random
# passwords, and the client settings of spate/kcat (librdkafka) and of the Java tools.
make_secrets() {
  [ -f "$DIR/client.properties" ] && return 0
  command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
  mkdir -p "$DIR/tls" "$DIR/secrets"
  chmod 700 "$DIR/secrets"
  local t=$DIR/tls
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=spate local CA" \
    -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$t/broker.key" \
    -out "$t/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$t/san.ext"
  openssl x509 -req -in "$t/broker.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -days 30 -extfile "$t/san.ext" -out "$t/broker.crt" 2>/dev/null
  # Kafka's PEM keystore: the PKCS#8 key, then the certificate.
  cat "$t/broker.key" "$t/broker.crt" > "$t/broker.pem"
  local u
  for u in admin spate; do openssl rand -hex 16 > "$DIR/secrets/$u"; done
  cat > "$DIR/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$DIR/secrets/admin")";
ssl.truststore.type=PEM
ssl.truststore.location=$t/ca.pem
PROPS
  cat > "$DIR/client.properties.tmp" <<PROPS
security.protocol=SASL_SSL
sasl.mechanisms=SCRAM-SHA-512
sasl.username=spate
sasl.password=$(cat "$DIR/secrets/spate")
ssl.ca.location=$t/ca.pem
PROPS
  chmod 600 "$DIR/admin.properties" "$DIR/client.properties.tmp" "$t/ca.key" "$t/broker.key" "$t/broker.pem"
  mv "$DIR/client.properties.tmp" "$DIR/client.properties"
}

pid_of() {  # prints the pid if node $1 runs (and is ours)
  local f="$DIR/node$1/pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$DIR/node$1/server.properties" \
    && echo "$pid"
}

exporter_port() {  # node id -> its JMX exporter port: broker port + 2, else controller port + 2
  local id roles bport cport
  while read -r id roles bport cport; do
    [ "$id" = "$1" ] || continue
    if [ "$bport" != - ]; then echo $((bport + 2)); else echo $((cport + 2)); fi
    return 0
  done < <(nodes)
  return 1
}

start_node() {
  local id=$1 agent=() port
  if pid_of "$id" >/dev/null; then return; fi
  if [ "$JMX_EXPORTER" = 1 ] && port=$(exporter_port "$id"); then
    agent=(-javaagent:"$AGENT"=127.0.0.1:"$port":"$HERE/jmx-exporter.yml")
  fi
  KAFKA_NODE_DIR="$DIR/node$id" nohup java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC "${agent[@]}" \
    "${LOG_FLAGS[@]}" -Dkafka.logs.dir="$DIR/node$id" \
    -cp "$LIBS/*" kafka.Kafka "$DIR/node$id/server.properties" \
    > "$DIR/node$id/stdout.log" 2>&1 &
  echo $! > "$DIR/node$id/pid"
}

wait_ready() {  # until metadata lists all three brokers (kcat: no JVM start per try)
  local deadline=$(($(mono) + ${1:-90}))
  command -v kcat >/dev/null || die "kcat not found (apt-get install kcat)"
  while [ "$(mono)" -lt "$deadline" ]; do
    # shellcheck disable=SC2046
    if [ "$(kcat $(kcat_conf) -b "$BOOTSTRAP" -L -m 3 2>/dev/null | grep -cE '^  broker [0-9]+ at 127.0.0.1:')" = 3 ]; then
      return 0
    fi
    sleep 1
  done
  return 1
}

create_topic() {  # name partitions [config...]
  local name=$1 parts=$2 args=()
  shift 2
  for c in "$@"; do args+=(--config "$c"); done
  # shellcheck disable=SC2046
  java_cp org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" $(admin_conf) --create --if-not-exists \
    --topic "$name" --partitions "$parts" --replication-factor 3 --config min.insync.replicas=2 \
    "${args[@]}" >/dev/null
  wait_topic "$name" "$parts"
}

# Until every running broker's metadata has the topic with all its partitions led: a client
# that asks a lagging broker right after creation would otherwise see 0 partitions.
wait_topic() {
  local name=$1 parts=$2 deadline=$(($(mono) + 30)) port ok
  while [ "$(mono)" -lt "$deadline" ]; do
    ok=1
    for port in "${BROKER_PORTS[@]}"; do
      (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null || continue  # a stopped broker
      # shellcheck disable=SC2046
      [ "$(kcat $(kcat_conf) -b 127.0.0.1:"$port" -L -t "$name" -m 3 2>/dev/null |
           grep -cE '^    partition [0-9]+, leader [0-9]+,')" = "$parts" ] || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.5
  done
  die "topic $name: not visible on every broker after 30 s"
}

create_topics() {  # TopicCommand creates one topic per JVM: they run together
  local t pid pids=()
  for t in financial_transactions "${TOPICS[@]}"; do
    create_topic "$t" "$PARTITIONS" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "could not create the topics"; done
}

# 39092-39095 and 49092-49095 lie inside Linux's default ephemeral port range (32768-60999): an
# outgoing client connection can take one of them and the node then fails to bind. Reserve
# them when we may (root), keeping any reservations already there.
reserve_ports() {
  local f=/proc/sys/net/ipv4/ip_local_reserved_ports want="" cur i
  for i in 0 1 2; do want+="${want:+,}${BROKER_PORTS[$i]}-$((BROKER_PORTS[i] + 3))"; done
  [ -w "$f" ] || { log "note: cannot reserve ports $want (not root); a rare bind failure is possible"; return 0; }
  cur=$(cat "$f")
  case ",$cur," in *",${BROKER_PORTS[0]}-$((BROKER_PORTS[0] + 3)),"*) return 0 ;; esac
  echo "${cur:+$cur,}$want" > "$f" 2>/dev/null || true
}

cmd_up() {
  local topology=combined security=plaintext arg u
  for arg in "$@"; do
    case $arg in
      --split) topology=split ;;
      --secure) security=secure ;;
      # An empty cluster: the data of earlier runs goes (the test fixtures use it; thousands of
      # partitions left by earlier test runs slowed the brokers down until they failed).
      --fresh) cmd_down --kill; rm -rf "$DIR" ;;
      *) die "up: unknown option $arg (--split, --secure, --fresh)" ;;
    esac
  done
  fetch
  fetch_agent
  reserve_ports
  mkdir -p "$DIR"
  if { [ -f "$DIR/topology" ] && [ "$(cat "$DIR/topology")" != "$topology" ]; } ||
     { [ -f "$DIR/cluster.id" ] && [ "$(cat "$DIR/security" 2>/dev/null || echo plaintext)" != "$security" ]; }; then
    cmd_down
    rm -rf "$DIR"
    mkdir -p "$DIR"
  fi
  echo "$topology" > "$DIR/topology"
  echo "$security" > "$DIR/security"
  SECURE=$([ "$security" = secure ] && echo 1 || echo 0)
  local scram=()
  if [ "$SECURE" = 1 ]; then
    make_secrets
    for u in admin spate; do
      scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(cat "$DIR/secrets/$u")]")
    done
  fi
  [ -f "$DIR/cluster.id" ] || java_cp kafka.tools.StorageTool random-uuid > "$DIR/cluster.id"
  local id roles bport cport pids=()
  # The storage of every node is formatted at once: each format is a JVM start, CPU-bound, and
  # three in parallel take the time of about one on two cores.
  while read -r id roles bport cport; do
    write_config "$id" "$roles" "$bport" "$cport"
    if [ ! -f "$DIR/node$id/data/meta.properties" ]; then
      java_cp kafka.tools.StorageTool format -t "$(cat "$DIR/cluster.id")" \
        -c "$DIR/node$id/server.properties" --ignore-formatted "${scram[@]}" >/dev/null &
      pids+=($!)
    fi
  done < <(nodes)
  for id in "${pids[@]}"; do wait "$id" || die "could not format the nodes' storage"; done
  while read -r id _; do start_node "$id"; done < <(nodes)
  log "waiting for the quorum and 3 brokers on $BOOTSTRAP"
  wait_ready 120 || { cmd_status; die "cluster not ready after 120 s; logs in $DIR/node*/stdout.log"; }
  create_topics
  if [ "$SECURE" = 1 ]; then
    log "up ($topology, SASL_SSL + SCRAM-SHA-512, Kafka $KAFKA_VERSION): bootstrap $BOOTSTRAP; client settings: -F $DIR/client.properties"
  else
    log "up ($topology, Kafka $KAFKA_VERSION): bootstrap $BOOTSTRAP"
  fi
}

stop_nodes() {  # roles-pattern [signal]: signal (TERM) the matching nodes, then wait (kill -9 after 30 s)
  local pattern=$1 sig=${2:-TERM} id roles pid pids=()
  while read -r id roles _; do
    [[ $roles == $pattern ]] || continue
    if pid=$(pid_of "$id"); then kill -"$sig" "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done < <(nodes)
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 60); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
    [ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  stopped=$((stopped + ${#pids[@]}))
}

cmd_down() {  # [--kill]: SIGKILL, no controlled shutdown (a cluster whose data goes next)
  [ -d "$DIR" ] || return 0
  stopped=0
  if [ "${1:-}" = --kill ]; then
    stop_nodes '*' KILL
  else
    # Brokers first: a broker's controlled shutdown needs the controllers still up.
    stop_nodes '*broker*'
    stop_nodes '*'
  fi
  rm -f "$DIR"/node*/pid
  [ "$stopped" -gt 0 ] && log "stopped $stopped node(s)"
  return 0
}

cmd_status() {
  local id roles bport cport pid state metrics
  while read -r id roles bport cport; do
    metrics=-
    if pid=$(pid_of "$id"); then
      state="running (pid $pid)"
      tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- -javaagent: && metrics=$(exporter_port "$id")
    else
      state="stopped"
    fi
    echo "node $id  $roles  broker:$bport controller:$cport metrics:$metrics  $state"
  done < <(nodes)
}

cmd_stop() {  # SIGTERM: a controlled shutdown (leadership moves first); waits for the exit
  local pid i
  pid=$(pid_of "$1") || die "node $1 is not running"
  kill "$pid"
  for i in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && die "node $1 (pid $pid) did not stop in 60 s"
  rm -f "$DIR/node$1/pid"
  log "stopped node $1 (pid $pid)"
}

cmd_kill() {
  local pid
  pid=$(pid_of "$1") || die "node $1 is not running"
  kill -9 "$pid"
  rm -f "$DIR/node$1/pid"
  log "killed node $1 (pid $pid)"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down "${2:-}" ;;
  status) cmd_status ;;
  kill) cmd_kill "$2" ;;
  stop) cmd_stop "$2" ;;
  # SIGSTOP / SIGCONT: a node that hangs without dying (its clients' requests time out).
  pause) kill -STOP "$(pid_of "$2")" && log "paused node $2" ;;
  resume) kill -CONT "$(pid_of "$2")" && log "resumed node $2" ;;
  start) fetch; fetch_agent; reserve_ports; start_node "$2"; wait_ready 60 ;;
  clean) cmd_down; rm -rf "$DIR" ;;
  topic) shift; fetch; create_topic "$@" ;;
  # shellcheck disable=SC2046
  describe) fetch; java_cp org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    $(admin_conf) --describe --topic "$2" ;;
  # shellcheck disable=SC2046
  delete) shift; fetch
    for name in "$@"; do
      java_cp org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" $(admin_conf) \
        --delete --if-exists --topic "$name"
    done ;;
  fetch) fetch; fetch_agent ;;
  # A consumer group's state and its members (none once the last one has left).
  # shellcheck disable=SC2046
  group) fetch; java_cp org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$BOOTSTRAP" $(admin_conf) --describe --group "$2" --members ;;
  # A producer byte-rate quota for one client.id (0 removes it): brokers slower than a client,
  # which they throttle by delaying its responses.
  # shellcheck disable=SC2046
  quota) fetch
    if [ "${3:?usage: quota CLIENT_ID BYTES_PER_SECOND}" = 0 ]; then change=(--delete-config producer_byte_rate)
    else change=(--add-config "producer_byte_rate=$3"); fi
    java_cp kafka.admin.ConfigCommand --bootstrap-server "$BOOTSTRAP" $(admin_conf) --alter \
      --entity-type clients --entity-name "$2" "${change[@]}" ;;
  *) echo "usage: $0 up [--split] [--secure] [--fresh] | down [--kill] | status | kill NODE | stop NODE | pause NODE | resume NODE | start NODE | topic NAME N [CONFIG=V...] | describe NAME | delete NAME... | group NAME | quota CLIENT_ID BYTES_PER_SECOND | clean | fetch" >&2; exit 2 ;;
esac
