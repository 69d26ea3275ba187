#!/usr/bin/env bash
# Every test: installs what is missing, builds (warnings as errors under CI=true), runs the whole
# ctest suite (the sources' format and layering among it, label build), then builds again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit tests there. Extra arguments
# go to the first ctest run (e.g. -L unit, -R property).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
# -j2: the tests without services run beside the others (tests/CMakeLists.txt: the locks).
ctest --test-dir build --output-on-failure --timeout 900 -j2 "$@"
SPATE_BUILD_DIR=build-asan SPATE_BUILD_TARGET=spate_unit_tests \
  scripts/build.sh -DCMAKE_BUILD_TYPE=Debug -DSPATE_SANITIZE=ON -DSPATE_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 900 -j2 -L unit
