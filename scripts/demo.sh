#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the embedded pipeline
# (10 million records, with some out-of-order, late, malformed and anomalous ones) into out/.
# Extra arguments go to `spate run`, e.g. scripts/demo.sh --records 1000000 --hop 10s
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
exec ./build/spate run --records 10000000 --out-of-order 0.05 --max-delay 3s --late 0.0005 \
  --malformed 0.0005 --anomalies 0.0005 --out out --progress "$@"
