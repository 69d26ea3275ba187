#!/usr/bin/env bash
# Installs the Debian 12 packages spate needs to build and test. Idempotent: it only calls
# apt-get when something is missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config python3
  librdkafka-dev prometheus-cpp-dev libsimdjson-dev libfmt-dev libspdlog-dev libcli11-dev
  libyaml-cpp-dev libcurl4-openssl-dev libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev kcat python3-venv libavro-dev nlohmann-json3-dev curl openssl
  # The registry's HTTP server (libmicrohttpd: epoll, TLS through GnuTLS); cpp-httplib is the
  # unit tests' HTTP client.
  libmicrohttpd-dev libcpp-httplib-dev
  # ICU's currency data (ISO 4217 minor units); zlib and libzstd for --input (gzip, zstd);
  # XXH3, the interner's string hash.
  libicu-dev zlib1g-dev libzstd-dev libxxhash-dev
  # gzip and zstd files for the --input tests.
  gzip zstd
  # scripts/format.sh --check (the sources' format, checked by scripts/test.sh); ccache, which
  # scripts/build.sh puts in front of the compiler: a fresh clone rebuilds from the cache.
  clang-format ccache
  # clang with its sanitizer and libFuzzer runtimes: the sanitizer build of scripts/test.sh,
  # with the fuzz targets of fuzz/.
  clang-14 libclang-rt-14-dev
  # Monitoring (deploy/): Prometheus and promtool, PyYAML for tests/monitoring_test.py, and
  # docker-compose, whose `config` validates deploy/compose.yaml without a Docker daemon.
  prometheus python3-yaml docker-compose
  # GNU time: bench/run measures each command's peak RSS as its own, not its parent's.
  time
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The local Kafka cluster runs on a JVM and is resolved with Maven; any Java 17+ will do. The
# Java baselines of bench/run are compiled, so a JDK (javac) is needed too.
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "spate: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The prometheus package enables a system service on 127.0.0.1:9090 (started where systemd
# runs). deploy/prometheus/prometheus.sh runs our own instance on that port: turn it off.
if [ -d /run/systemd/system ] && systemctl is-enabled -q prometheus 2>/dev/null; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
